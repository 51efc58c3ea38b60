package keda

import (
	"strings"
	"testing"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

func job(t *testing.T, minor int, spec string) *CompiledJob {
	t.Helper()
	var sj v1alpha1.ScaledJob
	if err := yaml.UnmarshalStrict([]byte(spec), &sj); err != nil {
		t.Fatal(err)
	}
	sj.Name, sj.Namespace = "sj", "ns"
	c, err := CompileJob(&sj, Options{Version: Version{Minor: minor}})
	if err != nil {
		t.Fatalf("CompileJob: %v", err)
	}
	return c
}

// TestScaledJobStrategies is keda.md §4.2's worked example: queue 10,
// per-trigger value 1, max 100, min 0, running 3, pending 2.
func TestScaledJobStrategies(t *testing.T) {
	base := `
spec:
  jobTargetRef:
    template: {spec: {containers: [{name: w, image: x}]}}
  maxReplicaCount: MAX
  scalingStrategy: STRATEGY
  triggers:
  - type: metrics-api
    metricType: METRICTYPE
    metadata: {url: "x", valueLocation: v, targetValue: "1"}
`
	cases := []struct {
		name, strategy, metricType, max string
		minor                           int
		wantEffective, wantCreate       int64
	}{
		{"default", "{strategy: default}", "AverageValue", "100", 20, 7, 7},
		{"accurate", "{strategy: accurate}", "AverageValue", "100", 20, 8, 8},
		{"eager", "{strategy: eager}", "AverageValue", "100", 20, 10, 10},
		{"custom 1 / 0.5", `{strategy: custom, customScalingQueueLengthDeduction: 1, customScalingRunningJobPercentage: "0.5"}`, "AverageValue", "100", 20, 8, 8},
		{"custom with a bad percentage is default", `{strategy: custom, customScalingRunningJobPercentage: "half"}`, "AverageValue", "100", 20, 7, 7},
		{"Value metricType: no Jobs", "{strategy: default}", "Value", "100", 20, 0, 0},
		{"accurate v2.19+: 10+3-2 = 11 ≤ 12 → 10-2", "{strategy: accurate}", "AverageValue", "12", 20, 8, 8},
		{"accurate v2.18: 10+3 = 13 > 12 → 12-3", "{strategy: accurate}", "AverageValue", "12", 18, 9, 9},
		{"eager before v2.15 is default", "{strategy: eager}", "AverageValue", "100", 14, 7, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := strings.NewReplacer("MAX", tc.max, "STRATEGY", tc.strategy, "METRICTYPE", tc.metricType).Replace(base)
			if tc.minor < 20 {
				spec = strings.Replace(spec, "{strategy: default}", "{}", 1)
			}
			c := job(t, tc.minor, spec)
			var res JobResult
			c.Poll([]scalers.Reading{val(10)}, Jobs{Running: 3, Pending: 2}, nil, &res)
			if res.Effective != tc.wantEffective || res.Create != tc.wantCreate {
				t.Fatalf("effective %d create %d, want %d %d (%+v)", res.Effective, res.Create, tc.wantEffective, tc.wantCreate, res)
			}
			if tc.wantCreate > 0 && !hasEvent(res.Events, "KEDAJobsCreated", "Created "+itoa(int32(tc.wantCreate))+" jobs") {
				t.Errorf("events %+v", res.Events)
			}
		})
	}
}

func TestScaledJobActivityAndCalculation(t *testing.T) {
	spec := `
spec:
  jobTargetRef:
    template: {spec: {containers: [{name: w, image: x}]}}
  minReplicaCount: MIN
  maxReplicaCount: 10
  scalingStrategy: {multipleScalersCalculation: CALC}
  triggers:
  - {type: metrics-api, metadata: {url: "x", valueLocation: a, targetValue: "2", activationTargetValue: "1"}}
  - {type: metrics-api, metadata: {url: "x", valueLocation: b, targetValue: "1"}}
`
	mk := func(min, calc string) *CompiledJob {
		return job(t, 20, strings.NewReplacer("MIN", min, "CALC", calc).Replace(spec))
	}
	var res JobResult
	// max: the active trigger with the largest queue.
	mk("0", "max").Poll([]scalers.Reading{val(8), val(3)}, Jobs{}, nil, &res)
	if res.QueueLength != 8 || res.MaxScale != 4 || res.Create != 4 || !res.Active {
		t.Errorf("max: %+v", res)
	}
	// an inactive trigger does not count; activation strict.
	mk("0", "max").Poll([]scalers.Reading{val(1), val(0)}, Jobs{}, nil, &res)
	if res.Active || res.Create != 0 {
		t.Errorf("inactive: %+v", res)
	}
	mk("0", "sum").Poll([]scalers.Reading{val(8), val(3)}, Jobs{}, nil, &res)
	if res.QueueLength != 11 || res.MaxScale != 7 {
		t.Errorf("sum: %+v", res)
	}
	mk("0", "avg").Poll([]scalers.Reading{val(8), val(3)}, Jobs{}, nil, &res)
	if res.QueueLength != 6 || res.MaxScale != 4 { // ceil(5.5), ceil(3.5)
		t.Errorf("avg: %+v", res)
	}
	mk("0", "min").Poll([]scalers.Reading{val(8), val(3)}, Jobs{}, nil, &res)
	if res.QueueLength != 3 || res.MaxScale != 3 {
		t.Errorf("min: %+v", res)
	}
	// min 2 with 0 running: creates min − running, active even when idle.
	c := mk("2", "max")
	c.Poll([]scalers.Reading{val(0), val(0)}, Jobs{}, nil, &res)
	if !res.Active || res.Create != 2 || c.Max != 8 {
		t.Errorf("min 2: %+v max %d", res, c.Max)
	}
	if !hasEvent(res.Events, "ScaledJobActive", "Scaling is performed because triggers are active") {
		t.Errorf("events %+v", res.Events)
	}
	// errors
	wasActive := InitialConditions()
	wasActive[CondActive].Status = "True"
	mk("0", "max").Poll([]scalers.Reading{fail("x"), val(0)}, Jobs{}, &wasActive, &res)
	if res.Conditions[CondReady].Reason != "TriggerError" || !hasEvent(res.Events, "ScaledJobInactive", "Scaling is not performed because triggers are not active") {
		t.Errorf("error: %+v", res)
	}
	mk("0", "max").Poll([]scalers.Reading{fail("x"), val(5)}, Jobs{}, nil, &res)
	if res.Conditions[CondReady].Reason != "PartialTriggerError" || res.Create != 5 {
		t.Errorf("partial: %+v", res)
	}
}

func TestScaledJobPausedAndValidation(t *testing.T) {
	var sj v1alpha1.ScaledJob
	_ = yaml.Unmarshal([]byte(`
metadata: {name: sj, annotations: {autoscaling.keda.sh/paused: "true"}}
spec:
  jobTargetRef: {template: {spec: {containers: [{name: w, image: x}]}}}
  triggers:
  - {type: metrics-api, metadata: {url: "x", valueLocation: a, targetValue: "2"}}
`), &sj)
	c, err := CompileJob(&sj, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var res JobResult
	c.Poll([]scalers.Reading{val(50)}, Jobs{}, nil, &res)
	if !res.Paused || res.Create != 0 || !hasEvent(res.Events, "ScaledJobPaused", "ScaledJob is paused") {
		t.Errorf("paused: %+v", res)
	}
	conds := res.Conditions
	c2 := job(t, 20, "spec:\n  jobTargetRef: {template: {spec: {containers: [{name: w, image: x}]}}}\n  triggers:\n  - {type: metrics-api, metadata: {url: x, valueLocation: a, targetValue: \"2\"}}\n")
	c2.Poll([]scalers.Reading{val(0)}, Jobs{}, &conds, &res)
	if p := res.Conditions[CondPaused]; p.Reason != "ScaledJobUnpaused" || p.Message != "ScaledJob is unpaused" || !hasEvent(res.Events, "ScaledJobUnpaused", "ScaledJob is unpaused") {
		t.Errorf("unpaused: %+v", res)
	}
	sj.Spec.MaxReplicaCount = repl(0)
	if _, err := CompileJob(&sj, Options{}); err == nil || !strings.Contains(err.Error(), "spec.maxReplicaCount in body should be greater than or equal to 1") {
		t.Errorf("max 0: %v", err)
	}
	sj.Spec.MaxReplicaCount = nil
	sj.Spec.ScalingStrategy.Strategy = "default"
	if _, err := CompileJob(&sj, Options{Version: Version{Minor: 19}}); err == nil || !strings.Contains(err.Error(), `Unsupported value: "default"`) {
		t.Errorf("default strategy before v2.20.2: %v", err)
	}
}
