package kedastate

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	v2 "k8s.io/api/autoscaling/v2"

	"github.com/mlscale/mlscale/internal/keda"
)

// Report is `keda eval`'s output (see docs/keda.md for the format).
type Report struct {
	Kind                 string             `json:"kind"`
	Step                 string             `json:"step"`
	KEDAVersion          string             `json:"kedaVersion"`
	Active               bool               `json:"active"`
	Error                bool               `json:"error"`
	ScaleTo              *int32             `json:"scaleTo"`
	Decision             string             `json:"decision"`
	Composite            *float64           `json:"compositeValue,omitempty"`
	Metrics              []MetricOut        `json:"metrics"`
	HPA                  *HPAOut            `json:"hpa"`
	ExternalMetricValues map[string]float64 `json:"externalMetricValues"`
	QueryError           *string            `json:"queryError,omitempty"`
	CooldownEndsAt       *string            `json:"cooldownEndsAt,omitempty"`
	Jobs                 *JobsOut           `json:"jobs,omitempty"`
	Conditions           []CondOut          `json:"conditions"`
	Events               []EventOut         `json:"events"`
	Warnings             []string           `json:"warnings,omitempty"`
	State                *StateIn           `json:"state,omitempty"`

	in      *Input
	explain []string
}

// MetricOut is one trigger.
type MetricOut struct {
	Trigger    int      `json:"trigger"`
	Type       string   `json:"type"`
	Name       string   `json:"name"`
	Value      *float64 `json:"value"`
	Active     bool     `json:"active"`
	TargetType string   `json:"targetType"`
	Target     float64  `json:"target"`
	Fallback   bool     `json:"fallback"`
	Error      string   `json:"error"`
}

// HPAOut is the generated HPA (the whole object only in YAML).
type HPAOut struct {
	Name        string                      `json:"name"`
	MinReplicas int32                       `json:"minReplicas"`
	MaxReplicas int32                       `json:"maxReplicas"`
	Object      *v2.HorizontalPodAutoscaler `json:"object,omitempty"`
}

// JobsOut is a ScaledJob poll's arithmetic.
type JobsOut struct {
	Running     int64  `json:"running"`
	Pending     int64  `json:"pending"`
	Strategy    string `json:"strategy"`
	QueueLength int64  `json:"queueLength"`
	MaxScale    int64  `json:"maxScale"`
	Effective   int64  `json:"effectiveMaxScale"`
	ScaleTo     int64  `json:"scaleTo"`
	Create      int64  `json:"create"`
}

// CondOut is a condition.
type CondOut struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// EventOut is an event.
type EventOut struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Eval runs the step. fullHPA puts the whole generated HPA in the report.
func Eval(in *Input, fullHPA bool) *Report {
	r := &Report{Step: in.Step, KEDAVersion: in.Version.String(), in: in,
		Metrics: []MetricOut{}, ExternalMetricValues: map[string]float64{}, Conditions: []CondOut{}, Events: []EventOut{}}
	if in.SJ != nil {
		r.Kind = "ScaledJob"
		r.evalJob()
		return r
	}
	r.Kind = "ScaledObject"
	c := in.SO
	r.Warnings = c.Warnings
	if h := c.GenerateHPA(); h != nil {
		r.HPA = &HPAOut{Name: h.Name, MinReplicas: *h.Spec.MinReplicas, MaxReplicas: h.Spec.MaxReplicas}
		if fullHPA {
			r.HPA.Object = h
		}
	}
	st := in.State.Clone()
	if in.Step == StepHPAQuery {
		var q keda.QueryResult
		c.HPAQuery(in.File.HPAQueryMetric, in.Target, in.Readings, &st, &q)
		for i := range c.Triggers {
			if q.Consulted[i] {
				r.Metrics = append(r.Metrics, r.metric(i, &q.Metrics[i]))
			}
		}
		if q.Err != "" {
			e := q.Err
			r.QueryError = &e
			r.Error = true
		} else if !q.Empty {
			r.ExternalMetricValues[q.Name] = q.Value
		}
		r.Decision = "hpa-query"
		r.explainQuery(&q)
	} else {
		var p keda.PollResult
		c.Poll(in.Now, in.Target, in.Readings, &st, &p)
		r.Active, r.Error = p.Active, p.Error
		if p.HasScaleTo {
			v := p.ScaleTo
			r.ScaleTo = &v
		}
		r.Decision = p.Branch.String()
		if p.HasComposite {
			v := p.Composite
			r.Composite = &v
		}
		if p.Branch != keda.BranchPaused {
			for i := range c.Triggers {
				r.Metrics = append(r.Metrics, r.metric(i, &p.Metrics[i]))
			}
			names, values := c.ExternalMetricValues(in.Target, in.Readings, &st)
			for i, n := range names {
				r.ExternalMetricValues[n] = values[i]
			}
		}
		if !p.CooldownEnds.IsZero() {
			s := p.CooldownEnds.UTC().Format(time.RFC3339)
			r.CooldownEndsAt = &s
		}
		for _, e := range p.Events {
			r.Events = append(r.Events, EventOut(e))
		}
		r.explainPoll(&p)
	}
	for _, cd := range st.Conditions {
		r.Conditions = append(r.Conditions, CondOut{string(cd.Type), string(cd.Status), cd.Reason, cd.Message})
	}
	so := StateOut(c, &st)
	r.State = &so
	return r
}

func (r *Report) metric(i int, m *keda.MetricResult) MetricOut {
	t := &r.in.SO.Triggers[i]
	o := MetricOut{Trigger: i, Type: t.Type, Name: t.MetricName, Active: m.Active, Fallback: m.Fallback, Error: m.Err, Target: t.Target}
	if t.External {
		o.TargetType = string(t.MetricType)
		if m.HasValue && !m.Placeholder {
			v := m.Value
			o.Value = &v
		}
	} else {
		spec := t.Scaler.MetricSpec()
		o.Name = string(spec.Type) + "/" + t.Type
		if spec.Resource != nil {
			o.TargetType = string(spec.Resource.Target.Type)
		} else if spec.ContainerResource != nil {
			o.TargetType = string(spec.ContainerResource.Target.Type)
		}
		o.Active = true
	}
	return o
}

func (r *Report) evalJob() {
	in := r.in
	c := in.SJ
	var res keda.JobResult
	conds := in.JobConditions
	c.Poll(in.Readings, in.Jobs, &conds, &res)
	r.Active, r.Error = res.Active, res.Error
	r.Decision = "jobs"
	if res.Paused {
		r.Decision = "paused"
	}
	r.Jobs = &JobsOut{Running: in.Jobs.Running, Pending: in.Jobs.Pending, Strategy: c.Strategy,
		QueueLength: res.QueueLength, MaxScale: res.MaxScale, Effective: res.Effective, ScaleTo: res.ScaleTo, Create: res.Create}
	for i, m := range res.Metrics {
		t := &c.Triggers[i]
		o := MetricOut{Trigger: i, Type: t.Type, Name: t.MetricName, Active: m.Active, Error: m.Err, Target: t.Target, TargetType: string(t.MetricType)}
		if m.HasValue {
			v := m.Value
			o.Value = &v
		}
		r.Metrics = append(r.Metrics, o)
	}
	for _, cd := range res.Conditions {
		r.Conditions = append(r.Conditions, CondOut{string(cd.Type), string(cd.Status), cd.Reason, cd.Message})
	}
	for _, e := range res.Events {
		r.Events = append(r.Events, EventOut(e))
	}
	st := StateIn{Health: map[string]v1alpha1.HealthStatus{}, CachedRecords: map[string]RecordIn{}}
	st.Conditions = append(st.Conditions, res.Conditions[:]...)
	r.State = &st
	r.explainJob(&res)
}

// ---- text ----

func (r *Report) line(format string, a ...any) {
	r.explain = append(r.explain, fmt.Sprintf(format, a...))
}

func (r *Report) explainTriggers(metrics []keda.MetricResult, consulted []bool, fromCache []bool) {
	c := r.in.SO
	for i := range c.Triggers {
		if consulted != nil && !consulted[i] {
			continue
		}
		t := &c.Triggers[i]
		m := &metrics[i]
		if !t.External {
			r.line("  [%d] %s: %s", i, t.Type, t.Scaler.Explain(nil))
			continue
		}
		head := fmt.Sprintf("  [%d] %s %s (target %s %s)", i, t.Type, t.MetricName, trimF(t.Target), t.MetricType)
		if fromCache != nil && fromCache[i] {
			head += " [from the useCachedMetrics record]"
		}
		r.line("%s", head)
		if m.Raw.Err != "" {
			r.line("      upstream error: %s", m.Raw.Err)
		} else if x := t.Scaler.Explain(&r.in.Readings[i]); x != "" && (fromCache == nil || !fromCache[i]) {
			r.line("      %s", x)
		}
		switch {
		case m.Placeholder:
			r.line("      fallback (behavior scalingModifiers): failures %d > threshold %d → the formula sees nil for %q", m.Failures, c.Fallback.FailureThreshold, t.Name)
		case m.Fallback:
			r.line("      fallback: failures %d > failureThreshold %d → metric %s (target × %s replicas, so the HPA lands on them)", m.Failures, c.Fallback.FailureThreshold, trimF(m.Value), c.Fallback.Behavior)
		case m.Err != "" && c.Fallback != nil && c.Fallback.Valid && consulted == nil && c.Version.Minor < 19:
			r.line("      fallback: before v2.19 the poll loop does not apply fallback or count failures (%d recorded, by HPA queries)", m.Failures)
		case m.Err != "" && c.Fallback != nil && c.Fallback.Valid:
			r.line("      fallback: failures %d, not > failureThreshold %d → the error goes through", m.Failures, c.Fallback.FailureThreshold)
		}
		if m.HasValue && !m.Placeholder && !m.Fallback && m.Value != m.Raw.Value {
			r.line("      sent to the HPA as %s (milli quantity; negatives as 0)", trimF(m.Value))
		}
		if t.MetricType == v2.AverageValueMetricType && m.HasValue && !m.Placeholder && t.Target > 0 && c.Modifiers == nil {
			r.line("      HPA (AverageValue): this metric asks for ceil(%s / %s) = %d replicas (before tolerance, min/max and behavior)", trimF(m.Value), trimF(t.Target), ceilDiv(m.Value, t.Target))
		} else if t.MetricType == v2.ValueMetricType && m.HasValue && t.Target > 0 && c.Modifiers == nil {
			r.line("      HPA (Value): this metric asks for ceil(%s / %s × ready pods) replicas", trimF(m.Value), trimF(t.Target))
		}
	}
}

func (r *Report) explainPoll(p *keda.PollResult) {
	in := r.in
	c := in.SO
	cur := in.Target.Current()
	r.line("ScaledObject %s/%s (KEDA %s) poll at %s", c.Namespace, c.Name, c.Version, in.Now.UTC().Format(time.RFC3339))
	spec := "nil (read as 1)"
	if in.Target.SpecReplicas != nil {
		spec = fmt.Sprint(*in.Target.SpecReplicas)
	}
	r.line("target %s %s: replicas %s, ready %d; min %d, max %d%s; pollingInterval %s, cooldownPeriod %s",
		c.TargetKind, c.SO.Spec.ScaleTargetRef.Name, spec, in.Target.ReadyReplicas, c.Min, c.Max, idleText(c), c.PollingInterval, c.Cooldown)
	if p.Branch == keda.BranchPaused {
		if c.PausedReplicas != nil {
			r.line("paused-replicas %d: the scale loop is stopped and the HPA deleted; KEDA holds the target at %d.", *c.PausedReplicas, *c.PausedReplicas)
		} else {
			r.line("paused: the scale loop is stopped and the HPA deleted; replicas stay at %d.", cur)
		}
		return
	}
	r.line("triggers:")
	r.explainTriggers(p.Metrics, nil, nil)
	if c.Modifiers != nil {
		switch {
		case p.HasComposite && p.FallbackActive:
			r.line("scalingModifiers: a trigger fell back, so the formula is skipped: composite-metric = %s", trimF(p.Composite))
		case p.HasComposite:
			r.line("scalingModifiers: %s = %s; active = %s > activationTarget %s → %t", c.Modifiers.Formula, trimF(p.Composite), trimF(p.Composite), trimF(c.Modifiers.ActivationTarget), p.Active)
		default:
			r.line("scalingModifiers: %s", p.CompositeErr)
		}
	}
	r.line("activity: active=%t error=%t%s", p.Active, p.Error, forceText(c))
	now := in.Now
	switch p.Branch {
	case keda.BranchActivate:
		r.line("KEDA: active at %d replicas → scales the target to %d (max(min,1)) and sets lastActiveTime; the HPA takes it from there.", cur, *r.ScaleTo)
	case keda.BranchActivateBlocked:
		r.line("KEDA: active at %d replicas, but paused-scale-out blocks the activation.", cur)
	case keda.BranchPartialError:
		r.line("KEDA: active with a failing trigger: Ready=Unknown PartialTriggerError; lastActiveTime is NOT refreshed. The HPA owns %d..%d.", max(1, c.Min), c.Max)
	case keda.BranchActiveHPA:
		r.line("KEDA: active at %d replicas → refreshes lastActiveTime and leaves %d..%d to the HPA %s.", cur, max(1, c.Min), c.Max, c.HPAName)
	case keda.BranchFallbackHold:
		if cur == 0 {
			r.line("KEDA: inactive with a failing trigger and fallback configured → no change. At 0 replicas the HPA does not query, so only polls can count failures (v2.19+).")
		} else {
			r.line("KEDA: inactive with a failing trigger and fallback configured → no change; the HPA gets the fallback metric once failures pass the threshold.")
		}
	case keda.BranchTriggerError:
		r.line("KEDA: inactive with a failing trigger and no fallback → Ready=False TriggerError; replicas stay at %d.", cur)
	case keda.BranchScaleIn:
		r.line("KEDA: inactive and the cooldown is over (%s) → scales the target from %d to %d.", cooldownText(c, &in.State, now), cur, *r.ScaleTo)
	case keda.BranchCooldown:
		r.line("KEDA: inactive, cooling down: %s remaining (scale-in at the first poll after %s). Meanwhile the HPA keeps ≥ %d.", p.CooldownEnds.Sub(now), p.CooldownEnds.UTC().Format(time.RFC3339), max(1, c.Min))
	case keda.BranchScaleInBlocked:
		r.line("KEDA: inactive, but paused-scale-in blocks the scale to %d.", c.Min)
	case keda.BranchRaiseToMin:
		r.line("KEDA: inactive below minReplicaCount → sets %d right away (no cooldown).", c.Min)
	case keda.BranchNoChange:
		r.line("KEDA: inactive, nothing to do at %d replicas.", cur)
	case keda.BranchFallbackScaleLegacy:
		r.line("KEDA (≤ 2.16): a trigger fails while inactive → the executor itself scales the target to fallback.replicas %d (no failureThreshold check on this path).", *r.ScaleTo)
	}
	if c.Idle != nil && *c.Idle > 0 {
		r.line("note: idleReplicaCount %d > 0: the HPA raises anything below minReplicas %d, so idle ↔ min flaps.", *c.Idle, max(1, c.Min))
	}
}

func (r *Report) explainQuery(q *keda.QueryResult) {
	in := r.in
	c := in.SO
	r.line("ScaledObject %s/%s (KEDA %s): the HPA asks for %s at %s", c.Namespace, c.Name, c.Version, in.File.HPAQueryMetric, in.Now.UTC().Format(time.RFC3339))
	r.explainTriggers(q.Metrics, q.Consulted, q.FromCache)
	if q.Err != "" {
		r.line("answer: error %q", q.Err)
	} else if q.Empty {
		r.line("answer: no value")
	} else {
		r.line("answer: %s = %s", q.Name, trimF(q.Value))
	}
}

func (r *Report) explainJob(res *keda.JobResult) {
	in := r.in
	c := in.SJ
	r.line("ScaledJob %s/%s (KEDA %s) poll at %s", c.SJ.Namespace, c.SJ.Name, c.Version, in.Now.UTC().Format(time.RFC3339))
	if res.Paused {
		r.line("paused: no Jobs are created.")
		return
	}
	r.line("min %d, effective max %d (max − min), strategy %s, multipleScalersCalculation %s", c.Min, c.Max, c.Strategy, orDefault(c.Calculation, "max"))
	for i := range c.Triggers {
		t := &c.Triggers[i]
		m := &res.Metrics[i]
		r.line("  [%d] %s %s", i, t.Type, t.MetricName)
		if m.Err != "" {
			r.line("      upstream error: %s", m.Err)
			continue
		}
		if x := t.Scaler.Explain(&in.Readings[i]); x != "" {
			r.line("      %s", x)
		}
		if m.TargetAvg == 0 {
			r.line("      target type %s → its average target counts as 0, so it asks for no Jobs", t.MetricType)
		} else {
			r.line("      maxValue = min(%s / %s, %d) = %s", trimF(m.QueueLength), trimF(m.TargetAvg), c.Max, trimF(m.MaxValue))
		}
	}
	r.line("queueLength %d, maxScale %d; running %d, pending %d", res.QueueLength, res.MaxScale, in.Jobs.Running, in.Jobs.Pending)
	r.line("strategy %s: effective max %d, scaleTo %d → creates %d Jobs (active=%t)", c.Strategy, res.Effective, res.ScaleTo, res.Create, res.Active)
}

// WriteText prints the explanation.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, l := range r.explain {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if r.HPA != nil {
		fmt.Fprintf(&b, "generated HPA: %s (minReplicas %d, maxReplicas %d)\n", r.HPA.Name, r.HPA.MinReplicas, r.HPA.MaxReplicas)
	}
	if len(r.ExternalMetricValues) > 0 {
		b.WriteString("metrics server answers:\n")
		for _, m := range r.Metrics {
			if v, ok := r.ExternalMetricValues[m.Name]; ok {
				fmt.Fprintf(&b, "  %s = %s\n", m.Name, trimF(v))
			}
		}
		if v, ok := r.ExternalMetricValues[keda.CompositeMetricName]; ok {
			fmt.Fprintf(&b, "  %s = %s\n", keda.CompositeMetricName, trimF(v))
		}
	}
	if r.ScaleTo != nil {
		fmt.Fprintf(&b, "scaleTo: %d\n", *r.ScaleTo)
	} else if r.Kind == "ScaledObject" && r.Step == StepPoll {
		b.WriteString("scaleTo: none (KEDA leaves the replicas to the HPA)\n")
	}
	for _, cd := range r.Conditions {
		fmt.Fprintf(&b, "condition %s=%s", cd.Type, cd.Status)
		if cd.Reason != "" {
			fmt.Fprintf(&b, " %s", cd.Reason)
		}
		if cd.Message != "" {
			fmt.Fprintf(&b, ": %s", cd.Message)
		}
		b.WriteByte('\n')
	}
	for _, e := range r.Events {
		fmt.Fprintf(&b, "event %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "webhook warning: %s\n", wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func trimF(v float64) string { return fmt.Sprintf("%g", v) }

func ceilDiv(a, b float64) int64 {
	q := a / b
	n := int64(q)
	if float64(n) < q {
		n++
	}
	return n
}

func idleText(c *keda.Compiled) string {
	if c.Idle == nil {
		return ""
	}
	return fmt.Sprintf(", idle %d", *c.Idle)
}

func forceText(c *keda.Compiled) string {
	if c.ForceActivation {
		return " (force-activation annotation)"
	}
	return ""
}

func cooldownText(c *keda.Compiled, st *keda.State, now time.Time) string {
	if st.LastActiveTime.IsZero() {
		return fmt.Sprintf("never active; created %s + initialCooldownPeriod %s < now", c.Created.UTC().Format(time.RFC3339), c.InitialCooldown)
	}
	return fmt.Sprintf("lastActiveTime %s + %s < now", st.LastActiveTime.UTC().Format(time.RFC3339), c.Cooldown)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
