package sim

import (
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/mlscale/mlscale/internal/keda"
)

// Config is one fully resolved simulation: everything the engine reads.
// internal/scenario builds it from a Scenario file and a workload profile.
type Config struct {
	Name string
	// Policy names the autoscaling policy (for side-by-side comparisons).
	Policy string
	// Start is the simulated wall clock at t=0 (controllers see it).
	Start    time.Time
	Duration time.Duration
	Seed     uint64

	Traffic    Traffic
	Service    Service
	Pod        PodModel
	Pools      []NodePool
	Metrics    MetricsPipeline
	Autoscaler Autoscaler
	SLO        SLO
	Output     OutputOptions
}

// Traffic describes arrivals. Rate-based patterns are summed: the base
// pattern (constant, points, diurnal or MMPP) plus spikes.
type Traffic struct {
	// Rate is a constant arrival rate in requests per second.
	Rate float64
	// Points is a piecewise rate (steps, or linear ramps when Linear).
	Points []RatePoint
	Linear bool
	// Diurnal is a sinusoidal day.
	Diurnal *Diurnal
	// MMPP is a Markov-modulated Poisson process (on/off bursts): the
	// states are visited in random order, each for an exponential time.
	MMPP   []MMPPState
	Spikes []Spike
	// Trace replays recorded arrivals instead of drawing them.
	Trace []TraceRequest
	// InitialBacklog requests are waiting at t=0 (a queue backlog).
	InitialBacklog int
}

// RatePoint is the rate from At on.
type RatePoint struct {
	At   time.Duration
	Rate float64
}

// Diurnal is rate(t) = Min + (Max-Min)·(1+cos(2π(t-PeakAt)/Period))/2.
type Diurnal struct {
	Min, Max       float64
	Period, PeakAt time.Duration
}

// MMPPState is one state of an MMPP.
type MMPPState struct {
	Rate         float64
	MeanDuration time.Duration
}

// Spike adds Rate requests per second during [At, At+Duration).
type Spike struct {
	At, Duration time.Duration
	Rate         float64
}

// TraceRequest is one recorded arrival; At is the offset from the start.
// A recorded Duration (> 0) is the request's service time.
type TraceRequest struct {
	At                        time.Duration
	Duration                  time.Duration
	InputTokens, OutputTokens int32
}

// Routing is how requests reach replicas.
type Routing uint8

// Routings.
const (
	// RouteRandom: a Service (kube-proxy iptables/nftables) picks a ready
	// pod at random; each pod queues what it cannot start.
	RouteRandom Routing = iota
	RouteRoundRobin
	RouteLeastOutstanding
	// RouteSharedQueue: a broker queue feeds workers that pull when a slot
	// is free (RabbitMQ, SQS, Kafka consumers).
	RouteSharedQueue
)

var routingNames = [...]string{"random", "round-robin", "least-outstanding", "shared-queue"}

func (r Routing) String() string { return routingNames[r] }

// ParseRouting reads a routing name.
func ParseRouting(s string) (Routing, bool) {
	for i, n := range routingNames {
		if n == s {
			return Routing(i), true
		}
	}
	return 0, false
}

// RoutingNames lists the routing names.
func RoutingNames() []string { return routingNames[:] }

// Service is one replica's serving model.
type Service struct {
	Routing     Routing
	Concurrency int32
	// BatchSize > 1: each slot serves up to BatchSize waiting requests at
	// once, for as long as the longest of them.
	BatchSize int32
	Time      Dist
	// Tokens, when set, makes a traced request's service time
	// Base + in·PerInput + out·PerOutput.
	Tokens *TokenModel
	// Timeout: a request still waiting after Timeout is dropped (0: never).
	Timeout time.Duration
	// MaxQueue drops arrivals when this many requests wait (0: unbounded).
	MaxQueue int
}

// TokenModel is a token-based service time.
type TokenModel struct {
	Base, PerInputToken, PerOutputToken time.Duration
}

// PodModel is how a replica starts, serves, reports and stops.
type PodModel struct {
	Deployment string
	Namespace  string
	Labels     map[string]string
	// Spec is the Deployment's pod template spec (requests for the HPA's
	// utilisation). Shared by all pods, never mutated.
	Spec *corev1.PodSpec
	GPUs int64
	// InstanceTypes the pod may run on (empty: any pool).
	InstanceTypes []string

	ImagePull, ModelLoad, Warmup Dist

	// Startup probe (0 period: none): the container is ready at the first
	// probe at or after the model is loaded; a load that outlasts
	// InitialDelay + Period·FailureThreshold restarts the container.
	StartupInitialDelay time.Duration
	StartupPeriod       time.Duration
	StartupFailures     int32
	// Readiness probe period (used when there is no startup probe).
	ReadinessInitialDelay time.Duration
	ReadinessPeriod       time.Duration
	TerminationGrace      time.Duration

	Usage Usage
	// GPUHourUSD prices pod GPU-hours when no node pool is modelled.
	GPUHourUSD float64
}

// Usage is the resource usage model for metrics-server: fractions of the
// container's requests.
type Usage struct {
	// CPU = request · (CPUIdle + (CPUBusy-CPUIdle)·busy slots/concurrency).
	CPUIdle, CPUBusy float64
	// Memory = request · Memory.
	Memory float64
}

// NodePool is a group of identical GPU nodes managed by a node autoscaler.
type NodePool struct {
	Name         string
	InstanceType string
	GPUsPerNode  int64
	Provisioning Dist
	// Initial nodes exist (ready, image cached) at t=0.
	Initial, Min, Max int
	GPUHourUSD        float64
	// ScaleDownUnneeded: an empty node is removed after this long.
	ScaleDownUnneeded time.Duration
}

// Signal is what a metric measures in the simulation.
type Signal uint8

// Signals.
const (
	SigNone        Signal = iota
	SigQueue              // requests waiting (not started)
	SigInflight           // requests being served
	SigOutstanding        // waiting + being served
	SigRPS                // arrivals per second
	SigGPU                // GPU utilisation in percent (share of time with work)
	SigSlots              // busy slots / concurrency in percent
)

var signalNames = [...]string{"", "queue", "inflight", "outstanding", "rps", "gpu", "slots"}

func (s Signal) String() string { return signalNames[s] }

// ParseSignal reads a signal name.
func ParseSignal(s string) (Signal, bool) {
	for i, n := range signalNames {
		if i > 0 && n == s {
			return Signal(i), true
		}
	}
	return SigNone, false
}

// SignalNames lists the signal names.
func SignalNames() []string { return signalNames[1:] }

// MetricsPipeline is the delays between the workload and each controller.
type MetricsPipeline struct {
	// GaugeRefresh: the app's exporter refreshes its gauges this often.
	GaugeRefresh time.Duration
	// ScrapeInterval of Prometheus; ScrapeOffset is the first scrape.
	ScrapeInterval, ScrapeOffset time.Duration
	// RateWindow of rate(...) queries.
	RateWindow time.Duration
	// MetricsServerResolution: metrics-server scrapes kubelets this often.
	MetricsServerResolution, MetricsServerOffset time.Duration
	HPASyncPeriod                                time.Duration
	// Signals maps metric names (Pods/External/Object metrics, and
	// Prometheus queries by substring) to what they measure.
	Signals map[string]Signal
	// KubernetesMinor selects the HPA controller release.
	KubernetesMinor int
	// Outages make metrics fail (or freeze) during intervals.
	Outages []Outage
}

// AutoscalerKind selects the controller in the loop.
type AutoscalerKind uint8

// Autoscalers.
const (
	AutoscaleNone AutoscalerKind = iota
	AutoscaleHPA
	AutoscaleKEDA
)

// Autoscaler is the policy under test.
type Autoscaler struct {
	Kind AutoscalerKind
	// Replicas is the Deployment's spec.replicas at t=0 (fixed for none).
	Replicas int32
	// WarmStart: the initial replicas are ready at t=0 (otherwise they
	// start cold at t=0).
	WarmStart    bool
	HPA          *autoscalingv2.HorizontalPodAutoscaler
	ScaledObject *kedav1alpha1.ScaledObject
	KEDAVersion  keda.Version
}

// SLO is the latency objective.
type SLO struct {
	Percentile float64
	Latency    time.Duration
	Goal       float64
	// Window over which the percentile is judged.
	Window time.Duration
}

// OutputOptions control what the run records.
type OutputOptions struct {
	// TimelineStep > 0 records a timeline row per step.
	TimelineStep time.Duration
	// FlapWindow: a scale in the opposite direction within this window of
	// the previous one is a flap.
	FlapWindow time.Duration
	// MaxDecisions caps the scaling decisions kept (counts are exact).
	MaxDecisions int
	// Clock measures the run's wall time; nil leaves it out (tests).
	Clock func() time.Time
	// Progress is called now and then with the fraction simulated.
	Progress func(done float64)
	// Snapshot, when set, receives every HPA reconcile's input and state
	// before the call (tests replay them).
	Snapshot func(in *HPASnapshot)
	// KEDASnapshot, when set, receives every KEDA poll.
	KEDASnapshot func(in *KEDASnapshot)
}
