package keda

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	v2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// CompiledJob is a validated ScaledJob.
type CompiledJob struct {
	SJ              *v1alpha1.ScaledJob
	Version         Version
	Triggers        []Trigger
	PollingInterval time.Duration
	// Min and Max are MinReplicaCount() and MaxReplicaCount() (the
	// effective max is max − min).
	Min, Max int64
	// Strategy is the strategy in effect (custom with an unparsable
	// percentage becomes default; eager before v2.15 is default).
	Strategy    string
	Deduction   int64
	Percentage  float64
	Calculation string
	Paused      bool
}

// CompileJob validates a ScaledJob (CRD enums and minimums, the webhook's
// trigger checks) and builds its scalers.
func CompileJob(in *v1alpha1.ScaledJob, opts Options) (*CompiledJob, error) {
	if opts.Version.Minor == 0 {
		opts.Version = DefaultVersion
	}
	sj := in.DeepCopy()
	v := opts.Version.Minor
	if sj.Spec.JobTargetRef == nil {
		return nil, crdErr("spec.jobTargetRef", "Required value")
	}
	if len(sj.Spec.Triggers) == 0 {
		return nil, crdErr("spec.triggers", "Invalid value: 0: spec.triggers in body should have at least 1 items")
	}
	if v >= 20 {
		for _, m := range []struct {
			f   string
			v   *int32
			min int32
		}{
			{"spec.pollingInterval", sj.Spec.PollingInterval, 1},
			{"spec.successfulJobsHistoryLimit", sj.Spec.SuccessfulJobsHistoryLimit, 0},
			{"spec.failedJobsHistoryLimit", sj.Spec.FailedJobsHistoryLimit, 0},
			{"spec.minReplicaCount", sj.Spec.MinReplicaCount, 0},
			{"spec.maxReplicaCount", sj.Spec.MaxReplicaCount, 1},
		} {
			if m.v != nil && *m.v < m.min {
				return nil, crdErr(m.f, fmt.Sprintf("Invalid value: %d: %s in body should be greater than or equal to %d", *m.v, m.f, m.min))
			}
		}
	}
	s := sj.Spec.ScalingStrategy
	allowed := []string{"custom", "accurate", "eager"}
	if v >= 20 {
		allowed = append([]string{"default"}, allowed...)
	}
	if s.Strategy != "" {
		ok := false
		for _, a := range allowed {
			ok = ok || a == s.Strategy
		}
		if !ok {
			msg := fmt.Sprintf("Unsupported value: %q: supported values: ", s.Strategy)
			for i, a := range allowed {
				if i > 0 {
					msg += ", "
				}
				msg += strconv.Quote(a)
			}
			return nil, crdErr("spec.scalingStrategy.strategy", msg)
		}
	}
	if err := v1alpha1.ValidateTriggers(sj.Spec.Triggers); err != nil {
		return nil, webhookErr("spec.triggers", err)
	}
	c := &CompiledJob{SJ: sj, Version: opts.Version, Min: sj.MinReplicaCount(), Max: sj.MaxReplicaCount(),
		Calculation: s.MultipleScalersCalculation, Paused: sj.NeedToBePausedByAnnotation()}
	c.PollingInterval = DefaultPollingInterval * time.Second
	if sj.Spec.PollingInterval != nil {
		c.PollingInterval = time.Duration(*sj.Spec.PollingInterval) * time.Second
	}
	c.Strategy = "default"
	switch s.Strategy {
	case "custom":
		if p, err := strconv.ParseFloat(s.CustomScalingRunningJobPercentage, 64); err == nil {
			c.Strategy, c.Percentage = "custom", p
			if s.CustomScalingQueueLengthDeduction != nil {
				c.Deduction = int64(*s.CustomScalingQueueLengthDeduction)
			}
		}
	case "accurate":
		c.Strategy = "accurate"
	case "eager":
		if v >= 15 {
			c.Strategy = "eager"
		}
	}
	c.Triggers = make([]Trigger, len(sj.Spec.Triggers))
	for i, t := range sj.Spec.Triggers {
		var auth map[string]string
		if i < len(opts.AuthParams) {
			auth = opts.AuthParams[i]
		}
		sc, err := scalers.New(scalers.Config{Type: t.Type, Name: t.Name, Index: i, Metadata: t.Metadata, AuthParams: auth,
			HasAuthRef: t.AuthenticationRef != nil && auth == nil, MetricType: t.MetricType, Minor: v, ScaledJob: true})
		if err != nil {
			return nil, &ValidationError{Layer: "controller", Field: fmt.Sprintf("spec.triggers[%d]", i), Message: err.Error()}
		}
		tr := Trigger{Index: i, Type: t.Type, Name: t.Name, Scaler: sc, External: sc.Kind() == scalers.External,
			MetricName: sc.MetricName(), Target: sc.TargetValue(), MetricType: t.MetricType}
		if tr.MetricType == "" {
			tr.MetricType = v2.AverageValueMetricType
		}
		c.Triggers[i] = tr
	}
	return c, nil
}

// Jobs are the ScaledJob's Jobs as KEDA counts them at a poll.
type Jobs struct {
	// Running: Jobs labelled for this ScaledJob that are not finished.
	Running int64
	// Pending: unfinished Jobs whose pods are not yet running (or do not
	// meet pendingPodConditions).
	Pending int64
}

// JobMetric is one trigger's contribution at a ScaledJob poll.
type JobMetric struct {
	MetricResult
	QueueLength float64
	TargetAvg   float64
	MaxValue    float64
	Used        bool // contributed (no error)
}

// JobResult is the outcome of one ScaledJob poll.
type JobResult struct {
	Active, Error bool
	Metrics       []JobMetric
	// QueueLength and MaxScale are the combined, ceiled values.
	QueueLength, MaxScale int64
	// Effective (max new Jobs) and ScaleTo after the strategy.
	Effective, ScaleTo int64
	// Create is the number of Jobs created at this poll.
	Create     int64
	Paused     bool
	Conditions [numConds]v1alpha1.Condition
	Events     []Event
}

// Poll runs one ScaledJob poll: metrics, activity, the scaling strategy and
// the Jobs KEDA creates. conds holds the status conditions before the poll
// and is updated (nil: freshly initialised).
func (c *CompiledJob) Poll(readings []scalers.Reading, jobs Jobs, conds *ConditionSet, res *JobResult) {
	*res = JobResult{Metrics: res.Metrics[:0], Events: res.Events[:0]}
	if conds == nil {
		init := initialConditions()
		conds = &init
	}
	if conds[CondReady].Type == "" {
		*conds = initialConditions()
	}
	defer func() { res.Conditions = *conds }()
	wasPaused := conds[CondPaused].Status == metav1.ConditionTrue
	wasActive := conds[CondActive].Status == metav1.ConditionTrue
	if c.Paused {
		res.Paused = true
		if !wasPaused {
			setCond(conds, CondPaused, metav1.ConditionTrue, "ScaledJobPaused", "ScaledJob is paused")
			res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledJobPaused", "ScaledJob is paused"})
		}
		return
	}
	if wasPaused {
		setCond(conds, CondPaused, metav1.ConditionFalse, "ScaledJobUnpaused", "ScaledJob is unpaused")
		res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledJobUnpaused", "ScaledJob is unpaused"})
	}
	type sm struct {
		q, maxV float64
		active  bool
	}
	var all []sm
	for i := range c.Triggers {
		t := &c.Triggers[i]
		jm := JobMetric{MetricResult: MetricResult{Trigger: i}}
		if !t.External {
			res.Metrics = append(res.Metrics, jm)
			continue
		}
		rd := &noReading
		if i < len(readings) {
			rd = &readings[i]
		}
		out := t.Scaler.Get(rd)
		jm.Raw = out
		if out.Err != "" {
			jm.Err = out.Err
			res.Error = true
			res.Events = append(res.Events, Event{corev1.EventTypeWarning, "KEDAScalerFailed", out.Err})
			res.Metrics = append(res.Metrics, jm)
			continue
		}
		jm.Used, jm.HasValue = true, true
		jm.Value = scalers.ReportedValue(out.Value, c.Version.Minor)
		jm.Active = out.Active
		jm.QueueLength = jm.Value
		if t.MetricType == v2.AverageValueMetricType {
			jm.TargetAvg = t.Target
		}
		if jm.TargetAvg != 0 {
			jm.MaxValue = math.Min(jm.QueueLength/jm.TargetAvg, float64(c.Max))
		}
		res.Metrics = append(res.Metrics, jm)
		all = append(all, sm{jm.QueueLength, jm.MaxValue, out.Active})
	}
	// IsScaledJobActive
	var q, maxV float64
	active := false
	switch c.Calculation {
	case "min":
		for _, m := range all {
			if (q == 0 || m.q < q) && m.active {
				q, maxV, active = m.q, m.maxV, true
			}
		}
	case "avg":
		var qs, ms float64
		k := 0
		for _, m := range all {
			if m.active {
				qs += m.q
				ms += m.maxV
				active = true
				k++
			}
		}
		if k != 0 {
			q, maxV = qs/float64(k), ms/float64(k)
		}
	case "sum":
		for _, m := range all {
			if m.active {
				q += m.q
				maxV += m.maxV
				active = true
			}
		}
	default:
		for _, m := range all {
			if m.q > q && m.active {
				q, maxV, active = m.q, m.maxV, true
			}
		}
	}
	if c.Min > 0 {
		active = true
	}
	maxV = math.Min(maxV, float64(c.Max))
	res.Active = active
	res.QueueLength = int64(math.Ceil(q))
	res.MaxScale = int64(math.Ceil(maxV))

	// RequestJobScale
	running := jobs.Running
	if running < c.Min {
		res.ScaleTo = c.Min - running
		res.Effective = res.ScaleTo
	} else {
		res.Effective, res.ScaleTo = c.strategy(res.MaxScale, running-c.Min, jobs.Pending, res.QueueLength)
	}
	if res.Effective < 0 {
		res.Effective = 0
	}
	if active && res.Effective > 0 {
		res.Create = min(res.ScaleTo, res.Effective)
		res.Events = append(res.Events, Event{corev1.EventTypeNormal, "KEDAJobsCreated", "Created " + strconv.FormatInt(res.Create, 10) + " jobs"})
	}
	setCond(conds, CondReady, metav1.ConditionTrue, "ScaledJobReady", "ScaledJob is defined correctly and is ready for scaling")
	if res.Error {
		if active {
			setCond(conds, CondReady, metav1.ConditionUnknown, "PartialTriggerError", "Some triggers defined in ScaledJob are not working correctly")
		} else {
			setCond(conds, CondReady, metav1.ConditionFalse, "TriggerError", "Triggers defined in ScaledJob are not working correctly")
		}
	}
	if active {
		if !wasActive {
			res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledJobActive", "Scaling is performed because triggers are active"})
		}
		setCond(conds, CondActive, metav1.ConditionTrue, "ScalerActive", "Scaling is performed because triggers are active")
	} else {
		if wasActive {
			res.Events = append(res.Events, Event{corev1.EventTypeNormal, "ScaledJobInactive", "Scaling is not performed because triggers are not active"})
		}
		setCond(conds, CondActive, metav1.ConditionFalse, "ScalerNotActive", "Scaling is not performed because triggers are not active")
	}
}

// strategy is GetEffectiveMaxScale of the strategy in effect.
func (c *CompiledJob) strategy(maxScale, running, pending, queueLength int64) (effective, scaleTo int64) {
	switch c.Strategy {
	case "custom":
		r := maxScale - c.Deduction - int64(float64(running)*c.Percentage)
		return min(r, c.Max), queueLength
	case "accurate":
		if c.Version.Minor >= 19 {
			if maxScale+running-pending > c.Max {
				return c.Max - running, queueLength
			}
		} else if maxScale+running > c.Max {
			return c.Max - running, queueLength
		}
		return maxScale - pending, queueLength
	case "eager":
		return min(c.Max-running-pending, maxScale), c.Max
	default:
		return maxScale - running, queueLength
	}
}
