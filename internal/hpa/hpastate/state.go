// Package hpastate reads `kind: HPAState` snapshots (the input of
// `mlscale hpa eval`, see shared/spec/hpa-eval.md), turns them into one
// reconcile of the hpa engine and renders the decision as JSON/YAML or as
// an explanation for a person.
package hpastate

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIVersion and Kind of the snapshot format.
const (
	APIVersion = "mlscale.dev/v1alpha1"
	Kind       = "HPAState"
)

// State is an HPAState document.
type State struct {
	APIVersion        string                                 `json:"apiVersion"`
	Kind              string                                 `json:"kind"`
	KubernetesVersion string                                 `json:"kubernetesVersion,omitempty"`
	FeatureGates      map[string]bool                        `json:"featureGates,omitempty"`
	Controller        *Controller                            `json:"controller,omitempty"`
	Now               *metav1.Time                           `json:"now,omitempty"`
	HPA               *autoscalingv2.HorizontalPodAutoscaler `json:"hpa,omitempty"`
	Scale             *Scale                                 `json:"scale,omitempty"`
	Pods              []Pod                                  `json:"pods,omitempty"`
	Metrics           Metrics                                `json:"metrics,omitempty"`
	History           *History                               `json:"history,omitempty"`
	OtherHPASelectors []string                               `json:"otherHPASelectors,omitempty"`
}

// Controller holds kube-controller-manager flags.
type Controller struct {
	Tolerance               *float64         `json:"tolerance,omitempty"`
	DownscaleStabilization  *metav1.Duration `json:"downscaleStabilization,omitempty"`
	CPUInitializationPeriod *metav1.Duration `json:"cpuInitializationPeriod,omitempty"`
	InitialReadinessDelay   *metav1.Duration `json:"initialReadinessDelay,omitempty"`
}

// Scale is the target's /scale subresource.
type Scale struct {
	SpecReplicas   *int32 `json:"specReplicas,omitempty"`
	StatusReplicas *int32 `json:"statusReplicas,omitempty"`
	Selector       string `json:"selector"`
}

// Pod is one pod listed by the selector.
type Pod struct {
	Name                string              `json:"name"`
	Phase               corev1.PodPhase     `json:"phase,omitempty"`
	Ready               ConditionStatus     `json:"ready,omitempty"`
	ReadyTransitionTime *metav1.Time        `json:"readyTransitionTime,omitempty"`
	StartTime           *metav1.Time        `json:"startTime,omitempty"`
	DeletionTimestamp   *metav1.Time        `json:"deletionTimestamp,omitempty"`
	Labels              map[string]string   `json:"labels,omitempty"`
	Containers          []Container         `json:"containers,omitempty"`
	InitContainers      []Container         `json:"initContainers,omitempty"`
	PodRequests         corev1.ResourceList `json:"podRequests,omitempty"`
}

// Container is a container's name, restart policy and requests.
type Container struct {
	Name          string                         `json:"name"`
	RestartPolicy *corev1.ContainerRestartPolicy `json:"restartPolicy,omitempty"`
	Requests      corev1.ResourceList            `json:"requests,omitempty"`
}

// Metrics is what the metrics APIs return.
type Metrics struct {
	Resource map[string]PodMetrics                   `json:"resource,omitempty"`
	Pods     map[string]map[string]resource.Quantity `json:"pods,omitempty"`
	Object   map[string]resource.Quantity            `json:"object,omitempty"`
	External map[string][]resource.Quantity          `json:"external,omitempty"`
	Errors   map[string]string                       `json:"errors,omitempty"`
}

// PodMetrics is one metrics.k8s.io PodMetrics item.
type PodMetrics struct {
	Timestamp  *metav1.Time                   `json:"timestamp,omitempty"`
	Window     *metav1.Duration               `json:"window,omitempty"`
	Containers map[string]corev1.ResourceList `json:"containers,omitempty"`
}

// History is the controller's in-memory state for the HPA.
type History struct {
	Recommendations []Recommendation `json:"recommendations"`
	ScaleUpEvents   []ScaleEvent     `json:"scaleUpEvents"`
	ScaleDownEvents []ScaleEvent     `json:"scaleDownEvents"`
}

// Recommendation is one entry of the recommendation history.
type Recommendation struct {
	Timestamp metav1.Time `json:"timestamp"`
	Replicas  int32       `json:"replicas"`
}

// ScaleEvent is one of the controller's own rescales. Outdated is an
// extension of the format: the controller's mark on a slot it may reuse,
// printed only when set.
type ScaleEvent struct {
	Timestamp     metav1.Time `json:"timestamp"`
	ReplicaChange int32       `json:"replicaChange"`
	Outdated      bool        `json:"outdated,omitempty"`
}
