package hpa

import (
	"errors"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// cpuScenario: three pods requesting 1 CPU per container with usage
// 300/500/700m per container and a 30% CPU target: the calculator proposes 5.
func cpuScenario() (*Input, *State) {
	f := fixture{replicas: 3, requests: reqs(3, "1.0"), levels: levels(300, 500, 700)}
	pods := f.pods()
	h := newHPA(cpuUtil(30))
	h.Spec.MaxReplicas = 10
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: 3, StatusReplicas: 3, Selector: "name=test-pod"}, Pods: pods,
		Metrics: []MetricInput{f.resourceInput(pods, corev1.ResourceCPU)}, Config: testConfig(), Now: t0}
	return in, &State{}
}

type condWant struct {
	typ    ConditionType
	status corev1.ConditionStatus
	reason string
	msg    string // checked when non-empty
}

func checkConds(t *testing.T, d Decision, want ...condWant) {
	t.Helper()
	if len(d.Conditions) != len(want) {
		t.Fatalf("conditions %+v, want %d", d.Conditions, len(want))
	}
	for i, w := range want {
		c := d.Conditions[i]
		if c.Type != w.typ || c.Status != w.status || c.Reason != w.reason || (w.msg != "" && c.Message != w.msg) {
			t.Errorf("condition %d = %+v, want %+v", i, c, w)
		}
	}
}

func checkEvents(t *testing.T, d Decision, want ...Event) {
	t.Helper()
	if len(d.Events) != len(want) {
		t.Fatalf("events %+v, want %+v", d.Events, want)
	}
	for i := range want {
		if d.Events[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, d.Events[i], want[i])
		}
	}
}

const cpuName = "cpu resource utilization (percentage of request)"

func TestReconcileScaleUpCPU(t *testing.T) {
	in, st := cpuScenario()
	d := Reconcile(in, st)
	if !d.Rescale || d.DesiredReplicas != 5 || d.Stage != StageComputed || !d.LegacyPath {
		t.Fatalf("decision %+v", d)
	}
	checkConds(t, d,
		condWant{AbleToScale, T, "SucceededRescale", "the HPA controller was able to update the target scale to 5"},
		condWant{ScalingActive, T, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from " + cpuName},
		condWant{ScalingLimited, F, "DesiredWithinRange", "the desired count is within the acceptable range"},
		condWant{ScaledToZero, F, "NotScaledToZero", "the HPA controller did not scale the workload to zero"},
	)
	checkEvents(t, d, Event{"Normal", "SuccessfulRescale", "New size: 5; reason: " + cpuName + " above target"})
	if len(st.Recommendations) != 2 || st.Recommendations[0].Replicas != 3 || st.Recommendations[1].Replicas != 5 {
		t.Errorf("history %+v: want the seed (3) then the proposal (5)", st.Recommendations)
	}
	if len(st.ScaleUpEvents) != 0 {
		t.Errorf("legacy path stored scale events %+v", st.ScaleUpEvents)
	}
	if d.Metrics[0].AverageUtilization != 50 || d.Metrics[0].AverageValueMilli != 1000 || d.Metrics[0].UsageRatio != 50.0/30.0 {
		t.Errorf("metric %+v", d.Metrics[0])
	}
}

func TestReconcileBehaviorStoresScaleEvent(t *testing.T) {
	in, st := cpuScenario()
	in.HPA.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
	d := Reconcile(in, st)
	if d.DesiredReplicas != 5 || d.LegacyPath {
		t.Fatalf("decision %+v", d)
	}
	if len(st.ScaleUpEvents) != 1 || st.ScaleUpEvents[0].ReplicaChange != 2 || !st.ScaleUpEvents[0].Timestamp.Equal(t0) {
		t.Errorf("scale-up events %+v", st.ScaleUpEvents)
	}
}

// TestScaleDownStabilizeInitialSize: the seeded recommendation holds the
// starting size for the whole scale-down window.
func TestScaleDownStabilizeInitialSize(t *testing.T) {
	f := fixture{replicas: 5, requests: reqs(5, "1.0"), levels: levels(100, 100, 100, 100, 100)}
	pods := f.pods()
	h := newHPA(cpuUtil(50))
	h.Spec.MaxReplicas = 10
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: 5, StatusReplicas: 5, Selector: "name=test-pod"}, Pods: pods,
		Metrics: []MetricInput{f.resourceInput(pods, corev1.ResourceCPU)}, Config: testConfig(), Now: t0}
	st := &State{}
	d := Reconcile(in, st)
	if d.Rescale || d.DesiredReplicas != 5 || d.MetricDesired != 1 {
		t.Fatalf("first reconcile %+v", d)
	}
	checkConds(t, d,
		condWant{AbleToScale, T, "ScaleDownStabilized", msgScaleDownStab},
		condWant{ScalingActive, T, "ValidMetricFound", ""},
		condWant{ScalingLimited, F, "DesiredWithinRange", ""},
	)
	if len(d.Events) != 0 {
		t.Errorf("events %+v", d.Events)
	}
	// Five minutes later (the seed exactly at the cutoff still counts on the legacy path).
	in.Now = t0.Add(5 * time.Minute)
	d = Reconcile(in, st)
	if d.Rescale {
		t.Fatalf("at exactly 5m the seed still holds: %+v", d)
	}
	in.Now = t0.Add(5*time.Minute + 15*time.Second)
	d = Reconcile(in, st)
	if !d.Rescale || d.DesiredReplicas != 1 || d.RescaleReason != "All metrics below target" {
		t.Fatalf("after the window: %+v", d)
	}
}

func TestReconcileOutOfRange(t *testing.T) {
	in, st := cpuScenario()
	in.HPA.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
	in.Scale.SpecReplicas = 12
	d := Reconcile(in, st)
	if d.Stage != StageAboveMax || d.DesiredReplicas != 10 || !d.Rescale || len(d.Metrics) != 0 {
		t.Fatalf("above max: %+v", d)
	}
	checkConds(t, d, condWant{AbleToScale, T, "SucceededRescale", "the HPA controller was able to update the target scale to 10"},
		condWant{ScaledToZero, F, "NotScaledToZero", msgNotScaledToZero})
	checkEvents(t, d, Event{"Normal", "SuccessfulRescale", "New size: 10; reason: Current number of replicas above Spec.MaxReplicas"})
	if len(st.ScaleDownEvents) != 1 || st.ScaleDownEvents[0].ReplicaChange != 2 {
		t.Errorf("behavior path must store the out-of-range rescale: %+v", st.ScaleDownEvents)
	}

	in.HPA.Spec.MinReplicas = i32(4)
	in.Scale.SpecReplicas = 2
	d = Reconcile(in, st)
	if d.Stage != StageBelowMin || d.DesiredReplicas != 4 || d.RescaleReason != "Current number of replicas below Spec.MinReplicas" {
		t.Fatalf("below min: %+v", d)
	}
}

func zeroScenario(minor int, min int32, stzCond bool, gate bool) (*Input, *State) {
	h := newHPA(objectValue("qps", 15000))
	h.Spec.MinReplicas = &min
	h.Spec.MaxReplicas = 6
	if stzCond {
		h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: ScaledToZero, Status: T, Reason: "ScaledToZero"}}
	}
	cfg := testConfig()
	cfg.KubernetesMinor = minor
	cfg.Gates.ScaleToZero = gate
	in := &Input{HPA: h, Scale: Scale{Selector: "name=test-pod"}, Metrics: []MetricInput{{Values: []int64{20000}}}, Config: cfg, Now: t0}
	return in, &State{}
}

func TestZeroReplicas(t *testing.T) {
	cases := []struct {
		name    string
		minor   int
		min     int32
		stz     bool
		gate    bool
		want    int32
		stage   Stage
		remove  bool
		reasons []string
	}{
		{name: "1.37 no condition: paused", minor: 37, min: 0, gate: true, want: 0, stage: StageScalingDisabled,
			reasons: []string{"SucceededGetScale", "ScalingDisabled"}},
		{name: "1.37 gate off: paused and ScaledToZero removed", minor: 37, min: 0, stz: true, gate: false, want: 0, stage: StageScalingDisabled, remove: true,
			reasons: []string{"SucceededGetScale", "ScalingDisabled"}},
		{name: "1.37 ScaledToZero=True: scales from zero with ceil(ratio)", minor: 37, min: 0, stz: true, gate: true, want: 2, stage: StageComputed,
			reasons: []string{"SucceededRescale", "ValidMetricFound", "DesiredWithinRange", "NotScaledToZero"}},
		{name: "1.37 minReplicas raised meanwhile: goes to min", minor: 37, min: 4, stz: true, gate: true, want: 4, stage: StageComputed,
			reasons: []string{"SucceededRescale", "ValidMetricFound", "TooFewReplicas", "NotScaledToZero"}},
		{name: "1.37 manual zero with min 1: paused", minor: 37, min: 1, gate: true, want: 0, stage: StageScalingDisabled,
			reasons: []string{"SucceededGetScale", "ScalingDisabled"}},
		{name: "1.36 gate default off: paused", minor: 36, min: 0, stz: true, gate: false, want: 0, stage: StageScalingDisabled, remove: true,
			reasons: []string{"SucceededGetScale", "ScalingDisabled"}},
		{name: "1.35 legacy min 0 computes without a condition", minor: 35, min: 0, gate: false, want: 2, stage: StageComputed,
			reasons: []string{"SucceededRescale", "ValidMetricFound", "DesiredWithinRange"}},
		{name: "1.35 legacy min 1 pauses even with the condition", minor: 35, min: 1, stz: true, gate: true, want: 0, stage: StageScalingDisabled,
			reasons: []string{"SucceededGetScale", "ScalingDisabled"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, st := zeroScenario(tc.minor, tc.min, tc.stz, tc.gate)
			d := Reconcile(in, st)
			if d.DesiredReplicas != tc.want || d.Stage != tc.stage || d.RemoveScaledToZero != tc.remove {
				t.Fatalf("got desired=%d stage=%d remove=%v", d.DesiredReplicas, d.Stage, d.RemoveScaledToZero)
			}
			var got []string
			for _, c := range d.Conditions {
				got = append(got, c.Reason)
			}
			if strings.Join(got, ",") != strings.Join(tc.reasons, ",") {
				t.Errorf("reasons %v, want %v", got, tc.reasons)
			}
			if tc.stage == StageScalingDisabled && d.Conditions[1].Message != msgScalingDisabled {
				t.Errorf("message %q", d.Conditions[1].Message)
			}
		})
	}
}

func TestScaleToZeroSetsCondition(t *testing.T) {
	h := newHPA(externalValue("queue", 5000))
	h.Spec.MinReplicas = i32(0)
	h.Spec.MaxReplicas = 10
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: 2, StatusReplicas: 2, Selector: "name=test-pod"},
		Pods: (&fixture{replicas: 2}).pods(), Metrics: []MetricInput{{Values: []int64{0}}}, Config: testConfig(), Now: t0}
	st := &State{Recommendations: []Recommendation{}}
	d := Reconcile(in, st)
	if d.DesiredReplicas != 0 || !d.Rescale {
		t.Fatalf("%+v", d)
	}
	last := d.Conditions[len(d.Conditions)-1]
	if last.Type != ScaledToZero || last.Status != T || last.Reason != "ScaledToZero" || last.Message != msgScaledToZero {
		t.Errorf("condition %+v", last)
	}
	merged := MergeConditions(nil, &d, t0)
	// The next reconcile at zero sees the condition and computes again.
	in.HPA.Status.Conditions = merged
	in.Scale.SpecReplicas, in.Scale.StatusReplicas = 0, 0
	in.Metrics[0].Values = []int64{12000}
	d = Reconcile(in, st)
	if d.Stage != StageComputed || d.DesiredReplicas != 3 {
		t.Fatalf("from zero: %+v", d)
	}
}

func TestSelectorErrors(t *testing.T) {
	in, st := cpuScenario()
	in.Scale.Selector = ""
	d := Reconcile(in, st)
	if d.Stage != StageSelectorError || d.Rescale || d.DesiredReplicas != 3 {
		t.Fatalf("%+v", d)
	}
	checkConds(t, d, condWant{AbleToScale, T, "SucceededGetScale", ""}, condWant{ScalingActive, F, "InvalidSelector", "the HPA target's scale is missing a selector"})
	checkEvents(t, d, Event{"Warning", "SelectorRequired", "selector is required"},
		Event{"Warning", "FailedComputeMetricsReplicas", "selector is required"})

	in.Scale.Selector = "app in (a"
	d = Reconcile(in, st)
	_, perr := labels.Parse("app in (a")
	msg := "couldn't convert selector into a corresponding internal selector object: " + perr.Error()
	checkConds(t, d, condWant{AbleToScale, T, "SucceededGetScale", ""}, condWant{ScalingActive, F, "InvalidSelector", msg})
	checkEvents(t, d, Event{"Warning", "InvalidSelector", msg}, Event{"Warning", "FailedComputeMetricsReplicas", msg})
}

func TestAmbiguousSelector(t *testing.T) {
	other := func(name, sel string) HPARef {
		s, err := labels.Parse(sel)
		if err != nil {
			t.Fatal(err)
		}
		return HPARef{Namespace: "test-namespace", Name: name, Selector: s}
	}
	in, st := cpuScenario()
	in.OtherHPAs = []HPARef{other("unrelated", "app=other")}
	if d := Reconcile(in, st); d.Stage != StageComputed {
		t.Fatalf("no overlap must not be ambiguous: %+v", d.Conditions)
	}
	in.OtherHPAs = []HPARef{other("unrelated", "app=other"), other("b", "name=test-pod"), other("c", "name")}
	d := Reconcile(in, st)
	want := "pods by selector name=test-pod are controlled by more than one HPA (e.g. [test-namespace/test-hpa test-namespace/b])"
	checkConds(t, d, condWant{AbleToScale, T, "SucceededGetScale", ""}, condWant{ScalingActive, F, "AmbiguousSelector", want})
	if d.Events[0].Reason != "AmbiguousSelector" || d.Events[0].Message != want || len(d.Metrics) != 0 {
		t.Errorf("events %+v", d.Events)
	}
	in.Config.KubernetesMinor = 36
	d = Reconcile(in, st)
	want = "pods by selector name=test-pod are controlled by multiple HPAs: [test-namespace/test-hpa test-namespace/b test-namespace/c]"
	if d.Conditions[1].Message != want {
		t.Errorf("1.36 message %q", d.Conditions[1].Message)
	}
}

func TestPartialMetricFailures(t *testing.T) {
	// metric 0: CPU proposes 5 (scale-up); metric 1: a Pods metric whose API fails.
	in, st := cpuScenario()
	in.HPA.Spec.Metrics = append(in.HPA.Spec.Metrics, podsMetric("qps", 1000))
	in.Metrics = append(in.Metrics, MetricInput{FetchErr: errors.New("the server is currently unable to handle the request")})
	d := Reconcile(in, st)
	podsErr := "unable to get metric qps: unable to fetch metrics from custom metrics API: the server is currently unable to handle the request"
	if !d.Rescale || d.DesiredReplicas != 5 {
		t.Fatalf("scale-up on the valid metric expected: %+v", d)
	}
	checkConds(t, d,
		condWant{AbleToScale, T, "SucceededRescale", ""},
		condWant{ScalingActive, T, "ValidMetricFound", ""},
		condWant{ScalingLimited, F, "DesiredWithinRange", ""},
		condWant{ScaledToZero, F, "NotScaledToZero", ""})
	checkEvents(t, d, Event{"Warning", "FailedGetPodsMetric", podsErr}, Event{"Normal", "SuccessfulRescale", "New size: 5; reason: " + cpuName + " above target"})
	if d.Metrics[1].Proposal != -1 || d.Metrics[1].Error != podsErr || d.Metrics[1].Reason != "FailedGetPodsMetric" {
		t.Errorf("metric 1 %+v", d.Metrics[1])
	}

	// Same failure while the valid metric proposes a scale-down: nothing moves.
	f := fixture{replicas: 3, requests: reqs(3, "1.0"), levels: levels(50, 50, 50)}
	in.Metrics[0] = f.resourceInput(in.Pods, corev1.ResourceCPU)
	st = &State{}
	d = Reconcile(in, st)
	if d.Stage != StageMetricsFailed || d.Rescale || d.DesiredReplicas != 3 {
		t.Fatalf("partial failure on scale-down must not scale: %+v", d)
	}
	checkConds(t, d, condWant{AbleToScale, T, "SucceededGetScale", ""},
		condWant{ScalingActive, F, "FailedGetPodsMetric", "the HPA was unable to compute the replica count: " + podsErr})
	checkEvents(t, d, Event{"Warning", "FailedGetPodsMetric", podsErr},
		Event{"Warning", "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 2), first error is: failed to get pods metric value: " + podsErr})
}

func TestAllMetricsFailAndInvalidType(t *testing.T) {
	in, st := cpuScenario()
	in.HPA.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: "Bogus"}, externalValue("q", 1000)}
	in.Metrics = []MetricInput{{}, {FetchErr: errors.New("boom")}}
	d := Reconcile(in, st)
	if d.Stage != StageMetricsFailed || d.Rescale {
		t.Fatalf("%+v", d)
	}
	extErr := "unable to get external metric test-namespace/q/&LabelSelector{MatchLabels:map[string]string{label: value,},MatchExpressions:[]LabelSelectorRequirement{},}: unable to fetch metrics from external metrics API: boom"
	checkConds(t, d, condWant{AbleToScale, T, "SucceededGetScale", ""},
		condWant{ScalingActive, F, "InvalidMetricSourceType", `the HPA was unable to compute the replica count: unknown metric source type "Bogus"`})
	checkEvents(t, d,
		Event{"Warning", "InvalidMetricSourceType", `unknown metric source type "Bogus"`},
		Event{"Warning", "FailedGetExternalMetric", extErr},
		Event{"Warning", "FailedComputeMetricsReplicas", `invalid metrics (2 invalid out of 2), first error is: unknown metric source type "Bogus"`})
}

func TestObjectErrorTextByVersion(t *testing.T) {
	h := newHPA(objectValue("qps", 1000))
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: 1, StatusReplicas: 1, Selector: "a=b"}, Pods: (&fixture{replicas: 1}).pods(),
		Metrics: []MetricInput{{FetchErr: errors.New("nope")}}, Config: testConfig(), Now: t0}
	d := Reconcile(in, &State{})
	if got, want := d.Metrics[0].Error, "unable to get metric qps on Deployment test-namespace/some-deployment: unable to fetch metrics from custom metrics API: nope"; got != want {
		t.Errorf("1.37: %q", got)
	}
	in.Config.KubernetesMinor = 35
	d = Reconcile(in, &State{})
	if got, want := d.Metrics[0].Error, "unable to get metric qps: Deployment on test-namespace some-deployment/unable to fetch metrics from custom metrics API: nope"; got != want {
		t.Errorf("1.35: %q", got)
	}
}

func TestMetricNames(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"queue": "a"}}
	ext := externalValue("s0-queue", 1000)
	ext.External.Metric.Selector = sel
	noSel := externalAverage("s1", 1000)
	noSel.External.Metric.Selector = nil
	h := newHPA(ext, noSel, objectValue("rps", 1000), objectAverage("rps", 1000), podsMetric("qd", 1000))
	pods := (&fixture{replicas: 2}).pods()
	samples := []PodSample{{Present: true, Milli: 1000}, {Present: true, Milli: 1000}}
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: 2, StatusReplicas: 2, Selector: "a=b"}, Pods: pods,
		Metrics: []MetricInput{{Values: []int64{2000}}, {Values: []int64{2000}}, {Values: []int64{2000}}, {Values: []int64{2000}}, {Samples: samples, Items: 2}},
		Config:  testConfig(), Now: t0}
	d := Reconcile(in, &State{})
	want := []string{
		"external metric s0-queue(&LabelSelector{MatchLabels:map[string]string{queue: a,},MatchExpressions:[]LabelSelectorRequirement{},})",
		"external metric s1(nil)",
		"Deployment metric rps",
		"external metric rps(nil)",
		"pods metric qd",
	}
	for i, w := range want {
		if d.Metrics[i].Name != w {
			t.Errorf("metric %d name %q, want %q", i, d.Metrics[i].Name, w)
		}
	}
}

func TestMergeConditions(t *testing.T) {
	old := metav1.NewTime(t0.Add(-time.Hour))
	conds := []autoscalingv2.HorizontalPodAutoscalerCondition{
		{Type: ScaledToZero, Status: T, Reason: "ScaledToZero", LastTransitionTime: old},
		{Type: AbleToScale, Status: T, Reason: "ReadyForNewScale", LastTransitionTime: old},
		{Type: ScalingActive, Status: T, Reason: "ValidMetricFound", LastTransitionTime: old},
	}
	d := Decision{Conditions: []Condition{{Type: AbleToScale, Status: T, Reason: "SucceededRescale", Message: "m"},
		{Type: ScalingActive, Status: F, Reason: "FailedGetResourceMetric"}, {Type: ScalingLimited, Status: F, Reason: "DesiredWithinRange"}},
		RemoveScaledToZero: true}
	out := MergeConditions(conds, &d, t0)
	if len(out) != 3 || out[0].Type != AbleToScale || out[1].Type != ScalingActive || out[2].Type != ScalingLimited {
		t.Fatalf("%+v", out)
	}
	if !out[0].LastTransitionTime.Equal(&old) || out[0].Reason != "SucceededRescale" {
		t.Errorf("same status keeps the transition time: %+v", out[0])
	}
	if !out[1].LastTransitionTime.Time.Equal(t0) || !out[2].LastTransitionTime.Time.Equal(t0) {
		t.Errorf("status change / new condition take now: %+v", out)
	}
	if conds[1].Reason != "ReadyForNewScale" {
		t.Errorf("input modified")
	}
}

func TestRequestsWithSidecarsAndPodLevel(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	cpu := func(v string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *q(v)}}
	}
	sidecar := &corev1.PodSpec{
		Containers:     []corev1.Container{{Name: "app", Resources: cpu("500m")}},
		InitContainers: []corev1.Container{{Name: "init", Resources: cpu("2")}, {Name: "proxy", RestartPolicy: &always, Resources: cpu("500m")}},
	}
	noReq := &corev1.PodSpec{
		Containers:     []corev1.Container{{Name: "app", Resources: cpu("500m")}},
		InitContainers: []corev1.Container{{Name: "proxy", RestartPolicy: &always}},
	}
	podLevel := &corev1.PodSpec{
		Resources:  &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *q("4")}},
		Containers: []corev1.Container{{Name: "app"}},
	}
	podLevelMem := &corev1.PodSpec{
		Resources:  &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: *q("1Gi")}},
		Containers: []corev1.Container{{Name: "app", Resources: cpu("1")}, {Name: "b"}},
	}
	cases := []struct {
		name      string
		spec      *corev1.PodSpec
		container string
		gate      bool
		want      int64
		err       string
	}{
		{"sidecar counts, init does not", sidecar, "", true, 1000, ""},
		{"sidecar without request fails", noReq, "", true, 0, "missing request for cpu in container proxy of Pod p"},
		{"named container", sidecar, "app", true, 500, ""},
		{"named sidecar", sidecar, "proxy", true, 500, ""},
		{"named init container is not found", sidecar, "init", true, 0, "container init not found in Pod p"},
		{"pod-level request wins", podLevel, "", true, 4000, ""},
		{"pod-level gate off: containers", podLevel, "", false, 0, "missing request for cpu in container app of Pod p"},
		{"pod-level set for memory only: cpu aggregated from containers, missing counts 0", podLevelMem, "", true, 1000, ""},
		{"named container ignores pod-level", podLevel, "app", true, 0, "missing request for cpu in container app of Pod p"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Gates.PodLevelResources = tc.gate
			in := &Input{Config: cfg}
			st := &State{}
			for range 2 { // second call is served from the cache
				got, err := st.podRequest(in, &Pod{Name: "p", Spec: tc.spec}, corev1.ResourceCPU, tc.container)
				if err != tc.err || (err == "" && got != tc.want) {
					t.Fatalf("got %d %q, want %d %q", got, err, tc.want, tc.err)
				}
			}
		})
	}
}

func TestVersionDeltasBefore135(t *testing.T) {
	// Requests: 1.33/1.34 do not fail on an absent named container, and 1.33
	// ignores pod-level requests even with the gate on.
	always := corev1.ContainerRestartPolicyAlways
	spec := &corev1.PodSpec{
		Resources:      &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *q("4")}},
		Containers:     []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *q("1")}}}},
		InitContainers: []corev1.Container{{Name: "init", RestartPolicy: nil}, {Name: "proxy", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *q("100m")}}}},
	}
	for _, tc := range []struct {
		minor     int
		container string
		want      int64
		err       string
	}{
		{37, "init", 0, "container init not found in Pod p"},
		{34, "init", 0, ""},
		{37, "", 4000, ""},
		{34, "", 4000, ""},
		{33, "", 1100, ""},
	} {
		cfg := DefaultConfig(tc.minor)
		cfg.Gates.PodLevelResources = true
		st := &State{}
		got, err := st.podRequest(&Input{Config: cfg}, &Pod{Name: "p", Spec: spec}, corev1.ResourceCPU, tc.container)
		if got != tc.want || err != tc.err {
			t.Errorf("1.%d container %q: got %d %q, want %d %q", tc.minor, tc.container, got, err, tc.want, tc.err)
		}
	}
	// External Value: 1.35+ caps the sum of series at MaxInt64, 1.34 wraps.
	for _, minor := range []int{34, 37} {
		h := newHPA(externalValue("q", 1000))
		in := &Input{HPA: h, Scale: Scale{SpecReplicas: 1, StatusReplicas: 1, Selector: "a=b"}, Pods: (&fixture{replicas: 1}).pods(),
			Metrics: []MetricInput{{Values: []int64{1 << 62, 1 << 62}}}, Config: DefaultConfig(minor), Now: t0}
		d := Reconcile(in, &State{})
		v := d.Metrics[0].ValueMilli
		if (minor >= 35) != (v == 1<<63-1) || (minor < 35) != (v < 0) {
			t.Errorf("1.%d: usage %d", minor, v)
		}
	}
}

func TestStateClone(t *testing.T) {
	in, st := cpuScenario()
	in.HPA.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
	Reconcile(in, st)
	c := st.Clone()
	if len(c.Recommendations) != 2 || len(c.ScaleUpEvents) != 1 {
		t.Fatalf("clone %+v", c)
	}
	c.Recommendations[0].Replicas = 99
	if st.Recommendations[0].Replicas == 99 {
		t.Error("clone shares the history")
	}
	if (&State{}).Clone().Recommendations != nil {
		t.Error("an unseeded state must clone unseeded")
	}
	d1 := Reconcile(in, st)
	d2 := Reconcile(in, &c)
	if &d1.Metrics[0] == &d2.Metrics[0] {
		t.Error("clone shares scratch buffers")
	}
}
