package live

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlscale/mlscale/internal/hpa"
)

// resourceHPA scales on one resource's utilisation, plus the workers'
// inference_queue_depth when queue is set (as the article's profile).
func resourceHPA(res corev1.ResourceName, util int32, minR, maxR, downWindow int32, queue bool) *autoscalingv2.HorizontalPodAutoscaler {
	h := queueHPA(minR, maxR, downWindow)
	rm := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: res, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(util)}}}
	if queue {
		h.Spec.Metrics = append([]autoscalingv2.MetricSpec{rm}, h.Spec.Metrics...)
	} else {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{rm}
	}
	return h
}

func podSpec(container, cpu, mem string) *corev1.PodSpec {
	return &corev1.PodSpec{Containers: []corev1.Container{{Name: container, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}}}
}

// The counter of a worker tree's CPU time: a process adds what it used
// since the last reading, a new child all of its time, a reaped child is
// not counted twice (its time moves into its parent's cutime), a reused pid
// is a new process, an orphan stops counting without a drop.
func TestCPUTrackCounter(t *testing.T) {
	var c cpuTrack
	m := time.Unix(0, 0)
	step := func(d time.Duration, procs ...procCPU) {
		m = m.Add(d)
		c.update(procs, m, 15*time.Second)
	}
	step(0, procCPU{pid: 10, start: 1, ticks: 500}) // the worker's past before the first reading does not count
	if c.counter != 0 {
		t.Fatalf("baseline counter %d", c.counter)
	}
	if _, _, ok := c.rate(100); ok {
		t.Fatal("a rate from one reading")
	}
	step(time.Second, procCPU{pid: 10, start: 1, ticks: 550}, procCPU{pid: 11, ppid: 10, start: 90, ticks: 30})
	if c.counter != 80 {
		t.Fatalf("worker +50, new child 30: counter %d, want 80", c.counter)
	}
	// the child used 20 more, exited and was reaped: the parent's cutime
	// grows by its whole 50, of which 30 were counted
	step(time.Second, procCPU{pid: 10, start: 1, ticks: 550 + 50 + 5})
	if c.counter != 80+25 {
		t.Fatalf("after the reap: counter %d, want 105", c.counter)
	}
	// pid 10 reused by another process (a new start): counted from 0
	step(time.Second, procCPU{pid: 10, start: 2, ticks: 7})
	if c.counter != 112 {
		t.Fatalf("reused pid: counter %d, want 112", c.counter)
	}
	// an orphan (parent gone from the tree) leaves without a drop
	step(time.Second, procCPU{pid: 10, start: 2, ticks: 9}, procCPU{pid: 12, ppid: 10, start: 95, ticks: 40})
	step(time.Second, procCPU{pid: 10, start: 2, ticks: 9})
	if c.counter != 112+2+40 {
		t.Fatalf("orphan: counter %d, want 154", c.counter)
	}
	// rate over the kept readings (5 s: all of them, the window is 15 s)
	mc, win, ok := c.rate(100)
	if !ok || win != 5*time.Second || mc != 308 {
		t.Fatalf("rate %dm over %s (%v), want 308m over 5s", mc, win, ok)
	}
	// a window of 2 s keeps the newest reading at least 2 s old
	for i := 0; i < 10; i++ {
		step(time.Second, procCPU{pid: 10, start: 2, ticks: 9 + uint64(i+1)*50})
	}
	c.update([]procCPU{{pid: 10, start: 2, ticks: 559}}, m.Add(time.Second), 2*time.Second)
	if mc, win, _ = c.rate(100); mc != 500 || win != 2*time.Second || len(c.points) != 3 {
		t.Fatalf("2 s window: %dm over %s with %d points", mc, win, len(c.points))
	}
}

// Outside Linux the workers' cpu and memory cannot be read: one line that
// says why and what to use instead.
func TestUnsupportedReason(t *testing.T) {
	if r := unsupportedReason("linux"); r != "" {
		t.Errorf("linux: %q", r)
	}
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		r := unsupportedReason(goos)
		if r == "" || strings.Contains(r, "\n") || !strings.Contains(r, goos) || !strings.Contains(r, "/proc") || !strings.Contains(r, "--target deployment") {
			t.Errorf("%s: %q", goos, r)
		}
	}
	if (procSupportErr == nil) != (runtime.GOOS == "linux") {
		t.Errorf("on %s: procSupportErr %v", runtime.GOOS, procSupportErr)
	}
}

// resFakeTarget is a fakeTarget with a resource metrics API.
type resFakeTarget struct {
	fakeTarget
	err     error
	cpuMill int64
	samples int
}

var _ ResourceSource = (*resFakeTarget)(nil)

func (r *resFakeTarget) ResourceSourceName() string { return "fake" }
func (r *resFakeTarget) SampleResources(time.Time)  { r.samples++ }
func (r *resFakeTarget) PodMetrics(_ context.Context, now time.Time, _ bool) ([]hpa.PodMetrics, error) {
	if r.err != nil {
		return nil, r.err
	}
	var out []hpa.PodMetrics
	for i := int32(0); i < r.spec; i++ {
		out = append(out, hpa.PodMetrics{Pod: "p-" + string(rune('0'+i)), Timestamp: now, Window: 15 * time.Second,
			Containers: []hpa.ContainerUsage{{Name: "worker", Usage: corev1.ResourceList{
				corev1.ResourceCPU: *resource.NewMilliQuantity(r.cpuMill, resource.DecimalSI), corev1.ResourceMemory: resource.MustParse("1Gi")}}}})
	}
	return out, nil
}

// cpu unavailable (a system without /proc): the metric fails as the
// HPA's resource metric would (FailedGetResourceMetric), so the HPA still
// scales up on the queue but never down (its partial-failure rule); with
// cpu read, the same queue lets it scale down.
func TestResourceMetricUnavailableBlocksScaleDown(t *testing.T) {
	ctx := context.Background()
	var log strings.Builder
	queue := workerMetricsServer(t, 0)
	tgt := &resFakeTarget{fakeTarget: fakeTarget{spec: 4, metrics: queue}, err: errors.New(unsupportedReason("darwin"))}
	loop, err := NewLoop(Config{HPA: resourceHPA(corev1.ResourceCPU, 70, 1, 10, 0, true), Target: tgt, PodSpec: podSpec("worker", "1", "2Gi"),
		Fetcher: &Fetcher{Timeout: time.Second}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Step(ctx, t0); err != nil {
		t.Fatal(err)
	}
	st := loop.Status()
	if tgt.spec != 4 || tgt.samples != 1 || st.Metrics[0].Err == "" || !strings.Contains(log.String(), "FailedGetResourceMetric") ||
		!strings.Contains(log.String(), "unable to fetch metrics from resource metrics API: cpu and memory of local workers are read from /proc, which darwin does not have") {
		t.Fatalf("spec %d, metrics %+v, log:\n%s", tgt.spec, st.Metrics, log.String())
	}
	if src := sourceNamed(st, "resource/fake"); src == nil || src.Errors != 1 {
		t.Errorf("sources: %+v", st.Sources)
	}
	tgt.err, tgt.cpuMill = nil, 100 // 10 % of 1 core
	if err := loop.Step(ctx, t0.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	st = loop.Status()
	if tgt.spec != 1 || !st.Metrics[0].HasValue || st.Metrics[0].Value != 10 || sourceNamed(st, "resource/fake").LastOK.IsZero() {
		t.Errorf("with cpu: spec %d, metrics %+v", tgt.spec, st.Metrics)
	}
}

func sourceNamed(st Status, name string) *SourceStatus {
	for i := range st.Sources {
		if st.Sources[i].Name == name {
			return &st.Sources[i]
		}
	}
	return nil
}

func autoscalingv2MetricContainer(res corev1.ResourceName, container string, util int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: res, Container: container, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(util)}}}
}

// A KEDA cpu trigger is a Resource metric of the HPA KEDA generates
// (metrics-server's, never read by KEDA): the trigger does not fail in
// KEDA's poll, and the HPA reads it from the target's resource metrics.
func TestKEDACPUTriggerIsResourceMetric(t *testing.T) {
	ctx := context.Background()
	so := rabbitSO(1, 10, false)
	so.Spec.Triggers = []kedav1alpha1.ScaleTriggers{{Type: "cpu", MetricType: autoscalingv2.UtilizationMetricType, Metadata: map[string]string{"value": "50"}}}
	tgt := &resFakeTarget{fakeTarget: fakeTarget{spec: 2}, cpuMill: 900}
	var log strings.Builder
	loop, err := NewLoop(Config{ScaledObject: so, Target: tgt, PodSpec: podSpec("worker", "1", "1Gi"), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Step(ctx, t0); err != nil {
		t.Fatal(err)
	}
	// 90 % of the request against 50 %: 2 x 1.8 -> 4
	st := loop.Status()
	if tgt.spec != 4 || tgt.samples != 1 || strings.Contains(log.String(), "not read by mlscale run") || sourceNamed(st, "trigger/0/cpu") != nil {
		t.Errorf("spec %d, samples %d, sources %+v, log:\n%s", tgt.spec, tgt.samples, st.Sources, log.String())
	}
}

// Local workers without a pod template (--manifests without the
// Deployment) have no requests: cpu and memory fail with that reason.
func TestResourceMetricWithoutPodTemplate(t *testing.T) {
	tgt := &resFakeTarget{fakeTarget: fakeTarget{spec: 2}, cpuMill: 900}
	loop, err := NewLoop(Config{HPA: resourceHPA(corev1.ResourceMemory, 80, 1, 10, 0, false), Target: tgt})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Step(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if st := loop.Status(); tgt.spec != 2 || !strings.Contains(st.Metrics[0].Err, "no pod template for the workers' cpu and memory requests") {
		t.Errorf("spec %d, metrics %+v", tgt.spec, st.Metrics)
	}
}
