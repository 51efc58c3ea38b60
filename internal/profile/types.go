// Package profile defines the WorkloadProfile (apiVersion mlscale.dev/v1alpha1),
// its strict decoding, its ML-aware defaults and its validation. A profile is
// the one description of a workload from which manifests are generated and
// simulations are run.
package profile

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// APIVersion and Kind identify a workload profile document.
const (
	APIVersion = "mlscale.dev/v1alpha1"
	Kind       = "WorkloadProfile"
)

// Scaling modes.
const (
	ModeHPA    = "hpa"    // an HPA scales the Deployment
	ModeKEDA   = "keda"   // a KEDA ScaledObject scales the Deployment (and may scale to zero)
	ModeHybrid = "hybrid" // an HPA-scaled online service plus a separate KEDA-scaled queue worker
)

// WorkloadProfile describes one ML workload.
type WorkloadProfile struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata names the workload.
type Metadata struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	// Labels select the workload's pods; default {app: <name>}.
	Labels map[string]string `json:"labels,omitempty"`
	// Description is free text kept in an annotation.
	Description string `json:"description,omitempty"`
}

// Spec is the workload's description.
type Spec struct {
	// Names overrides the generated objects' names (each defaults to metadata.name).
	Names       Names       `json:"names,omitempty"`
	Container   Container   `json:"container"`
	Resources   Resources   `json:"resources"`
	ColdStart   ColdStart   `json:"coldStart,omitempty"`
	Serving     Serving     `json:"serving,omitempty"`
	SLO         SLO         `json:"slo,omitempty"`
	Scaling     Scaling     `json:"scaling"`
	Disruption  *Disruption `json:"disruption,omitempty"`
	Worker      *Worker     `json:"worker,omitempty"`
	Monitoring  Monitoring  `json:"monitoring,omitempty"`
	Affinity    *Affinity   `json:"affinity,omitempty"`
	Annotations Annotations `json:"annotations,omitempty"`
	Cost        *Cost       `json:"cost,omitempty"`
}

// Names of generated objects; empty means metadata.name.
type Names struct {
	Deployment          string `json:"deployment,omitempty"`
	Service             string `json:"service,omitempty"`
	HPA                 string `json:"hpa,omitempty"`
	ScaledObject        string `json:"scaledObject,omitempty"`
	PodDisruptionBudget string `json:"podDisruptionBudget,omitempty"`
}

// Annotations added to generated objects.
type Annotations map[string]string

// Container is the serving container.
type Container struct {
	Name  string          `json:"name,omitempty"`
	Image string          `json:"image"`
	Args  []string        `json:"args,omitempty"`
	Env   []corev1.EnvVar `json:"env,omitempty"`
	Ports Ports           `json:"ports,omitempty"`
	// HealthPath answers liveness; ReadinessPath answers readiness and
	// startup (the model is loaded). Defaults /health and /ready.
	HealthPath    string `json:"healthPath,omitempty"`
	ReadinessPath string `json:"readinessPath,omitempty"`
}

// Ports of the container; 0 means none.
type Ports struct {
	HTTP    int32 `json:"http,omitempty"`
	Metrics int32 `json:"metrics,omitempty"`
}

// Resources requested by one replica.
type Resources struct {
	Requests corev1.ResourceList `json:"requests,omitempty"`
	Limits   corev1.ResourceList `json:"limits,omitempty"`
	GPU      *GPU                `json:"gpu,omitempty"`
}

// GPU needs of one replica.
type GPU struct {
	// ResourceName is the extended resource, default nvidia.com/gpu.
	ResourceName corev1.ResourceName `json:"resourceName,omitempty"`
	Count        int64               `json:"count"`
	// InstanceTypes accepted (node.kubernetes.io/instance-type), a required node affinity.
	InstanceTypes []string `json:"instanceTypes,omitempty"`
	// Tolerations for GPU node taints; default tolerates nvidia.com/gpu:NoSchedule.
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// Product is the GPU model for simulation and cost (e.g. "A10G", "H100").
	Product string `json:"product,omitempty"`
}

// Affinity preferences beyond the GPU instance types.
type Affinity struct {
	// PreferredNodeLabels become a preferred node affinity (weight 100).
	PreferredNodeLabels map[string]string `json:"preferredNodeLabels,omitempty"`
}

// ColdStart is how long a new replica takes to become ready.
type ColdStart struct {
	ImagePull *Distribution `json:"imagePull,omitempty"`
	ModelLoad *Distribution `json:"modelLoad,omitempty"`
	Warmup    *Distribution `json:"warmup,omitempty"`
}

// Serving describes one replica's capacity.
type Serving struct {
	// Concurrency is the number of requests one replica serves at once.
	Concurrency int32         `json:"concurrency,omitempty"`
	ServiceTime *Distribution `json:"serviceTime,omitempty"`
	// BatchSize, when set, serves requests in batches (queue workers).
	BatchSize int32 `json:"batchSize,omitempty"`
}

// SLO is the latency objective.
type SLO struct {
	// Percentile, e.g. 99 for p99.
	Percentile float64          `json:"percentile,omitempty"`
	Latency    *metav1.Duration `json:"latency,omitempty"`
	// Goal is the fraction of time windows that must meet the objective (0-1).
	Goal float64 `json:"goal,omitempty"`
}

// Scaling is the autoscaling policy.
type Scaling struct {
	Mode     string   `json:"mode"`
	Replicas Replicas `json:"replicas"`
	Metrics  Metrics  `json:"metrics,omitempty"`
	// Triggers are KEDA triggers (mode keda, or the worker in hybrid mode).
	Triggers []Trigger `json:"triggers,omitempty"`
	KEDA     *KEDA     `json:"keda,omitempty"`
	// Behavior overrides the derived HPA behavior field by field.
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// Replicas bounds.
type Replicas struct {
	Min *int32 `json:"min,omitempty"`
	Max int32  `json:"max"`
	// Initial replicas in the Deployment; default min (1 when scaling to zero).
	Initial *int32 `json:"initial,omitempty"`
	// ScaleToZero lets the workload run with no replica (KEDA, or HPA with Object/External metrics).
	ScaleToZero bool `json:"scaleToZero,omitempty"`
}

// Metrics for an HPA.
type Metrics struct {
	CPU    *UtilizationTarget `json:"cpu,omitempty"`
	Memory *UtilizationTarget `json:"memory,omitempty"`
	// Pods metrics served by the custom metrics API (prometheus-adapter).
	Pods []PodsMetric `json:"pods,omitempty"`
	// GPUUtilization scales on the GPUs' utilisation through dcgm-exporter and Prometheus.
	GPUUtilization *GPUUtilization `json:"gpuUtilization,omitempty"`
	// External metrics served by the external metrics API.
	External []ExternalMetric `json:"external,omitempty"`
}

// UtilizationTarget is a percentage of the request.
type UtilizationTarget struct {
	Utilization int32 `json:"utilization"`
}

// PodsMetric is a per-pod metric exported by the application.
type PodsMetric struct {
	Name string `json:"name"`
	// AverageValue per pod, e.g. "10".
	AverageValue resource.Quantity `json:"averageValue"`
	// Query overrides the PromQL series name used by the adapter rule
	// (default: the metric name itself).
	SeriesQuery string `json:"seriesQuery,omitempty"`
}

// GPUUtilization target, in percent.
type GPUUtilization struct {
	Target int32 `json:"target"`
	// Metric is the dcgm-exporter series, default DCGM_FI_DEV_GPU_UTIL.
	Metric string `json:"metric,omitempty"`
	// PrometheusAddress is needed in KEDA mode (a prometheus trigger).
	PrometheusAddress string `json:"prometheusAddress,omitempty"`
}

// ExternalMetric is served by an external metrics adapter.
type ExternalMetric struct {
	Name     string            `json:"name"`
	Selector map[string]string `json:"selector,omitempty"`
	// Exactly one of Value (the total) and AverageValue (per replica).
	Value        *resource.Quantity `json:"value,omitempty"`
	AverageValue *resource.Quantity `json:"averageValue,omitempty"`
}

// Trigger is a KEDA trigger.
type Trigger struct {
	Type     string            `json:"type"`
	Name     string            `json:"name,omitempty"`
	Metadata map[string]string `json:"metadata"`
	// MetricType AverageValue (default), Value or Utilization.
	MetricType     string          `json:"metricType,omitempty"`
	Authentication *Authentication `json:"authentication,omitempty"`
}

// Authentication for a trigger: which TriggerAuthentication parameter comes
// from which key of which Secret. Secret values never appear in a profile.
type Authentication struct {
	// Name of the TriggerAuthentication; default <workload>-<trigger type>-auth.
	Name       string `json:"name,omitempty"`
	SecretName string `json:"secretName"`
	// Parameters maps a trigger parameter (host, awsAccessKeyID, ...) to a key of the Secret.
	Parameters map[string]string `json:"parameters,omitempty"`
	// PodIdentity for cloud identity (aws, azure-workload, gcp) instead of a Secret.
	PodIdentity string `json:"podIdentity,omitempty"`
}

// KEDA settings of a ScaledObject.
type KEDA struct {
	PollingInterval  *int32 `json:"pollingInterval,omitempty"`
	CooldownPeriod   *int32 `json:"cooldownPeriod,omitempty"`
	InitialCooldown  *int32 `json:"initialCooldownPeriod,omitempty"`
	IdleReplicaCount *int32 `json:"idleReplicaCount,omitempty"`
	Fallback         *struct {
		FailureThreshold int32 `json:"failureThreshold"`
		Replicas         int32 `json:"replicas"`
	} `json:"fallback,omitempty"`
}

// Worker is the queue-fed KEDA worker of a hybrid workload.
type Worker struct {
	Name string `json:"name,omitempty"`
	// Image defaults to the online container's image.
	Image    string    `json:"image,omitempty"`
	Args     []string  `json:"args,omitempty"`
	Replicas Replicas  `json:"replicas"`
	Triggers []Trigger `json:"triggers"`
	KEDA     *KEDA     `json:"keda,omitempty"`
}

// Disruption is the PodDisruptionBudget; exactly one of the two.
type Disruption struct {
	MinAvailable   *intstr.IntOrString `json:"minAvailable,omitempty"`
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// Monitoring makes the application's metrics exist for the HPA.
type Monitoring struct {
	// ServiceMonitor renders a prometheus-operator ServiceMonitor (default true
	// when a Pods metric is used).
	ServiceMonitor *bool `json:"serviceMonitor,omitempty"`
	// ScrapeInterval of the ServiceMonitor, default 15s.
	ScrapeInterval string `json:"scrapeInterval,omitempty"`
	// AdapterRules renders the prometheus-adapter rules (default true when a Pods metric is used).
	AdapterRules *bool `json:"adapterRules,omitempty"`
}

// Cost of the workload's nodes.
type Cost struct {
	// GPUHourUSD is the price of one GPU-hour.
	GPUHourUSD float64 `json:"gpuHourUSD"`
}
