package hpa

import (
	"errors"
	"strconv"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Condition types, as the API names them.
const (
	AbleToScale    = autoscalingv2.AbleToScale
	ScalingActive  = autoscalingv2.ScalingActive
	ScalingLimited = autoscalingv2.ScalingLimited
	ScaledToZero   = autoscalingv2.ScaledToZero
)

// Fixed controller texts.
const (
	msgSucceededGetScale = "the HPA controller was able to get the target's current scale"
	msgScalingDisabled   = "scaling is disabled since the replica count of the target is zero"
	msgReadyForNewScale  = "recommended size matches current size"
	msgScaleDownStab     = "recent recommendations were higher than current one, applying the highest recent recommendation"
	msgScaleUpStab       = "recent recommendations were lower than current one, applying the lowest recent recommendation"
	msgScaleUpLimit      = "the desired replica count is increasing faster than the maximum scale rate"
	msgScaleDownLimit    = "the desired replica count is decreasing faster than the maximum scale rate"
	msgTooMany           = "the desired replica count is more than the maximum replica count"
	msgTooFew            = "the desired replica count is less than the minimum replica count"
	msgWithinRange       = "the desired count is within the acceptable range"
	msgScaledToZero      = "the HPA controller scaled the workload to zero"
	msgNotScaledToZero   = "the HPA controller did not scale the workload to zero"
	msgMissingSelector   = "the HPA target's scale is missing a selector"

	reasonAboveMax = "Current number of replicas above Spec.MaxReplicas"
	reasonBelowMin = "Current number of replicas below Spec.MinReplicas"
	reasonAllBelow = "All metrics below target"
)

// Reconcile runs one reconcile of the HPA controller over in, updating st.
func Reconcile(in *Input, st *State) Decision {
	sc := &st.scratch
	sc.begin(len(in.HPA.Spec.Metrics))
	spec := &in.HPA.Spec
	cfg := &in.Config
	now := in.Now
	minor := cfg.minor()

	d := Decision{MetricDesired: -1, LegacyPath: spec.Behavior == nil}
	d.Tolerances = tolerancesFor(cfg, spec)

	sc.setCond(AbleToScale, corev1.ConditionTrue, "SucceededGetScale", msgSucceededGetScale)
	current := in.Scale.SpecReplicas
	d.CurrentReplicas = current
	if st.Recommendations == nil {
		st.Recommendations = append(make([]Recommendation, 0, 8), Recommendation{Replicas: current, Timestamp: now})
	}

	minReplicas := int32(1)
	if spec.MinReplicas != nil {
		minReplicas = *spec.MinReplicas
	}
	rescale := true
	desired := int32(0)
	reason := ""
	rescaleMetric := ""
	upReason := false

	stzGate := cfg.Gates.ScaleToZero
	hasObjExt := hasObjectOrExternalMetrics(spec)
	stzCond := false
	if minor >= 36 {
		stzCond = stzGate && scaledToZeroConditionTrue(in.HPA)
	}
	canFromZero := stzCond && hasObjExt
	needs := true

	switch {
	case current == 0:
		var disable bool
		if minor <= 35 {
			disable = minReplicas != 0
		} else {
			disable = !((minReplicas != 0 && stzCond) || canFromZero)
		}
		if disable {
			needs = false
			rescale = false
			d.Stage = StageScalingDisabled
			sc.setCond(ScalingActive, corev1.ConditionFalse, "ScalingDisabled", msgScalingDisabled)
			if minor >= 36 && !stzGate {
				d.RemoveScaledToZero = true
			}
		}
	case current > spec.MaxReplicas:
		reason = reasonAboveMax
		desired = spec.MaxReplicas
		needs = false
		d.Stage = StageAboveMax
	case current < minReplicas:
		reason = reasonBelowMin
		desired = minReplicas
		needs = false
		d.Stage = StageBelowMin
	}

	if needs {
		md, mname, stage, err := computeReplicasForMetrics(in, st, &d)
		if err != nil && md == -1 {
			d.Stage = stage
			sc.event(corev1.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error())
			d.DesiredReplicas = current
			if stage != StageSelectorError {
				d.Metrics = sc.metrics
			}
			d.Conditions = sc.conds
			d.Events = sc.events
			return d
		}
		d.MetricDesired = md
		d.MetricName = mname
		if md > desired {
			desired = md
			rescaleMetric = mname
		}
		if desired > current {
			upReason = true
		}
		if desired < current {
			reason = reasonAllBelow
		}
		if spec.Behavior == nil {
			desired = normalizeLegacy(in, st, &d, current, desired, minReplicas)
		} else {
			desired = normalizeWithBehaviors(in, st, &d, current, desired, minReplicas)
		}
		d.Limited = desired
		if current == 0 && minReplicas != 0 && stzCond && desired < minReplicas {
			desired = minReplicas
			if !upReason && reason == "" {
				reason = reasonBelowMin
			}
		}
		rescale = desired != current
	}

	if rescale {
		if upReason {
			reason = rescaleMetric + " above target"
		}
		d.RescaleReason = reason
		sc.setCond(AbleToScale, corev1.ConditionTrue, "SucceededRescale",
			"the HPA controller was able to update the target scale to "+strconv.Itoa(int(desired)))
		sc.event(corev1.EventTypeNormal, "SuccessfulRescale",
			"New size: "+strconv.Itoa(int(desired))+"; reason: "+reason)
		storeScaleEvent(in, st, current, desired, now)
		if minor >= 36 {
			if stzGate {
				if current > 0 && desired == 0 && minReplicas == 0 && hasObjExt {
					sc.setCond(ScaledToZero, corev1.ConditionTrue, "ScaledToZero", msgScaledToZero)
				} else {
					sc.setCond(ScaledToZero, corev1.ConditionFalse, "NotScaledToZero", msgNotScaledToZero)
				}
			} else {
				d.RemoveScaledToZero = true
			}
		}
	} else {
		desired = current
	}
	d.DesiredReplicas = desired
	d.Rescale = rescale
	if needs {
		d.Metrics = sc.metrics
	}
	d.Conditions = sc.conds
	d.Events = sc.events
	return d
}

func hasObjectOrExternalMetrics(spec *autoscalingv2.HorizontalPodAutoscalerSpec) bool {
	for i := range spec.Metrics {
		t := spec.Metrics[i].Type
		if t == autoscalingv2.ObjectMetricSourceType || t == autoscalingv2.ExternalMetricSourceType {
			return true
		}
	}
	return false
}

func scaledToZeroConditionTrue(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for i := range h.Status.Conditions {
		if h.Status.Conditions[i].Type == autoscalingv2.ScaledToZero {
			return h.Status.Conditions[i].Status == corev1.ConditionTrue
		}
	}
	return false
}

func tolerancesFor(cfg *Config, spec *autoscalingv2.HorizontalPodAutoscalerSpec) Tolerances {
	t := Tolerances{ScaleDown: cfg.Tolerance, ScaleUp: cfg.Tolerance}
	b := spec.Behavior
	if b == nil || !cfg.Gates.ConfigurableTolerance {
		return t
	}
	if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
		t.ScaleDown = b.ScaleDown.Tolerance.AsApproximateFloat64()
	}
	if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
		t.ScaleUp = b.ScaleUp.Tolerance.AsApproximateFloat64()
	}
	return t
}

func (t Tolerances) within(r float64) bool {
	return (1.0-t.ScaleDown) <= r && r <= (1.0+t.ScaleUp)
}

// computeReplicasForMetrics mirrors the controller's function of that name:
// -1 and an error when nothing usable came out.
func computeReplicasForMetrics(in *Input, st *State, d *Decision) (int32, string, Stage, error) {
	sc := &st.scratch
	if err := validateSelector(in, st); err != nil {
		return -1, "", StageSelectorError, err
	}
	specs := in.HPA.Spec.Metrics
	specReplicas := in.Scale.SpecReplicas
	var replicas int32
	metric := ""
	invalid := 0
	var firstErr string
	var firstReason, firstMsg string
	for i := range specs {
		r := &sc.metrics[i]
		computeMetric(in, st, i, r)
		if r.Proposal < 0 && r.Reason != "" {
			if invalid == 0 {
				firstReason = r.Reason
				firstMsg = "the HPA was unable to compute the replica count: " + r.Error
				firstErr = sc.wrapped[i]
			}
			invalid++
			continue
		}
		if replicas == 0 || r.Proposal > replicas {
			replicas = r.Proposal
			metric = r.Name
		}
	}
	var err error
	if invalid > 0 {
		err = errors.New("invalid metrics (" + strconv.Itoa(invalid) + " invalid out of " + strconv.Itoa(len(specs)) + "), first error is: " + firstErr)
	}
	if invalid >= len(specs) || (invalid > 0 && replicas < specReplicas) {
		if invalid == 0 {
			// No metrics at all: the controller sets a zero condition.
			sc.setCond("", "", "", "")
		} else {
			sc.setCond(ScalingActive, corev1.ConditionFalse, firstReason, firstMsg)
		}
		return -1, "", StageMetricsFailed, err
	}
	sc.setCond(ScalingActive, corev1.ConditionTrue, "ValidMetricFound", sc.validMsg(metric))
	return replicas, metric, StageComputed, err
}
