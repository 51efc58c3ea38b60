package keda

import (
	"strings"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

type pollCase struct {
	name        string
	spec        string
	annotations map[string]string
	current     *int32
	readings    []scalers.Reading
	lastActive  time.Duration // relative to t0; 0 = never
	now         time.Duration

	wantBranch     Branch
	wantScaleTo    *int32
	wantLastActive bool // lastActiveTime moved to now
	wantReady      string
	wantActive     string // Active condition reason
}

// TestRequestScaleTable walks the executor's decision table (keda.md §2.5,
// §2.6) row by row.
func TestRequestScaleTable(t *testing.T) {
	twoTriggers := `
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: MIN
  triggers:
  - type: metrics-api
    metadata: {url: "http://x", valueLocation: a, targetValue: "10"}
  - type: metrics-api
    metadata: {url: "http://x", valueLocation: b, targetValue: "10"}
`
	withMin := func(s string, min string) string { return strings.Replace(s, "MIN", min, 1) }
	cases := []pollCase{
		{name: "active at 0 → activate to 1", spec: simple, current: repl(0), readings: []scalers.Reading{val(6)},
			wantBranch: BranchActivate, wantScaleTo: repl(1), wantLastActive: true, wantReady: "ScaledObjectReady", wantActive: "ScalerActive"},
		{name: "activation is strict: value == activation stays at 0", spec: simple, current: repl(0), readings: []scalers.Reading{val(5)},
			wantBranch: BranchNoChange, wantReady: "ScaledObjectReady", wantActive: "ScalerNotActive"},
		{name: "active at 0 with min 3 → 3", spec: withMin(twoTriggers, "3"), current: repl(0), readings: []scalers.Reading{val(1), val(0)},
			wantBranch: BranchActivate, wantScaleTo: repl(3), wantLastActive: true},
		{name: "active at 2 → HPA owns it, lastActiveTime refreshed", spec: simple, current: repl(2), readings: []scalers.Reading{val(50)},
			wantBranch: BranchActiveHPA, wantLastActive: true, wantActive: "ScalerActive"},
		{name: "nil spec.replicas reads as 1", spec: simple, current: nil, readings: []scalers.Reading{val(50)},
			wantBranch: BranchActiveHPA, wantLastActive: true},
		{name: "active + error at 2 → PartialTriggerError, lastActiveTime NOT refreshed", spec: withMin(twoTriggers, "0"), current: repl(2),
			readings: []scalers.Reading{val(3), fail("down")}, lastActive: -time.Minute,
			wantBranch: BranchPartialError, wantReady: "PartialTriggerError"},
		{name: "active + error at 0 → still activates", spec: withMin(twoTriggers, "0"), current: repl(0),
			readings: []scalers.Reading{val(3), fail("down")}, wantBranch: BranchActivate, wantScaleTo: repl(1), wantLastActive: true},
		{name: "inactive + error, no fallback → TriggerError", spec: simple, current: repl(2), readings: []scalers.Reading{fail("down")},
			wantBranch: BranchTriggerError, wantReady: "TriggerError", wantActive: "ScalerNotActive"},
		{name: "inactive at 3 inside the cooldown → ScalerCooldown", spec: simple, current: repl(3), readings: []scalers.Reading{val(0)},
			lastActive: -299 * time.Second, wantBranch: BranchCooldown, wantActive: "ScalerCooldown"},
		{name: "cooldown end is strict: lastActive + 300s == now still cools", spec: simple, current: repl(3), readings: []scalers.Reading{val(0)},
			lastActive: -300 * time.Second, wantBranch: BranchCooldown},
		{name: "one second after the cooldown → scale to 0", spec: simple, current: repl(3), readings: []scalers.Reading{val(0)},
			lastActive: -301 * time.Second, wantBranch: BranchScaleIn, wantScaleTo: repl(0), wantActive: "ScalerNotActive"},
		{name: "never active, initialCooldownPeriod 0 → scale to 0 right away", spec: simple, current: repl(1), readings: []scalers.Reading{val(0)},
			wantBranch: BranchScaleIn, wantScaleTo: repl(0)},
		{name: "never active, inside initialCooldownPeriod → cooldown", spec: strings.Replace(simple, "scaleTargetRef", "initialCooldownPeriod: 7200\n  scaleTargetRef", 1),
			current: repl(1), readings: []scalers.Reading{val(0)}, wantBranch: BranchCooldown},
		{name: "inactive below min (no idle) → raise to min at once", spec: withMin(twoTriggers, "2"), current: repl(1), readings: []scalers.Reading{val(0), val(0)},
			lastActive: -time.Second, wantBranch: BranchRaiseToMin, wantScaleTo: repl(2)},
		{name: "inactive at min → no change", spec: withMin(twoTriggers, "2"), current: repl(2), readings: []scalers.Reading{val(0), val(0)},
			wantBranch: BranchNoChange},
		{name: "idle 0 / min 2: inactive at 2 after cooldown → idle 0", spec: strings.Replace(withMin(twoTriggers, "2"), "minReplicaCount", "idleReplicaCount: 0\n  minReplicaCount", 1),
			current: repl(2), readings: []scalers.Reading{val(0), val(0)}, lastActive: -10 * time.Minute, wantBranch: BranchScaleIn, wantScaleTo: repl(0)},
		{name: "idle 0 / min 2: active at 0 → min 2", spec: strings.Replace(withMin(twoTriggers, "2"), "minReplicaCount", "idleReplicaCount: 0\n  minReplicaCount", 1),
			current: repl(0), readings: []scalers.Reading{val(1), val(0)}, wantBranch: BranchActivate, wantScaleTo: repl(2), wantLastActive: true},
		{name: "idle 1 / min 3: active at 1 (< min) → 3", spec: strings.Replace(withMin(twoTriggers, "3"), "minReplicaCount", "idleReplicaCount: 1\n  minReplicaCount", 1),
			current: repl(1), readings: []scalers.Reading{val(1), val(0)}, wantBranch: BranchActivate, wantScaleTo: repl(3), wantLastActive: true},
		{name: "paused-scale-in blocks scale to 0", spec: simple, annotations: map[string]string{"autoscaling.keda.sh/paused-scale-in": "true"},
			current: repl(3), readings: []scalers.Reading{val(0)}, wantBranch: BranchScaleInBlocked},
		{name: "paused-scale-out blocks activation", spec: simple, annotations: map[string]string{"autoscaling.keda.sh/paused-scale-out": "true"},
			current: repl(0), readings: []scalers.Reading{val(9)}, wantBranch: BranchActivateBlocked},
		{name: "force-activation activates an inactive object", spec: simple, annotations: map[string]string{"autoscaling.keda.sh/force-activation": "true"},
			current: repl(0), readings: []scalers.Reading{val(0)}, wantBranch: BranchActivate, wantScaleTo: repl(1), wantLastActive: true},
		{name: "paused: frozen", spec: simple, annotations: map[string]string{"autoscaling.keda.sh/paused": "true"},
			current: repl(3), readings: []scalers.Reading{val(0)}, wantBranch: BranchPaused, wantReady: "ScaledObjectReady"},
		{name: "paused with a non-boolean value counts as paused", spec: simple, annotations: map[string]string{"autoscaling.keda.sh/paused": "yes please"},
			current: repl(3), readings: []scalers.Reading{val(0)}, wantBranch: BranchPaused},
		{name: "paused: \"false\" is not paused", spec: simple, annotations: map[string]string{"autoscaling.keda.sh/paused": "false"},
			current: repl(3), readings: []scalers.Reading{val(50)}, wantBranch: BranchActiveHPA, wantLastActive: true},
		{name: "paused-replicas 4 → scale to 4", spec: simple, annotations: map[string]string{"autoscaling.keda.sh/paused-replicas": "4"},
			current: repl(2), readings: []scalers.Reading{val(0)}, wantBranch: BranchPaused, wantScaleTo: repl(4)},
		{name: "paused-replicas at its value → nothing to write", spec: simple, annotations: map[string]string{"autoscaling.keda.sh/paused-replicas": "4"},
			current: repl(4), readings: []scalers.Reading{val(0)}, wantBranch: BranchPaused},
		{name: "cpu-only object is always active", spec: `
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: 1
  triggers:
  - type: cpu
    metricType: Utilization
    metadata: {value: "60"}
`, current: repl(2), readings: []scalers.Reading{val(0)}, wantBranch: BranchActiveHPA, wantLastActive: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := so(t, tc.spec)
			o.Annotations = tc.annotations
			c, err := Compile(o, Options{})
			if err != nil {
				t.Fatal(err)
			}
			st := c.NewState()
			if tc.lastActive != 0 {
				st.LastActiveTime = t0.Add(tc.lastActive)
			}
			before := st.LastActiveTime
			var res PollResult
			c.Poll(t0.Add(tc.now), Target{SpecReplicas: tc.current, ReadyReplicas: 1}, tc.readings, &st, &res)
			if res.Branch != tc.wantBranch {
				t.Errorf("branch %v, want %v", res.Branch, tc.wantBranch)
			}
			switch {
			case tc.wantScaleTo == nil && res.HasScaleTo:
				t.Errorf("scaleTo %d, want none", res.ScaleTo)
			case tc.wantScaleTo != nil && (!res.HasScaleTo || res.ScaleTo != *tc.wantScaleTo):
				t.Errorf("scaleTo %d (%v), want %d", res.ScaleTo, res.HasScaleTo, *tc.wantScaleTo)
			}
			moved := !st.LastActiveTime.Equal(before)
			if moved != tc.wantLastActive || (moved && !st.LastActiveTime.Equal(t0.Add(tc.now))) {
				t.Errorf("lastActiveTime %v (was %v), want moved=%v", st.LastActiveTime, before, tc.wantLastActive)
			}
			if tc.wantReady != "" && st.Conditions[CondReady].Reason != tc.wantReady {
				t.Errorf("Ready reason %q, want %q", st.Conditions[CondReady].Reason, tc.wantReady)
			}
			if tc.wantActive != "" && st.Conditions[CondActive].Reason != tc.wantActive {
				t.Errorf("Active reason %q, want %q", st.Conditions[CondActive].Reason, tc.wantActive)
			}
		})
	}
}

func TestEventsAndMessages(t *testing.T) {
	c := compile(t, simple)
	st := c.NewState()
	var res PollResult
	c.Poll(t0, Target{SpecReplicas: repl(0)}, []scalers.Reading{val(6)}, &st, &res)
	if len(res.Events) != 1 || res.Events[0].Reason != "KEDAScaleTargetActivated" ||
		res.Events[0].Message != "Scaled apps/v1.Deployment ns/web from 0 to 1, triggered by s0-metric-api-v" {
		t.Fatalf("events %+v", res.Events)
	}
	if st.Conditions[CondActive].Message != "Scaling is performed because triggers are active" {
		t.Errorf("Active message %q", st.Conditions[CondActive].Message)
	}
	st.LastActiveTime = t0.Add(-time.Hour)
	c.Poll(t0, Target{SpecReplicas: repl(2)}, []scalers.Reading{val(0)}, &st, &res)
	if len(res.Events) != 1 || res.Events[0].Message != "Deactivated apps/v1.Deployment ns/web from 2 to 0" {
		t.Fatalf("events %+v", res.Events)
	}
	o := so(t, simple)
	o.Annotations = map[string]string{"autoscaling.keda.sh/force-activation": "true"}
	o.Spec.ScaleTargetRef.Kind = "StatefulSet"
	c, _ = Compile(o, Options{})
	st = c.NewState()
	c.Poll(t0, Target{SpecReplicas: repl(0)}, []scalers.Reading{val(0)}, &st, &res)
	if res.Events[0].Message != "Scaled apps/v1.StatefulSet ns/web from 0 to 1, caused by forced activation annotation" ||
		st.Conditions[CondActive].Message != "Scaling is performed because activation is being forced by annotation" {
		t.Errorf("forced: %+v %q", res.Events, st.Conditions[CondActive].Message)
	}
	// An erroring trigger records KEDAScalerFailed with the error text.
	c = compile(t, simple)
	st = c.NewState()
	c.Poll(t0, Target{SpecReplicas: repl(1)}, []scalers.Reading{fail("dial tcp: refused")}, &st, &res)
	if res.Events[0].Type != "Warning" || res.Events[0].Reason != "KEDAScalerFailed" || res.Events[0].Message != "dial tcp: refused" {
		t.Errorf("failure event %+v", res.Events)
	}
	if st.Conditions[CondReady].Message != "Triggers defined in ScaledObject are not working correctly" {
		t.Errorf("Ready message %q", st.Conditions[CondReady].Message)
	}
}

func TestPauseConditions(t *testing.T) {
	o := so(t, simple)
	o.Annotations = map[string]string{"autoscaling.keda.sh/paused": "true"}
	c, _ := Compile(o, Options{})
	st := c.NewState()
	var res PollResult
	c.Poll(t0, Target{SpecReplicas: repl(2)}, nil, &st, &res)
	p := st.Conditions[CondPaused]
	if p.Status != metav1.ConditionTrue || p.Reason != "ScaledObjectPaused" || p.Message != "ScaledObject is paused" {
		t.Fatalf("Paused %+v", p)
	}
	if len(res.Events) != 1 || res.Events[0].Reason != "ScaledObjectPaused" {
		t.Fatalf("events %+v", res.Events)
	}
	if c.GenerateHPA() != nil {
		t.Error("a paused ScaledObject has no HPA")
	}
	// Unpausing: Paused=False ScaledObjectUnpaused, once.
	c2 := compile(t, simple)
	c2.Poll(t0, Target{SpecReplicas: repl(2)}, []scalers.Reading{val(9)}, &st, &res)
	p = st.Conditions[CondPaused]
	if p.Status != metav1.ConditionFalse || p.Reason != "ScaledObjectUnpaused" || p.Message != "pause annotation removed for ScaledObject" {
		t.Fatalf("unpaused %+v", p)
	}
	c2.Poll(t0, Target{SpecReplicas: repl(2)}, []scalers.Reading{val(9)}, &st, &res)
	for _, e := range res.Events {
		if e.Reason == "ScaledObjectUnpaused" {
			t.Error("unpause event repeated")
		}
	}
}

// TestFallbackTiming: since v2.19 both the poll and every HPA query count
// failures, and fallback applies strictly after failureThreshold.
func TestFallbackTiming(t *testing.T) {
	spec := `
spec:
  scaleTargetRef: {name: web}
  fallback: {failureThreshold: 3, replicas: 6}
  triggers:
  - type: metrics-api
    metadata: {url: "http://x", valueLocation: v, targetValue: "10"}
`
	c := compile(t, spec)
	st := c.NewState()
	var res PollResult
	down := []scalers.Reading{fail("down")}
	tgt := Target{SpecReplicas: repl(0)}
	for i := 1; i <= 3; i++ {
		c.Poll(t0, tgt, down, &st, &res)
		if res.FallbackActive || res.HasScaleTo || st.Health[0].Failures != int32(i) || st.Health[0].Status != v1alpha1.HealthStatusFailing {
			t.Fatalf("poll %d: %+v health %+v", i, res, st.Health[0])
		}
		if res.Branch != BranchFallbackHold {
			t.Fatalf("poll %d branch %v", i, res.Branch)
		}
	}
	c.Poll(t0, tgt, down, &st, &res)
	m := res.Metrics[0]
	if !res.FallbackActive || !m.Fallback || m.Value != 60 || !m.Active || !res.Active {
		t.Fatalf("4th poll: %+v", res)
	}
	if res.Branch != BranchActivate || res.ScaleTo != 1 {
		t.Errorf("fallback activates from 0: %v %d", res.Branch, res.ScaleTo)
	}
	fc := st.Conditions[CondFallback]
	if fc.Status != metav1.ConditionTrue || fc.Reason != "FallbackExists" || fc.Message != "At least one trigger is falling back on this scaled object" {
		t.Errorf("Fallback condition %+v", fc)
	}
	if !hasEvent(res.Events, "ScaledObjectFallbackActivated", "ScaledObject fallback is active") {
		t.Errorf("events %+v", res.Events)
	}
	// HPA queries count too.
	var q QueryResult
	c.HPAQuery("s0-metric-api-v", Target{SpecReplicas: repl(1)}, down, &st, &q)
	if st.Health[0].Failures != 5 || q.Err != "" || q.Value != 60 || q.Name != "s0-metric-api-v" {
		t.Fatalf("query: %+v failures %d", q, st.Health[0].Failures)
	}
	// Recovery resets the counter and deactivates.
	c.Poll(t0, Target{SpecReplicas: repl(6)}, []scalers.Reading{val(30)}, &st, &res)
	if st.Health[0] != (Health{0, v1alpha1.HealthStatusHappy}) || st.Conditions[CondFallback].Status != metav1.ConditionFalse {
		t.Errorf("recovery: %+v %+v", st.Health[0], st.Conditions[CondFallback])
	}
	if !hasEvent(res.Events, "ScaledObjectFallbackDeactivated", "ScaledObject fallback is no longer active") {
		t.Errorf("events %+v", res.Events)
	}

	// Before v2.19 the poll loop does not count: an object at 0 never
	// falls back (kedacore/keda#7239).
	c18 := compileV(t, 18, spec)
	st = c18.NewState()
	for i := 0; i < 10; i++ {
		c18.Poll(t0, tgt, down, &st, &res)
	}
	if st.Health[0].Failures != 0 || res.FallbackActive || res.HasScaleTo {
		t.Errorf("v2.18 poll counted: %+v %+v", st.Health[0], res)
	}
	// v2.16 and earlier: the executor scaled to fallback.replicas itself on
	// the first inactive poll with an error.
	c16 := compileV(t, 16, strings.Replace(spec, "  - type: metrics-api\n", "  - type: metrics-api\n    metricType: AverageValue\n", 1))
	st16 := c16.NewState()
	c16.Poll(t0, tgt, down, &st16, &res)
	if res.Branch != BranchFallbackScaleLegacy || !res.HasScaleTo || res.ScaleTo != 6 || st16.Conditions[CondFallback].Reason != "FallbackExists" {
		t.Errorf("v2.16: %+v", res)
	}
	c18.HPAQuery("s0-metric-api-v", tgt, down, &st, &q)
	if st.Health[0].Failures != 1 || q.Err != "metric:s0-metric-api-v encountered error" {
		t.Errorf("v2.18 query: %+v %+v", st.Health[0], q)
	}
}

func hasEvent(es []Event, reason, msg string) bool {
	for _, e := range es {
		if e.Reason == reason && e.Message == msg {
			return true
		}
	}
	return false
}

func TestFallbackBehaviors(t *testing.T) {
	mk := func(behavior, metricType string) *Compiled {
		spec := `
spec:
  scaleTargetRef: {name: web}
  fallback: {failureThreshold: 0, replicas: 5, behavior: ` + behavior + `}
  triggers:
  - type: metrics-api
    metricType: ` + metricType + `
    metadata: {url: "http://x", valueLocation: v, targetValue: "10"}
`
		return compile(t, spec)
	}
	cases := []struct {
		behavior, metricType string
		current, ready       int32
		want                 float64
		wantErr              string
	}{
		{"static", "AverageValue", 2, 2, 50, ""},
		{"currentReplicas", "AverageValue", 4, 4, 40, ""},
		{"currentReplicasIfHigher", "AverageValue", 2, 2, 50, ""},
		{"currentReplicasIfHigher", "AverageValue", 8, 8, 80, ""},
		{"currentReplicasIfLower", "AverageValue", 2, 2, 20, ""},
		{"currentReplicasIfLower", "AverageValue", 8, 8, 50, ""},
		{"static", "Value", 2, 2, 25, ""}, // 10 × 5/2: the HPA multiplies back by 2 ready pods
		{"static", "Value", 2, 3, 16.666, ""},
		{"static", "Value", 2, 0, 0, "error performing fallback"},
	}
	for _, tc := range cases {
		c := mk(tc.behavior, tc.metricType)
		st := c.NewState()
		var q QueryResult
		c.HPAQuery("s0-metric-api-v", Target{SpecReplicas: repl(tc.current), ReadyReplicas: tc.ready}, []scalers.Reading{fail("x")}, &st, &q)
		m := q.Metrics[0]
		if tc.wantErr != "" {
			if m.Err != tc.wantErr || q.Err != "metric:s0-metric-api-v encountered error" {
				t.Errorf("%s/%s ready %d: %+v %q", tc.behavior, tc.metricType, tc.ready, m, q.Err)
			}
			continue
		}
		if !m.Fallback || q.Value != tc.want {
			t.Errorf("%s/%s current %d: value %v, want %v (%+v)", tc.behavior, tc.metricType, tc.current, q.Value, tc.want, m)
		}
	}
}

func TestFallbackZeroReplicasFallsThrough(t *testing.T) {
	// fallback.replicas 0 with an error falls into the scale-to-zero branches.
	c := compile(t, `
spec:
  scaleTargetRef: {name: web}
  fallback: {failureThreshold: 3, replicas: 0}
  triggers:
  - type: metrics-api
    metadata: {url: "http://x", valueLocation: v, targetValue: "10"}
`)
	st := c.NewState()
	var res PollResult
	c.Poll(t0, Target{SpecReplicas: repl(2)}, []scalers.Reading{fail("x")}, &st, &res)
	if res.Branch != BranchScaleIn || res.ScaleTo != 0 {
		t.Errorf("branch %v scaleTo %d", res.Branch, res.ScaleTo)
	}
}

func TestScalingModifiers(t *testing.T) {
	spec := `
spec:
  scaleTargetRef: {name: web}
  advanced:
    scalingModifiers: {formula: "a + b", target: "10", activationTarget: "5"}
  triggers:
  - type: metrics-api
    name: a
    metadata: {url: "http://x", valueLocation: a, targetValue: "1", activationTargetValue: "100"}
  - type: metrics-api
    name: b
    metadata: {url: "http://x", valueLocation: b, targetValue: "1"}
`
	c := compile(t, spec)
	st := c.NewState()
	var res PollResult
	c.Poll(t0, Target{SpecReplicas: repl(0)}, []scalers.Reading{val(3), val(2)}, &st, &res)
	if !res.HasComposite || res.Composite != 5 || res.Active {
		t.Fatalf("composite 5 == activationTarget must be inactive: %+v", res)
	}
	c.Poll(t0, Target{SpecReplicas: repl(0)}, []scalers.Reading{val(3), val(2.5)}, &st, &res)
	if res.Composite != 5.5 || !res.Active || res.ScaleTo != 1 || len(res.ActiveTriggers) != 1 || res.ActiveTriggers[0] != "composite-metric" {
		t.Fatalf("composite 5.5: %+v", res)
	}
	hpa := c.GenerateHPA()
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].External.Metric.Name != "composite-metric" || hpa.Spec.Metrics[0].External.Target.AverageValue.String() != "10" {
		t.Fatalf("HPA metrics %+v", hpa.Spec.Metrics)
	}
	var q QueryResult
	c.HPAQuery("composite-metric", Target{SpecReplicas: repl(1)}, []scalers.Reading{val(7), val(1)}, &st, &q)
	if q.Err != "" || q.Name != "composite-metric" || q.Value != 8 {
		t.Fatalf("query %+v", q)
	}
	// Any error makes the object inactive.
	c.Poll(t0, Target{SpecReplicas: repl(0)}, []scalers.Reading{val(30), fail("x")}, &st, &res)
	if res.Active || !res.Error {
		t.Errorf("error: %+v", res)
	}
	// An unknown trigger name in the formula is rejected.
	_, err := Compile(so(t, strings.Replace(spec, `"a + b"`, `"a + c"`, 1)), Options{})
	if err == nil || !strings.Contains(err.Error(), "unknown name c") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestScalingModifiersFallback(t *testing.T) {
	spec := `
spec:
  scaleTargetRef: {name: web}
  fallback: {failureThreshold: 1, replicas: 4, behavior: BEHAVIOR}
  advanced:
    scalingModifiers: {formula: "FORMULA", target: "10"}
  triggers:
  - type: metrics-api
    name: a
    metadata: {url: "http://x", valueLocation: a, targetValue: "1"}
  - type: metrics-api
    name: b
    metadata: {url: "http://x", valueLocation: b, targetValue: "1"}
`
	mk := func(behavior, formula string) *Compiled {
		return compile(t, strings.NewReplacer("BEHAVIOR", behavior, "FORMULA", formula).Replace(spec))
	}
	// behavior scalingModifiers: a failing trigger is nil in the formula.
	c := mk("scalingModifiers", "a ?? b ?? 8")
	st := c.NewState()
	var res PollResult
	rd := []scalers.Reading{fail("x"), val(3)}
	c.Poll(t0, Target{SpecReplicas: repl(1)}, rd, &st, &res) // failures 1, not > 1: error
	if !res.Error || res.Active {
		t.Fatalf("under threshold: %+v", res)
	}
	c.Poll(t0, Target{SpecReplicas: repl(1)}, rd, &st, &res) // failures 2 > 1: nil placeholder
	if res.Error || res.Composite != 3 || !res.Metrics[0].Placeholder {
		t.Fatalf("placeholder: %+v", res)
	}
	// formula → nil gives fallback.replicas × target.
	rd = []scalers.Reading{fail("x"), fail("y")}
	st = c.NewState()
	c2 := mk("scalingModifiers", "a ?? b")
	for i := 0; i < 2; i++ {
		c2.Poll(t0, Target{SpecReplicas: repl(1)}, rd, &st, &res)
	}
	if res.Composite != 40 {
		t.Errorf("nil formula: composite %v, want 40 (%+v)", res.Composite, res)
	}
	// static behavior: the formula is skipped, composite = the fallback value.
	c3 := mk("static", "a + b")
	st = c3.NewState()
	rd = []scalers.Reading{val(1), fail("y")}
	for i := 0; i < 2; i++ {
		c3.Poll(t0, Target{SpecReplicas: repl(1)}, rd, &st, &res)
	}
	if !res.FallbackActive || res.Composite != 40 {
		t.Errorf("static with modifiers: %+v", res)
	}
	// A non-integer target silently disables fallback.
	c4 := compile(t, strings.NewReplacer("BEHAVIOR", "static", "FORMULA", "a + b", `target: "10"`, `target: "2.5"`).Replace(spec))
	if c4.Fallback.Valid {
		t.Error("target 2.5 must disable fallback")
	}
}

func TestCachedMetrics(t *testing.T) {
	spec := `
spec:
  scaleTargetRef: {name: web}
  triggers:
  - type: metrics-api
    useCachedMetrics: true
    metadata: {url: "http://x", valueLocation: v, targetValue: "10"}
`
	c := compile(t, spec)
	st := c.NewState()
	var q QueryResult
	// No record yet: the query goes live.
	c.HPAQuery("s0-metric-api-v", Target{SpecReplicas: repl(1)}, []scalers.Reading{val(7)}, &st, &q)
	if q.FromCache[0] || q.Value != 7 {
		t.Fatalf("live: %+v", q)
	}
	var res PollResult
	c.Poll(t0, Target{SpecReplicas: repl(1)}, []scalers.Reading{val(40)}, &st, &res)
	if !st.Cached[0].Present || st.Cached[0].Value != 40 || !st.Cached[0].Active {
		t.Fatalf("record %+v", st.Cached[0])
	}
	// The HPA reads the poll's record, not the upstream.
	c.HPAQuery("s0-metric-api-v", Target{SpecReplicas: repl(1)}, []scalers.Reading{val(1)}, &st, &q)
	if !q.FromCache[0] || q.Value != 40 {
		t.Fatalf("cached: %+v", q)
	}
	// A poll that fails stores the error; the query returns it, and in
	// v2.20 the error drops the records so the next query goes live.
	c.Poll(t0, Target{SpecReplicas: repl(1)}, []scalers.Reading{fail("x")}, &st, &res)
	c.HPAQuery("s0-metric-api-v", Target{SpecReplicas: repl(1)}, []scalers.Reading{val(2)}, &st, &q)
	if !q.FromCache[0] || q.Err == "" {
		t.Fatalf("cached error: %+v", q)
	}
	c.HPAQuery("s0-metric-api-v", Target{SpecReplicas: repl(1)}, []scalers.Reading{val(2)}, &st, &q)
	if q.FromCache[0] || q.Value != 2 {
		t.Fatalf("after the error: %+v", q)
	}
	// Unknown metric name.
	c.HPAQuery("s9-nope", Target{SpecReplicas: repl(1)}, []scalers.Reading{val(2)}, &st, &q)
	if q.Err != "no matching metrics found for s9-nope" {
		t.Errorf("unknown: %q", q.Err)
	}
}

func TestNegativeValuesClamped(t *testing.T) {
	spec := `
spec:
  scaleTargetRef: {name: web}
  triggers:
  - type: prometheus
    metadata: {serverAddress: "http://p", query: "x", threshold: "10", activationThreshold: "-10"}
`
	for minor, want := range map[int]float64{20: 0, 19: -5} {
		c := compileV(t, minor, spec)
		st := c.NewState()
		var res PollResult
		c.Poll(t0, Target{SpecReplicas: repl(0)}, []scalers.Reading{{Prometheus: &scalers.PrometheusReading{Series: []float64{-5}}}}, &st, &res)
		if !res.Active || res.Metrics[0].Value != want {
			t.Errorf("v2.%d: active %v value %v, want %v", minor, res.Active, res.Metrics[0].Value, want)
		}
	}
}
