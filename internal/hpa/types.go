package hpa

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Supported Kubernetes minor versions (1.MinMinor .. 1.MaxMinor).
const (
	MinMinor     = 33
	MaxMinor     = 37
	DefaultMinor = 37
)

// FeatureGates are the kube-apiserver/kube-controller-manager feature gates
// that change the HPA controller's decisions.
type FeatureGates struct {
	// ConfigurableTolerance is HPAConfigurableTolerance (KEP-4951): honour
	// spec.behavior.scale{Up,Down}.tolerance.
	ConfigurableTolerance bool
	// ScaleToZero is HPAScaleToZero (KEP-2021). From 1.36 the controller
	// reads it for the ScaledToZero condition logic.
	ScaleToZero bool
	// PodLevelResources uses pod-level spec.resources.requests for
	// utilisation when set and no container is named.
	PodLevelResources bool
	// OptimizedSelectorStore is HPAOptimizedSelectorStore (1.37): the
	// AmbiguousSelector message names at most two HPAs.
	OptimizedSelectorStore bool
}

// DefaultFeatureGates returns the defaults of Kubernetes 1.minor.
func DefaultFeatureGates(minor int) FeatureGates {
	if minor == 0 {
		minor = DefaultMinor
	}
	return FeatureGates{
		ConfigurableTolerance:  minor >= 35,
		ScaleToZero:            minor >= 37,
		PodLevelResources:      minor >= 34,
		OptimizedSelectorStore: minor >= 37,
	}
}

// Config is the controller configuration: the kube-controller-manager flags,
// the release and its feature gates.
type Config struct {
	// KubernetesMinor is the release (33..37); 0 means DefaultMinor. It picks
	// the zero-replica semantics (<=35 legacy, >=36 ScaledToZero condition)
	// and version-specific message texts.
	KubernetesMinor int
	Gates           FeatureGates
	// Tolerance is --horizontal-pod-autoscaler-tolerance (default 0.1).
	Tolerance float64
	// DownscaleStabilization is --horizontal-pod-autoscaler-downscale-stabilization (5m).
	DownscaleStabilization time.Duration
	// CPUInitializationPeriod is --horizontal-pod-autoscaler-cpu-initialization-period (5m).
	CPUInitializationPeriod time.Duration
	// InitialReadinessDelay is --horizontal-pod-autoscaler-initial-readiness-delay (30s).
	InitialReadinessDelay time.Duration
}

// DefaultConfig returns the upstream flag defaults and the feature-gate
// defaults of Kubernetes 1.minor (0 means DefaultMinor).
func DefaultConfig(minor int) Config {
	if minor == 0 {
		minor = DefaultMinor
	}
	return Config{
		KubernetesMinor:         minor,
		Gates:                   DefaultFeatureGates(minor),
		Tolerance:               0.1,
		DownscaleStabilization:  5 * time.Minute,
		CPUInitializationPeriod: 5 * time.Minute,
		InitialReadinessDelay:   30 * time.Second,
	}
}

func (c *Config) minor() int {
	if c.KubernetesMinor == 0 {
		return DefaultMinor
	}
	return c.KubernetesMinor
}

// Scale is the target's /scale subresource as the controller reads it.
type Scale struct {
	SpecReplicas   int32
	StatusReplicas int32
	// Selector is scale.status.selector; "" means the target reported none.
	Selector string
}

// Pod is one pod listed by the scale's selector, reduced to what the
// controller reads. (Fields the hot loops read come first.)
type Pod struct {
	// Spec gives the containers, init containers, pod-level resources and
	// overhead used for utilisation requests. Pods of one template may share
	// one Spec; the engine caches requests per Spec pointer in State, so a
	// Spec must not be mutated once reconciled (allocate a new one instead).
	Spec *corev1.PodSpec
	// Deleting means metadata.deletionTimestamp is set.
	Deleting bool
	Phase    corev1.PodPhase
	// Ready is the status of the pod's Ready condition; "" means the pod has
	// no Ready condition.
	Ready corev1.ConditionStatus
	// StartTime is status.startTime; the zero time means nil.
	StartTime           time.Time
	ReadyTransitionTime time.Time
	Name                string
	// Labels are matched against other HPAs' selectors (AmbiguousSelector).
	Labels labels.Set
}

// PodSample is one pod's value as a metrics API returns it, in milli-units.
type PodSample struct {
	Present   bool
	Milli     int64
	Timestamp time.Time
	// Window is the sample window (custom metrics default to 1m when the
	// adapter omits windowSeconds; callers fill that in).
	Window time.Duration
}

// MetricInput is what the metrics API returned for one entry of
// spec.metrics, at the level of kube-controller-manager's metrics client.
type MetricInput struct {
	// FetchErr is the API error when the request failed (its own text, e.g.
	// "the server is currently unable to handle the request"); the engine
	// wraps it exactly as the controller's metrics client does.
	FetchErr error
	// Samples, for Resource, ContainerResource and Pods metrics, are
	// index-aligned with Input.Pods (Present=false: no sample for that pod).
	// For Resource metrics a pod's sample is the sum over its containers and
	// is absent when any container lacks the resource; for ContainerResource
	// it is the named container's value (helpers: ResourceSamples).
	Samples []PodSample
	// Extra are samples the API returned for pods not in Input.Pods.
	Extra []PodSample
	// Items is the number of items the API returned. When it is 0 and no
	// sample is present, the API is taken to have returned an empty list
	// ("no metrics returned from ... metrics API").
	Items int
	// Values are Object (one value) and External (every series, summed by
	// the controller) metric values in milli-units. An External metric with
	// no value is an empty list; an Object metric with no value is treated
	// as a not-found API error.
	Values []int64
}

// HPARef is another HPA in the namespace, for the AmbiguousSelector check.
type HPARef struct {
	Namespace, Name string
	Selector        labels.Selector
}

// Input is everything one reconcile reads. The engine does not modify it.
type Input struct {
	// HPA is the autoscaling/v2 object: metadata.name/namespace, spec
	// (a nil behavior selects the legacy path; a partial behavior is read
	// with the API server's defaults) and status.conditions (ScaledToZero).
	HPA   *autoscalingv2.HorizontalPodAutoscaler
	Scale Scale
	// Pods are the pods listed by Scale.Selector in the HPA's namespace.
	Pods []Pod
	// Metrics is index-aligned with HPA.Spec.Metrics.
	Metrics []MetricInput
	// OtherHPAs are the namespace's other HPAs (AmbiguousSelector).
	OtherHPAs []HPARef
	Config    Config
	// Now is the controller's clock for this reconcile.
	Now time.Time
}

// Recommendation is one entry of the controller's recommendation history:
// an un-stabilised metric proposal and when it was made.
type Recommendation struct {
	Replicas  int32
	Timestamp time.Time
}

// ScaleEvent is one of the controller's own rescales (behavior path only).
// ReplicaChange is positive in both lists.
type ScaleEvent struct {
	ReplicaChange int32
	Timestamp     time.Time
	// Outdated marks a slot the controller may reuse (older than the longest
	// policy period when last marked).
	Outdated bool
}

// State is the controller's in-memory state for one HPA, owned by the
// caller. The zero value is an HPA the controller has never seen. Reuse one
// State per HPA across reconciles: it also holds scratch buffers so that a
// warm State reconciles without allocating. Copy it with Clone (a struct
// copy shares the scratch buffers); a State is not safe for concurrent use.
type State struct {
	// Recommendations is nil until the first reconcile seeds it with
	// (scale.spec.replicas, now); a non-nil empty slice is never seeded.
	Recommendations []Recommendation
	ScaleUpEvents   []ScaleEvent
	ScaleDownEvents []ScaleEvent

	scratch scratch
}

// ConditionType and the other string kinds below reuse the API's types.
type (
	ConditionType = autoscalingv2.HorizontalPodAutoscalerConditionType
)

// Condition is a status condition the reconcile set.
type Condition struct {
	Type    ConditionType
	Status  corev1.ConditionStatus
	Reason  string
	Message string
}

// Event is an event the controller records (source horizontal-pod-autoscaler).
type Event struct {
	Type    string // Normal | Warning
	Reason  string
	Message string
}

// MetricResult is one spec.metrics entry's outcome.
type MetricResult struct {
	// Name is the controller's name for the metric (as in "<name> above target").
	Name string
	// Proposal is the per-metric replica calculator's answer, -1 on error.
	Proposal int32
	// UsageRatio is the first (unadjusted) usage ratio, when computed.
	UsageRatio float64
	// Current values, as written to status.currentMetrics (milli-units).
	HasUtilization     bool
	AverageUtilization int32
	HasAverageValue    bool
	AverageValueMilli  int64
	HasValue           bool
	ValueMilli         int64
	// Error is the controller's error text for this metric (the part after
	// "the HPA was unable to compute the replica count: "), Reason its
	// condition/event reason (FailedGetResourceMetric, ...). Empty on success.
	Error  string
	Reason string
}

// Stage says where a reconcile stopped or what it went through.
type Stage uint8

// Stages.
const (
	StageComputed        Stage = iota // metrics computed and normalised
	StageScalingDisabled              // target at zero: paused
	StageAboveMax                     // current > maxReplicas: straight to max
	StageBelowMin                     // current < minReplicas: straight to min
	StageSelectorError                // SelectorRequired / InvalidSelector / AmbiguousSelector
	StageMetricsFailed                // no usable metric (or partial failure on a scale-down)
)

// Tolerances are the {scaleDown, scaleUp} dead band in force.
type Tolerances struct {
	ScaleDown, ScaleUp float64
}

// Decision is the outcome of one reconcile. Its slices point into the
// State's scratch buffers: they are valid until the next Reconcile with the
// same State (copy them to keep them).
type Decision struct {
	Stage           Stage
	CurrentReplicas int32
	// DesiredReplicas is what the controller writes to /scale (equal to
	// CurrentReplicas when it does not rescale) and to status.desiredReplicas
	// (on StageMetricsFailed/StageSelectorError status.desiredReplicas keeps its
	// old value; DesiredReplicas is then CurrentReplicas).
	DesiredReplicas int32
	Rescale         bool
	RescaleReason   string
	// Metrics is index-aligned with spec.metrics; empty when the reconcile
	// short-circuits or the selector check fails.
	Metrics []MetricResult
	// Conditions set (or removed, see RemoveScaledToZero) by this reconcile,
	// one per type, in the order the controller first set them.
	Conditions         []Condition
	RemoveScaledToZero bool
	Events             []Event

	// Explanation of the number.
	Tolerances Tolerances
	// MetricDesired is the max of the metric proposals (-1 when none).
	MetricDesired int32
	MetricName    string
	// Stabilized is the value after the stabilisation window; Limited the
	// value after rate limits and min/max (before the >=1.36 from-zero fix-up).
	Stabilized      int32
	StabilizeReason string // ReadyForNewScale | ScaleUpStabilized | ScaleDownStabilized
	Limited         int32
	LimitReason     string // DesiredWithinRange | TooManyReplicas | TooFewReplicas | ScaleUpLimit | ScaleDownLimit
	LegacyPath      bool   // spec.behavior == nil
}
