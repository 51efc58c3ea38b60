package hpa

import (
	"math"
	"strconv"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

const (
	T = corev1.ConditionTrue
	F = corev1.ConditionFalse
)

var (
	running = corev1.PodRunning
	pending = corev1.PodPending
	failed  = corev1.PodFailed
)

func reqs(n int, v string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// levels gives every container of pod i the usage v[i].
func levels(v ...int64) [][]int64 {
	out := make([][]int64, len(v))
	for i, x := range v {
		out[i] = []int64{x, x}
	}
	return out
}

type resourceCase struct {
	name      string
	f         fixture
	target    int32
	tol       [2]string // down, up; empty = flag 0.1
	want      int32
	wantUtil  int32
	wantRaw   int64
	wantError string
}

// runMetric reconciles an HPA with the single metric ms over the fixture and
// returns metric 0's result.
func runMetric(t *testing.T, f *fixture, ms autoscalingv2.MetricSpec, mi func(pods []Pod) MetricInput, tol [2]string, status int32) MetricResult {
	t.Helper()
	h := newHPA(ms)
	if tol[0] != "" {
		withTolerances(h, tol[0], tol[1])
	}
	pods := f.pods()
	in := &Input{HPA: h, Scale: Scale{SpecReplicas: f.replicas, StatusReplicas: status, Selector: "name=test-pod"},
		Pods: pods, Metrics: []MetricInput{mi(pods)}, Config: testConfig(), Now: t0}
	var st State
	d := Reconcile(in, &st)
	if len(d.Metrics) != 1 {
		t.Fatalf("stage %v: %d metric results", d.Stage, len(d.Metrics))
	}
	return d.Metrics[0]
}

func TestResourceUtilizationReplicas(t *testing.T) {
	cases := []resourceCase{
		{name: "scale up", f: fixture{replicas: 3, requests: reqs(3, "1.0"), levels: levels(300, 500, 700)},
			target: 30, want: 5, wantUtil: 50, wantRaw: 1000},
		{name: "scale up: container metric", f: fixture{replicas: 3, container: "container2", requests: reqs(3, "1.0"),
			levels: [][]int64{{1000, 300}, {1000, 500}, {1000, 700}}}, target: 30, want: 5, wantUtil: 50, wantRaw: 500},
		{name: "scale up: unready pod scales less", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{F, T, T},
			requests: reqs(3, "1.0"), levels: levels(300, 500, 700)}, target: 30, want: 4, wantUtil: 60, wantRaw: 1200},
		{name: "scale up: hot-CPU container scales less", f: fixture{replicas: 3, hot: []bool{true}, container: "container2",
			requests: reqs(3, "1.0"), levels: [][]int64{{0, 300}, {0, 500}, {0, 700}}}, target: 30, want: 4, wantUtil: 60, wantRaw: 600},
		{name: "scale up: hot-CPU pod scales less", f: fixture{replicas: 3, hot: []bool{true},
			requests: reqs(3, "1.0"), levels: levels(300, 500, 700)}, target: 30, want: 4, wantUtil: 60, wantRaw: 1200},
		{name: "no scale: unready pods ignored", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{T, F, F},
			requests: reqs(3, "1.0"), levels: levels(400, 500, 700)}, target: 30, want: 3, wantUtil: 40, wantRaw: 800},
		{name: "no scale: hot-CPU pods ignored", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{T, F, F}, hot: []bool{false, true, true},
			requests: reqs(3, "1.0"), levels: levels(400, 500, 700)}, target: 30, want: 3, wantUtil: 40, wantRaw: 800},
		{name: "scale up: failed pods ignored", f: fixture{replicas: 2, readiness: []corev1.ConditionStatus{T, T, F, F},
			phase: []corev1.PodPhase{running, running, failed, failed}, requests: reqs(4, "1.0"), levels: levels(500, 700)},
			target: 30, want: 4, wantUtil: 60, wantRaw: 1200},
		{name: "scale up: failed pods ignored with missing container metric", f: fixture{replicas: 2, readiness: []corev1.ConditionStatus{T, T, F, F},
			phase: []corev1.PodPhase{running, running, failed, failed}, container: "container2", requests: reqs(4, "1.0"),
			levels: [][]int64{{1000, 500}, {9000, 700}, {1000}, {9000}}}, target: 30, want: 4, wantUtil: 60, wantRaw: 600},
		{name: "scale up: pods being deleted are ignored", f: fixture{replicas: 2, readiness: []corev1.ConditionStatus{T, T, F, F},
			phase: []corev1.PodPhase{running, running, running, running}, deleting: []bool{false, false, true, true},
			requests: reqs(4, "1.0"), levels: levels(500, 700)}, target: 30, want: 4, wantUtil: 60, wantRaw: 1200},
		{name: "scale down", f: fixture{replicas: 5, requests: reqs(5, "1.0"), levels: levels(100, 300, 500, 250, 250)},
			target: 50, want: 3, wantUtil: 28, wantRaw: 560},
		{name: "scale down: exclude unready pods", f: fixture{replicas: 5, readiness: []corev1.ConditionStatus{T, T, T, F, F},
			requests: reqs(5, "1.0"), levels: levels(100, 300, 500, 250, 250)}, target: 50, want: 2, wantUtil: 30, wantRaw: 600},
		{name: "scale down: exclude unscheduled pods", f: fixture{replicas: 5, readiness: []corev1.ConditionStatus{T, F, F, F, F},
			phase: []corev1.PodPhase{running, pending, pending, pending, pending}, requests: reqs(5, "1.0"), levels: levels(100)},
			target: 50, want: 1, wantUtil: 10, wantRaw: 200},
		{name: "scale down: ignore hot-CPU pods", f: fixture{replicas: 5, hot: []bool{false, false, false, true, true},
			requests: reqs(5, "1.0"), levels: levels(100, 300, 500, 250, 250)}, target: 50, want: 2, wantUtil: 30, wantRaw: 600},
		{name: "scale down: still-running pods being deleted are ignored", f: fixture{replicas: 5,
			readiness: []corev1.ConditionStatus{T, T, T, T, T, F, F}, phase: []corev1.PodPhase{running, running, running, running, running, running, running},
			deleting: []bool{false, false, false, false, false, true, true}, container: "container2", requests: reqs(7, "1.0"),
			levels: [][]int64{{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}}}, target: 50, want: 3, wantUtil: 28, wantRaw: 280},
		// tolerance (mixed requests 0.9/1.0/1.1)
		{name: "within default tolerance", f: fixture{replicas: 3, requests: []string{"0.9", "1.0", "1.1"}, levels: levels(1010, 1030, 1020)},
			target: 100, want: 3, wantUtil: 102, wantRaw: 2040},
		{name: "outside 0% tolerance", f: fixture{replicas: 3, requests: []string{"0.9", "1.0", "1.1"}, levels: levels(909, 1010, 1111)},
			target: 100, tol: [2]string{"0", "0"}, want: 4, wantUtil: 101, wantRaw: 2020},
		{name: "within 200% scale-up tolerance", f: fixture{replicas: 3, requests: []string{"0.9", "1.0", "1.1"}, levels: levels(1890, 1910, 1900)},
			target: 100, tol: [2]string{"0.1", "2"}, want: 3, wantUtil: 190, wantRaw: 3800},
		{name: "outside 8% scale-up tolerance", f: fixture{replicas: 3, requests: []string{"0.9", "1.0", "1.1"}, levels: levels(1100, 1080, 1090)},
			target: 100, tol: [2]string{"2", "0.08"}, want: 4, wantUtil: 109, wantRaw: 2180},
		{name: "within 36% scale-down tolerance", f: fixture{replicas: 3, requests: []string{"0.9", "1.0", "1.1"}, levels: levels(660, 640, 650)},
			target: 100, tol: [2]string{"0.36", "0.1"}, want: 3, wantUtil: 65, wantRaw: 1300},
		{name: "outside 34% scale-down tolerance", f: fixture{replicas: 3, requests: []string{"0.9", "1.0", "1.1"}, levels: levels(660, 640, 650)},
			target: 100, tol: [2]string{"0.34", "0.1"}, want: 2, wantUtil: 65, wantRaw: 1300},
		// tolerance edges are inclusive: 110% and 90% of target stay
		{name: "tolerance upper edge inclusive", f: fixture{replicas: 4, requests: reqs(4, "1.0"), levels: levels(1100, 1100, 1100, 1100)},
			target: 100, want: 4, wantUtil: 110, wantRaw: 2200},
		{name: "tolerance lower edge inclusive", f: fixture{replicas: 4, requests: reqs(4, "1.0"), levels: levels(900, 900, 900, 900)},
			target: 100, want: 4, wantUtil: 90, wantRaw: 1800},
		{name: "just past the upper edge", f: fixture{replicas: 4, requests: reqs(4, "1.0"), levels: levels(1110, 1110, 1110, 1110)},
			target: 100, want: 5, wantUtil: 111, wantRaw: 2220},
		{name: "utilization truncated before the ratio (33%)", f: fixture{replicas: 3, requests: reqs(3, "1.5"), levels: levels(500, 500, 500)},
			target: 30, want: 3, wantUtil: 33, wantRaw: 1000},
		// missing metrics
		{name: "superfluous metrics counted", f: fixture{replicas: 4, requests: reqs(4, "1.0"), levels: levels(4000, 9500, 3000, 7000, 3200, 2000)},
			target: 100, want: 24, wantUtil: 587, wantRaw: 11750},
		{name: "some pods missing metrics scales down", f: fixture{replicas: 4, requests: reqs(4, "1.0"), levels: levels(400, 95)},
			target: 100, want: 3, wantUtil: 24, wantRaw: 495},
		{name: "no change: metric equal to target", f: fixture{replicas: 2, requests: reqs(2, "1.0"), levels: levels(1000)},
			target: 100, want: 2, wantUtil: 100, wantRaw: 2000},
		{name: "no change: metric above target", f: fixture{replicas: 2, requests: reqs(2, "1.0"), levels: levels(1900)},
			target: 100, want: 2, wantUtil: 190, wantRaw: 3800},
		{name: "no change: metric below target", f: fixture{replicas: 2, requests: reqs(2, "1.0"), levels: levels(600)},
			target: 100, want: 2, wantUtil: 60, wantRaw: 1200},
		{name: "no change: unready pod metric missing", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{F, T, T},
			requests: reqs(3, "1.0"), levels: levels(100, 450)}, target: 50, want: 3, wantUtil: 45, wantRaw: 900},
		{name: "no change: hot-CPU pod metric missing", f: fixture{replicas: 3, hot: []bool{true},
			requests: reqs(3, "1.0"), levels: levels(100, 450)}, target: 50, want: 3, wantUtil: 45, wantRaw: 900},
		{name: "scale up: unready pod metric missing", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{F, T, T},
			requests: reqs(3, "1.0"), levels: levels(100, 2000)}, target: 50, want: 4, wantUtil: 200, wantRaw: 4000},
		{name: "scale down: unready pod metric missing", f: fixture{replicas: 4, readiness: []corev1.ConditionStatus{F, T, T, T},
			requests: reqs(4, "1.0"), levels: levels(100, 100, 100)}, target: 50, want: 3, wantUtil: 10, wantRaw: 200},
		{name: "scale down: missing pods count at target when over 100", f: fixture{replicas: 4, readiness: []corev1.ConditionStatus{F, T, T, T},
			requests: []string{"1.0", "1.0", "2.0", "2.0"}, levels: levels(200, 100, 100)}, target: 300, want: 2, wantUtil: 6, wantRaw: 200},
		{name: "rolling update with maxSurge: extra pod missing metric", f: fixture{replicas: 2, phase: []corev1.PodPhase{running, running, running},
			requests: reqs(3, "1.0"), levels: levels(100, 100)}, target: 50, want: 2, wantUtil: 10, wantRaw: 200},
		{name: "disjoint pod and metric names", f: fixture{replicas: 1, requests: reqs(1, "1.0"), levels: levels(100), podNames: []string{"an-older-pod-name"}},
			target: 100, wantError: "failed to get cpu utilization: no metrics returned matched known pods"},
		{name: "no metrics returned from metrics API", f: fixture{replicas: 4, requests: reqs(3, "1.0")},
			target: 100, wantError: "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"},
		{name: "missing CPU request on container", f: fixture{replicas: 1, levels: levels(200)},
			target: 100, wantError: "failed to get cpu utilization: missing request for cpu in container container1 of Pod test-pod-0"},
		{name: "all pods unready", f: fixture{replicas: 2, readiness: []corev1.ConditionStatus{F, F}, requests: reqs(2, "1.0"), levels: levels(100, 100)},
			target: 50, wantError: "failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ms autoscalingv2.MetricSpec
			if tc.f.container != "" {
				ms = containerCPUUtil(tc.f.container, tc.target)
			} else {
				ms = cpuUtil(tc.target)
			}
			r := runMetric(t, &tc.f, ms, func(p []Pod) MetricInput { return tc.f.resourceInput(p, corev1.ResourceCPU) }, tc.tol, tc.f.replicas)
			if tc.wantError != "" {
				if r.Error != tc.wantError || r.Proposal != -1 {
					t.Fatalf("error = %q (proposal %d), want %q", r.Error, r.Proposal, tc.wantError)
				}
				want := "FailedGetResourceMetric"
				if tc.f.container != "" {
					want = "FailedGetContainerResourceMetric"
				}
				if r.Reason != want {
					t.Errorf("reason = %q, want %q", r.Reason, want)
				}
				return
			}
			if r.Error != "" {
				t.Fatalf("unexpected error %q", r.Error)
			}
			if r.Proposal != tc.want || r.AverageUtilization != tc.wantUtil || r.AverageValueMilli != tc.wantRaw {
				t.Errorf("got replicas=%d util=%d raw=%d, want %d %d %d", r.Proposal, r.AverageUtilization, r.AverageValueMilli, tc.want, tc.wantUtil, tc.wantRaw)
			}
		})
	}
}

// The upstream "computed tolerance" test: a target just outside the
// tolerance scales, one just inside does not.
func TestComputedToleranceAlgorithm(t *testing.T) {
	startPods := int32(10)
	used := int64(startPods * 150)
	requested := int32(2 * used)
	requestedToUsed := float64(requested / int32(used))
	perPod := requested / startPods
	build := func() fixture {
		lv := make([]int64, 10)
		for i := range lv {
			lv[i] = used / 10
		}
		rq := []int32{perPod + 100, perPod - 100, perPod + 10, perPod - 10, perPod + 2, perPod - 2, perPod + 1, perPod - 1, perPod, perPod}
		var rs []string
		for _, r := range rq {
			rs = append(rs, strconv.Itoa(int(r))+"m")
		}
		return fixture{replicas: startPods, levels: levels(lv...), requests: rs}
	}
	target := math.Abs(1/(requestedToUsed*(1-0.1))) + .01
	pct := int32(target * 100)
	ratio := float64(used) / (float64(requested) * target)
	final := int32(math.Ceil(ratio * float64(startPods)))
	f1 := build()
	r := runMetric(t, &f1, cpuUtil(pct), func(p []Pod) MetricInput { return f1.resourceInput(p, corev1.ResourceCPU) }, [2]string{}, startPods)
	if r.Proposal != final || r.AverageUtilization != int32(used*100)/requested {
		t.Fatalf("outside tolerance: got %d util %d, want %d", r.Proposal, r.AverageUtilization, final)
	}
	target = math.Abs(1/(requestedToUsed*(1-0.1))) + .004
	pct = int32(target * 100)
	f2 := build()
	r = runMetric(t, &f2, cpuUtil(pct), func(p []Pod) MetricInput { return f2.resourceInput(p, corev1.ResourceCPU) }, [2]string{}, startPods)
	if r.Proposal != startPods {
		t.Fatalf("inside tolerance: got %d, want %d", r.Proposal, startPods)
	}
}

type plainCase struct {
	name      string
	f         fixture
	target    int64
	tol       [2]string
	want      int32
	wantUsage int64
	wantError string
}

func TestPodsMetricReplicas(t *testing.T) {
	cases := []plainCase{
		{name: "scale up", f: fixture{replicas: 3, custom: []int64{20000, 10000, 30000}}, target: 15000, want: 4, wantUsage: 20000},
		{name: "scale up: readiness is not consulted", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{T, T, F}, hot: []bool{false, false, true},
			custom: []int64{50000, 10000, 30000}}, target: 15000, want: 6, wantUsage: 30000},
		{name: "scale up: unready hot-CPU pods avoid scale-down", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{F, T, F}, hot: []bool{true, false, true},
			custom: []int64{50000, 15000, 30000}}, target: 15000, want: 7, wantUsage: 31666},
		{name: "scale down", f: fixture{replicas: 5, custom: []int64{12000, 12000, 12000, 12000, 12000}}, target: 20000, want: 3, wantUsage: 12000},
		{name: "within default tolerance", f: fixture{replicas: 3, custom: []int64{20000, 21000, 21000}}, target: 20000, want: 3, wantUsage: 20666},
		{name: "outside configurable 1% tolerance", f: fixture{replicas: 3, custom: []int64{20000, 21000, 21000}}, target: 20000,
			tol: [2]string{"0.1", "0.01"}, want: 4, wantUsage: 20666},
		{name: "no change: missing metrics", f: fixture{replicas: 5, custom: []int64{20000, 19000, 21000}}, target: 20000, want: 5, wantUsage: 20000},
		{name: "rolling update with maxSurge: extra pod missing metric", f: fixture{replicas: 2, phase: []corev1.PodPhase{running, running, running},
			custom: []int64{10000, 10000}}, target: 17000, want: 2, wantUsage: 10000},
		{name: "pending pods are unready: scale-up counts them at 0", f: fixture{replicas: 3, phase: []corev1.PodPhase{running, running, pending},
			custom: []int64{30000, 30000}}, target: 10000, want: 6, wantUsage: 30000},
		{name: "empty answer", f: fixture{replicas: 2}, target: 1000,
			wantError: "unable to get metric qps: no metrics returned from custom metrics API"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runMetric(t, &tc.f, podsMetric("qps", tc.target), tc.f.podsInput, tc.tol, tc.f.replicas)
			checkPlain(t, r, tc, "FailedGetPodsMetric")
		})
	}
}

func checkPlain(t *testing.T, r MetricResult, tc plainCase, reason string) {
	t.Helper()
	if tc.wantError != "" {
		if r.Error != tc.wantError || r.Reason != reason || r.Proposal != -1 {
			t.Fatalf("got error %q reason %q proposal %d, want %q %q", r.Error, r.Reason, r.Proposal, tc.wantError, reason)
		}
		return
	}
	if r.Error != "" {
		t.Fatalf("unexpected error %q", r.Error)
	}
	usage := r.AverageValueMilli
	if r.HasValue {
		usage = r.ValueMilli
	}
	if r.Proposal != tc.want || usage != tc.wantUsage {
		t.Errorf("got replicas=%d usage=%d, want %d %d", r.Proposal, usage, tc.want, tc.wantUsage)
	}
}

func valuesInput(v ...int64) func([]Pod) MetricInput {
	return func([]Pod) MetricInput { return MetricInput{Values: v} }
}

func TestObjectMetricReplicas(t *testing.T) {
	cases := []plainCase{
		{name: "scale up", f: fixture{replicas: 3, custom: []int64{20000}}, target: 15000, want: 4, wantUsage: 20000},
		{name: "scale up: very large metric saturates to MaxInt32", f: fixture{replicas: 3, custom: []int64{math.MaxInt64}}, target: 1, want: math.MaxInt32, wantUsage: math.MaxInt64},
		{name: "scale up: ignores unready pods", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{F, T, F}, custom: []int64{50000}}, target: 10000, want: 5, wantUsage: 50000},
		{name: "scale down", f: fixture{replicas: 5, custom: []int64{12000}}, target: 20000, want: 3, wantUsage: 12000},
		{name: "within default tolerance", f: fixture{replicas: 3, custom: []int64{20666}}, target: 20000, want: 3, wantUsage: 20666},
		{name: "outside configurable 1% tolerance", f: fixture{replicas: 3, custom: []int64{20666}}, target: 20000, tol: [2]string{"0.1", "0.01"}, want: 4, wantUsage: 20666},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runMetric(t, &tc.f, objectValue("qps", tc.target), valuesInput(tc.f.custom...), tc.tol, tc.f.replicas)
			checkPlain(t, r, tc, "FailedGetObjectMetric")
		})
	}
	avg := []plainCase{
		{name: "per-pod scale up", f: fixture{replicas: 3, custom: []int64{20000}}, target: 5000, want: 4, wantUsage: 6667},
		{name: "per-pod scale down", f: fixture{replicas: 5, custom: []int64{6000}}, target: 2000, want: 3, wantUsage: 1200},
		{name: "per-pod within default tolerance", f: fixture{replicas: 4, custom: []int64{20166}}, target: 5000, want: 4, wantUsage: 5042},
		{name: "per-pod outside configurable 1% tolerance", f: fixture{replicas: 4, custom: []int64{20208}}, target: 5000, tol: [2]string{"0.1", "0.01"}, want: 5, wantUsage: 5052},
	}
	for _, tc := range avg {
		t.Run(tc.name, func(t *testing.T) {
			r := runMetric(t, &tc.f, objectAverage("qps", tc.target), valuesInput(tc.f.custom...), tc.tol, tc.f.replicas)
			checkPlain(t, r, tc, "FailedGetObjectMetric")
		})
	}
}

func TestExternalMetricReplicas(t *testing.T) {
	cases := []plainCase{
		{name: "scale down: ignores unready pods (would otherwise scale up)", f: fixture{replicas: 3, readiness: []corev1.ConditionStatus{F, T, F}, custom: []int64{8600}},
			target: 4400, want: 2, wantUsage: 8600},
		{name: "scale down", f: fixture{replicas: 5, custom: []int64{8600}}, target: 14334, want: 3, wantUsage: 8600},
		{name: "within default tolerance", f: fixture{replicas: 3, custom: []int64{8600}}, target: 8888, want: 3, wantUsage: 8600},
		{name: "outside configurable 1% tolerance", f: fixture{replicas: 3, custom: []int64{8900}}, target: 8800, tol: [2]string{"0.1", "0.01"}, want: 4, wantUsage: 8900},
		{name: "usage overflow caps at MaxInt64", f: fixture{replicas: 3, custom: []int64{math.MaxInt64/2 + 1, math.MaxInt64/2 + 1}}, target: math.MaxInt64, want: 3, wantUsage: math.MaxInt64},
		{name: "series are summed", f: fixture{replicas: 2, custom: []int64{3000, 3000}}, target: 2000, want: 6, wantUsage: 6000},
		{name: "empty answer", f: fixture{replicas: 2}, target: 1000,
			wantError: "unable to get external metric test-namespace/qps/&LabelSelector{MatchLabels:map[string]string{label: value,},MatchExpressions:[]LabelSelectorRequirement{},}: no metrics returned from external metrics API"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runMetric(t, &tc.f, externalValue("qps", tc.target), valuesInput(tc.f.custom...), tc.tol, tc.f.replicas)
			checkPlain(t, r, tc, "FailedGetExternalMetric")
		})
	}
	avg := []plainCase{
		{name: "per-pod overflow saturates to MaxInt32", f: fixture{replicas: 1, custom: []int64{math.MaxInt64}}, target: 1, want: math.MaxInt32, wantUsage: math.MaxInt64},
		{name: "per-pod usage overflow with huge target", f: fixture{replicas: 1, custom: []int64{math.MaxInt64}}, target: math.MaxInt64, want: 1, wantUsage: math.MaxInt64},
		{name: "per-pod scale up", f: fixture{replicas: 3, custom: []int64{8600}}, target: 2150, want: 4, wantUsage: 2867},
		{name: "per-pod scale down", f: fixture{replicas: 5, custom: []int64{8600}}, target: 2867, want: 3, wantUsage: 1720},
		{name: "per-pod within default tolerance", f: fixture{replicas: 3, custom: []int64{8600}}, target: 2900, want: 3, wantUsage: 2867},
		{name: "per-pod outside configurable 1% tolerance", f: fixture{replicas: 3, custom: []int64{8600}}, target: 2800, tol: [2]string{"0.1", "0.01"}, want: 4, wantUsage: 2867},
	}
	for _, tc := range avg {
		t.Run(tc.name, func(t *testing.T) {
			r := runMetric(t, &tc.f, externalAverage("qps", tc.target), valuesInput(tc.f.custom...), tc.tol, tc.f.replicas)
			checkPlain(t, r, tc, "FailedGetExternalMetric")
		})
	}
}
