// Package generate renders a workload profile into the Kubernetes manifests
// a careful platform engineer would write: Deployment, Service, HPA, KEDA
// ScaledObject and TriggerAuthentication, PodDisruptionBudget, and the
// ServiceMonitor and prometheus-adapter rules that make a Pods metric exist.
// Every rendered object is decoded strictly into its typed Go struct and
// checked against the API server's, the HPA's and KEDA's validation rules.
package generate

import (
	"fmt"
	"sort"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/profile"
)

// Workload is the data each template receives: one Deployment and the
// objects that scale, expose and protect it.
type Workload struct {
	Role        string // "online" or "worker"
	Name        string // the Deployment
	Namespace   string
	Labels      map[string]string
	Annotations map[string]string

	InitialReplicas               int32
	TerminationGracePeriodSeconds int64
	ContainerName                 string
	Image                         string
	Args                          []string
	Env                           []corev1.EnvVar
	Ports                         []corev1.ContainerPort
	Resources                     corev1.ResourceRequirements
	Affinity                      *corev1.Affinity
	Tolerations                   []corev1.Toleration
	StartupProbe                  *corev1.Probe
	ReadinessProbe                *corev1.Probe
	LivenessProbe                 *corev1.Probe

	Service                string // "" renders no Service
	HPA                    *HPA
	ScaledObject           *ScaledObject
	TriggerAuthentications []TriggerAuthentication
	PDB                    *PDB
	ServiceMonitor         *ServiceMonitor
	AdapterRules           *AdapterRules
}

// HPA is the autoscaling/v2 HorizontalPodAutoscaler's spec.
type HPA struct {
	Name        string
	MinReplicas int32
	MaxReplicas int32
	Metrics     []autoscalingv2.MetricSpec
	Behavior    *autoscalingv2.HorizontalPodAutoscalerBehavior
}

// ScaledObject is the KEDA ScaledObject's spec.
type ScaledObject struct {
	Name             string
	MinReplicaCount  int32
	MaxReplicaCount  int32
	IdleReplicaCount *int32
	PollingInterval  int32
	CooldownPeriod   int32
	// ZeroOrIdle: KEDA's own loop scales (to zero or to idle), so its polling
	// interval and cooldown matter; otherwise KEDA 2.20 warns that they are
	// not relevant and they are left out.
	ZeroOrIdle            bool
	InitialCooldownPeriod *int32
	Fallback              map[string]any
	Behavior              *autoscalingv2.HorizontalPodAutoscalerBehavior
	Triggers              []map[string]any
}

// TriggerAuthentication maps trigger parameters to Secret keys.
type TriggerAuthentication struct {
	Name            string
	SecretName      string
	PodIdentity     string
	SecretTargetRef []map[string]string
}

// PDB is the PodDisruptionBudget.
type PDB struct {
	Name           string
	MinAvailable   string
	MaxUnavailable string
}

// ServiceMonitor scrapes the pods' metrics port.
type ServiceMonitor struct {
	Name     string
	Port     string
	Interval string
}

// AdapterRules are prometheus-adapter rules for the Pods metrics.
type AdapterRules struct {
	Name  string
	Rules []AdapterRule
}

// AdapterRule publishes one series as a Pods metric.
type AdapterRule struct {
	Series, Metric, SeriesQuery, MetricsQuery string
	NamespaceLabel, PodLabel                  string
}

// Workloads turns a loaded profile into the workloads to render: one, or
// two in hybrid mode (online HPA service first, then the KEDA worker).
func Workloads(l *profile.Loaded) []*Workload {
	s := &l.Spec
	online := base(l)
	switch s.Scaling.Mode {
	case profile.ModeHPA, profile.ModeHybrid:
		online.HPA = hpaFor(l)
	case profile.ModeKEDA:
		online.ScaledObject, online.TriggerAuthentications = scaledObjectFor(l, s.Names.ScaledObject, s.Scaling.Replicas, s.Scaling.KEDA, kedaTriggers(l, s.Scaling.Triggers, true))
	}
	online.PDB = pdbFor(s.Names.PodDisruptionBudget, s.Disruption)
	if *s.Monitoring.ServiceMonitor {
		port := "metrics"
		if s.Container.Ports.Metrics == s.Container.Ports.HTTP {
			port = "http"
		}
		online.ServiceMonitor = &ServiceMonitor{Name: s.Names.Service, Port: port, Interval: s.Monitoring.ScrapeInterval}
	}
	if *s.Monitoring.AdapterRules {
		online.AdapterRules = adapterRulesFor(l)
	}
	out := []*Workload{online}
	if w := s.Worker; w != nil && s.Scaling.Mode == profile.ModeHybrid {
		online.Role = "online"
		wl := base(l)
		wl.Role = "worker"
		wl.Name = w.Name
		wl.Image = w.Image
		wl.Args = w.Args
		wl.Labels = map[string]string{}
		for k, v := range l.Metadata.Labels {
			wl.Labels[k] = v + "-worker"
		}
		wl.Service = ""
		wl.Ports = nil
		wl.StartupProbe, wl.ReadinessProbe, wl.LivenessProbe = nil, nil, nil
		wl.InitialReplicas = *w.Replicas.Initial
		wl.ScaledObject, wl.TriggerAuthentications = scaledObjectFor(l, w.Name, w.Replicas, w.KEDA, kedaTriggers(l, w.Triggers, false))
		wl.PDB = pdbFor(w.Name, profile.DefaultDisruption(*w.Replicas.Min))
		out = append(out, wl)
	}
	return out
}

func base(l *profile.Loaded) *Workload {
	s := &l.Spec
	c := s.Container
	w := &Workload{
		Name:                          s.Names.Deployment,
		Namespace:                     l.Metadata.Namespace,
		Labels:                        l.Metadata.Labels,
		InitialReplicas:               *s.Scaling.Replicas.Initial,
		TerminationGracePeriodSeconds: l.TerminationGracePeriod(),
		ContainerName:                 c.Name,
		Image:                         c.Image,
		Args:                          c.Args,
		Env:                           c.Env,
		Service:                       s.Names.Service,
	}
	if l.Metadata.Description != "" {
		w.Annotations = map[string]string{"mlscale.dev/description": l.Metadata.Description}
	}
	w.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: c.Ports.HTTP, Protocol: corev1.ProtocolTCP}}
	if c.Ports.Metrics != 0 && c.Ports.Metrics != c.Ports.HTTP {
		w.Ports = append(w.Ports, corev1.ContainerPort{Name: "metrics", ContainerPort: c.Ports.Metrics, Protocol: corev1.ProtocolTCP})
	}
	w.Resources = corev1.ResourceRequirements{Requests: s.Resources.Requests.DeepCopy(), Limits: s.Resources.Limits.DeepCopy()}
	if g := s.Resources.GPU; g != nil {
		// Extended resources must be requested and limited equally.
		q := *resource.NewQuantity(g.Count, resource.DecimalSI)
		if w.Resources.Requests == nil {
			w.Resources.Requests = corev1.ResourceList{}
		}
		if w.Resources.Limits == nil {
			w.Resources.Limits = corev1.ResourceList{}
		}
		w.Resources.Requests[g.ResourceName] = q
		w.Resources.Limits[g.ResourceName] = q
		w.Tolerations = g.Tolerations
	}
	w.Affinity = affinityFor(l)
	w.StartupProbe, w.ReadinessProbe, w.LivenessProbe = l.Probes()
	return w
}

func affinityFor(l *profile.Loaded) *corev1.Affinity {
	var na corev1.NodeAffinity
	if g := l.Spec.Resources.GPU; g != nil && len(g.InstanceTypes) > 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelInstanceTypeStable, Operator: corev1.NodeSelectorOpIn, Values: g.InstanceTypes}},
		}}}
	}
	if a := l.Spec.Affinity; a != nil && len(a.PreferredNodeLabels) > 0 {
		var exprs []corev1.NodeSelectorRequirement
		for _, k := range sortedKeys(a.PreferredNodeLabels) {
			exprs = append(exprs, corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{a.PreferredNodeLabels[k]}})
		}
		na.PreferredDuringSchedulingIgnoredDuringExecution = []corev1.PreferredSchedulingTerm{{Weight: 100, Preference: corev1.NodeSelectorTerm{MatchExpressions: exprs}}}
	}
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil && na.PreferredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	return &corev1.Affinity{NodeAffinity: &na}
}

func hpaFor(l *profile.Loaded) *HPA {
	s := &l.Spec
	m := s.Scaling.Metrics
	var metrics []autoscalingv2.MetricSpec
	util := func(name corev1.ResourceName, t *profile.UtilizationTarget) {
		if t == nil {
			return
		}
		metrics = append(metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: name, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(t.Utilization)},
		}})
	}
	util(corev1.ResourceCPU, m.CPU)
	util(corev1.ResourceMemory, m.Memory)
	for _, pm := range m.Pods {
		metrics = append(metrics, podsMetric(pm.Name, pm.AverageValue))
	}
	if g := m.GPUUtilization; g != nil {
		// The Pods metric's average over pods is the average utilisation,
		// so the HPA's ceil(sum/target) is the usual utilisation rule.
		metrics = append(metrics, podsMetric(g.Metric, *resource.NewQuantity(int64(g.Target), resource.DecimalSI)))
	}
	for _, em := range m.External {
		ms := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: em.Name},
		}}
		if len(em.Selector) > 0 {
			ms.External.Metric.Selector = &metav1.LabelSelector{MatchLabels: em.Selector}
		}
		if em.Value != nil {
			ms.External.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: em.Value}
		} else {
			ms.External.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: em.AverageValue}
		}
		metrics = append(metrics, ms)
	}
	return &HPA{Name: s.Names.HPA, MinReplicas: *s.Scaling.Replicas.Min, MaxReplicas: s.Scaling.Replicas.Max, Metrics: metrics, Behavior: s.Scaling.Behavior}
}

func podsMetric(name string, avg resource.Quantity) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &avg},
	}}
}

// kedaTriggers converts profile triggers (and, for the main workload in
// mode keda, the cpu/memory/GPU metrics) to ScaledObject triggers.
func kedaTriggers(l *profile.Loaded, triggers []profile.Trigger, withMetrics bool) []profile.Trigger {
	out := make([]profile.Trigger, 0, len(triggers)+3)
	out = append(out, triggers...)
	if !withMetrics {
		return out
	}
	m := l.Spec.Scaling.Metrics
	for _, r := range []struct {
		name string
		t    *profile.UtilizationTarget
	}{{"cpu", m.CPU}, {"memory", m.Memory}} {
		if r.t != nil {
			out = append(out, profile.Trigger{Type: r.name, MetricType: "Utilization", Metadata: map[string]string{"value": fmt.Sprint(r.t.Utilization)}})
		}
	}
	if g := m.GPUUtilization; g != nil {
		// sum over the workload's GPUs with AverageValue: desired = ceil(sum / target),
		// the utilisation rule. (avg with AverageValue would cap the result at ceil(avg/target).)
		q := fmt.Sprintf(`sum(%s{%s="%s",%s=~"%s-.*"})`, g.Metric, "exported_namespace", l.Metadata.Namespace, "exported_pod", l.Spec.Names.Deployment)
		out = append(out, profile.Trigger{Type: "prometheus", Name: "gpu-utilization", Metadata: map[string]string{
			"serverAddress": g.PrometheusAddress, "query": q, "threshold": fmt.Sprint(g.Target),
		}})
	}
	return out
}

func scaledObjectFor(l *profile.Loaded, name string, r profile.Replicas, k *profile.KEDA, triggers []profile.Trigger) (*ScaledObject, []TriggerAuthentication) {
	so := &ScaledObject{
		Name: name, MinReplicaCount: *r.Min, MaxReplicaCount: r.Max,
		IdleReplicaCount: k.IdleReplicaCount, PollingInterval: *k.PollingInterval, CooldownPeriod: *k.CooldownPeriod,
		InitialCooldownPeriod: k.InitialCooldown,
		ZeroOrIdle:            *r.Min == 0 || k.IdleReplicaCount != nil,
	}
	if f := k.Fallback; f != nil {
		so.Fallback = map[string]any{"failureThreshold": f.FailureThreshold, "replicas": f.Replicas}
	}
	if l.Spec.Scaling.Mode == profile.ModeKEDA && l.Spec.Scaling.Behavior != nil {
		so.Behavior = l.Spec.Scaling.Behavior
	}
	auths := map[string]TriggerAuthentication{}
	for _, t := range triggers {
		meta := map[string]any{}
		for k, v := range t.Metadata {
			meta[k] = v
		}
		for _, d := range keda.DroppedMetadata(t.Type) {
			delete(meta, d)
		}
		tr := map[string]any{"type": t.Type, "metadata": meta}
		if t.Name != "" {
			tr["name"] = t.Name
		}
		if t.MetricType != "" {
			tr["metricType"] = t.MetricType
		}
		if a := t.Authentication; a != nil {
			an := a.Name
			if an == "" {
				an = name + "-" + t.Type + "-auth"
			}
			tr["authenticationRef"] = map[string]any{"name": an}
			ta := TriggerAuthentication{Name: an, SecretName: a.SecretName, PodIdentity: a.PodIdentity}
			for _, p := range sortedKeys(a.Parameters) {
				ta.SecretTargetRef = append(ta.SecretTargetRef, map[string]string{"parameter": p, "name": a.SecretName, "key": a.Parameters[p]})
			}
			auths[an] = ta
		}
		so.Triggers = append(so.Triggers, tr)
	}
	var tas []TriggerAuthentication
	for _, n := range sortedKeys(auths) {
		tas = append(tas, auths[n])
	}
	return so, tas
}

func pdbFor(name string, d *profile.Disruption) *PDB {
	p := &PDB{Name: name}
	str := func(v *intstr.IntOrString) string {
		if v == nil {
			return ""
		}
		if v.Type == intstr.String {
			return fmt.Sprintf("%q", v.StrVal)
		}
		return fmt.Sprint(v.IntVal)
	}
	p.MinAvailable, p.MaxUnavailable = str(d.MinAvailable), str(d.MaxUnavailable)
	return p
}

func adapterRulesFor(l *profile.Loaded) *AdapterRules {
	ar := &AdapterRules{Name: l.Spec.Names.Deployment + "-adapter-rules"}
	for _, pm := range l.Spec.Scaling.Metrics.Pods {
		series := pm.Name
		if pm.SeriesQuery != "" {
			series = pm.SeriesQuery
		}
		ar.Rules = append(ar.Rules, AdapterRule{
			Series: series, Metric: pm.Name, NamespaceLabel: "namespace", PodLabel: "pod",
			SeriesQuery:  fmt.Sprintf(`%s{namespace!="",pod!=""}`, series),
			MetricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
		})
	}
	if g := l.Spec.Scaling.Metrics.GPUUtilization; g != nil {
		// dcgm-exporter labels each series with the pod that uses the GPU; scraped
		// through a ServiceMonitor those labels become exported_namespace/exported_pod.
		ar.Rules = append(ar.Rules, AdapterRule{
			Series: g.Metric, Metric: g.Metric, NamespaceLabel: "exported_namespace", PodLabel: "exported_pod",
			SeriesQuery:  fmt.Sprintf(`%s{exported_namespace!="",exported_pod!=""}`, g.Metric),
			MetricsQuery: "avg(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
		})
	}
	return ar
}

func ptr[T any](v T) *T { return &v }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
