package profile

import (
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlscale/mlscale/internal/hpa"
)

// Defaults, documented in docs/profile.md.
const (
	DefaultNamespace       = "default"
	DefaultContainerName   = "inference"
	DefaultHTTPPort        = 8080
	DefaultHealthPath      = "/health"
	DefaultReadinessPath   = "/ready"
	DefaultGPUResource     = "nvidia.com/gpu"
	DefaultGPUMetric       = "DCGM_FI_DEV_GPU_UTIL"
	DefaultScrapeInterval  = "15s"
	DefaultSLOPercentile   = 99
	DefaultSLOGoal         = 0.99
	DefaultPollingInterval = 30  // KEDA's default
	DefaultCooldownPeriod  = 300 // KEDA's default
)

func ptr[T any](v T) *T { return &v }

// applyDefaults fills every optional field so later stages never guess.
func (l *Loaded) applyDefaults() {
	p := l.WorkloadProfile
	if p.Metadata.Namespace == "" {
		p.Metadata.Namespace = DefaultNamespace
	}
	if len(p.Metadata.Labels) == 0 {
		p.Metadata.Labels = map[string]string{"app": p.Metadata.Name}
	}
	s := &p.Spec
	n := &s.Names
	for _, f := range []*string{&n.Deployment, &n.Service, &n.HPA, &n.ScaledObject, &n.PodDisruptionBudget} {
		if *f == "" {
			*f = p.Metadata.Name
		}
	}
	c := &s.Container
	if c.Name == "" {
		c.Name = DefaultContainerName
	}
	if c.Ports.HTTP == 0 {
		c.Ports.HTTP = DefaultHTTPPort
	}
	if c.HealthPath == "" {
		c.HealthPath = DefaultHealthPath
	}
	if c.ReadinessPath == "" {
		c.ReadinessPath = DefaultReadinessPath
	}
	if g := s.Resources.GPU; g != nil {
		if g.ResourceName == "" {
			g.ResourceName = DefaultGPUResource
		}
		if g.Tolerations == nil {
			g.Tolerations = []corev1.Toleration{{Key: string(g.ResourceName), Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		}
	}
	if s.Serving.Concurrency == 0 {
		s.Serving.Concurrency = 1
	}
	if s.SLO.Percentile == 0 {
		s.SLO.Percentile = DefaultSLOPercentile
	}
	if s.SLO.Goal == 0 {
		s.SLO.Goal = DefaultSLOGoal
	}
	defaultReplicas(&s.Scaling.Replicas)
	if s.Scaling.Metrics.GPUUtilization != nil && s.Scaling.Metrics.GPUUtilization.Metric == "" {
		s.Scaling.Metrics.GPUUtilization.Metric = DefaultGPUMetric
	}
	if s.Scaling.Mode == ModeKEDA {
		s.Scaling.KEDA = l.defaultKEDA(s.Scaling.KEDA)
	}
	if w := s.Worker; w != nil {
		if w.Name == "" {
			w.Name = p.Metadata.Name + "-worker"
		}
		if w.Image == "" {
			w.Image = c.Image
		}
		defaultReplicas(&w.Replicas)
		w.KEDA = l.defaultKEDA(w.KEDA)
	}
	if s.Monitoring.ScrapeInterval == "" {
		s.Monitoring.ScrapeInterval = DefaultScrapeInterval
	}
	hasPods := len(s.Scaling.Metrics.Pods) > 0 && s.Scaling.Mode != ModeKEDA
	if s.Monitoring.ServiceMonitor == nil {
		// GPU series come from dcgm-exporter's own scrape, not the workload's.
		s.Monitoring.ServiceMonitor = ptr(hasPods)
	}
	if s.Monitoring.AdapterRules == nil {
		s.Monitoring.AdapterRules = ptr(hasPods || s.Scaling.Metrics.GPUUtilization != nil && s.Scaling.Mode != ModeKEDA)
	}
	if c.Ports.Metrics == 0 && *s.Monitoring.ServiceMonitor {
		c.Ports.Metrics = c.Ports.HTTP
	}
	if s.Disruption == nil {
		s.Disruption = DefaultDisruption(*s.Scaling.Replicas.Min)
	}
	if s.Scaling.Mode != ModeKEDA {
		s.Scaling.Behavior = MergeBehavior(l.DerivedBehavior(), s.Scaling.Behavior)
	}
}

func defaultReplicas(r *Replicas) {
	if r.Min == nil {
		if r.ScaleToZero {
			r.Min = ptr(int32(0))
		} else {
			r.Min = ptr(int32(1))
		}
	}
	if r.Initial == nil {
		r.Initial = ptr(max(*r.Min, 1))
	}
}

// defaultKEDA fills KEDA's settings; the cooldown is ML-aware: never shorter
// than twice the cold start, so a replica that took minutes to load is not
// dropped by a short lull.
func (l *Loaded) defaultKEDA(k *KEDA) *KEDA {
	if k == nil {
		k = &KEDA{}
	}
	if k.PollingInterval == nil {
		k.PollingInterval = ptr(int32(DefaultPollingInterval))
	}
	if k.CooldownPeriod == nil {
		k.CooldownPeriod = ptr(int32(max(DefaultCooldownPeriod, ceilSeconds(2*l.ColdStartP99()))))
	}
	return k
}

// DefaultDisruption keeps all but one replica at the minimum, and never
// blocks a drain: minAvailable min-1 from two replicas up, else maxUnavailable 1.
func DefaultDisruption(minReplicas int32) *Disruption {
	if minReplicas >= 2 {
		return &Disruption{MinAvailable: ptr(intstr.FromInt32(minReplicas - 1))}
	}
	return &Disruption{MaxUnavailable: ptr(intstr.FromInt32(1))}
}

// ColdStartMean is the expected time from scheduling to a ready replica.
func (l *Loaded) ColdStartMean() time.Duration {
	cs := l.Spec.ColdStart
	return cs.ImagePull.MeanDuration() + cs.ModelLoad.MeanDuration() + cs.Warmup.MeanDuration()
}

// ColdStartP99 bounds the cold start from above (the sum of the parts' p99s).
func (l *Loaded) ColdStartP99() time.Duration {
	cs := l.Spec.ColdStart
	return cs.ImagePull.Quantile(0.99) + cs.ModelLoad.Quantile(0.99) + cs.Warmup.Quantile(0.99)
}

// LoadP99 is the p99 of model load plus warm-up: how long the container runs
// before it can answer readiness.
func (l *Loaded) LoadP99() time.Duration {
	cs := l.Spec.ColdStart
	return cs.ModelLoad.Quantile(0.99) + cs.Warmup.Quantile(0.99)
}

// DerivedBehavior is the HPA behavior mlscale recommends for this cold start:
//   - scale up at once (no window: the cold start already delays capacity),
//     doubling or adding 4 pods per 30 s, whichever is more;
//   - scale down only after a window of three cold starts (at least 5 min,
//     at most 1 h), and by at most half the replicas per period of one cold
//     start (at least 60 s), so capacity that took minutes to load is not
//     thrown away by one quiet minute.
func (l *Loaded) DerivedBehavior() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	cs := l.ColdStartP99()
	window := clamp(ceilSeconds(3*cs), 300, 3600)
	period := clamp(ceilSeconds(cs), 60, 1800)
	maxPolicy := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr(int32(0)),
			SelectPolicy:               &maxPolicy,
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 30},
				{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 30},
			},
		},
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr(window),
			SelectPolicy:               &maxPolicy,
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: period},
			},
		},
	}
}

// MergeBehavior overlays the user's rules on the derived ones, direction by
// direction and field by field.
func MergeBehavior(derived, user *autoscalingv2.HorizontalPodAutoscalerBehavior) *autoscalingv2.HorizontalPodAutoscalerBehavior {
	if user == nil {
		return derived
	}
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp:   hpa.OverlayRules(derived.ScaleUp, user.ScaleUp),
		ScaleDown: hpa.OverlayRules(derived.ScaleDown, user.ScaleDown),
	}
}

// Probes returns the startup, readiness and liveness probes. The startup
// probe (on the readiness path) covers the model load: it allows 1.5 times
// the p99 of load plus warm-up before the kubelet restarts the container, so
// liveness never kills a replica that is still loading weights.
func (l *Loaded) Probes() (startup, readiness, liveness *corev1.Probe) {
	c := l.Spec.Container
	get := func(path string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}}
	}
	const startupPeriod = 10
	budget := ceilSeconds(l.LoadP99() * 3 / 2)
	failures := max(int32(3), int32(math.Ceil(float64(budget)/startupPeriod)))
	startup = &corev1.Probe{ProbeHandler: get(c.ReadinessPath), PeriodSeconds: startupPeriod, FailureThreshold: failures, TimeoutSeconds: 5}
	readiness = &corev1.Probe{ProbeHandler: get(c.ReadinessPath), PeriodSeconds: 5, FailureThreshold: 3, TimeoutSeconds: 5}
	liveness = &corev1.Probe{ProbeHandler: get(c.HealthPath), PeriodSeconds: 30, FailureThreshold: 3, TimeoutSeconds: 5}
	return startup, readiness, liveness
}

// TerminationGracePeriod lets in-flight requests finish: ten seconds more
// than the p99 service time, and at least 30 s (the Kubernetes default).
func (l *Loaded) TerminationGracePeriod() int64 {
	return int64(max(30, ceilSeconds(l.Spec.Serving.ServiceTime.Quantile(0.99))+10))
}

func ceilSeconds(d time.Duration) int32 {
	return int32(math.Ceil(d.Seconds()))
}

func clamp(v, lo, hi int32) int32 { return min(max(v, lo), hi) }
