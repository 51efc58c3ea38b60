package keda

import (
	"strconv"
	"strings"
	"time"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	v2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// Target is the scale target as KEDA reads it.
type Target struct {
	// SpecReplicas is spec.replicas; nil is read as 1.
	SpecReplicas *int32
	// ReadyReplicas counts Running and Ready pods matching the /scale
	// selector (used by fallback with Value targets).
	ReadyReplicas int32
}

// Current is the replica count KEDA works with.
func (t Target) Current() int32 {
	if t.SpecReplicas == nil {
		return 1
	}
	return *t.SpecReplicas
}

// MetricResult is one trigger's outcome in a step.
type MetricResult struct {
	Trigger int
	// Raw is the scaler's own answer (value before quantity conversion,
	// activity, upstream error).
	Raw scalers.Output
	// HasValue: Value is what KEDA would hand on for this metric (after
	// quantity conversion or fallback). False when the metric errored.
	HasValue bool
	Value    float64
	// Active is the trigger's activity after fallback (a fallback counts as
	// active); false on error.
	Active bool
	// Fallback: fallback replaced the value (or, with the scalingModifiers
	// behavior, a nil placeholder went to the formula).
	Fallback    bool
	Placeholder bool
	// Err is the error after fallback ("" when none).
	Err string
	// Failures is status.health[metric].numberOfFailures after the step.
	Failures int32
}

// Branch names the executor decision taken at a poll.
type Branch int

// Executor branches (RequestScale).
const (
	BranchNone                Branch = iota
	BranchPaused                     // paused / paused-replicas: the loop is stopped
	BranchActivate                   // active, at 0 (or below min in idle mode): set max(min,1)
	BranchActivateBlocked            // … but paused-scale-out
	BranchPartialError               // active with an error, current > 0
	BranchActiveHPA                  // active, current > 0: lastActiveTime = now, HPA owns 1..N
	BranchFallbackHold               // inactive with an error, fallback configured: the HPA gets the fallback metric
	BranchTriggerError               // inactive with an error, no fallback: nothing
	BranchScaleIn                    // inactive, cooldown over: scale to idle/min
	BranchCooldown                   // inactive, cooling down
	BranchScaleInBlocked             // inactive, paused-scale-in
	BranchRaiseToMin                 // inactive, current < min (no idle): set min
	BranchNoChange                   // inactive, nothing to do
	BranchFallbackScaleLegacy        // ≤ v2.16: the executor scaled to fallback.replicas directly
)

var branchNames = [...]string{"", "paused", "activate", "activation-blocked", "partial-trigger-error", "active-hpa", "fallback-via-hpa", "trigger-error", "scale-in", "cooldown", "scale-in-blocked", "raise-to-min", "no-change", "fallback-scale"}

func (b Branch) String() string { return branchNames[b] }

// Event is a Kubernetes event KEDA records.
type Event struct {
	Type    string
	Reason  string
	Message string
}

// PollResult is the outcome of one poll. Reuse one across polls to avoid
// allocations.
type PollResult struct {
	Active bool
	Error  bool
	// ScaleTo is the replica count KEDA writes to the target, when
	// HasScaleTo.
	ScaleTo    int32
	HasScaleTo bool
	Branch     Branch
	Metrics    []MetricResult
	// FallbackActive: at least one trigger fell back at this poll.
	FallbackActive bool
	// Composite is the scalingModifiers result (when HasComposite);
	// CompositeErr the formula's error.
	Composite    float64
	HasComposite bool
	CompositeErr string
	// ActiveTriggers are the metric names that made the object active.
	ActiveTriggers []string
	// CooldownEnds is when scale-in becomes possible (the first poll
	// strictly after it scales in); zero when not cooling down.
	CooldownEnds time.Time
	Conditions   [numConds]v1alpha1.Condition
	Events       []Event
}

func (r *PollResult) reset(n int) {
	if cap(r.Metrics) < n {
		r.Metrics = make([]MetricResult, n)
	}
	r.Metrics = r.Metrics[:n]
	for i := range r.Metrics {
		r.Metrics[i] = MetricResult{Trigger: i}
	}
	r.Active, r.Error, r.ScaleTo, r.HasScaleTo, r.Branch = false, false, 0, false, BranchNone
	r.FallbackActive, r.Composite, r.HasComposite, r.CompositeErr = false, 0, false, ""
	r.ActiveTriggers = r.ActiveTriggers[:0]
	r.CooldownEnds = time.Time{}
	r.Events = r.Events[:0]
}

func setCond(cs *[numConds]v1alpha1.Condition, i int, s metav1.ConditionStatus, reason, msg string) {
	cs[i] = v1alpha1.Condition{Type: condTypes[i], Status: s, Reason: reason, Message: msg}
}

const (
	msgReady       = "ScaledObject is defined correctly and is ready for scaling"
	msgActive      = "Scaling is performed because triggers are active"
	msgForced      = "Scaling is performed because activation is being forced by annotation"
	msgNotActive   = "Scaling is not performed because triggers are not active"
	msgCooldown    = "Scaler cooling down because triggers are not active"
	msgPartial     = "Some triggers defined in ScaledObject are not working correctly"
	msgTriggerErr  = "Triggers defined in ScaledObject are not working correctly"
	msgPaused      = "ScaledObject is paused"
	msgUnpaused    = "pause annotation removed for ScaledObject"
	msgFBActivated = "ScaledObject fallback is active"
	msgFBDeactived = "ScaledObject fallback is no longer active"
)

// process is fallback.GetMetricsWithFallback for trigger i: it records
// health (when count) and returns the value handed on, whether fallback
// replaced it, whether it is the scalingModifiers placeholder, and the
// error left. With count false the failure counter is read, not moved.
func (c *Compiled) process(i int, hasVal bool, val float64, errText string, tgt Target, st *State, count bool) (float64, bool, bool, bool, string) {
	on := c.fallbackOn()
	if errText == "" {
		if on && count {
			st.Health[i] = Health{Failures: 0, Status: v1alpha1.HealthStatusHappy}
			c.updateFallbackCondition(st)
		}
		return val, hasVal, false, false, ""
	}
	if !on {
		return 0, false, false, false, errText
	}
	h := st.Health[i]
	failures := h.Failures
	if count {
		failures++
		st.Health[i] = Health{Failures: failures, Status: v1alpha1.HealthStatusFailing}
		c.updateFallbackCondition(st)
	} else if h.Status != v1alpha1.HealthStatusFailing {
		return 0, false, false, false, errText
	}
	if failures <= c.Fallback.FailureThreshold {
		return 0, false, false, false, errText
	}
	f := c.Fallback
	if f.Behavior == v1alpha1.FallbackBehaviorScalingModifiers {
		return -1, true, false, true, ""
	}
	current := tgt.Current()
	var r float64
	switch f.Behavior {
	case v1alpha1.FallbackBehaviorCurrentReplicas:
		r = float64(current)
	case v1alpha1.FallbackBehaviorCurrentReplicasIfHigher:
		r = float64(max(current, f.Replicas))
	case v1alpha1.FallbackBehaviorCurrentReplicasIfLower:
		r = float64(min(current, f.Replicas))
	default:
		r = float64(f.Replicas)
	}
	var t float64
	valueType := false
	if c.Modifiers != nil {
		valueType = c.Modifiers.MetricType == v2.ValueMetricType
		t = c.Modifiers.Target
	} else {
		valueType = c.Triggers[i].MetricType == v2.ValueMetricType
		t = c.Triggers[i].Target
	}
	if valueType {
		if tgt.ReadyReplicas == 0 {
			return 0, false, false, false, "error performing fallback"
		}
		r /= float64(tgt.ReadyReplicas)
	}
	return float64(int64(t*1000*r)) / 1000, true, true, false, ""
}

// Poll runs one check of KEDA's scale loop at now: every trigger's
// reading through its scaler and fallback, the activity aggregation,
// scalingModifiers, and the executor's decision (RequestScale) with
// cooldown. It updates st (lastActiveTime, health, cached records,
// conditions) and fills res.
func (c *Compiled) Poll(now time.Time, tgt Target, readings []scalers.Reading, st *State, res *PollResult) {
	n := len(c.Triggers)
	st.fit(n)
	res.reset(n)
	current := tgt.Current()
	wasPaused := st.Conditions[CondPaused].Status == metav1.ConditionTrue

	// The reconciler's part.
	if c.Paused {
		res.Branch = BranchPaused
		setCond(&st.Conditions, CondPaused, metav1.ConditionTrue, "ScaledObjectPaused", msgPaused)
		setCond(&st.Conditions, CondReady, metav1.ConditionTrue, "ScaledObjectReady", msgPaused)
		if !wasPaused {
			res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledObjectPaused", msgPaused})
		}
		if c.PausedReplicas != nil && current != *c.PausedReplicas {
			res.ScaleTo, res.HasScaleTo = *c.PausedReplicas, true
		}
		if !c.fallbackOn() {
			setCond(&st.Conditions, CondFallback, metav1.ConditionFalse, "NoFallbackFound", "No fallbacks are active on this scaled object")
		}
		res.Conditions = st.Conditions
		return
	}
	switch {
	case c.PauseScaleIn || c.PauseScaleOut:
		setCond(&st.Conditions, CondPaused, metav1.ConditionTrue, "ScaledObjectPaused", msgPaused)
		if !wasPaused {
			res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledObjectPaused", msgPaused})
		}
	case wasPaused:
		setCond(&st.Conditions, CondPaused, metav1.ConditionFalse, "ScaledObjectUnpaused", msgUnpaused)
		res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledObjectUnpaused", msgUnpaused})
	}
	if !c.fallbackOn() {
		setCond(&st.Conditions, CondFallback, metav1.ConditionFalse, "NoFallbackFound", "No fallbacks are active on this scaled object")
	}
	priorFallback := st.Conditions[CondFallback].Status == metav1.ConditionTrue

	// getScaledObjectState
	isActive, isError := c.state(tgt, readings, st, res)
	if res.FallbackActive && !priorFallback {
		res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledObjectFallbackActivated", msgFBActivated})
	} else if !res.FallbackActive && priorFallback {
		res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledObjectFallbackDeactivated", msgFBDeactived})
	}
	res.Active, res.Error = isActive, isError

	// RequestScale
	c.requestScale(now, current, isActive, isError, st, res)
	res.Conditions = st.Conditions
}

// state is getScaledObjectState.
func (c *Compiled) state(tgt Target, readings []scalers.Reading, st *State, res *PollResult) (isActive, isError bool) {
	countFallback := c.Version.Minor >= 19
	anyCached := false
	for i := range c.Triggers {
		t := &c.Triggers[i]
		m := &res.Metrics[i]
		if !t.External {
			continue
		}
		var rd *scalers.Reading
		if i < len(readings) {
			rd = &readings[i]
		} else {
			rd = &noReading
		}
		out := t.Scaler.Get(rd)
		m.Raw = out
		val, hasVal := 0.0, false
		if out.Err == "" {
			val, hasVal = scalers.ReportedValue(out.Value, c.Version.Minor), true
		}
		fb, ph := false, false
		errText := out.Err
		if countFallback {
			val, hasVal, fb, ph, errText = c.process(i, hasVal, val, out.Err, tgt, st, true)
		}
		m.Value, m.HasValue, m.Fallback, m.Placeholder, m.Err = val, hasVal, fb || ph, ph, errText
		m.Failures = st.Health[i].Failures
		activeOrFB := fb || out.Active
		if t.UseCached {
			anyCached = true
			st.Cached[i] = Record{Present: true, HasValue: hasVal, Value: val, Active: activeOrFB, Err: errText}
		}
		if fb {
			res.FallbackActive = true
		}
		if errText != "" {
			isError = true
			res.Events = append(res.Events, Event{corev1.EventTypeWarning, c.failedReason(), errText})
			continue
		}
		m.Active = activeOrFB
		if m.Active {
			isActive = true
			if c.Modifiers == nil {
				res.ActiveTriggers = append(res.ActiveTriggers, t.MetricName)
			}
		}
	}
	if anyCached {
		for i := range c.Triggers {
			if !c.Triggers[i].UseCached {
				st.Cached[i] = Record{}
			}
		}
	}
	if c.Modifiers != nil {
		isActive = false
		c.composite(st, res, func(i int) (float64, bool, bool) {
			m := &res.Metrics[i]
			return m.Value, m.HasValue, m.Placeholder
		})
		if !isError && res.HasComposite && res.Composite > c.Modifiers.ActivationTarget {
			isActive = true
			res.ActiveTriggers = append(res.ActiveTriggers, CompositeMetricName)
		}
	}
	if c.AllCPUMemory && !isError {
		isActive = true
	}
	return isActive, isError
}

var noReading = scalers.Reading{Failed: true, Err: "no reading given for this trigger"}

func (c *Compiled) failedReason() string {
	if c.Modifiers != nil {
		return "KEDAMetricSourceFailed"
	}
	return "KEDAScalerFailed"
}

// composite is HandleScalingModifiers over the metrics handed on (value,
// present, placeholder by trigger index).
func (c *Compiled) composite(st *State, res *PollResult, metric func(i int) (float64, bool, bool)) {
	if res.FallbackActive {
		// Any fallback other than the scalingModifiers behavior skips the
		// formula: the composite is the first fallback value.
		for i := range c.Triggers {
			if res.Metrics[i].Fallback && !res.Metrics[i].Placeholder {
				res.Composite, res.HasComposite = res.Metrics[i].Value, true
				return
			}
		}
		return
	}
	if st.env == nil {
		st.env = make(map[string]any, len(c.Triggers))
	}
	clear(st.env)
	for i := range c.Triggers {
		if !c.Triggers[i].External {
			continue
		}
		v, ok, ph := metric(i)
		if !ok {
			continue
		}
		if ph {
			st.env[c.Triggers[i].Name] = nil
		} else {
			st.env[c.Triggers[i].Name] = v
		}
	}
	out, err := c.Modifiers.run(st.env)
	if err != nil {
		res.CompositeErr = "error trying to run custom formula: " + err.Error()
		return
	}
	var f float64
	if out == nil {
		if c.Fallback == nil {
			res.CompositeErr = "scalingModifiers formula evaluated to nil but no fallback is configured"
			return
		}
		f = float64(c.Fallback.Replicas) * c.Modifiers.Target
	} else {
		fv, ok := out.(float64)
		if !ok {
			res.CompositeErr = "formula returned non-float result"
			return
		}
		f = fv
	}
	res.Composite, res.HasComposite = float64(int64(f*1000))/1000, true
}

// requestScale is the executor's RequestScale plus scaleToZeroOrIdle and
// scaleFromZeroOrIdle.
func (c *Compiled) requestScale(now time.Time, current int32, isActive, isError bool, st *State, res *PollResult) {
	cs := &st.Conditions
	setCond(cs, CondReady, metav1.ConditionTrue, "ScaledObjectReady", msgReady)
	min := c.Min
	if isActive || c.ForceActivation {
		if c.ForceActivation {
			setCond(cs, CondActive, metav1.ConditionTrue, "ScalerActive", msgForced)
		} else {
			setCond(cs, CondActive, metav1.ConditionTrue, "ScalerActive", msgActive)
		}
		switch {
		case (c.Idle != nil && current < min) || current == 0:
			if c.PauseScaleOut {
				res.Branch = BranchActivateBlocked
				return
			}
			to := int32(1)
			if min > 0 {
				to = min
			}
			res.Branch = BranchActivate
			res.ScaleTo, res.HasScaleTo = to, true
			var msg string
			if c.ForceActivation {
				msg = "Scaled " + c.TargetKind + " " + c.Namespace + "/" + c.SO.Spec.ScaleTargetRef.Name + " from " + itoa(current) + " to " + itoa(to) + ", caused by forced activation annotation"
			} else {
				msg = "Scaled " + c.TargetKind + " " + c.Namespace + "/" + c.SO.Spec.ScaleTargetRef.Name + " from " + itoa(current) + " to " + itoa(to) + ", triggered by " + strings.Join(res.ActiveTriggers, ";")
			}
			res.Events = append(res.Events, Event{corev1.EventTypeNormal, "KEDAScaleTargetActivated", msg})
			st.LastActiveTime = now
		case isError:
			res.Branch = BranchPartialError
			setCond(cs, CondReady, metav1.ConditionUnknown, "PartialTriggerError", msgPartial)
		default:
			res.Branch = BranchActiveHPA
			st.LastActiveTime = now
		}
		return
	}
	setCond(cs, CondActive, metav1.ConditionFalse, "ScalerNotActive", msgNotActive)
	f := c.SO.Spec.Fallback
	switch {
	case isError && f != nil && f.Replicas != 0:
		res.Branch = BranchFallbackHold
		if c.Version.Minor <= 16 {
			// doFallbackScaling: the executor itself wrote fallback.replicas
			// on any error while inactive (no threshold check) and set
			// Fallback=True.
			res.Branch = BranchFallbackScaleLegacy
			res.ScaleTo, res.HasScaleTo = f.Replicas, true
			setCond(cs, CondFallback, metav1.ConditionTrue, "FallbackExists", "At least one trigger is falling back on this scaled object")
		}
	case isError && f == nil:
		res.Branch = BranchTriggerError
		setCond(cs, CondReady, metav1.ConditionFalse, "TriggerError", msgTriggerErr)
	case (c.Idle != nil && current > *c.Idle) || (current > 0 && min == 0):
		c.scaleToZeroOrIdle(now, current, st, res)
	case c.Idle == nil && current < min:
		res.Branch = BranchRaiseToMin
		res.ScaleTo, res.HasScaleTo = min, true
	default:
		res.Branch = BranchNoChange
	}
}

func (c *Compiled) scaleToZeroOrIdle(now time.Time, current int32, st *State, res *PollResult) {
	if c.PauseScaleIn {
		res.Branch = BranchScaleInBlocked
		return
	}
	var ends time.Time
	if st.LastActiveTime.IsZero() {
		ends = c.Created.Add(c.InitialCooldown)
	} else {
		ends = st.LastActiveTime.Add(c.Cooldown)
	}
	if ends.Before(now) {
		to := c.Min
		if c.Idle != nil {
			to = *c.Idle
		}
		res.Branch = BranchScaleIn
		res.ScaleTo, res.HasScaleTo = to, true
		res.Events = append(res.Events, Event{corev1.EventTypeNormal, "KEDAScaleTargetDeactivated",
			"Deactivated " + c.TargetKind + " " + c.Namespace + "/" + c.SO.Spec.ScaleTargetRef.Name + " from " + itoa(current) + " to " + itoa(to)})
		setCond(&st.Conditions, CondActive, metav1.ConditionFalse, "ScalerNotActive", msgNotActive)
		return
	}
	res.Branch = BranchCooldown
	res.CooldownEnds = ends
	setCond(&st.Conditions, CondActive, metav1.ConditionFalse, "ScalerCooldown", msgCooldown)
}

func itoa(n int32) string { return strconv.FormatInt(int64(n), 10) }
