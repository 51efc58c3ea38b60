// Package keda is KEDA 2.20's decision engine: ScaledObject defaults and
// validation, the HPA KEDA generates, one poll of the operator's scale loop,
// the metrics server's answer to the HPA (with fallback and
// scalingModifiers) and one poll of a ScaledJob. Version deltas from 2.14 to
// 2.21 are selected by Options.Version.
//
// The package does no I/O and reads no clock: the caller passes `now`, the
// scale target's replica counts and each trigger's upstream reading, and owns
// the State that KEDA would remember between steps (status.lastActiveTime,
// status.health, the useCachedMetrics records, the conditions). A Compiled
// object is immutable and can be shared by any number of States.
//
//	c, err := keda.Compile(so, keda.Options{})   // *v1alpha1.ScaledObject; err is a *ValidationError
//	hpaObj := c.GenerateHPA()                    // *autoscalingv2.HorizontalPodAutoscaler (nil when paused)
//	st := c.NewState()                           // one per ScaledObject, owned by the caller
//	var res keda.PollResult                      // reuse across polls: no allocation in steady state
//	c.Poll(now, keda.Target{SpecReplicas: &n, ReadyReplicas: r}, readings, &st, &res)
//	// res.ScaleTo (when res.HasScaleTo) is what KEDA writes to the target;
//	// otherwise the HPA owns the replicas.
//	var q keda.QueryResult
//	c.HPAQuery(metricName, target, readings, &st, &q) // q.Value, or q.Err for the HPA
//
//	j, err := keda.CompileJob(sj, keda.Options{})
//	j.Poll(readings, keda.Jobs{Running: 3, Pending: 2}, &conds, &jobRes) // jobRes.Create
//
// Readings are scalers.Reading values, index-aligned with spec.triggers;
// internal/keda/scalers holds each scaler's metadata parsing and math, and
// internal/keda/kedastate the `keda eval` snapshot format.
package keda
