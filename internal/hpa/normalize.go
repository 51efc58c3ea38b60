package hpa

import (
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// API server defaults for a present behavior (pkg/apis/autoscaling/v2/defaults.go).
var (
	defaultScaleUpPolicies = []autoscalingv2.HPAScalingPolicy{
		{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
		{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
	}
	defaultScaleDownPolicies = []autoscalingv2.HPAScalingPolicy{
		{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
	}
)

// rules is one direction's HPAScalingRules as the controller reads them
// after API defaulting (and, for scale-down, the flag window).
type rules struct {
	window   int32
	policy   autoscalingv2.ScalingPolicySelect
	policies []autoscalingv2.HPAScalingPolicy
}

func effectiveRules(r *autoscalingv2.HPAScalingRules, up bool, flagWindow time.Duration) rules {
	out := rules{policy: autoscalingv2.MaxChangePolicySelect}
	if up {
		out.policies = defaultScaleUpPolicies
	} else {
		out.policies = defaultScaleDownPolicies
		out.window = int32(flagWindow.Seconds())
	}
	if r == nil {
		return out
	}
	if r.StabilizationWindowSeconds != nil {
		out.window = *r.StabilizationWindowSeconds
	}
	if r.SelectPolicy != nil {
		out.policy = *r.SelectPolicy
	}
	if r.Policies != nil {
		out.policies = r.Policies
	}
	return out
}

// SetDefaults applies the API server's defaulting of an autoscaling/v2
// HorizontalPodAutoscaler to h in place: minReplicas 1, the CPU 80% metric
// when there is none, and every unset field of a present behavior.
func SetDefaults(h *autoscalingv2.HorizontalPodAutoscaler) {
	if h.Spec.MinReplicas == nil {
		one := int32(1)
		h.Spec.MinReplicas = &one
	}
	if len(h.Spec.Metrics) == 0 {
		u := int32(80)
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u},
			},
		}}
	}
	b := h.Spec.Behavior
	if b == nil {
		return
	}
	b.ScaleUp = defaultRules(b.ScaleUp, true)
	b.ScaleDown = defaultRules(b.ScaleDown, false)
}

func defaultRules(from *autoscalingv2.HPAScalingRules, up bool) *autoscalingv2.HPAScalingRules {
	maxp := autoscalingv2.MaxChangePolicySelect
	to := &autoscalingv2.HPAScalingRules{SelectPolicy: &maxp}
	if up {
		zero := int32(0)
		to.StabilizationWindowSeconds = &zero
		to.Policies = append([]autoscalingv2.HPAScalingPolicy(nil), defaultScaleUpPolicies...)
	} else {
		to.Policies = append([]autoscalingv2.HPAScalingPolicy(nil), defaultScaleDownPolicies...)
	}
	return OverlayRules(to, from)
}

// OverlayRules returns a copy of base with every field that from sets taken
// from from, field by field, as the API server defaults a partial behavior
// (and as a profile's behavior overrides mlscale's derived one).
func OverlayRules(base, from *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	out := *base
	if from == nil {
		return &out
	}
	if from.SelectPolicy != nil {
		out.SelectPolicy = from.SelectPolicy
	}
	if from.StabilizationWindowSeconds != nil {
		out.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	if from.Policies != nil {
		out.Policies = from.Policies
	}
	if from.Tolerance != nil {
		out.Tolerance = from.Tolerance
	}
	return &out
}

// normalizeLegacy mirrors normalizeDesiredReplicas (behavior == nil).
func normalizeLegacy(in *Input, st *State, d *Decision, current, desired, minReplicas int32) int32 {
	sc := &st.scratch
	now := in.Now
	cutoff := at(now.Add(-in.Config.DownscaleStabilization))
	stabilized := desired
	found := false
	idx := 0
	for i := range st.Recommendations {
		rec := &st.Recommendations[i]
		if at(rec.Timestamp).before(cutoff) {
			found = true
			idx = i
		} else if rec.Replicas > stabilized {
			stabilized = rec.Replicas
		}
	}
	if found {
		st.Recommendations[idx] = Recommendation{Replicas: desired, Timestamp: now}
	} else {
		st.Recommendations = append(st.Recommendations, Recommendation{Replicas: desired, Timestamp: now})
	}
	if stabilized != desired {
		d.StabilizeReason = "ScaleDownStabilized"
		sc.setCond(AbleToScale, corev1.ConditionTrue, "ScaleDownStabilized", msgScaleDownStab)
	} else {
		d.StabilizeReason = "ReadyForNewScale"
		sc.setCond(AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", msgReadyForNewScale)
	}
	d.Stabilized = stabilized

	maxReplicas := in.HPA.Spec.MaxReplicas
	upLimit := int32(math.Max(2.0*float64(current), 4.0))
	var maxAllowed int32
	var reason, msg string
	if maxReplicas > upLimit {
		maxAllowed, reason, msg = upLimit, "ScaleUpLimit", msgScaleUpLimit
	} else {
		maxAllowed, reason, msg = maxReplicas, "TooManyReplicas", msgTooMany
	}
	out := stabilized
	switch {
	case stabilized < minReplicas:
		out, reason, msg = minReplicas, "TooFewReplicas", msgTooFew
	case stabilized > maxAllowed:
		out = maxAllowed
	default:
		reason, msg = "DesiredWithinRange", msgWithinRange
	}
	d.LimitReason = reason
	if out == stabilized {
		sc.setCond(ScalingLimited, corev1.ConditionFalse, reason, msg)
	} else {
		sc.setCond(ScalingLimited, corev1.ConditionTrue, reason, msg)
	}
	return out
}

// normalizeWithBehaviors mirrors normalizeDesiredReplicasWithBehaviors.
func normalizeWithBehaviors(in *Input, st *State, d *Decision, current, desired, minReplicas int32) int32 {
	sc := &st.scratch
	b := in.HPA.Spec.Behavior
	up := effectiveRules(b.ScaleUp, true, 0)
	down := effectiveRules(b.ScaleDown, false, in.Config.DownscaleStabilization)
	now := in.Now

	// stabilizeRecommendationWithBehaviors
	upRec, downRec := desired, desired
	upCutoff := at(now.Add(-time.Second * time.Duration(up.window)))
	downCutoff := at(now.Add(-time.Second * time.Duration(down.window)))
	found := false
	idx := 0
	for i := range st.Recommendations {
		rec := &st.Recommendations[i]
		ts := at(rec.Timestamp)
		if ts.after(upCutoff) {
			upRec = min(rec.Replicas, upRec)
		}
		if ts.after(downCutoff) {
			downRec = max(rec.Replicas, downRec)
		}
		if ts.before(upCutoff) && ts.before(downCutoff) {
			found = true
			idx = i
		}
	}
	stabilized := current
	if stabilized < upRec {
		stabilized = upRec
	}
	if stabilized > downRec {
		stabilized = downRec
	}
	if found {
		st.Recommendations[idx] = Recommendation{Replicas: desired, Timestamp: now}
	} else {
		st.Recommendations = append(st.Recommendations, Recommendation{Replicas: desired, Timestamp: now})
	}
	if stabilized != desired {
		if desired >= current {
			d.StabilizeReason = "ScaleUpStabilized"
			sc.setCond(AbleToScale, corev1.ConditionTrue, "ScaleUpStabilized", msgScaleUpStab)
		} else {
			d.StabilizeReason = "ScaleDownStabilized"
			sc.setCond(AbleToScale, corev1.ConditionTrue, "ScaleDownStabilized", msgScaleDownStab)
		}
	} else {
		d.StabilizeReason = "ReadyForNewScale"
		sc.setCond(AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", msgReadyForNewScale)
	}
	d.Stabilized = stabilized

	// convertDesiredReplicasWithBehaviorRate
	out, reason, msg := stabilized, "DesiredWithinRange", msgWithinRange
	maxReplicas := in.HPA.Spec.MaxReplicas
	if stabilized > current {
		lim := scaleUpLimit(current, st.ScaleUpEvents, st.ScaleDownEvents, &up, now)
		if lim < current {
			lim = current
		}
		allowed, r, m := maxReplicas, "TooManyReplicas", msgTooMany
		if allowed > lim {
			allowed, r, m = lim, "ScaleUpLimit", msgScaleUpLimit
		}
		if stabilized > allowed {
			out, reason, msg = allowed, r, m
		}
	} else if stabilized < current {
		lim := scaleDownLimit(current, st.ScaleUpEvents, st.ScaleDownEvents, &down, now)
		if lim > current {
			lim = current
		}
		allowed, r, m := minReplicas, "TooFewReplicas", msgTooFew
		if allowed < lim {
			allowed, r, m = lim, "ScaleDownLimit", msgScaleDownLimit
		}
		if stabilized < allowed {
			out, reason, msg = allowed, r, m
		}
	}
	d.LimitReason = reason
	if out == stabilized {
		sc.setCond(ScalingLimited, corev1.ConditionFalse, reason, msg)
	} else {
		sc.setCond(ScalingLimited, corev1.ConditionTrue, reason, msg)
	}
	return out
}

// changeInPeriod mirrors getReplicasChangePerPeriod: events strictly after now-period.
func changeInPeriod(period int32, events []ScaleEvent, now time.Time) int32 {
	cutoff := at(now.Add(-time.Second * time.Duration(period)))
	var n int32
	for i := range events {
		if at(events[i].Timestamp).after(cutoff) {
			n += events[i].ReplicaChange
		}
	}
	return n
}

func scaleUpLimit(current int32, upEv, downEv []ScaleEvent, r *rules, now time.Time) int32 {
	var result, proposed int32
	var pick func(a, b int32) int32
	switch r.policy {
	case autoscalingv2.DisabledPolicySelect:
		return current
	case autoscalingv2.MinChangePolicySelect:
		result, pick = math.MaxInt32, minI32
	default:
		result, pick = math.MinInt32, maxI32
	}
	for _, p := range r.policies {
		start := current - changeInPeriod(p.PeriodSeconds, upEv, now) + changeInPeriod(p.PeriodSeconds, downEv, now)
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start + p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

func scaleDownLimit(current int32, upEv, downEv []ScaleEvent, r *rules, now time.Time) int32 {
	var result, proposed int32
	var pick func(a, b int32) int32
	switch r.policy {
	case autoscalingv2.DisabledPolicySelect:
		return current
	case autoscalingv2.MinChangePolicySelect:
		result, pick = math.MinInt32, maxI32
	default:
		result, pick = math.MaxInt32, minI32
	}
	for _, p := range r.policies {
		start := current - changeInPeriod(p.PeriodSeconds, upEv, now) + changeInPeriod(p.PeriodSeconds, downEv, now)
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

func minI32(a, b int32) int32 { return min(a, b) }
func maxI32(a, b int32) int32 { return max(a, b) }

// storeScaleEvent mirrors the controller's function of that name.
func storeScaleEvent(in *Input, st *State, prev, next int32, now time.Time) {
	b := in.HPA.Spec.Behavior
	if b == nil {
		return
	}
	var events *[]ScaleEvent
	var r rules
	var change int32
	if next > prev {
		r = effectiveRules(b.ScaleUp, true, 0)
		events = &st.ScaleUpEvents
		change = next - prev
	} else {
		r = effectiveRules(b.ScaleDown, false, 0)
		events = &st.ScaleDownEvents
		change = prev - next
	}
	var longest int32
	for _, p := range r.policies {
		if p.PeriodSeconds > longest {
			longest = p.PeriodSeconds
		}
	}
	cutoff := now.Add(-time.Second * time.Duration(longest))
	found := false
	idx := 0
	ev := *events
	for i := range ev {
		if ev[i].Timestamp.Before(cutoff) {
			ev[i].Outdated = true
		}
	}
	for i := range ev {
		if ev[i].Outdated {
			found = true
			idx = i
		}
	}
	e := ScaleEvent{ReplicaChange: change, Timestamp: now}
	if found {
		ev[idx] = e
	} else {
		*events = append(ev, e)
	}
}

// PolicyLimit explains one scaling policy's limit at a reconcile.
type PolicyLimit struct {
	Policy autoscalingv2.HPAScalingPolicy
	// PeriodStart is the replica count at the start of the policy's period,
	// reconstructed from the controller's own scale events.
	PeriodStart int32
	// Allowed is the replica count the policy allows.
	Allowed int32
}

// ExplainPolicies returns, for the behavior path, the per-policy limits of
// the direction from current (scale-up when up), computed as the
// controller does from the events before the reconcile, and the select
// policy in force.
func ExplainPolicies(in *Input, upEvents, downEvents []ScaleEvent, current int32, up bool) ([]PolicyLimit, autoscalingv2.ScalingPolicySelect) {
	b := in.HPA.Spec.Behavior
	if b == nil {
		return nil, ""
	}
	var r rules
	if up {
		r = effectiveRules(b.ScaleUp, true, 0)
	} else {
		r = effectiveRules(b.ScaleDown, false, in.Config.DownscaleStabilization)
	}
	var out []PolicyLimit
	for _, p := range r.policies {
		start := current - changeInPeriod(p.PeriodSeconds, upEvents, in.Now) + changeInPeriod(p.PeriodSeconds, downEvents, in.Now)
		l := PolicyLimit{Policy: p, PeriodStart: start}
		switch {
		case p.Type == autoscalingv2.PodsScalingPolicy && up:
			l.Allowed = start + p.Value
		case p.Type == autoscalingv2.PodsScalingPolicy:
			l.Allowed = start - p.Value
		case p.Type == autoscalingv2.PercentScalingPolicy && up:
			l.Allowed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		case p.Type == autoscalingv2.PercentScalingPolicy:
			l.Allowed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		out = append(out, l)
	}
	return out, r.policy
}
