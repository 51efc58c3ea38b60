package watch

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// unknown is what kubectl prints for a metric without a current value.
const unknown = "<unknown>"

// hpaRow builds the row of an HPA. pods are the target's pods (nil: not
// looked up, for the table only).
func hpaRow(h *autoscalingv2.HorizontalPodAutoscaler) Row {
	r := Row{
		Namespace: h.Namespace, Name: h.Name, Kind: KindHPA,
		Target:  h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		Current: h.Status.CurrentReplicas, Desired: h.Status.DesiredReplicas,
		Min: 1, Max: h.Spec.MaxReplicas, Created: h.CreationTimestamp.Time,
	}
	if h.Spec.MinReplicas != nil {
		r.Min = *h.Spec.MinReplicas
	}
	r.Metrics = hpaMetrics(h)
	for _, c := range h.Status.Conditions {
		r.Conditions = append(r.Conditions, Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Since: c.LastTransitionTime.Time})
	}
	r.Health, r.Reason, r.Message = hpaHealth(h, r.Metrics)
	return r
}

// hpaHealth sums up an HPA's conditions: the first failing one gives the
// reason (AbleToScale, then ScalingActive), then ScalingLimited.
func hpaHealth(h *autoscalingv2.HorizontalPodAutoscaler, ms []Metric) (health, reason, msg string) {
	cond := func(t autoscalingv2.HorizontalPodAutoscalerConditionType) *autoscalingv2.HorizontalPodAutoscalerCondition {
		for i := range h.Status.Conditions {
			if h.Status.Conditions[i].Type == t {
				return &h.Status.Conditions[i]
			}
		}
		return nil
	}
	if c := cond(autoscalingv2.AbleToScale); c != nil && c.Status == corev1.ConditionFalse {
		return "Failing", c.Reason, c.Message
	}
	if c := cond(autoscalingv2.ScalingActive); c != nil && c.Status == corev1.ConditionFalse {
		if c.Reason == "ScalingDisabled" {
			return "Paused", c.Reason, c.Message
		}
		return "Failing", c.Reason, c.Message
	}
	unknownMetric := false
	for _, m := range ms {
		if !m.Known {
			unknownMetric = true
		}
	}
	if len(h.Status.Conditions) == 0 {
		// The controller has not reconciled it yet (or is not running).
		return "Unknown", "NoStatus", "the HPA controller has not written a status yet (new object, or kube-controller-manager is not running)"
	}
	if unknownMetric {
		// A metric without a value but no failing condition: the
		// controller is still waiting for its first sample.
		return "Unknown", "NoMetricValue", "status.currentMetrics has no value for every metric yet"
	}
	if c := cond(autoscalingv2.ScalingLimited); c != nil && c.Status == corev1.ConditionTrue {
		return "Limited", c.Reason, c.Message
	}
	return "OK", "", ""
}

// hpaMetrics pairs spec.metrics with status.currentMetrics by index, as
// kubectl does.
func hpaMetrics(h *autoscalingv2.HorizontalPodAutoscaler) []Metric {
	out := make([]Metric, 0, len(h.Spec.Metrics))
	for i, spec := range h.Spec.Metrics {
		var st *autoscalingv2.MetricStatus
		if i < len(h.Status.CurrentMetrics) && h.Status.CurrentMetrics[i].Type == spec.Type {
			st = &h.Status.CurrentMetrics[i]
		}
		out = append(out, metricOf(spec, st))
	}
	return out
}

func metricOf(spec autoscalingv2.MetricSpec, st *autoscalingv2.MetricStatus) Metric {
	m := Metric{Type: string(spec.Type), Current: unknown}
	var (
		target autoscalingv2.MetricTarget
		cur    *autoscalingv2.MetricValueStatus
	)
	switch spec.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if spec.Resource == nil {
			return m
		}
		m.Name, target = string(spec.Resource.Name), spec.Resource.Target
		if st != nil && st.Resource != nil {
			cur = &st.Resource.Current
		}
	case autoscalingv2.ContainerResourceMetricSourceType:
		if spec.ContainerResource == nil {
			return m
		}
		m.Name, target = string(spec.ContainerResource.Name)+"/"+spec.ContainerResource.Container, spec.ContainerResource.Target
		if st != nil && st.ContainerResource != nil {
			cur = &st.ContainerResource.Current
		}
	case autoscalingv2.PodsMetricSourceType:
		if spec.Pods == nil {
			return m
		}
		m.Name, target = spec.Pods.Metric.Name, spec.Pods.Target
		if st != nil && st.Pods != nil {
			cur = &st.Pods.Current
		}
	case autoscalingv2.ObjectMetricSourceType:
		if spec.Object == nil {
			return m
		}
		m.Name, target = spec.Object.Metric.Name, spec.Object.Target
		if st != nil && st.Object != nil {
			cur = &st.Object.Current
		}
	case autoscalingv2.ExternalMetricSourceType:
		if spec.External == nil {
			return m
		}
		m.Name, target = spec.External.Metric.Name, spec.External.Target
		if st != nil && st.External != nil {
			cur = &st.External.Current
		}
	}
	avg := ""
	switch {
	case target.AverageUtilization != nil:
		m.Target = strconv.Itoa(int(*target.AverageUtilization)) + "%"
		if cur != nil && cur.AverageUtilization != nil {
			m.Current = strconv.Itoa(int(*cur.AverageUtilization)) + "%"
			m.Value, m.Known = float64(*cur.AverageUtilization), true
		}
		return m
	case target.AverageValue != nil:
		m.Target = target.AverageValue.String()
		if spec.Type == autoscalingv2.ObjectMetricSourceType || spec.Type == autoscalingv2.ExternalMetricSourceType {
			avg = " (avg)"
		}
		if cur != nil && cur.AverageValue != nil {
			m.Current, m.Value, m.Known = cur.AverageValue.String(), cur.AverageValue.AsApproximateFloat64(), true
		}
	case target.Value != nil:
		m.Target = target.Value.String()
		if cur != nil && cur.Value != nil {
			m.Current, m.Value, m.Known = cur.Value.String(), cur.Value.AsApproximateFloat64(), true
		}
	default:
		m.Target = "?"
	}
	m.Target += avg
	return m
}

// scaledObjectRow builds the row of a KEDA ScaledObject; hpa is the HPA KEDA
// manages for it (nil when absent) and target the scale target's current
// replicas (-1 when unknown).
func scaledObjectRow(so *unstructured.Unstructured, h *autoscalingv2.HorizontalPodAutoscaler, targetReplicas int32) Row {
	r := Row{Namespace: so.GetNamespace(), Name: so.GetName(), Kind: KindScaledObject, Created: so.GetCreationTimestamp().Time, Min: 0, Max: 100}
	kind, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "kind")
	name, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
	if kind == "" {
		kind = "Deployment"
	}
	r.Target = kind + "/" + name
	if v, ok := nestedInt(so.Object, "spec", "minReplicaCount"); ok {
		r.Min = v
	}
	if v, ok := nestedInt(so.Object, "spec", "maxReplicaCount"); ok {
		r.Max = v
	}
	r.HPAName, _, _ = unstructured.NestedString(so.Object, "status", "hpaName")
	r.Conditions = kedaConditions(so)
	if h != nil {
		r.Current, r.Desired = h.Status.CurrentReplicas, h.Status.DesiredReplicas
		r.Metrics = hpaMetrics(h)
		if r.HPAName == "" {
			r.HPAName = h.Name
		}
	} else {
		triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
		r.Metrics = triggerMetrics(triggers)
	}
	if targetReplicas >= 0 {
		r.Current = targetReplicas
		if h == nil {
			r.Desired = targetReplicas
		}
	}
	r.Health, r.Reason, r.Message = kedaHealth(r.Conditions)
	if r.Health == "OK" && h != nil {
		// KEDA is fine; the HPA it feeds may not be.
		if hh, reason, msg := hpaHealth(h, r.Metrics); hh != "OK" && !(r.Current == 0 && hh == "Paused") {
			r.Health, r.Reason, r.Message = hh, reason, msg
		}
	}
	return r
}

// scaledJobRow builds the row of a KEDA ScaledJob: current is the number of
// running jobs when known.
func scaledJobRow(sj *unstructured.Unstructured, activeJobs int32) Row {
	r := Row{Namespace: sj.GetNamespace(), Name: sj.GetName(), Kind: KindScaledJob, Created: sj.GetCreationTimestamp().Time, Max: 100,
		Target: "Job/" + sj.GetName(), Current: activeJobs, Desired: activeJobs}
	if v, ok := nestedInt(sj.Object, "spec", "minReplicaCount"); ok {
		r.Min = v
	}
	if v, ok := nestedInt(sj.Object, "spec", "maxReplicaCount"); ok {
		r.Max = v
	}
	triggers, _, _ := unstructured.NestedSlice(sj.Object, "spec", "triggers")
	r.Metrics = triggerMetrics(triggers)
	r.Conditions = kedaConditions(sj)
	r.Health, r.Reason, r.Message = kedaHealth(r.Conditions)
	return r
}

func nestedInt(obj map[string]any, path ...string) (int32, bool) {
	v, ok, _ := unstructured.NestedFieldNoCopy(obj, path...)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		return int32(x), true
	case float64:
		return int32(x), true
	case int:
		return int32(x), true
	}
	return 0, false
}

func kedaConditions(obj *unstructured.Unstructured) []Condition {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	out := make([]Condition, 0, len(conds))
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		s := func(k string) string { v, _ := cm[k].(string); return v }
		cond := Condition{Type: s("type"), Status: s("status"), Reason: s("reason"), Message: s("message")}
		if t, err := time.Parse(time.RFC3339, s("lastTransitionTime")); err == nil {
			cond.Since = t
		}
		out = append(out, cond)
	}
	return out
}

// kedaHealth: Ready=False fails; Paused=True pauses; Fallback=True fails
// over to fallback replicas; Active=False is KEDA's deliberate idle state.
func kedaHealth(conds []Condition) (health, reason, msg string) {
	get := func(t string) *Condition {
		for i := range conds {
			if conds[i].Type == t {
				return &conds[i]
			}
		}
		return nil
	}
	if len(conds) == 0 {
		return "Unknown", "NoStatus", "KEDA has not written a status yet (new object, or the KEDA operator is not running)"
	}
	if c := get("Paused"); c != nil && c.Status == "True" {
		return "Paused", c.Reason, c.Message
	}
	if c := get("Ready"); c != nil && c.Status != "True" {
		return "Failing", c.Reason, c.Message
	}
	if c := get("Fallback"); c != nil && c.Status == "True" {
		return "Failing", c.Reason, c.Message
	}
	if c := get("Active"); c != nil && c.Status != "True" {
		return "Inactive", c.Reason, c.Message
	}
	return "OK", "", ""
}

// podsOf returns the pods of a namespace matched by selector, sorted by name.
func podsOf(pods []*corev1.Pod, sel labels.Selector) []Pod {
	var out []Pod
	for _, p := range pods {
		if !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		out = append(out, podOf(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func podOf(p *corev1.Pod) Pod {
	q := Pod{Name: p.Name, Phase: string(p.Status.Phase), Deleting: p.DeletionTimestamp != nil, Created: p.CreationTimestamp.Time, Node: p.Spec.NodeName}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			q.Ready = true
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		q.Restarts += cs.RestartCount
	}
	if q.Phase == "" {
		q.Phase = "Pending"
	}
	return q
}

// deploymentSelector returns the selector of a Deployment (nil when none).
func deploymentSelector(d *appsv1.Deployment) labels.Selector {
	if d == nil || d.Spec.Selector == nil {
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil
	}
	return s
}

func eventOf(e *corev1.Event) Event {
	last := e.LastTimestamp.Time
	if last.IsZero() {
		last = e.EventTime.Time
	}
	if last.IsZero() {
		last = e.CreationTimestamp.Time
	}
	return Event{Type: e.Type, Reason: e.Reason, Object: e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name,
		Message: strings.TrimSpace(e.Message), Count: e.Count, Last: last}
}

// FormatQuantity renders a float compactly: integers as such, others with
// at most two decimals (for replayed metric values and ranges).
func FormatQuantity(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

func cut(s, sep string) (string, string, bool) { return strings.Cut(s, sep) }

func labelsOf(p *corev1.Pod) labels.Set { return labels.Set(p.Labels) }

// triggerMetrics names KEDA triggers as KEDA names their HPA metrics
// (s<index>-<type>), with the threshold from the trigger's metadata.
func triggerMetrics(triggers []any) []Metric {
	var out []Metric
	for i, t := range triggers {
		tm, _ := t.(map[string]any)
		typ, _ := tm["type"].(string)
		md, _ := tm["metadata"].(map[string]any)
		target := "?"
		for _, k := range []string{"threshold", "value", "targetValue", "lagThreshold", "queueLength"} {
			if v, ok := md[k].(string); ok {
				target = v
				break
			}
		}
		out = append(out, Metric{Name: fmt.Sprintf("s%d-%s", i, typ), Type: "External", Current: unknown, Target: target})
	}
	return out
}
