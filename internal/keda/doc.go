// Package keda is KEDA 2.20's decision engine: ScaledObject defaults and
// validation, the HPA KEDA generates, one poll of the operator's scale loop,
// the metrics server's answer to the HPA (with fallback and
// scalingModifiers) and one poll of a ScaledJob.
//
// The package does no I/O and reads no clock: the caller passes `now`, the
// scale target's replica counts and each trigger's upstream reading, and owns
// the State that KEDA would remember between steps (status.lastActiveTime,
// status.health, the useCachedMetrics records). A Compiled object is
// immutable and can be shared by any number of States.
package keda

import (
	_ "github.com/expr-lang/expr"
	_ "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	_ "k8s.io/api/autoscaling/v2"
)
