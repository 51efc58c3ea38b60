package hpa

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Rules of hpa.md that the upstream-derived tables do not pin on their own.

// §1.5: CPU readiness edge cases for a single pod with a sample.
func TestCPUReadinessRules(t *testing.T) {
	now := t0
	cases := []struct {
		name      string
		ready     corev1.ConditionStatus
		start     time.Time // zero: status.startTime nil
		ltt       time.Time
		sampleTS  time.Time
		wantReady bool
	}{
		{"no Ready condition", "", now.Add(-time.Hour), now.Add(-time.Hour), now, false},
		{"startTime nil", corev1.ConditionTrue, time.Time{}, now.Add(-time.Hour), now, false},
		{"old and Ready", corev1.ConditionTrue, now.Add(-time.Hour), now.Add(-time.Hour), now, true},
		{"Ready Unknown counts as ready", corev1.ConditionUnknown, now.Add(-time.Hour), now.Add(-time.Hour), now, true},
		{"old, unready, never became ready", corev1.ConditionFalse, now.Add(-time.Hour), now.Add(-time.Hour + 5*time.Second), now, false},
		{"old, was ready then turned unready: keeps counting", corev1.ConditionFalse, now.Add(-time.Hour), now.Add(-10 * time.Minute), now, true},
		{"young and not Ready", corev1.ConditionFalse, now.Add(-time.Minute), now.Add(-time.Minute), now, false},
		{"young, Ready, sample after the transition + window", corev1.ConditionTrue, now.Add(-time.Minute), now.Add(-50 * time.Second), now.Add(-10 * time.Second), true},
		{"young, Ready, sample window overlaps the transition", corev1.ConditionTrue, now.Add(-time.Minute), now.Add(-30 * time.Second), now.Add(-10 * time.Second), false},
		{"exactly cpuInitializationPeriod old is older (strict)", corev1.ConditionTrue, now.Add(-5 * time.Minute), now.Add(-10 * time.Second), now.Add(-5 * time.Second), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig(37)
			pods := []Pod{{Name: "p", Phase: corev1.PodRunning, Ready: tc.ready, StartTime: tc.start, ReadyTransitionTime: tc.ltt}}
			in := &Input{Pods: pods, Config: cfg, Now: now}
			mi := &MetricInput{Samples: []PodSample{{Present: true, Milli: 1, Timestamp: tc.sampleTS, Window: 30 * time.Second}}}
			ready, unready, _, _ := groupPods(in, &State{}, mi, true)
			if (ready == 1) != tc.wantReady || ready+unready != 1 {
				t.Errorf("ready=%d unready=%d, want ready=%v", ready, unready, tc.wantReady)
			}
			// Memory never consults readiness.
			ready, _, _, _ = groupPods(in, &State{}, mi, false)
			if ready != 1 {
				t.Errorf("non-CPU metric: ready=%d", ready)
			}
		})
	}
}

// §1.6.1: with a ContainerResource metric, a pod whose metrics lack the
// container is a missing pod (not a failure).
func TestContainerMissingFromMetricsIsMissingPod(t *testing.T) {
	f := fixture{replicas: 3, container: "container2", requests: reqs(3, "1"),
		levels: [][]int64{{100, 200}, {100, 200}, {100}}}
	r := runMetric(t, &f, containerCPUUtil("container2", 50), func(p []Pod) MetricInput { return f.resourceInput(p, corev1.ResourceCPU) }, [2]string{}, 3)
	// Ready pods at 20% (ratio 0.4): the missing pod counts at 100% on this
	// scale-down: (200+200+1000)*100/3000 = 46% -> ratio 0.92, within tolerance.
	if r.Error != "" || r.Proposal != 3 || r.AverageUtilization != 20 {
		t.Fatalf("%+v", r)
	}
}

// §1.4 / §1.6.3: tolerance rules around Object/External Value targets.
func TestValueTargetTolerance(t *testing.T) {
	h := newHPA(externalValue("q", 1000))
	h.Spec.MinReplicas = i32(0)
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: 4, StatusReplicas: 4, Selector: "a=b"}, Pods: (&fixture{replicas: 4}).pods(),
		Metrics: []MetricInput{{Values: []int64{1050}}}, Config: DefaultConfig(35), Now: t0}
	if d := Reconcile(in, &State{}); d.Metrics[0].Proposal != 4 {
		t.Errorf("ratio 1.05 at 4 replicas is within tolerance: %d", d.Metrics[0].Proposal)
	}
	// From zero (1.35, minReplicas 0) the tolerance is skipped: ceil(1.05) = 2.
	in.Scale = Scale{SpecReplicas: 0, StatusReplicas: 0, Selector: "a=b"}
	if d := Reconcile(in, &State{}); d.Metrics[0].Proposal != 2 || d.DesiredReplicas != 2 {
		t.Errorf("from zero: proposal %d desired %d", d.Metrics[0].Proposal, d.DesiredReplicas)
	}
	// No pods at all: the ready-pod count fails.
	in.Scale = Scale{SpecReplicas: 4, StatusReplicas: 4, Selector: "a=b"}
	in.Pods = nil
	in.Metrics[0].Values = []int64{5000}
	d := Reconcile(in, &State{})
	if want := "unable to calculate ready pods: no pods returned by selector while calculating replica count"; d.Metrics[0].Error != want {
		t.Errorf("error %q", d.Metrics[0].Error)
	}
	// Pods listed but none Running and Ready: ceil(r x 0) = 0, a scale-down request.
	in.Pods = (&fixture{replicas: 2, readiness: []corev1.ConditionStatus{F, F}}).pods()
	d = Reconcile(in, &State{})
	if d.Metrics[0].Proposal != 0 {
		t.Errorf("no ready pods: proposal %d", d.Metrics[0].Proposal)
	}
}

// §1.4: with HPAConfigurableTolerance off the per-HPA tolerance is ignored.
func TestToleranceGate(t *testing.T) {
	h := newHPA(externalAverage("q", 1000))
	withTolerances(h, "0.01", "0.01")
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: 10, StatusReplicas: 10, Selector: "a=b"}, Pods: (&fixture{replicas: 10}).pods(),
		Metrics: []MetricInput{{Values: []int64{10500}}}, Config: DefaultConfig(34), Now: t0}
	if d := Reconcile(in, &State{}); d.Metrics[0].Proposal != 10 || d.Tolerances != (Tolerances{0.1, 0.1}) {
		t.Errorf("gate off (1.34 default): %+v", d.Tolerances)
	}
	in.Config = DefaultConfig(35)
	if d := Reconcile(in, &State{}); d.Metrics[0].Proposal != 11 || d.Tolerances != (Tolerances{0.01, 0.01}) {
		t.Errorf("gate on: proposal %d %+v", d.Metrics[0].Proposal, d.Tolerances)
	}
}

// §1.6.5: which target field each metric type reads.
func TestTargetFieldSelection(t *testing.T) {
	// Resource: averageValue wins over averageUtilization whatever type says.
	ms := cpuUtil(50)
	ms.Resource.Target.AverageValue = q("100m")
	f := fixture{replicas: 2, requests: reqs(2, "1"), levels: levels(100, 100)}
	r := runMetric(t, &f, ms, func(p []Pod) MetricInput { return f.resourceInput(p, corev1.ResourceCPU) }, [2]string{}, 2)
	if r.Name != "cpu resource" || r.Proposal != 4 || r.HasUtilization {
		t.Errorf("averageValue path expected: %+v", r)
	}
	// Resource with neither.
	ms = cpuUtil(50)
	ms.Resource.Target.AverageUtilization = nil
	r = runMetric(t, &f, ms, func(p []Pod) MetricInput { return f.resourceInput(p, corev1.ResourceCPU) }, [2]string{}, 2)
	if r.Error != "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set" {
		t.Errorf("%q", r.Error)
	}
	// Object: type Value with only averageValue set is invalid.
	obj := objectValue("rps", 1000)
	obj.Object.Target.Value, obj.Object.Target.AverageValue = nil, q("1")
	r = runMetric(t, &f, obj, valuesInput(1000), [2]string{}, 2)
	if r.Error != "invalid object metric source: neither a value target nor an average value target was set" || r.Reason != "FailedGetObjectMetric" {
		t.Errorf("%+v", r)
	}
	// External: averageValue is read even with type Value.
	ext := externalValue("q", 1000)
	ext.External.Target.AverageValue = q("1")
	r = runMetric(t, &f, ext, valuesInput(8000), [2]string{}, 2)
	if !r.HasAverageValue || r.Proposal != 8 {
		t.Errorf("%+v", r)
	}
}

// §1.7: the highest proposal wins; while the running maximum is 0 a later
// valid metric takes over the name.
func TestCombiningMetricNames(t *testing.T) {
	h := newHPA(externalValue("a", 1000), externalValue("b", 1000), externalValue("c", 1000))
	h.Spec.MinReplicas = i32(1)
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: 3, StatusReplicas: 3, Selector: "a=b"}, Pods: (&fixture{replicas: 3}).pods(),
		Metrics: []MetricInput{{Values: []int64{0}}, {Values: []int64{0}}, {Values: []int64{0}}}, Config: DefaultConfig(37), Now: t0}
	d := Reconcile(in, &State{Recommendations: []Recommendation{}})
	if d.MetricDesired != 0 || d.MetricName != d.Metrics[2].Name {
		t.Errorf("all zero: %d %q", d.MetricDesired, d.MetricName)
	}
	in.Metrics = []MetricInput{{Values: []int64{2000}}, {Values: []int64{3000}}, {Values: []int64{3000}}}
	d = Reconcile(in, &State{Recommendations: []Recommendation{}})
	if d.MetricDesired != 9 || d.MetricName != d.Metrics[1].Name || d.RescaleReason != d.Metrics[1].Name+" above target" {
		t.Errorf("first highest wins: %d %q %q", d.MetricDesired, d.MetricName, d.RescaleReason)
	}
}

// §1.8 / §1.3: 1.36 with HPAScaleToZero off removes a stale ScaledToZero
// condition on a rescale; with the gate on it is set False.
func TestScaledToZeroConditionOnRescale(t *testing.T) {
	for _, gate := range []bool{false, true} {
		in, st := cpuScenario()
		in.Config.KubernetesMinor = 36
		in.Config.Gates.ScaleToZero = gate
		in.HPA.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: ScaledToZero, Status: T}}
		d := Reconcile(in, st)
		last := d.Conditions[len(d.Conditions)-1]
		if gate && (last.Type != ScaledToZero || last.Status != F || d.RemoveScaledToZero) {
			t.Errorf("gate on: %+v", d.Conditions)
		}
		if !gate && (last.Type == ScaledToZero || !d.RemoveScaledToZero) {
			t.Errorf("gate off: %+v remove=%v", d.Conditions, d.RemoveScaledToZero)
		}
		if got := MergeConditions(in.HPA.Status.Conditions, &d, t0); !gate && len(got) != 3 {
			t.Errorf("merged %+v", got)
		}
	}
}

// §2.4 quirk: on the legacy path a recent higher recommendation can turn a
// metric's scale-down into a scale-up, still reported as "All metrics below
// target".
func TestLegacyStabilizationCanScaleUp(t *testing.T) {
	in, _ := cpuScenario() // proposes 5 at 3 replicas
	st := &State{Recommendations: []Recommendation{{Replicas: 7, Timestamp: t0.Add(-time.Minute)}}}
	in.Scale.SpecReplicas = 6
	d := Reconcile(in, st)
	if d.DesiredReplicas != 7 || d.RescaleReason != "All metrics below target" {
		t.Errorf("got %d %q", d.DesiredReplicas, d.RescaleReason)
	}
}
