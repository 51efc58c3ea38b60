// Package scenario defines the Scenario (apiVersion mlscale.dev/v1alpha1,
// kind Scenario): the traffic, environment, metric delays, duration, seed
// and autoscaler of one simulation, its strict decoding with file:line:col
// field errors, and its resolution with a workload profile into the
// sim.Config the engine runs.
package scenario

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/profile"
)

// APIVersion and Kind identify a scenario document.
const (
	APIVersion = "mlscale.dev/v1alpha1"
	Kind       = "Scenario"
)

// Scenario is one simulation setup.
type Scenario struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata names the scenario.
type Metadata struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Spec is the scenario.
type Spec struct {
	// Duration of simulated time, e.g. 1h or 24h.
	Duration metav1.Duration `json:"duration"`
	// Seed of the random streams (arrivals, service, cold start); default 1.
	Seed        *uint64      `json:"seed,omitempty"`
	Workload    Workload     `json:"workload"`
	Autoscaler  *Autoscaler  `json:"autoscaler,omitempty"`
	Traffic     Traffic      `json:"traffic"`
	Serving     *Serving     `json:"serving,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	Metrics     *Metrics     `json:"metrics,omitempty"`
	// SLO overrides the profile's objective.
	SLO    *profile.SLO `json:"slo,omitempty"`
	Output *Output      `json:"output,omitempty"`
}

// Workload is the workload profile simulated: a file (relative to the
// scenario) or a built-in preset.
type Workload struct {
	Profile string `json:"profile,omitempty"`
	Preset  string `json:"preset,omitempty"`
	// Component of a hybrid profile: online (default) or worker.
	Component string `json:"component,omitempty"`
}

// Autoscaler selects the policy: the profile's (its HPA or ScaledObject,
// rendered exactly as generate writes it), rendered manifests, or none
// (fixed replicas).
type Autoscaler struct {
	// Kind is profile (default), manifests or none.
	Kind string `json:"kind,omitempty"`
	// Replicas at the start (fixed with none); default the profile's initial.
	Replicas *int32 `json:"replicas,omitempty"`
	// Manifests is a directory of rendered YAML (kind manifests): its
	// Deployment, HPA or ScaledObject replace the profile's.
	Manifests string `json:"manifests,omitempty"`
}

// Traffic is the arrival process. Pattern picks the base shape; spikes are
// added on top of any rate-based pattern.
type Traffic struct {
	// Pattern is poisson, step, ramp, diurnal, mmpp or trace.
	Pattern string `json:"pattern"`
	// Rate in requests per second (poisson).
	Rate float64 `json:"rate,omitempty"`
	// Points: the rate from each time on (step), or linear between them (ramp).
	Points  []RatePoint `json:"points,omitempty"`
	Diurnal *Diurnal    `json:"diurnal,omitempty"`
	// MMPP states (on/off bursts): each lasts an exponential time.
	MMPP   []MMPPState `json:"mmpp,omitempty"`
	Spikes []Spike     `json:"spikes,omitempty"`
	Trace  *Trace      `json:"trace,omitempty"`
	// InitialBacklog requests already wait in the queue at the start.
	InitialBacklog int `json:"initialBacklog,omitempty"`
}

// RatePoint is a rate from At on.
type RatePoint struct {
	At   metav1.Duration `json:"at"`
	Rate float64         `json:"rate"`
}

// Diurnal is a sinusoidal day between Min and Max requests per second,
// peaking at PeakAt (default 14h) with Period (default 24h).
type Diurnal struct {
	Min    float64          `json:"min"`
	Max    float64          `json:"max"`
	Period *metav1.Duration `json:"period,omitempty"`
	PeakAt *metav1.Duration `json:"peakAt,omitempty"`
}

// MMPPState is one state of an on/off (Markov-modulated) process.
type MMPPState struct {
	Rate         float64         `json:"rate"`
	MeanDuration metav1.Duration `json:"meanDuration"`
}

// Spike adds Rate requests per second during [At, At+Duration).
type Spike struct {
	At       metav1.Duration `json:"at"`
	Duration metav1.Duration `json:"duration"`
	Rate     float64         `json:"rate"`
}

// Trace replays recorded arrivals from a CSV file (relative to the scenario).
type Trace struct {
	File string `json:"file"`
	// Format is auto (default), timestamps, azure-llm or azure-functions.
	Format string `json:"format,omitempty"`
	// TimeScale multiplies the gaps between arrivals (0.5 plays twice as fast).
	TimeScale float64 `json:"timeScale,omitempty"`
	// RateScale keeps (below 1) or repeats (above 1) each arrival at random.
	RateScale float64 `json:"rateScale,omitempty"`
}

// Serving overrides the profile's serving model.
type Serving struct {
	// Routing: random (a Service), round-robin, least-outstanding or
	// shared-queue (a broker feeding workers).
	Routing     string `json:"routing,omitempty"`
	Concurrency *int32 `json:"concurrency,omitempty"`
	// BatchSize > 1: each slot takes up to this many waiting requests at
	// once and serves them for as long as the longest one takes.
	BatchSize   *int32                `json:"batchSize,omitempty"`
	ServiceTime *profile.Distribution `json:"serviceTime,omitempty"`
	// ServiceTimesFile holds one observed duration per line (empirical).
	ServiceTimesFile string `json:"serviceTimesFile,omitempty"`
	// Tokens makes a traced request's service time base + per-token costs.
	Tokens *Tokens `json:"tokens,omitempty"`
	// Timeout drops a request that waited this long without starting.
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// MaxQueue drops arrivals while this many requests wait.
	MaxQueue int `json:"maxQueue,omitempty"`
}

// Tokens is a token-based service time.
type Tokens struct {
	Base           metav1.Duration `json:"base,omitempty"`
	PerInputToken  metav1.Duration `json:"perInputToken,omitempty"`
	PerOutputToken metav1.Duration `json:"perOutputToken"`
}

// Environment is the cluster.
type Environment struct {
	NodePools []NodePool `json:"nodePools,omitempty"`
	// ColdStart overrides the profile's cold-start distributions.
	ColdStart *profile.ColdStart `json:"coldStart,omitempty"`
	Usage     *Usage             `json:"usage,omitempty"`
	// WarmStart: the initial replicas are ready at the start (default true).
	WarmStart *bool `json:"warmStart,omitempty"`
}

// NodePool is a group of GPU nodes.
type NodePool struct {
	Name         string                `json:"name"`
	InstanceType string                `json:"instanceType,omitempty"`
	GPUsPerNode  int64                 `json:"gpusPerNode"`
	Provisioning *profile.Distribution `json:"provisioning,omitempty"`
	Initial      *int                  `json:"initial,omitempty"`
	Min          int                   `json:"min,omitempty"`
	Max          int                   `json:"max,omitempty"`
	GPUHourUSD   *float64              `json:"gpuHourUSD,omitempty"`
	// ScaleDownUnneeded: an empty node goes after this long (default 10m).
	ScaleDownUnneeded *metav1.Duration `json:"scaleDownUnneeded,omitempty"`
}

// Usage is what metrics-server reports, as fractions of the requests.
type Usage struct {
	CPUIdle *float64 `json:"cpuIdle,omitempty"`
	CPUBusy *float64 `json:"cpuBusy,omitempty"`
	Memory  *float64 `json:"memory,omitempty"`
}

// Metrics are the metric pipeline's delays and what metric names measure.
type Metrics struct {
	GaugeRefresh            *metav1.Duration `json:"gaugeRefresh,omitempty"`
	ScrapeInterval          *metav1.Duration `json:"scrapeInterval,omitempty"`
	RateWindow              *metav1.Duration `json:"rateWindow,omitempty"`
	MetricsServerResolution *metav1.Duration `json:"metricsServerResolution,omitempty"`
	HPASyncPeriod           *metav1.Duration `json:"hpaSyncPeriod,omitempty"`
	// Signals maps a metric name (or a substring of a Prometheus query) to
	// what it measures: queue, inflight, outstanding, rps, gpu or slots.
	Signals map[string]string `json:"signals,omitempty"`
	// KubernetesVersion (1.33-1.37) and KEDAVersion (2.x) of the engines.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	KEDAVersion       string `json:"kedaVersion,omitempty"`
	// Outages make metrics fail (or freeze) for a while.
	Outages []Outage `json:"outages,omitempty"`
}

// Outage makes a metric fail from At for Duration.
type Outage struct {
	// Metric is an HPA metric name (or cpu/memory), a KEDA trigger's name,
	// type or External metric name, or a substring of a Prometheus query
	// or trigger metadata, matched as signals are: exact matches first,
	// otherwise every metric containing it.
	Metric   string          `json:"metric"`
	At       metav1.Duration `json:"at"`
	Duration metav1.Duration `json:"duration"`
	// Mode is error (default: the metrics API or the scaler errors) or
	// stale (the last value keeps being served).
	Mode string `json:"mode,omitempty"`
}

// Output controls what is recorded.
type Output struct {
	// SLOWindow judges the SLO percentile per window (default 1m).
	SLOWindow *metav1.Duration `json:"sloWindow,omitempty"`
	// FlapWindow: a reversal of direction within it is a flap (default 5m).
	FlapWindow *metav1.Duration `json:"flapWindow,omitempty"`
}
