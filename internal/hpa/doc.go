// Package hpa is the HorizontalPodAutoscaler decision engine: one reconcile
// of kube-controller-manager's HPA controller (Kubernetes 1.33 to 1.37),
// reproduced to the replica, with the controller's exact condition reasons,
// messages and events. It does no I/O and reads no clock.
//
// The API, for the simulator, the KEDA engine and `mlscale hpa eval`:
//
//	var st hpa.State                      // one per HPA, owned by the caller
//	in := &hpa.Input{
//		HPA:     hpaObj,                  // *autoscalingv2.HorizontalPodAutoscaler
//		Scale:   hpa.Scale{SpecReplicas: 3, StatusReplicas: 3, Selector: "app=web"},
//		Pods:    pods,                    // []hpa.Pod listed by the selector
//		Metrics: metrics,                 // []hpa.MetricInput, index-aligned with spec.metrics
//		Config:  hpa.DefaultConfig(37),   // flags, release, feature gates
//		Now:     now,
//	}
//	d := hpa.Reconcile(in, &st)           // d.DesiredReplicas, d.Rescale, d.Conditions, d.Events, ...
//
// Reconcile updates st exactly as the controller updates its in-memory maps
// (recommendation history, scale-up and scale-down events); the caller owns
// st and may copy, persist or replay it (hpa eval prints it as "history").
// The caller applies the decision: it writes d.DesiredReplicas to the scale
// target when d.Rescale, and merges d.Conditions into the HPA status with
// MergeConditions (which also honours d.RemoveScaledToZero), so that the
// next reconcile sees the ScaledToZero condition.
//
// Metric values enter at the level of the controller's metrics client:
// per-pod samples in milli-units for Resource, ContainerResource and Pods
// metrics, a value for Object metrics, every series for External metrics,
// or the API error. ResourceSamples converts a metrics.k8s.io PodMetrics
// list into the per-pod samples the controller derives from it.
//
// Performance: a warm State (one reconcile done) reconciles without
// allocating as long as the decision repeats (no rescale, no metric error):
// requests are cached per *corev1.PodSpec, condition messages and metric
// names per State, and the Decision's slices point into State buffers, valid
// until the next Reconcile on the same State.
//
// Where the controller's text or arithmetic depends on the release (zero
// replicas, the AmbiguousSelector message, Object metric errors), Config.
// KubernetesMinor selects it. The API server's defaulting of a partial
// spec.behavior is applied on read (SetDefaults does it on the object).
package hpa
