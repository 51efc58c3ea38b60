package doctor

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

// APIService names of the metrics APIs.
const (
	ResourceMetricsAPI   = "v1beta1.metrics.k8s.io"
	CustomMetricsAPI     = "v1beta2.custom.metrics.k8s.io"
	CustomMetricsAPIv1   = "v1beta1.custom.metrics.k8s.io"
	ExternalMetricsAPI   = "v1beta1.external.metrics.k8s.io"
	hpaAPIVersion        = "autoscaling/v2"
	scaledObjectAPIGroup = "keda.sh/v1alpha1"
)

// Check runs every live check over a snapshot and returns the findings in
// their deterministic order. It is pure: same snapshot, same findings.
func Check(s *Snapshot) []Finding {
	c := &checker{s: s}
	c.versionSkew()
	c.access()
	c.apiServices()
	c.hpaSelections()
	c.nodeMetrics()
	for _, h := range s.HPAs {
		c.hpa(h)
	}
	c.overlaps()
	c.kedaInstall()
	if w := c.s.KEDAWebhook; w != nil && w.ReadyEndpoints == 0 && len(c.s.ScaledObjects) > 0 {
		effect := "creating or updating ScaledObjects fails (failurePolicy Fail) with \"context deadline exceeded\" or \"no endpoints available\""
		if w.FailurePolicy == "Ignore" {
			effect = "KEDA's validation of ScaledObjects is skipped after the webhook timeout (failurePolicy Ignore), so invalid ones are accepted"
		}
		f := newFinding("KEDA-011", Warning, Object{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration", Name: w.Configuration},
			fmt.Sprintf("webhook %s calls Service %s/%s, which has no ready endpoint: %s", w.Webhook, w.ServiceNamespace, w.ServiceName, effect))
		c.add(f)
	}
	for _, so := range s.ScaledObjects {
		c.scaledObject(so)
	}
	SortFindings(c.out)
	return c.out
}

// Diagnose runs Check and wraps the findings and the snapshot's skipped
// checks in a Report.
func Diagnose(s *Snapshot) *Report {
	r := NewReport("live", Check(s), append([]Skipped(nil), s.Skipped...))
	ci := s.Cluster
	r.Cluster = &ci
	return r
}

// FindingsFor returns the findings about obj (kind, namespace and name
// compared), keeping their order. A ScaledObject's findings include those
// of the HPA KEDA generated for it.
func FindingsFor(fs []Finding, obj Object, alsoHPA string) []Finding {
	var out []Finding
	for _, f := range fs {
		o := f.Object
		if o.Namespace != obj.Namespace {
			continue
		}
		if (o.Kind == obj.Kind && o.Name == obj.Name) || (alsoHPA != "" && o.Kind == "HorizontalPodAutoscaler" && o.Name == alsoHPA) {
			out = append(out, f)
		}
	}
	return out
}

type checker struct {
	s   *Snapshot
	out []Finding
	// selected pods per HPA key
	sel map[string][]*corev1.Pod
}

func (c *checker) add(f Finding) { c.out = append(c.out, f) }

func hpaObject(h *autoscalingv2.HorizontalPodAutoscaler) Object {
	return Object{APIVersion: hpaAPIVersion, Kind: "HorizontalPodAutoscaler", Namespace: h.Namespace, Name: h.Name}
}

func soObject(so *kedav1alpha1.ScaledObject) Object {
	return Object{APIVersion: scaledObjectAPIGroup, Kind: "ScaledObject", Namespace: so.Namespace, Name: so.Name}
}

func key(ns, name string) string { return ns + "/" + name }

// TargetKey is the Snapshot.Targets key of a scale target.
func TargetKey(ns, kind, name string) string { return ns + "/" + kind + "/" + name }

// EventKey is the Snapshot.Events key of an object's events.
func EventKey(ns, kind, name string) string { return ns + "/" + kind + "/" + name }

// ProbeKey is the Snapshot.Probes key of the i-th metric of an object.
func ProbeKey(ns, kind, name string, i int) string {
	return fmt.Sprintf("%s/%s/%s#%d", ns, kind, name, i)
}

func (c *checker) access() {
	groups := make([]string, 0, len(c.s.StaleDiscovery))
	for g := range c.s.StaleDiscovery {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, gv := range groups {
		f := newFinding("ACC-003", Error, Object{APIVersion: "apiregistration.k8s.io/v1", Kind: "APIService", Name: apiServiceName(gv)},
			"aggregated discovery of "+gv+" fails: every client that walks discovery (kubectl, namespace deletion, controllers) sees the error")
		f.Message = c.s.StaleDiscovery[gv]
		c.add(f)
	}
	if c.s.HasOldKEDAGroup {
		c.add(newFinding("KEDA-012", Warning, Object{Kind: "APIGroup", Name: "keda.k8s.io"}, "the KEDA v1 API group keda.k8s.io is still served; its ScaledObjects are ignored by KEDA v2"))
	}
}

// apiServiceName turns "metrics.k8s.io/v1beta1" into "v1beta1.metrics.k8s.io".
func apiServiceName(gv string) string {
	g, v, ok := strings.Cut(gv, "/")
	if !ok {
		return gv
	}
	return v + "." + g
}

// neededAPIs returns, per APIService name, the first object that needs it.
func (c *checker) neededAPIs() map[string]Object {
	need := map[string]Object{}
	mark := func(api string, o Object) {
		if _, ok := need[api]; !ok {
			need[api] = o
		}
	}
	for _, h := range c.s.HPAs {
		for _, m := range h.Spec.Metrics {
			switch m.Type {
			case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
				mark(ResourceMetricsAPI, hpaObject(h))
			case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType:
				mark(CustomMetricsAPI, hpaObject(h))
			case autoscalingv2.ExternalMetricSourceType:
				mark(ExternalMetricsAPI, hpaObject(h))
			}
		}
	}
	for _, so := range c.s.ScaledObjects {
		mark(ExternalMetricsAPI, soObject(so))
	}
	return need
}

// hpaMessageAbout returns the first failing HPA condition message that
// mentions needle (the controller's own words for the problem).
func (c *checker) hpaMessageAbout(needle string) (string, Object) {
	for _, h := range c.s.HPAs {
		for _, cond := range h.Status.Conditions {
			// A 403 is the authorizer's answer before any APIService is
			// consulted: it says nothing about the API itself (CUS-006).
			if cond.Status == corev1.ConditionFalse && strings.Contains(cond.Message, needle) && !strings.Contains(cond.Message, " is forbidden: ") {
				return cond.Message, hpaObject(h)
			}
		}
	}
	return "", Object{}
}

func (c *checker) apiServices() {
	if c.s.APIServices == nil {
		return // not collected (skipped)
	}
	need := c.neededAPIs()
	names := []string{ResourceMetricsAPI, CustomMetricsAPI, ExternalMetricsAPI}
	for _, name := range names {
		by, needed := need[name]
		a := c.s.APIServices[name]
		if name == CustomMetricsAPI && a == nil {
			a = c.s.APIServices[CustomMetricsAPIv1]
		}
		obj := Object{APIVersion: "apiregistration.k8s.io/v1", Kind: "APIService", Name: name}
		group := strings.SplitN(name, ".", 2)[1]
		// How the HPA controller names the API in its errors.
		ctrlName := map[string]string{ResourceMetricsAPI: "resource metrics API", CustomMetricsAPI: "custom metrics API", ExternalMetricsAPI: "external metrics API"}[name]
		if a == nil {
			if needed {
				f := newFinding("API-001", Error, obj, fmt.Sprintf("no APIService serves %s, which %s needs: its metrics show <unknown>", group, by))
				f.Message, _ = c.hpaMessageAbout(ctrlName)
				f.Evidence.Facts = append(f.Evidence.Facts, "needed by "+by.String())
				c.add(f)
			}
			continue
		}
		obj.Name = a.Name
		av, ok := a.Available()
		if ok && av.Status != "True" {
			sev := Warning
			if needed {
				sev = Error
			}
			f := newFinding("API-002", sev, obj, fmt.Sprintf("APIService %s is not Available (%s): requests for %s fail", a.Name, av.Reason, group))
			f.Message = av.Message
			f.Evidence.Conditions = []ConditionEvidence{av}
			if msg, o := c.hpaMessageAbout(ctrlName); msg != "" {
				f.Evidence.Facts = append(f.Evidence.Facts, fmt.Sprintf("%s reports: %s", o, msg))
			}
			c.add(f)
			c.apiServiceCause(a, av, obj)
		}
		if name == ExternalMetricsAPI && len(c.s.ScaledObjects) > 0 {
			if owner := ownerOf(a); owner != "keda" {
				f := newFinding("API-006", Error, obj, fmt.Sprintf("external.metrics.k8s.io is served by %s (Service %s/%s), but %d ScaledObject(s) need KEDA's metrics server: every KEDA HPA fails", owner, a.ServiceNamespace, a.ServiceName, len(c.s.ScaledObjects)))
				f.Message, _ = c.hpaMessageAbout(ctrlName)
				f.Evidence.Facts = []string{"first ScaledObject: " + soObject(c.s.ScaledObjects[0]).String()}
				c.add(f)
			}
		}
	}
}

// apiServiceCause adds the specific finding behind an unavailable APIService.
func (c *checker) apiServiceCause(a *APIService, av ConditionEvidence, obj Object) {
	switch av.Reason {
	case "ServiceNotFound":
		if c.s.Services == nil {
			return
		}
		var best string
		for k, svc := range c.s.Services {
			if svc.Namespace != a.ServiceNamespace || k == key(a.ServiceNamespace, a.ServiceName) {
				continue
			}
			if similar(svc.Name, a.ServiceName) && (best == "" || svc.Name < best) {
				best = svc.Name
			}
		}
		if best != "" {
			f := newFinding("API-007", Error, obj, fmt.Sprintf("APIService %s points at Service %s/%s, which does not exist; Service %s/%s does: a name typo", a.Name, a.ServiceNamespace, a.ServiceName, a.ServiceNamespace, best))
			f.Message = av.Message
			c.add(f)
		}
	case "FailedDiscoveryCheck":
		m := av.Message
		switch {
		case strings.Contains(m, "x509") || strings.Contains(m, "certificate"):
			f := newFinding("API-005", Error, obj, "the aggregator rejects the adapter's TLS certificate")
			f.Message = m
			c.add(f)
		case strings.Contains(m, "i/o timeout") || strings.Contains(m, "deadline exceeded") || strings.Contains(m, "Address is not allowed") || strings.Contains(m, "connection refused") || strings.Contains(m, "no route to host"):
			f := newFinding("API-008", Error, obj, "the API server cannot reach the adapter")
			f.Message = m
			c.add(f)
		}
	case "MissingEndpoints", "EndpointsNotFound":
		f := newFinding("API-003", Error, obj, fmt.Sprintf("Service %s/%s has no ready endpoints: the adapter's pods are not running or not Ready", a.ServiceNamespace, a.ServiceName))
		f.Message = av.Message
		f.Evidence.Facts = c.adapterPodFacts(a)
		c.add(f)
	}
}

// similar reports names one edit apart or where one contains the other
// (keda-metrics-apiserver vs keda-operator-metrics-apiserver).
func similar(a, b string) bool {
	if a == b {
		return false
	}
	if strings.Contains(a, b) || strings.Contains(b, a) {
		return true
	}
	return strictyaml.EditDistance(a, b) <= 2
}

// ownerOf names the adapter behind an APIService from its Service and labels.
func ownerOf(a *APIService) string {
	s := strings.ToLower(a.ServiceName + " " + a.Labels["app.kubernetes.io/name"] + " " + a.Labels["app.kubernetes.io/part-of"])
	switch {
	case strings.Contains(s, "keda"):
		return "keda"
	case strings.Contains(s, "datadog"):
		return "datadog-cluster-agent"
	case strings.Contains(s, "stackdriver"):
		return "custom-metrics-stackdriver-adapter"
	case strings.Contains(s, "prometheus-adapter") || strings.Contains(s, "adapter"):
		return "prometheus-adapter"
	case strings.Contains(s, "metrics-server"):
		return "metrics-server"
	case a.ServiceName == "":
		return "a local (built-in) API"
	}
	return a.ServiceName
}

// selector returns the HPA's target selector, or nil.
func (c *checker) targetOf(ns, kind, name string) *Target {
	if c.s.Targets == nil {
		return nil
	}
	return c.s.Targets[TargetKey(ns, kind, name)]
}

func (c *checker) hpaSelections() {
	c.sel = map[string][]*corev1.Pod{}
	for _, h := range c.s.HPAs {
		t := c.targetOf(h.Namespace, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		if t == nil || !t.Found || t.Selector == "" {
			continue
		}
		sel, err := labels.Parse(t.Selector)
		if err != nil {
			continue
		}
		var pods []*corev1.Pod
		for _, p := range c.s.Pods[h.Namespace] {
			if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			if sel.Matches(labels.Set(p.Labels)) {
				pods = append(pods, p)
			}
		}
		c.sel[key(h.Namespace, h.Name)] = pods
	}
}

func condition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) (autoscalingv2.HorizontalPodAutoscalerCondition, bool) {
	for _, c := range h.Status.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return autoscalingv2.HorizontalPodAutoscalerCondition{}, false
}

func condEvidence(c autoscalingv2.HorizontalPodAutoscalerCondition) ConditionEvidence {
	return ConditionEvidence{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message}
}

// failing returns the HPA's failing condition (ScalingActive or
// AbleToScale False), preferring ScalingActive.
func failing(h *autoscalingv2.HorizontalPodAutoscaler) (autoscalingv2.HorizontalPodAutoscalerCondition, bool) {
	if c, ok := condition(h, autoscalingv2.ScalingActive); ok && c.Status == corev1.ConditionFalse {
		return c, true
	}
	if c, ok := condition(h, autoscalingv2.AbleToScale); ok && c.Status == corev1.ConditionFalse {
		return c, true
	}
	return autoscalingv2.HorizontalPodAutoscalerCondition{}, false
}

func (c *checker) warningEvents(ns, kind, name string) []EventEvidence {
	var out []EventEvidence
	for _, e := range c.s.Events[EventKey(ns, kind, name)] {
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		out = append(out, EventEvidence{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count})
	}
	return out
}

// metricLabel describes spec.metrics[i] as kubectl does, briefly.
func metricLabel(m autoscalingv2.MetricSpec) string {
	switch m.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if m.Resource != nil {
			return "resource " + string(m.Resource.Name)
		}
	case autoscalingv2.ContainerResourceMetricSourceType:
		if m.ContainerResource != nil {
			return fmt.Sprintf("resource %s of container %q", m.ContainerResource.Name, m.ContainerResource.Container)
		}
	case autoscalingv2.PodsMetricSourceType:
		if m.Pods != nil {
			return fmt.Sprintf("%q on pods", m.Pods.Metric.Name)
		}
	case autoscalingv2.ObjectMetricSourceType:
		if m.Object != nil {
			return fmt.Sprintf("%q on %s/%s", m.Object.Metric.Name, m.Object.DescribedObject.Kind, m.Object.DescribedObject.Name)
		}
	case autoscalingv2.ExternalMetricSourceType:
		if m.External != nil {
			return fmt.Sprintf("external %q", m.External.Metric.Name)
		}
	}
	return string(m.Type)
}

func (c *checker) hpa(h *autoscalingv2.HorizontalPodAutoscaler) {
	obj := hpaObject(h)
	fail, isFailing := failing(h)
	events := c.warningEvents(h.Namespace, "HorizontalPodAutoscaler", h.Name)

	// HPA-003: the failing condition, verbatim.
	if isFailing {
		f := newFinding("HPA-003", Error, obj, fmt.Sprintf("%s=False %s: the HPA does not scale", fail.Type, fail.Reason))
		f.Message = fail.Message
		f.Evidence.Conditions = []ConditionEvidence{condEvidence(fail)}
		c.add(f)
	} else if lim, ok := condition(h, autoscalingv2.ScalingLimited); ok && lim.Status == corev1.ConditionTrue && lim.Reason == "TooManyReplicas" {
		f := newFinding("HPA-003", Warning, obj, "ScalingLimited=True TooManyReplicas: the HPA wants more than maxReplicas (saturated)")
		f.Message = lim.Message
		f.Evidence.Conditions = []ConditionEvidence{condEvidence(lim)}
		c.add(f)
	}
	// HPA-004: Warning events.
	if len(events) > 0 {
		sev := Warning
		if !isFailing {
			sev = Info
		}
		last := events[len(events)-1]
		f := newFinding("HPA-004", sev, obj, fmt.Sprintf("%d Warning event reason(s), latest %s", len(events), last.Reason))
		if !isFailing {
			f.Summary += " (the HPA is healthy now: historical)"
		}
		f.Message = last.Message
		f.Evidence.Events = lastN(events, 5)
		c.add(f)
	}
	// HPA-007: never processed.
	if len(h.Status.Conditions) == 0 && !c.s.Now.IsZero() && c.s.Now.Sub(h.CreationTimestamp.Time).Seconds() > 60 {
		c.add(newFinding("HPA-007", Warning, obj, "the HPA has no conditions a minute after creation: the HPA controller is not processing it"))
	} else if f, ok := c.staleGeneration(h); ok {
		c.add(f)
	}
	// HPA-009: smells.
	if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas == h.Spec.MaxReplicas {
		c.add(newFinding("HPA-009", Warning, obj, fmt.Sprintf("minReplicas equals maxReplicas (%d): the HPA can never scale", h.Spec.MaxReplicas)))
	}

	ref := h.Spec.ScaleTargetRef
	t := c.targetOf(h.Namespace, ref.Kind, ref.Name)
	before := len(c.out)
	switch {
	case t == nil:
		// not collected
	case !t.Found:
		f := newFinding("HPA-001", Error, obj, fmt.Sprintf("scaleTargetRef %s/%s cannot be resolved: %s", ref.Kind, ref.Name, orDefault(t.Err, "not found")))
		if isFailing && fail.Type == autoscalingv2.AbleToScale {
			f.Message = fail.Message
		}
		c.add(f)
	case t.Selector == "":
		f := newFinding("HPA-002", Error, obj, fmt.Sprintf("%s/%s's /scale has no selector: the HPA cannot find its pods", ref.Kind, ref.Name))
		if isFailing && (fail.Reason == "InvalidSelector" || fail.Reason == "SelectorRequired") {
			f.Message = fail.Message
		}
		c.add(f)
	case t.SpecReplicas == 0:
		f := newFinding("HPA-008", Warning, obj, fmt.Sprintf("%s/%s is at 0 replicas: the HPA does not scale it (ScalingDisabled)", ref.Kind, ref.Name))
		if isFailing && fail.Reason == "ScalingDisabled" {
			f.Message = fail.Message
		}
		c.add(f)
	}

	targetCause := ""
	if len(c.out) > before {
		targetCause = c.out[len(c.out)-1].ID // HPA-001, HPA-002 or HPA-008
	}
	pods := c.sel[key(h.Namespace, h.Name)]
	for i, m := range h.Spec.Metrics {
		label := metricLabel(m)
		cause := c.metricChecks(h, i, m, pods, t, fail, isFailing)
		if targetCause != "" {
			cause = targetCause
		}
		// HPA-005: <unknown> for this metric.
		if metricUnknown(h, i) && len(h.Status.Conditions) > 0 {
			sum := fmt.Sprintf("spec.metrics[%d] (%s) shows <unknown>", i, label)
			if cause != "" {
				sum += ": see " + cause
			}
			f := newFinding("HPA-005", Error, obj, sum)
			if isFailing {
				f.Message = fail.Message
				f.Evidence.Conditions = []ConditionEvidence{condEvidence(fail)}
			}
			if len(events) > 0 {
				f.Evidence.Events = lastN(events, 1)
			}
			c.add(f)
		}
	}
}

// metricUnknown reports whether kubectl prints <unknown> for spec.metrics[i]:
// status.currentMetrics[i] (matched by index) is absent or lacks the
// type's current value (the controller leaves a zero entry for a failed
// metric).
func metricUnknown(h *autoscalingv2.HorizontalPodAutoscaler, i int) bool {
	if i >= len(h.Status.CurrentMetrics) {
		return true
	}
	cm := h.Status.CurrentMetrics[i]
	has := func(v autoscalingv2.MetricValueStatus) bool {
		return v.AverageUtilization != nil || v.AverageValue != nil || v.Value != nil
	}
	switch cm.Type {
	case autoscalingv2.ResourceMetricSourceType:
		return cm.Resource == nil || !has(cm.Resource.Current)
	case autoscalingv2.ContainerResourceMetricSourceType:
		return cm.ContainerResource == nil || !has(cm.ContainerResource.Current)
	case autoscalingv2.PodsMetricSourceType:
		return cm.Pods == nil || !has(cm.Pods.Current)
	case autoscalingv2.ObjectMetricSourceType:
		return cm.Object == nil || !has(cm.Object.Current)
	case autoscalingv2.ExternalMetricSourceType:
		return cm.External == nil || !has(cm.External.Current)
	}
	return true
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func lastN(e []EventEvidence, n int) []EventEvidence {
	if len(e) > n {
		e = e[len(e)-n:]
	}
	return append([]EventEvidence(nil), e...)
}

// quote returns the failing condition's message when it contains needle.
func quote(fail autoscalingv2.HorizontalPodAutoscalerCondition, isFailing bool, needle string) string {
	if isFailing && strings.Contains(fail.Message, needle) {
		return fail.Message
	}
	return ""
}

// metricChecks runs the per-metric checks and returns the ID of the first
// cause found (for HPA-005).
func (c *checker) metricChecks(h *autoscalingv2.HorizontalPodAutoscaler, i int, m autoscalingv2.MetricSpec, pods []*corev1.Pod, t *Target, fail autoscalingv2.HorizontalPodAutoscalerCondition, isFailing bool) string {
	obj := hpaObject(h)
	// cause is the finding HPA-005 points at: the first one that quotes
	// the controller's error, else the first one.
	cause, quoted := "", false
	note := func(f Finding) {
		if cause == "" || (!quoted && f.Message != "") {
			cause, quoted = f.ID, f.Message != ""
		}
		c.add(f)
	}
	switch m.Type {
	case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
		var res corev1.ResourceName
		var container string
		var util bool
		if m.Resource != nil {
			res, util = m.Resource.Name, m.Resource.Target.Type == autoscalingv2.UtilizationMetricType
		} else if m.ContainerResource != nil {
			res, container, util = m.ContainerResource.Name, m.ContainerResource.Container, m.ContainerResource.Target.Type == autoscalingv2.UtilizationMetricType
		} else {
			return ""
		}
		if container != "" {
			for _, p := range pods {
				if !hasContainer(&p.Spec, container) {
					f := newFinding("RES-002", Error, obj, fmt.Sprintf("spec.metrics[%d] names container %q, which Pod %s does not have", i, container, p.Name))
					if isFailing && fail.Reason == "FailedGetContainerResourceMetric" {
						f.Message = fail.Message
					}
					note(f)
					break
				}
			}
		}
		if util {
			for _, p := range pods {
				if miss := hpa.MissingRequests(&p.Spec, res, container); len(miss) > 0 {
					f := newFinding("RES-001", Error, obj, fmt.Sprintf("Pod %s has no %s request in container(s) %s: utilisation cannot be computed", p.Name, res, strings.Join(miss, ", ")))
					f.Message = quote(fail, isFailing, "missing request for")
					if f.Message == "" {
						f.Message = quote(fail, isFailing, "missing pod-level request")
					}
					f.Evidence.Facts = []string{fmt.Sprintf("%d pod(s) selected by the target's selector; checked live pods, including init containers with restartPolicy: Always (native sidecars)", len(pods))}
					note(f)
					break
				}
			}
		}
		if t != nil && t.Found && t.Kind == "Deployment" {
			for _, p := range pods {
				if !ownedBy(p, t.Name) {
					f := newFinding("RES-003", Warning, obj, fmt.Sprintf("Pod %s matches %s/%s's selector but is not one of its pods: it counts in the HPA's average", p.Name, t.Kind, t.Name))
					note(f)
					break
				}
			}
		}
		if len(pods) > 0 {
			ready := 0
			for _, p := range pods {
				if podReady(p) {
					ready++
				}
			}
			if ready == 0 {
				f := newFinding("RES-004", Warning, obj, fmt.Sprintf("none of the %d selected pods is Ready (a model still loading?): the HPA ignores their %s", len(pods), res))
				f.Message = quote(fail, isFailing, "did not receive metrics")
				note(f)
			}
		}
		if pm, ok := c.s.PodMetrics[h.Namespace]; ok && len(pods) > 0 {
			var missing []string
			for _, p := range pods {
				if podReady(p) && pm[p.Name] == nil {
					missing = append(missing, p.Name)
				}
			}
			if len(missing) > 0 {
				f := newFinding("RES-005", Error, obj, fmt.Sprintf("metrics.k8s.io returned no metrics for %d ready pod(s): %s", len(missing), strings.Join(firstN(missing, 5), ", ")))
				f.Message = quote(fail, isFailing, "metrics")
				if on := c.podsOnUnscrapedNodes(pods); len(on) > 0 {
					f.Evidence.Facts = append(f.Evidence.Facts, fmt.Sprintf("%d of the selected pods run on nodes metrics-server serves no NodeMetrics for (see API-004): %s", len(on), strings.Join(firstN(on, 5), ", ")))
				}
				note(f)
			}
		}
	case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType:
		var name, res string
		if m.Pods != nil {
			name, res = m.Pods.Metric.Name, "pods"
		} else if m.Object != nil {
			name, res = m.Object.Metric.Name, strings.ToLower(m.Object.DescribedObject.Kind)+"s"
		} else {
			return ""
		}
		if f, ok := c.controllerDenied(h, i, fail, isFailing); ok {
			note(f)
		}
		if c.s.CustomMetrics != nil && !c.s.CustomMetrics[res+"/"+name] {
			f := newFinding("CUS-001", Error, obj, fmt.Sprintf("the custom metrics API does not list %s/%s: the adapter has no rule producing %q for %s", res, name, name, res))
			f.Message = quote(fail, isFailing, name)
			f.Evidence.Probe = &ProbeEvidence{Path: "/apis/custom.metrics.k8s.io/v1beta2", HTTPStatus: 200}
			note(f)
			if lag, ok := c.relistLag(h, name, pods); ok {
				c.add(lag)
			}
		} else if p := c.s.Probes[ProbeKey(h.Namespace, "HorizontalPodAutoscaler", h.Name, i)]; p != nil {
			if p.Err != "" || p.Items == 0 {
				f := newFinding("CUS-002", Error, obj, fmt.Sprintf("querying %q with the HPA's selector returns %s", name, orDefault(p.Err, "no items")))
				f.Message = quote(fail, isFailing, name)
				f.Evidence.Probe = &ProbeEvidence{Path: p.Path, HTTPStatus: p.HTTPStatus, Error: p.Err}
				note(f)
			} else if p.NaN {
				f := newFinding("CUS-005", Warning, obj, fmt.Sprintf("%q returns a NaN or sentinel value", name))
				f.Evidence.Probe = &ProbeEvidence{Path: p.Path, HTTPStatus: p.HTTPStatus}
				note(f)
			}
		}
		if m.Pods != nil && strings.HasPrefix(name, "DCGM_") && len(pods) > 0 {
			for _, p := range pods {
				if !requestsGPU(&p.Spec) {
					note(newFinding("CUS-003", Warning, obj, fmt.Sprintf("GPU metric %q, but Pod %s requests no nvidia.com/gpu: dcgm-exporter does not attribute GPU metrics to it", name, p.Name)))
					break
				}
			}
		}
	case autoscalingv2.ExternalMetricSourceType:
		if f, ok := c.controllerDenied(h, i, fail, isFailing); ok {
			note(f)
		}
		if m.External == nil || isKEDAHPA(h) {
			return cause // KEDA's HPAs are diagnosed through their ScaledObject
		}
		if p := c.s.Probes[ProbeKey(h.Namespace, "HorizontalPodAutoscaler", h.Name, i)]; p != nil && (p.Err != "" || p.Items == 0) {
			f := newFinding("CUS-002", Error, obj, fmt.Sprintf("querying external metric %q with the HPA's selector returns %s", m.External.Metric.Name, orDefault(p.Err, "no items")))
			f.Message = quote(fail, isFailing, m.External.Metric.Name)
			f.Evidence.Probe = &ProbeEvidence{Path: p.Path, HTTPStatus: p.HTTPStatus, Error: p.Err}
			note(f)
		}
	}
	return cause
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// hasContainer reports whether a ContainerResource metric's container is
// one the controller looks at: an app container or a native sidecar.
func hasContainer(spec *corev1.PodSpec, name string) bool {
	for _, c := range spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range spec.InitContainers {
		if c.Name == name && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return true
		}
	}
	return false
}

func requestsGPU(spec *corev1.PodSpec) bool {
	for _, c := range spec.Containers {
		if _, ok := c.Resources.Requests["nvidia.com/gpu"]; ok {
			return true
		}
		if _, ok := c.Resources.Limits["nvidia.com/gpu"]; ok {
			return true
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ownedBy reports whether a pod's controller is a ReplicaSet of the
// Deployment (named <deployment>-<hash>).
func ownedBy(p *corev1.Pod, deployment string) bool {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return false
	}
	return ref.Kind == "ReplicaSet" && strings.HasPrefix(ref.Name, deployment+"-")
}

func isKEDAHPA(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, r := range h.OwnerReferences {
		if r.Kind == "ScaledObject" {
			return true
		}
	}
	return h.Labels["app.kubernetes.io/managed-by"] == "keda-operator"
}

// overlaps: HPA-006, several HPAs selecting the same pods.
func (c *checker) overlaps() {
	owners := map[string][]*autoscalingv2.HorizontalPodAutoscaler{} // pod key -> HPAs
	for _, h := range c.s.HPAs {
		for _, p := range c.sel[key(h.Namespace, h.Name)] {
			k := key(p.Namespace, p.Name)
			owners[k] = append(owners[k], h)
		}
	}
	reported := map[string]bool{}
	keys := make([]string, 0, len(owners))
	for k := range owners {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, pk := range keys {
		hs := owners[pk]
		if len(hs) < 2 {
			continue
		}
		names := make([]string, len(hs))
		for i, h := range hs {
			names[i] = h.Name
		}
		sort.Strings(names)
		for _, h := range hs {
			if reported[key(h.Namespace, h.Name)] {
				continue
			}
			reported[key(h.Namespace, h.Name)] = true
			f := newFinding("HPA-006", Error, hpaObject(h), fmt.Sprintf("pods (e.g. %s) are selected by several HPAs: %s; the controller refuses to scale (AmbiguousSelector)", strings.SplitN(pk, "/", 2)[1], strings.Join(names, ", ")))
			if cond, ok := condition(h, autoscalingv2.ScalingActive); ok && cond.Reason == "AmbiguousSelector" {
				f.Message = cond.Message
				f.Evidence.Conditions = []ConditionEvidence{condEvidence(cond)}
			}
			c.add(f)
		}
	}
}

// kedaInstall: KEDA-001, KEDA's operator and metrics server Deployments
// exist and have ready replicas.
func (c *checker) kedaInstall() {
	if c.s.KEDADeployments == nil {
		return
	}
	ns := c.s.APIServices[ExternalMetricsAPI].ServiceNamespace
	for _, name := range []string{"keda-operator", "keda-operator-metrics-apiserver"} {
		obj := Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: name}
		d := c.s.KEDADeployments[name]
		switch {
		case d == nil:
			c.add(newFinding("KEDA-001", Error, obj, fmt.Sprintf("Deployment %s/%s does not exist: %d ScaledObject(s) have no %s", ns, name, len(c.s.ScaledObjects), map[string]string{"keda-operator": "operator (nothing polls the triggers)", "keda-operator-metrics-apiserver": "metrics server (the HPAs get no metrics)"}[name])))
		case d.Status.ReadyReplicas == 0:
			f := newFinding("KEDA-001", Error, obj, fmt.Sprintf("Deployment %s/%s has no ready replica", ns, name))
			for _, cnd := range d.Status.Conditions {
				if cnd.Status != corev1.ConditionTrue {
					f.Evidence.Conditions = append(f.Evidence.Conditions, ConditionEvidence{Type: string(cnd.Type), Status: string(cnd.Status), Reason: cnd.Reason, Message: cnd.Message})
				}
			}
			c.add(f)
		}
	}
}

func kedaCond(so *kedav1alpha1.ScaledObject, t kedav1alpha1.ConditionType) (kedav1alpha1.Condition, bool) {
	for _, c := range so.Status.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return kedav1alpha1.Condition{}, false
}

// hpaNameOf is the name of the HPA KEDA generates for so.
func hpaNameOf(so *kedav1alpha1.ScaledObject) string {
	if so.Status.HpaName != "" {
		return so.Status.HpaName
	}
	if a := so.Spec.Advanced; a != nil && a.HorizontalPodAutoscalerConfig != nil && a.HorizontalPodAutoscalerConfig.Name != "" {
		return a.HorizontalPodAutoscalerConfig.Name
	}
	return "keda-hpa-" + so.Name
}

func (c *checker) scaledObject(so *kedav1alpha1.ScaledObject) {
	obj := soObject(so)
	// KEDA-010: KEDA's own validation layers.
	if _, err := keda.Compile(so.DeepCopy(), keda.Options{AuthParams: authPlaceholders(so, c.s.TriggerAuthParams)}); err != nil && !uncertainRejection(so, err, c.s.TriggerAuthParams) {
		f := newFinding("KEDA-010", Error, obj, "KEDA rejects the ScaledObject")
		f.Message = err.Error()
		c.add(f)
	}
	// KEDA-003: conditions.
	for _, cond := range so.Status.Conditions {
		ev := ConditionEvidence{Type: string(cond.Type), Status: string(cond.Status), Reason: cond.Reason, Message: cond.Message}
		var sev Severity
		var sum string
		switch {
		case cond.Type == kedav1alpha1.ConditionReady && cond.Status == metav1.ConditionFalse:
			sev, sum = Error, "Ready=False "+cond.Reason+": KEDA does not scale this ScaledObject"
		case cond.Type == kedav1alpha1.ConditionReady && cond.Status == metav1.ConditionUnknown && cond.Reason != "":
			sev, sum = Warning, "Ready=Unknown "+cond.Reason+": some triggers fail"
		case cond.Type == kedav1alpha1.ConditionFallback && cond.Status == metav1.ConditionTrue:
			sev, sum = Warning, "Fallback=True: the triggers fail and KEDA serves the fallback replicas"
		case cond.Type == kedav1alpha1.ConditionPaused && cond.Status == metav1.ConditionTrue:
			sev, sum = Info, "Paused=True: autoscaling is paused by annotation"
		case cond.Type == "HPAActive" && cond.Status == metav1.ConditionFalse:
			sev, sum = Warning, "HPAActive=False "+cond.Reason+": the HPA KEDA generated cannot read its metrics"
		default:
			continue
		}
		f := newFinding("KEDA-003", sev, obj, sum)
		f.Message = cond.Message
		f.Evidence.Conditions = []ConditionEvidence{ev}
		f.Evidence.Events = lastN(c.warningEvents(so.Namespace, "ScaledObject", so.Name), 3)
		c.add(f)
	}
	// KEDA-004: per-trigger health.
	hk := make([]string, 0, len(so.Status.Health))
	for k := range so.Status.Health {
		hk = append(hk, k)
	}
	sort.Strings(hk)
	for _, k := range hk {
		hs := so.Status.Health[k]
		if hs.Status == kedav1alpha1.HealthStatusFailing {
			n := int32(0)
			if hs.NumberOfFailures != nil {
				n = *hs.NumberOfFailures
			}
			c.add(newFinding("KEDA-004", Error, obj, fmt.Sprintf("trigger metric %s is Failing (%d consecutive failures)", k, n)))
		}
	}
	c.scalerFailedEvents(so, obj)
	// KEDA-005: target and HPA ownership.
	var target *Target
	if ref := so.Spec.ScaleTargetRef; ref != nil {
		kind := orDefault(ref.Kind, "Deployment")
		target = c.targetOf(so.Namespace, kind, ref.Name)
		if target != nil && !target.Found {
			c.add(newFinding("KEDA-005", Error, obj, fmt.Sprintf("scaleTargetRef %s/%s does not exist: %s", kind, ref.Name, orDefault(target.Err, "not found"))))
		}
		own := hpaNameOf(so)
		for _, h := range c.s.HPAs {
			if h.Namespace != so.Namespace || h.Name == own || isKEDAHPA(h) {
				continue
			}
			if h.Spec.ScaleTargetRef.Name == ref.Name && h.Spec.ScaleTargetRef.Kind == kind {
				f := newFinding("KEDA-005", Error, obj, fmt.Sprintf("HPA %s also scales %s/%s: the two fight (KEDA's webhook would reject this ScaledObject)", h.Name, kind, ref.Name))
				f.Message = fmt.Sprintf("the workload '%s' of type '%s' is already managed by the hpa '%s'", ref.Name, keda.GVKString(ref.APIVersion, ref.Kind), h.Name)
				c.add(f)
			}
		}
	}
	// KEDA-015: trigger settings that do not do what they seem.
	for i, t := range so.Spec.Triggers {
		for _, a := range keda.TriggerAdvice(t) {
			c.add(newFinding("KEDA-015", Warning, obj, fmt.Sprintf("spec.triggers[%d].%s (%s): %s", i, a.Field, t.Type, a.Message)))
		}
	}
	// KEDA-006: authentication references.
	if c.s.TriggerAuths != nil {
		for i, t := range so.Spec.Triggers {
			ar := t.AuthenticationRef
			if ar == nil {
				continue
			}
			k, kind := key(so.Namespace, ar.Name), "TriggerAuthentication"
			if ar.Kind == "ClusterTriggerAuthentication" {
				k, kind = key("", ar.Name), ar.Kind
			}
			if !c.s.TriggerAuths[k] {
				f := newFinding("KEDA-006", Error, obj, fmt.Sprintf("spec.triggers[%d] (%s) references %s %q, which does not exist: KEDA cannot build the scaler", i, t.Type, kind, ar.Name))
				f.Evidence.Events = lastN(c.warningEvents(so.Namespace, "ScaledObject", so.Name), 3)
				c.add(f)
				continue
			}
			c.secretRefs(so, i, t.Type, kind, ar.Name, c.s.TriggerAuthSecrets[k])
		}
	}
	// KEDA-007: cpu/memory triggers need requests.
	if target != nil && target.Found && target.Template != nil {
		for _, t := range so.Spec.Triggers {
			if t.Type != "cpu" && t.Type != "memory" {
				continue
			}
			ctr := t.Metadata["containerName"]
			for _, name := range hpa.MissingRequests(&target.Template.Spec, corev1.ResourceName(t.Type), ctr) {
				f := newFinding("KEDA-007", Error, obj, fmt.Sprintf("a %s trigger, but container %s of %s has no %s request", t.Type, name, target.Name, t.Type))
				f.Message = fmt.Sprintf("the scaledobject has a %v trigger but the container %s doesn't have the %v request defined", t.Type, name, t.Type)
				c.add(f)
			}
		}
	}
	// KEDA-008 / KEDA-009: live external metric probes.
	for i, name := range so.Status.ExternalMetricNames {
		p := c.s.Probes[ProbeKey(so.Namespace, "ScaledObject", so.Name, i)]
		if p == nil {
			continue
		}
		switch {
		case p.Err != "":
			f := newFinding("KEDA-008", Error, obj, fmt.Sprintf("KEDA's metrics server fails to serve %s (what the HPA sees)", name))
			f.Message = p.Err
			f.Evidence.Probe = &ProbeEvidence{Path: p.Path, HTTPStatus: p.HTTPStatus, Error: p.Err}
			// KEDA's answer to the HPA does not carry the scaler's own
			// error; its KEDAScalerFailed event does.
			if e := c.latestWarning(so.Namespace, "ScaledObject", so.Name, "KEDAScalerFailed"); e != nil {
				f.Evidence.Events = []EventEvidence{{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count}}
				f.Summary += "; the scaler's error: " + e.Message
			}
			c.add(f)
		case p.NaN:
			f := newFinding("KEDA-009", Warning, obj, fmt.Sprintf("%s is NaN or a sentinel value", name))
			f.Evidence.Probe = &ProbeEvidence{Path: p.Path, HTTPStatus: p.HTTPStatus}
			c.add(f)
		}
	}
}

// authPlaceholders stands a well-formed value in for each parameter a
// trigger takes from its TriggerAuthentication (doctor never reads
// Secrets): the TriggerAuthentication's parameter names when known
// (params, keyed like Snapshot.TriggerAuths), and the usual ones of the
// trigger type.
func authPlaceholders(so *kedav1alpha1.ScaledObject, params map[string][]string) []map[string]string {
	out := make([]map[string]string, len(so.Spec.Triggers))
	for i, t := range so.Spec.Triggers {
		ar := t.AuthenticationRef
		if ar == nil {
			continue
		}
		out[i] = authParamsFor(t.Type)
		for _, p := range params[authKey(so.Namespace, ar)] {
			if _, ok := out[i][p]; !ok {
				out[i][p] = "secret-value"
			}
		}
	}
	return out
}

// authKey is the TriggerAuths key of an authentication reference.
func authKey(ns string, ar *kedav1alpha1.AuthenticationRef) string {
	if ar.Kind == "ClusterTriggerAuthentication" {
		return key("", ar.Name)
	}
	return key(ns, ar.Name)
}

// uncertainRejection reports a rejection by KEDA's scaler builders for a
// missing parameter that may come from where doctor cannot see: the
// target's container environment (a ...FromEnv key) or a
// TriggerAuthentication whose parameters are unknown (missing; its own
// finding is KEDA-006). Such rejections are not reported.
func uncertainRejection(so *kedav1alpha1.ScaledObject, err error, params map[string][]string) bool {
	var ve *keda.ValidationError
	if !errors.As(err, &ve) || ve.Layer != "controller" || !strings.Contains(ve.Message, "missing required parameter") {
		return false
	}
	// KEDA names where it looked: "in [triggerMetadata authParams resolvedEnv]".
	for _, t := range so.Spec.Triggers {
		for k := range t.Metadata {
			if strings.HasSuffix(k, "FromEnv") && strings.Contains(ve.Message, "resolvedEnv") {
				return true
			}
		}
		if ar := t.AuthenticationRef; ar != nil && strings.Contains(ve.Message, "authParams") {
			if _, known := params[authKey(so.Namespace, ar)]; !known {
				return true
			}
		}
	}
	return false
}

// authParameterNames collects every "parameter" value under a
// TriggerAuthentication's spec (secretTargetRef, env, configMapTargetRef,
// and the secret stores' secrets lists).
func authParameterNames(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if p, ok := x["parameter"].(string); ok && p != "" {
				out = append(out, p)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	sort.Strings(out)
	return out
}

// authParamsFor returns the parameters a trigger type usually takes from a
// TriggerAuthentication, with placeholder values.
func authParamsFor(typ string) map[string]string {
	switch typ {
	case "rabbitmq":
		return map[string]string{"host": "amqp://user:password@rabbitmq.example:5672/vhost"}
	case "kafka", "apache-kafka":
		return map[string]string{"bootstrapServers": "kafka.example:9092"}
	}
	return map[string]string{}
}
