package hpa

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// validateSelector mirrors validateAndParseSelector: empty, unparseable and
// ambiguous selectors.
func validateSelector(in *Input, st *State) error {
	sc := &st.scratch
	sel := in.Scale.Selector
	if sel == "" {
		const msg = "selector is required"
		sc.event(corev1.EventTypeWarning, "SelectorRequired", msg)
		sc.setCond(ScalingActive, corev1.ConditionFalse, "InvalidSelector", msgMissingSelector)
		return errors.New(msg)
	}
	if !sc.selOK || sc.selStr != sel {
		sc.selStr = sel
		sc.sel, sc.selErr = labels.Parse(sel)
		sc.selOK = true
	}
	if sc.selErr != nil {
		msg := "couldn't convert selector into a corresponding internal selector object: " + sc.selErr.Error()
		sc.event(corev1.EventTypeWarning, "InvalidSelector", msg)
		sc.setCond(ScalingActive, corev1.ConditionFalse, "InvalidSelector", msg)
		return errors.New(msg)
	}
	if len(in.OtherHPAs) == 0 || len(in.Pods) == 0 {
		return nil
	}
	// Every HPA of the namespace whose selector matches a listed pod's labels
	// controls it; this HPA is one of them when its selector matches.
	var names []string
	if anyPodMatches(in.Pods, sc.sel) {
		names = append(names, in.HPA.Namespace+"/"+in.HPA.Name)
	}
	limit := 0
	if in.Config.minor() >= 37 && in.Config.Gates.OptimizedSelectorStore {
		limit = 2 // HPAOptimizedSelectorStore stops at two
	}
	for _, o := range in.OtherHPAs {
		if limit > 0 && len(names) >= limit {
			break
		}
		if o.Selector != nil && anyPodMatches(in.Pods, o.Selector) {
			names = append(names, o.Namespace+"/"+o.Name)
		}
	}
	if len(names) <= 1 {
		return nil
	}
	list := "[" + strings.Join(names, " ") + "]"
	var msg string
	if in.Config.minor() >= 37 {
		msg = "pods by selector " + sel + " are controlled by more than one HPA (e.g. " + list + ")"
	} else {
		msg = "pods by selector " + sel + " are controlled by multiple HPAs: " + list
	}
	sc.event(corev1.EventTypeWarning, "AmbiguousSelector", msg)
	sc.setCond(ScalingActive, corev1.ConditionFalse, "AmbiguousSelector", msg)
	return errors.New(msg)
}

func anyPodMatches(pods []Pod, sel labels.Selector) bool {
	for i := range pods {
		if sel.Matches(pods[i].Labels) {
			return true
		}
	}
	return false
}

// metricErr records a failed metric: cond is the text in the condition and
// event, wrapped what computeReplicasForMetric returns.
func metricErr(st *State, i int, r *MetricResult, reason, cond, wrapped string) {
	r.Proposal = -1
	r.Reason = reason
	r.Error = cond
	st.scratch.wrapped[i] = wrapped
	st.scratch.event(corev1.EventTypeWarning, reason, cond)
}

// computeMetric mirrors computeReplicasForMetric for spec.metrics[i].
func computeMetric(in *Input, st *State, i int, r *MetricResult) {
	ms := &in.HPA.Spec.Metrics[i]
	var mi *MetricInput
	if i < len(in.Metrics) {
		mi = &in.Metrics[i]
	} else {
		mi = &emptyMetricInput
	}
	tol := tolerancesFor(&in.Config, &in.HPA.Spec)
	switch ms.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if ms.Resource == nil {
			break
		}
		computeResource(in, st, i, r, mi, tol, ms.Resource.Name, "", ms.Resource.Target, false)
		return
	case autoscalingv2.ContainerResourceMetricSourceType:
		if ms.ContainerResource == nil {
			break
		}
		computeResource(in, st, i, r, mi, tol, ms.ContainerResource.Name, ms.ContainerResource.Container, ms.ContainerResource.Target, true)
		return
	case autoscalingv2.PodsMetricSourceType:
		if ms.Pods == nil {
			break
		}
		computePods(in, st, i, r, mi, tol, ms.Pods)
		return
	case autoscalingv2.ObjectMetricSourceType:
		if ms.Object == nil {
			break
		}
		computeObject(in, st, i, r, mi, tol, ms.Object)
		return
	case autoscalingv2.ExternalMetricSourceType:
		if ms.External == nil {
			break
		}
		computeExternal(in, st, i, r, mi, tol, ms.External)
		return
	default:
		e := "unknown metric source type " + strconv.Quote(string(ms.Type))
		metricErr(st, i, r, "InvalidMetricSourceType", e, e)
		return
	}
	// A known type without its source struct: the controller would
	// dereference nil; API validation never lets it through. Report it as
	// that type's failure rather than crash.
	e := "invalid " + strings.ToLower(string(ms.Type)) + " metric source: the " + string(ms.Type) + " field is not set"
	metricErr(st, i, r, failReason(ms.Type), e, e)
}

var emptyMetricInput MetricInput

func failReason(t autoscalingv2.MetricSourceType) string {
	switch t {
	case autoscalingv2.ResourceMetricSourceType:
		return "FailedGetResourceMetric"
	case autoscalingv2.ContainerResourceMetricSourceType:
		return "FailedGetContainerResourceMetric"
	case autoscalingv2.PodsMetricSourceType:
		return "FailedGetPodsMetric"
	case autoscalingv2.ObjectMetricSourceType:
		return "FailedGetObjectMetric"
	case autoscalingv2.ExternalMetricSourceType:
		return "FailedGetExternalMetric"
	}
	return "InvalidMetricSourceType"
}

// pod classes
const (
	clsReady uint8 = iota
	clsUnready
	clsMissing
	clsIgnored
)

// Per-pod status bits, computed once per reconcile (podStatus) and shared by
// every metric's grouping.
const (
	stIgnored    uint8 = 1 << iota // deleting or Failed
	stPending                      // phase Pending
	stCPUUnready                   // unready for CPU whatever its sample says
	stCPUYoung                     // within the CPU initialisation period: the sample's time decides
)

// podStatus fills sc.status for this reconcile's pods.
func podStatus(in *Input, sc *scratch) []uint8 {
	pods := in.Pods
	if sc.statusOK && len(sc.status) == len(pods) {
		return sc.status
	}
	if cap(sc.status) < len(pods) {
		sc.status = make([]uint8, len(pods))
	}
	status := sc.status[:len(pods)]
	youngAfter := at(in.Now.Add(-in.Config.CPUInitializationPeriod))
	zero := at(time.Time{})
	delay := in.Config.InitialReadinessDelay
	sc.sameSpec = len(pods) > 0
	for i := range pods {
		p := &pods[i]
		if p.Spec != pods[0].Spec {
			sc.sameSpec = false
		}
		ph := p.Phase
		var st uint8
		// First-byte checks spare a string comparison for Running pods.
		switch {
		case p.Deleting || (len(ph) == 6 && ph[0] == 'F' && ph == corev1.PodFailed):
			st = stIgnored
		case len(ph) == 7 && ph[0] == 'P' && ph == corev1.PodPending:
			st = stPending
		case p.Ready == "":
			st = stCPUUnready
		default:
			start := at(p.StartTime)
			switch {
			case start == zero: // status.startTime nil
				st = stCPUUnready
			case start.after(youngAfter):
				if p.Ready == corev1.ConditionFalse {
					st = stCPUUnready
				} else {
					st = stCPUYoung
				}
			case p.Ready == corev1.ConditionFalse && p.StartTime.Add(delay).After(p.ReadyTransitionTime):
				st = stCPUUnready
			}
		}
		status[i] = st
	}
	sc.status = status
	sc.statusOK = true
	return status
}

// groupPods classifies every pod (§1.5) into sc.cls and returns the counts
// and the sum of the ready pods' samples.
func groupPods(in *Input, st *State, mi *MetricInput, cpu bool) (ready, unready, missing int, sumReady int64) {
	sc := &st.scratch
	pods := in.Pods
	sc.podBuffers(len(pods))
	cls := sc.cls[:len(pods)]
	status := podStatus(in, sc)[:len(pods)]
	samples := mi.Samples
	if len(samples) < len(pods) {
		// Fewer samples than pods: pad (once) so that the loop below needs
		// no bounds checks; the padding has Present=false.
		if cap(sc.pad) < len(pods) {
			sc.pad = make([]PodSample, len(pods))
		}
		sc.pad = sc.pad[:len(pods)]
		n := copy(sc.pad, samples)
		clear(sc.pad[n:])
		samples = sc.pad
	}
	samples = samples[:len(pods)]
	mask := stIgnored | stPending
	if cpu {
		mask |= stCPUUnready | stCPUYoung
	}
	for i := range status {
		s := &samples[i]
		st := status[i] & mask
		if st == 0 {
			if s.Present {
				cls[i] = clsReady
				ready++
				sumReady += s.Milli
			} else {
				cls[i] = clsMissing
				missing++
			}
			continue
		}
		switch {
		case st&stIgnored != 0:
			cls[i] = clsIgnored
		case st&stPending != 0:
			cls[i] = clsUnready
			unready++
		case !s.Present:
			cls[i] = clsMissing
			missing++
		case st&stCPUUnready != 0 || s.Timestamp.Before(pods[i].ReadyTransitionTime.Add(s.Window)):
			// Young pods: unready unless the sample lies entirely after
			// the last readiness change.
			cls[i] = clsUnready
			unready++
		default:
			cls[i] = clsReady
			ready++
			sumReady += s.Milli
		}
	}
	return
}

// metricsEmpty says whether the API returned an empty list.
func metricsEmpty(mi *MetricInput) bool {
	if mi.Items > 0 || len(mi.Extra) > 0 {
		return false
	}
	for i := range mi.Samples {
		if mi.Samples[i].Present {
			return false
		}
	}
	return true
}

func computeResource(in *Input, st *State, i int, r *MetricResult, mi *MetricInput, tol Tolerances,
	res corev1.ResourceName, container string, target autoscalingv2.MetricTarget, isContainer bool) {
	reason := "FailedGetResourceMetric"
	if isContainer {
		reason = "FailedGetContainerResourceMetric"
	}
	fail := func(e string) {
		wrapPrefix := "failed to get " + string(res) + " resource metric value: "
		if isContainer {
			wrapPrefix = "failed to get " + container + " container metric value: "
		}
		metricErr(st, i, r, reason, e, wrapPrefix+e)
	}
	fetchErr := func() string {
		if mi.FetchErr != nil {
			return "unable to get metrics for resource " + string(res) + ": unable to fetch metrics from resource metrics API: " + mi.FetchErr.Error()
		}
		if metricsEmpty(mi) {
			return "unable to get metrics for resource " + string(res) + ": no metrics returned from resource metrics API"
		}
		return ""
	}
	if target.AverageValue != nil {
		if e := fetchErr(); e != "" {
			fail("failed to get " + string(res) + " usage: " + e)
			return
		}
		n, usage, ratio, e := calcPlain(in, st, mi, target.AverageValue.MilliValue(), tol, res == corev1.ResourceCPU)
		if e != "" {
			fail("failed to get " + string(res) + " usage: " + e)
			return
		}
		r.Proposal = n
		r.UsageRatio = ratio
		r.HasAverageValue = true
		r.AverageValueMilli = usage
		r.Name = st.scratch.name(i, metricKey{typ: "rv", a: string(res)}, func() string { return string(res) + " resource" })
		return
	}
	if target.AverageUtilization == nil {
		fail("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
		return
	}
	if e := fetchErr(); e != "" {
		fail("failed to get " + string(res) + " utilization: " + e)
		return
	}
	n, util, raw, ratio, e := calcUtilization(in, st, mi, *target.AverageUtilization, tol, res, container)
	if e != "" {
		fail("failed to get " + string(res) + " utilization: " + e)
		return
	}
	r.Proposal = n
	r.UsageRatio = ratio
	r.HasUtilization = true
	r.AverageUtilization = util
	r.HasAverageValue = true
	r.AverageValueMilli = raw
	if isContainer {
		r.Name = st.scratch.name(i, metricKey{typ: "cu", a: string(res)}, func() string {
			return string(res) + " container resource utilization (percentage of request)"
		})
	} else {
		r.Name = st.scratch.name(i, metricKey{typ: "ru", a: string(res)}, func() string {
			return string(res) + " resource utilization (percentage of request)"
		})
	}
}

const (
	errNoPods      = "no pods returned by selector while calculating replica count"
	errNoMetrics   = "did not receive metrics for targeted pods (pods might be unready)"
	errNoneMatched = "no metrics returned matched known pods"
)

// calcUtilization mirrors GetResourceReplicas after the metrics fetch.
func calcUtilization(in *Input, st *State, mi *MetricInput, target int32, tol Tolerances,
	res corev1.ResourceName, container string) (n int32, util int32, raw int64, ratio float64, err string) {
	pods := in.Pods
	if len(pods) == 0 {
		return 0, 0, 0, 0, errNoPods
	}
	ready, unready, missing, sumU := groupPods(in, st, mi, res == corev1.ResourceCPU)
	if ready+len(mi.Extra) == 0 {
		return 0, 0, 0, 0, errNoMetrics
	}
	sc := &st.scratch
	cls := sc.cls[:len(pods)]
	reqv := sc.reqv[:len(pods)]
	spec := in.Scale.SpecReplicas
	var sumR int64
	entries := ready
	if sc.sameSpec {
		// One template for every pod (the usual case): one request.
		v, e := st.podRequest(in, &pods[0], res, container)
		if e != "" {
			return 0, 0, 0, 0, e
		}
		sumR = v * int64(ready)
		if unready+missing > 0 {
			for j := range reqv {
				reqv[j] = v
			}
		}
	} else {
		var lastSpec *corev1.PodSpec
		var lastVal int64
		haveLast := false
		for j := range pods {
			p := &pods[j]
			v := lastVal
			if !haveLast || p.Spec != lastSpec {
				var e string
				v, e = st.podRequest(in, p, res, container)
				if e != "" {
					return 0, 0, 0, 0, e
				}
				lastSpec, lastVal, haveLast = p.Spec, v, true
			}
			reqv[j] = v
			if cls[j] == clsReady {
				sumR += v
			}
		}
	}
	if sumR == 0 {
		return 0, 0, 0, 0, errNoneMatched
	}
	util = int32((sumU * 100) / sumR)
	ratio = float64(util) / float64(target)
	raw = sumU / int64(entries)

	scaleUpWithUnready := unready > 0 && ratio > 1.0
	if !scaleUpWithUnready && missing == 0 {
		if tol.within(ratio) {
			return spec, util, raw, ratio, ""
		}
		return int32(math.Ceil(ratio * float64(ready))), util, raw, ratio, ""
	}
	count := ready + len(mi.Extra)
	fallback := int64(max(100, target))
	if missing > 0 && ratio != 1.0 {
		for j := range pods {
			if cls[j] == clsMissing {
				if ratio < 1.0 {
					sumU += sc.reqv[j] * fallback / 100
				}
				sumR += sc.reqv[j]
				count++
			}
		}
	}
	if scaleUpWithUnready {
		for j := range pods {
			if cls[j] == clsUnready {
				sumR += sc.reqv[j]
				count++
			}
		}
	}
	if sumR == 0 {
		return 0, util, raw, ratio, errNoneMatched
	}
	newUtil := int32((sumU * 100) / sumR)
	newRatio := float64(newUtil) / float64(target)
	if tol.within(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0) {
		return spec, util, raw, ratio, ""
	}
	nr := int32(math.Ceil(newRatio * float64(count)))
	if (newRatio < 1.0 && nr > spec) || (newRatio > 1.0 && nr < spec) {
		return spec, util, raw, ratio, ""
	}
	return nr, util, raw, ratio, ""
}

// calcPlain mirrors calcPlainMetricReplicas (AverageValue resource metrics
// and Pods metrics).
func calcPlain(in *Input, st *State, mi *MetricInput, target int64, tol Tolerances, cpu bool) (n int32, usage int64, ratio float64, err string) {
	pods := in.Pods
	if len(pods) == 0 {
		return 0, 0, 0, errNoPods
	}
	ready, unready, missing, total := groupPods(in, st, mi, cpu)
	count := ready + len(mi.Extra)
	if count == 0 {
		return 0, 0, 0, errNoMetrics
	}
	for j := range mi.Extra {
		total += mi.Extra[j].Milli
	}
	usage = total / int64(count)
	ratio = float64(usage) / float64(target)
	spec := in.Scale.SpecReplicas

	scaleUpWithUnready := unready > 0 && ratio > 1.0
	if !scaleUpWithUnready && missing == 0 {
		if tol.within(ratio) {
			return spec, usage, ratio, ""
		}
		return int32(math.Ceil(ratio * float64(ready))), usage, ratio, ""
	}
	if missing > 0 {
		if ratio < 1.0 {
			total += target * int64(missing)
			count += missing
		} else if ratio > 1.0 {
			count += missing
		}
	}
	if scaleUpWithUnready {
		count += unready
	}
	newUsage := total / int64(count)
	newRatio := float64(newUsage) / float64(target)
	if tol.within(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0) {
		return spec, usage, ratio, ""
	}
	nr := int32(math.Ceil(newRatio * float64(count)))
	if (newRatio < 1.0 && nr > spec) || (newRatio > 1.0 && nr < spec) {
		return spec, usage, ratio, ""
	}
	return nr, usage, ratio, ""
}

func computePods(in *Input, st *State, i int, r *MetricResult, mi *MetricInput, tol Tolerances, src *autoscalingv2.PodsMetricSource) {
	const reason = "FailedGetPodsMetric"
	const wrap = "failed to get pods metric value: "
	if err := st.scratch.checkSelector(src.Metric.Selector); err != nil {
		metricErr(st, i, r, reason, err.Error(), wrap+err.Error())
		return
	}
	name := src.Metric.Name
	var e string
	switch {
	case mi.FetchErr != nil:
		e = "unable to get metric " + name + ": unable to fetch metrics from custom metrics API: " + mi.FetchErr.Error()
	case metricsEmpty(mi):
		e = "unable to get metric " + name + ": no metrics returned from custom metrics API"
	}
	if e != "" {
		metricErr(st, i, r, reason, e, wrap+e)
		return
	}
	var target int64
	if src.Target.AverageValue != nil {
		target = src.Target.AverageValue.MilliValue()
	}
	n, usage, ratio, e := calcPlain(in, st, mi, target, tol, false)
	if e != "" {
		metricErr(st, i, r, reason, e, wrap+e)
		return
	}
	r.Proposal = n
	r.UsageRatio = ratio
	r.HasAverageValue = true
	r.AverageValueMilli = usage
	r.Name = st.scratch.name(i, metricKey{typ: "p", a: name}, func() string { return "pods metric " + name })
}

// readyPodsCount mirrors getReadyPodsCount: Running and Ready pods.
func readyPodsCount(pods []Pod) (int64, string) {
	if len(pods) == 0 {
		return 0, errNoPods
	}
	var n int64
	for i := range pods {
		if pods[i].Phase == corev1.PodRunning && pods[i].Ready == corev1.ConditionTrue {
			n++
		}
	}
	return n, ""
}

// usageRatioReplicaCount mirrors getUsageRatioReplicaCount.
func usageRatioReplicaCount(in *Input, ratio float64, tol Tolerances) (int32, string) {
	current := in.Scale.SpecReplicas
	if current != 0 {
		if tol.within(ratio) {
			return current, ""
		}
		ready, e := readyPodsCount(in.Pods)
		if e != "" {
			return 0, "unable to calculate ready pods: " + e
		}
		f := ratio * float64(ready)
		if f > math.MaxInt32 && in.Config.minor() >= 35 {
			return math.MaxInt32, ""
		}
		return int32(math.Ceil(f)), ""
	}
	return int32(math.Ceil(ratio)), ""
}

const errNotFound = "the server could not find the requested resource"

func computeObject(in *Input, st *State, i int, r *MetricResult, mi *MetricInput, tol Tolerances, src *autoscalingv2.ObjectMetricSource) {
	const reason = "FailedGetObjectMetric"
	const wrap = "failed to get object metric value: "
	if err := st.scratch.checkSelector(src.Metric.Selector); err != nil {
		metricErr(st, i, r, reason, err.Error(), wrap+err.Error())
		return
	}
	name := src.Metric.Name
	ref := &src.DescribedObject
	fetch := func() (int64, string) {
		var apiErr string
		switch {
		case mi.FetchErr != nil:
			apiErr = mi.FetchErr.Error()
		case len(mi.Values) == 0:
			apiErr = errNotFound
		default:
			return mi.Values[0], ""
		}
		inner := "unable to fetch metrics from custom metrics API: " + apiErr
		if in.Config.minor() >= 37 {
			return 0, "unable to get metric " + name + " on " + ref.Kind + " " + in.HPA.Namespace + "/" + ref.Name + ": " + inner
		}
		return 0, "unable to get metric " + name + ": " + ref.Kind + " on " + in.HPA.Namespace + " " + ref.Name + "/" + inner
	}
	t := src.Target
	switch {
	case t.Type == autoscalingv2.ValueMetricType && t.Value != nil:
		usage, e := fetch()
		if e != "" {
			metricErr(st, i, r, reason, e, wrap+e)
			return
		}
		ratio := float64(usage) / float64(t.Value.MilliValue())
		n, e := usageRatioReplicaCount(in, ratio, tol)
		if e != "" {
			metricErr(st, i, r, reason, e, wrap+e)
			return
		}
		r.Proposal = n
		r.UsageRatio = ratio
		r.HasValue = true
		r.ValueMilli = usage
		r.Name = st.scratch.name(i, metricKey{typ: "ov", a: ref.Kind, b: name}, func() string { return ref.Kind + " metric " + name })
	case t.Type == autoscalingv2.AverageValueMetricType && t.AverageValue != nil:
		usage, e := fetch()
		if e != "" {
			metricErr(st, i, r, reason, e, wrap+"failed to get "+name+" object metric: "+e)
			return
		}
		target := t.AverageValue.MilliValue()
		stat := in.Scale.StatusReplicas
		n := stat
		ratio := float64(usage) / (float64(target) * float64(n))
		if !tol.within(ratio) {
			n = int32(math.Ceil(float64(usage) / float64(target)))
		}
		r.Proposal = n
		r.UsageRatio = ratio
		r.HasAverageValue = true
		r.AverageValueMilli = int64(math.Ceil(float64(usage) / float64(stat)))
		sel := src.Metric.Selector
		r.Name = st.scratch.name(i, metricKey{typ: "oa", b: name, sel: sel}, func() string {
			return "external metric " + name + "(" + sprintSelector(sel) + ")"
		})
	default:
		e := "invalid object metric source: neither a value target nor an average value target was set"
		metricErr(st, i, r, reason, e, wrap+e)
	}
}

func computeExternal(in *Input, st *State, i int, r *MetricResult, mi *MetricInput, tol Tolerances, src *autoscalingv2.ExternalMetricSource) {
	const reason = "FailedGetExternalMetric"
	name := src.Metric.Name
	wrap := func() string { return "failed to get " + name + " external metric value: " }
	t := src.Target
	if t.AverageValue == nil && t.Value == nil {
		e := "invalid external metric source: neither a value target nor an average value target was set"
		metricErr(st, i, r, reason, e, wrap()+e)
		return
	}
	fetch := func() string {
		if err := st.scratch.checkSelector(src.Metric.Selector); err != nil {
			return err.Error()
		}
		var apiErr string
		switch {
		case mi.FetchErr != nil:
			apiErr = "unable to fetch metrics from external metrics API: " + mi.FetchErr.Error()
		case len(mi.Values) == 0:
			apiErr = "no metrics returned from external metrics API"
		default:
			return ""
		}
		return "unable to get external metric " + in.HPA.Namespace + "/" + name + "/" + sprintSelector(src.Metric.Selector) + ": " + apiErr
	}
	sel := src.Metric.Selector
	if t.AverageValue != nil {
		if e := fetch(); e != "" {
			metricErr(st, i, r, reason, e, wrap()+"failed to get "+name+" external metric: "+e)
			return
		}
		capped := in.Config.minor() >= 34 // 1.33 has no overflow handling here
		var usage int64
		for _, v := range mi.Values {
			usage += v
			if usage < 0 && capped {
				usage = math.MaxInt64
				break
			}
		}
		target := t.AverageValue.MilliValue()
		stat := in.Scale.StatusReplicas
		n := stat
		ratio := float64(usage) / (float64(target) * float64(n))
		if !tol.within(ratio) {
			f := math.Ceil(float64(usage) / float64(target))
			if f > float64(math.MaxInt32) && capped {
				n = math.MaxInt32
			} else {
				n = int32(f)
			}
		}
		avg := int64(math.MaxInt64)
		if float64(usage) < float64(math.MaxInt64) || !capped {
			avg = int64(math.Ceil(float64(usage) / float64(stat)))
		}
		r.Proposal = n
		r.UsageRatio = ratio
		r.HasAverageValue = true
		r.AverageValueMilli = avg
	} else {
		if e := fetch(); e != "" {
			metricErr(st, i, r, reason, e, wrap()+"failed to get external metric "+name+": "+e)
			return
		}
		capped := in.Config.minor() >= 35 // earlier releases wrap around
		var usage int64
		for _, v := range mi.Values {
			if capped && v > 0 && usage > math.MaxInt64-v {
				usage = math.MaxInt64
				break
			}
			usage += v
		}
		ratio := float64(usage) / float64(t.Value.MilliValue())
		n, e := usageRatioReplicaCount(in, ratio, tol)
		if e != "" {
			metricErr(st, i, r, reason, e, wrap()+"failed to get external metric "+name+": "+e)
			return
		}
		r.Proposal = n
		r.UsageRatio = ratio
		r.HasValue = true
		r.ValueMilli = usage
	}
	r.Name = st.scratch.name(i, metricKey{typ: "e", b: name, sel: sel}, func() string {
		return "external metric " + name + "(" + sprintSelector(sel) + ")"
	})
}
