package hpastate

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

// Snapshot is a decoded, validated HPAState ready to reconcile.
type Snapshot struct {
	File  string
	State State
	Input hpa.Input
	// Engine is the controller state the reconcile starts from.
	Engine hpa.State
	// Conditions are the HPA's status.conditions before the reconcile.
	Conditions []autoscalingv2.HorizontalPodAutoscalerCondition
	Minor      int
}

// Decode reads an HPAState document from data (named file in errors).
// Every error is a *strictyaml.Error or strictyaml.Errors naming the file,
// line and field.
func Decode(file string, data []byte) (*Snapshot, error) {
	var st State
	doc, err := strictyaml.DecodeDoc(file, data, &st)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{File: file, State: st}
	if err := s.build(doc); err != nil {
		return nil, err
	}
	return s, nil
}

// gate describes one feature gate across the supported releases.
type gate struct {
	name  string
	since int // first minor that has the gate
	// lockedFrom is the first minor where the gate is locked to its default (0: never).
	lockedFrom int
	set        func(g *hpa.FeatureGates, v bool)
}

var gates = []gate{
	{"HPAConfigurableTolerance", 33, 37, func(g *hpa.FeatureGates, v bool) { g.ConfigurableTolerance = v }},
	{"HPAScaleToZero", 33, 0, func(g *hpa.FeatureGates, v bool) { g.ScaleToZero = v }},
	{"PodLevelResources", 33, 0, func(g *hpa.FeatureGates, v bool) { g.PodLevelResources = v }},
	{"HPAOptimizedSelectorStore", 37, 0, func(g *hpa.FeatureGates, v bool) { g.OptimizedSelectorStore = v }},
	// Gates of the HPA controller that do not change a single decision.
	{"HPAGeneration", 37, 0, func(*hpa.FeatureGates, bool) {}},
	{"StaleControllerConsistencyHPA", 37, 0, func(*hpa.FeatureGates, bool) {}},
}

func (s *Snapshot) build(doc *strictyaml.Doc) error {
	st := &s.State
	var errs strictyaml.Errors
	fail := func(path, format string, a ...any) { errs = append(errs, doc.Errorf(path, format, a...)) }

	if st.APIVersion != APIVersion {
		fail("apiVersion", "must be %q, got %q", APIVersion, st.APIVersion)
	}
	if st.Kind != Kind {
		fail("kind", "must be %q, got %q", Kind, st.Kind)
	}
	minor := hpa.DefaultMinor
	if v := st.KubernetesVersion; v != "" {
		m, ok := parseVersion(v)
		if !ok {
			fail("kubernetesVersion", "unsupported Kubernetes version %q (want \"1.%d\" to \"1.%d\")", v, hpa.MinMinor, hpa.MaxMinor)
		} else {
			minor = m
		}
	}
	s.Minor = minor
	cfg := hpa.DefaultConfig(minor)
	names := make([]string, 0, len(st.FeatureGates))
	for n := range st.FeatureGates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := st.FeatureGates[n]
		var g *gate
		for i := range gates {
			if gates[i].name == n {
				g = &gates[i]
			}
		}
		switch {
		case g == nil:
			fail("featureGates."+n, "unknown feature gate %q (known: %s)", n, gateNames())
		case minor < g.since:
			fail("featureGates."+n, "Kubernetes 1.%d has no feature gate %s (added in 1.%d)", minor, n, g.since)
		case g.lockedFrom != 0 && minor >= g.lockedFrom && !v:
			fail("featureGates."+n, "feature gate %s is locked to true in Kubernetes 1.%d", n, minor)
		default:
			g.set(&cfg.Gates, v)
		}
	}
	if c := st.Controller; c != nil {
		if c.Tolerance != nil {
			if *c.Tolerance < 0 {
				fail("controller.tolerance", "must be >= 0")
			}
			cfg.Tolerance = *c.Tolerance
		}
		dur := func(path string, d *metav1.Duration, into *time.Duration) {
			if d == nil {
				return
			}
			if d.Duration < 0 {
				fail(path, "must not be negative")
			}
			*into = d.Duration
		}
		dur("controller.downscaleStabilization", c.DownscaleStabilization, &cfg.DownscaleStabilization)
		dur("controller.cpuInitializationPeriod", c.CPUInitializationPeriod, &cfg.CPUInitializationPeriod)
		dur("controller.initialReadinessDelay", c.InitialReadinessDelay, &cfg.InitialReadinessDelay)
	}
	if st.Now == nil {
		fail("now", "required: the controller's clock for this reconcile (RFC 3339)")
	}
	if st.HPA == nil {
		fail("hpa", "required: the HorizontalPodAutoscaler (autoscaling/v2)")
	} else {
		if st.HPA.APIVersion != "" && st.HPA.APIVersion != "autoscaling/v2" {
			fail("hpa.apiVersion", "must be autoscaling/v2, got %q", st.HPA.APIVersion)
		}
		if st.HPA.Kind != "" && st.HPA.Kind != "HorizontalPodAutoscaler" {
			fail("hpa.kind", "must be HorizontalPodAutoscaler, got %q", st.HPA.Kind)
		}
		if !doc.Has("hpa.spec.maxReplicas") {
			fail("hpa.spec.maxReplicas", "required")
		}
	}
	if st.Scale == nil {
		fail("scale", "required: the target's /scale subresource")
	} else if st.Scale.SpecReplicas == nil {
		fail("scale.specReplicas", "required")
	} else if *st.Scale.SpecReplicas < 0 {
		fail("scale.specReplicas", "must be >= 0")
	}
	seen := map[string]bool{}
	for i, p := range st.Pods {
		path := fmt.Sprintf("pods[%d]", i)
		if p.Name == "" {
			fail(path+".name", "required")
		} else if seen[p.Name] {
			fail(path+".name", "duplicate pod name %q", p.Name)
		}
		seen[p.Name] = true
		switch p.Phase {
		case "", corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown:
		default:
			fail(path+".phase", "must be Pending, Running, Succeeded, Failed or Unknown, got %q", p.Phase)
		}
		switch p.Ready {
		case "", "True", "False", "Unknown":
		default:
			fail(path+".ready", `must be "True", "False" or "Unknown" (omit it for no Ready condition), got %q`, p.Ready)
		}
	}
	for n, m := range st.Metrics.Resource {
		if m.Window != nil && m.Window.Duration < 0 {
			fail("metrics.resource."+n+".window", "must not be negative")
		}
	}
	var others []hpa.HPARef
	ns := ""
	if st.HPA != nil {
		ns = st.HPA.Namespace
	}
	for i, sel := range st.OtherHPASelectors {
		parsed, err := labels.Parse(sel)
		if err != nil {
			fail(fmt.Sprintf("otherHPASelectors[%d]", i), "invalid selector: %v", err)
			continue
		}
		others = append(others, hpa.HPARef{Namespace: ns, Name: fmt.Sprintf("otherHPASelectors[%d]", i), Selector: parsed})
	}
	if len(errs) > 0 {
		return errs.Err()
	}

	// The API server's view of the object: defaulting as stored.
	h := st.HPA.DeepCopy()
	s.Conditions = append([]autoscalingv2.HorizontalPodAutoscalerCondition(nil), h.Status.Conditions...)
	hpa.SetDefaults(h)
	if !cfg.Gates.ConfigurableTolerance && h.Spec.Behavior != nil {
		// With the gate off the API server drops the fields (it keeps them on
		// an object that already had them; the controller ignores them then).
		h.Spec.Behavior.ScaleUp.Tolerance = nil
		h.Spec.Behavior.ScaleDown.Tolerance = nil
	}

	spec := *st.Scale.SpecReplicas
	status := spec
	if st.Scale.StatusReplicas != nil {
		status = *st.Scale.StatusReplicas
	}
	in := hpa.Input{
		HPA:       h,
		Scale:     hpa.Scale{SpecReplicas: spec, StatusReplicas: status, Selector: st.Scale.Selector},
		OtherHPAs: others,
		Config:    cfg,
		Now:       st.Now.Time,
	}
	in.Pods = buildPods(st.Pods, st.Scale.Selector)
	in.Metrics = buildMetrics(h, st, in.Pods)
	s.Input = in
	if st.History != nil {
		s.Engine.Recommendations = make([]hpa.Recommendation, 0, len(st.History.Recommendations))
		for _, r := range st.History.Recommendations {
			s.Engine.Recommendations = append(s.Engine.Recommendations, hpa.Recommendation{Replicas: r.Replicas, Timestamp: r.Timestamp.Time})
		}
		s.Engine.ScaleUpEvents = toEvents(st.History.ScaleUpEvents)
		s.Engine.ScaleDownEvents = toEvents(st.History.ScaleDownEvents)
	}
	return nil
}

func gateNames() string {
	var n []string
	for _, g := range gates {
		n = append(n, g.name)
	}
	return strings.Join(n, ", ")
}

func parseVersion(v string) (int, bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(v, "v"), "1.")
	if !ok {
		return 0, false
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		if _, err := strconv.Atoi(rest[i+1:]); err != nil {
			return 0, false
		}
		rest = rest[:i]
	}
	m, err := strconv.Atoi(rest)
	if err != nil || m < hpa.MinMinor || m > hpa.MaxMinor {
		return 0, false
	}
	return m, true
}

func toEvents(in []ScaleEvent) []hpa.ScaleEvent {
	out := make([]hpa.ScaleEvent, 0, len(in))
	for _, e := range in {
		out = append(out, hpa.ScaleEvent{ReplicaChange: e.ReplicaChange, Timestamp: e.Timestamp.Time, Outdated: e.Outdated})
	}
	return out
}

// selectorLabels returns the equality requirements of a selector: the
// labels a pod matched by it certainly has.
func selectorLabels(sel string) map[string]string {
	parsed, err := labels.Parse(sel)
	if err != nil {
		return nil
	}
	reqs, _ := parsed.Requirements()
	out := map[string]string{}
	for _, r := range reqs {
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			if vals := r.Values().List(); len(vals) == 1 {
				out[r.Key()] = vals[0]
			}
		case selection.Exists:
			out[r.Key()] = ""
		}
	}
	return out
}

func buildPods(pods []Pod, selector string) []hpa.Pod {
	defLabels := selectorLabels(selector)
	out := make([]hpa.Pod, len(pods))
	for i, p := range pods {
		q := hpa.Pod{Name: p.Name, Phase: p.Phase, Ready: corev1.ConditionStatus(p.Ready), Deleting: p.DeletionTimestamp != nil}
		if q.Phase == "" {
			q.Phase = corev1.PodRunning
		}
		if p.ReadyTransitionTime != nil {
			q.ReadyTransitionTime = p.ReadyTransitionTime.Time
		}
		if p.StartTime != nil {
			q.StartTime = p.StartTime.Time
		}
		if p.Labels != nil {
			q.Labels = p.Labels
		} else {
			q.Labels = defLabels
		}
		spec := &corev1.PodSpec{}
		for _, c := range p.Containers {
			spec.Containers = append(spec.Containers, corev1.Container{Name: c.Name, Resources: corev1.ResourceRequirements{Requests: c.Requests}})
		}
		for _, c := range p.InitContainers {
			spec.InitContainers = append(spec.InitContainers, corev1.Container{Name: c.Name, RestartPolicy: c.RestartPolicy,
				Resources: corev1.ResourceRequirements{Requests: c.Requests}})
		}
		if len(p.PodRequests) > 0 {
			spec.Resources = &corev1.ResourceRequirements{Requests: p.PodRequests}
		}
		q.Spec = spec
		out[i] = q
	}
	return out
}

// defaultCustomWindow is the window the controller assumes when a custom
// metrics adapter omits windowSeconds.
const defaultCustomWindow = time.Minute

func buildMetrics(h *autoscalingv2.HorizontalPodAutoscaler, st *State, pods []hpa.Pod) []hpa.MetricInput {
	m := &st.Metrics
	out := make([]hpa.MetricInput, len(h.Spec.Metrics))
	apiErr := func(name string) error {
		if e, ok := m.Errors[name]; ok {
			return errors.New(e)
		}
		return nil
	}
	var items []hpa.PodMetrics
	if len(m.Resource) > 0 {
		names := make([]string, 0, len(m.Resource))
		for n := range m.Resource {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			pm := m.Resource[n]
			it := hpa.PodMetrics{Pod: n}
			if pm.Timestamp != nil {
				it.Timestamp = pm.Timestamp.Time
			}
			if pm.Window != nil {
				it.Window = pm.Window.Duration
			}
			cnames := make([]string, 0, len(pm.Containers))
			for c := range pm.Containers {
				cnames = append(cnames, c)
			}
			sort.Strings(cnames)
			for _, c := range cnames {
				it.Containers = append(it.Containers, hpa.ContainerUsage{Name: c, Usage: pm.Containers[c]})
			}
			items = append(items, it)
		}
	}
	index := map[string]int{}
	for i, p := range pods {
		index[p.Name] = i
	}
	for i, ms := range h.Spec.Metrics {
		switch ms.Type {
		case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
			var res corev1.ResourceName
			container := ""
			if ms.Resource != nil {
				res = ms.Resource.Name
			} else if ms.ContainerResource != nil {
				res, container = ms.ContainerResource.Name, ms.ContainerResource.Container
			} else {
				continue
			}
			if err := apiErr(string(res)); err != nil {
				out[i] = hpa.MetricInput{FetchErr: err}
				continue
			}
			out[i] = hpa.ResourceSamples(items, pods, res, container)
		case autoscalingv2.PodsMetricSourceType:
			if ms.Pods == nil {
				continue
			}
			name := ms.Pods.Metric.Name
			if err := apiErr(name); err != nil {
				out[i] = hpa.MetricInput{FetchErr: err}
				continue
			}
			vals := m.Pods[name]
			mi := hpa.MetricInput{Items: len(vals), Samples: make([]hpa.PodSample, len(pods))}
			pnames := make([]string, 0, len(vals))
			for n := range vals {
				pnames = append(pnames, n)
			}
			sort.Strings(pnames)
			for _, n := range pnames {
				v := vals[n]
				s := hpa.PodSample{Present: true, Milli: v.MilliValue(), Timestamp: st.Now.Time, Window: defaultCustomWindow}
				if j, ok := index[n]; ok {
					mi.Samples[j] = s
				} else {
					mi.Extra = append(mi.Extra, s)
				}
			}
			out[i] = mi
		case autoscalingv2.ObjectMetricSourceType:
			if ms.Object == nil {
				continue
			}
			name := ms.Object.Metric.Name
			if err := apiErr(name); err != nil {
				out[i] = hpa.MetricInput{FetchErr: err}
				continue
			}
			if v, ok := m.Object[name]; ok {
				out[i] = hpa.MetricInput{Values: []int64{v.MilliValue()}}
			}
		case autoscalingv2.ExternalMetricSourceType:
			if ms.External == nil {
				continue
			}
			name := ms.External.Metric.Name
			if err := apiErr(name); err != nil {
				out[i] = hpa.MetricInput{FetchErr: err}
				continue
			}
			for _, v := range m.External[name] {
				out[i].Values = append(out[i].Values, v.MilliValue())
			}
		}
	}
	return out
}

// ConditionStatus accepts "True"/"False"/"Unknown" and YAML booleans.
type ConditionStatus string

// UnmarshalJSON implements json.Unmarshaler.
func (c *ConditionStatus) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		if x {
			*c = "True"
		} else {
			*c = "False"
		}
	case string:
		*c = ConditionStatus(x)
	default:
		return fmt.Errorf("expected \"True\" or \"False\", got %s", string(b))
	}
	return nil
}
