//go:build linux

package live

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlscale/mlscale/internal/hpa"
)

func TestParseStat(t *testing.T) {
	// a command name with spaces and a parenthesis
	b := []byte("4242 (my (worker) x) S 4000 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 4 0 123456 1000 200 18446744073709551615\n")
	p, err := parseStat(4242, b)
	if err != nil || p.ppid != 4000 || p.ticks != 310 || p.start != 123456 {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := parseStat(1, []byte("1 (init) S 0 1")); err == nil {
		t.Error("a short stat line must fail")
	}
	if clkTck == 0 {
		t.Error("no clock tick")
	}
}

// resProcess is the process target on the test worker, with a short CPU
// window: the test's clock is fake, the workers' CPU time real.
func resProcess(t *testing.T, dir string) *Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProcess(ProcessConfig{Name: "worker", Command: []string{exe}, Env: []string{"MLSCALE_TEST_WORKER=" + dir},
		Grace: 5 * time.Second, Container: "inference", CPUWindow: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// stepper steps the loop every 15 s of the fake clock (one HPA sync each)
// and sleeps a little longer than the CPU window in real time between steps.
type stepper struct {
	t    *testing.T
	loop *Loop
	now  time.Time
}

func (s *stepper) step() Status {
	s.t.Helper()
	time.Sleep(400 * time.Millisecond)
	if err := s.loop.Step(context.Background(), s.now); err != nil {
		s.t.Fatal(err)
	}
	s.now = s.now.Add(15 * time.Second)
	return s.loop.Status()
}

// until steps until cond holds, at most n times.
func (s *stepper) until(n int, what string, cond func(Status) bool) Status {
	s.t.Helper()
	var st Status
	for i := 0; i < n; i++ {
		if st = s.step(); cond(st) {
			return st
		}
	}
	s.t.Fatalf("after %d steps, not %s: spec %d, metrics %+v, sources %+v", n, what, st.Spec, st.Metrics, st.Sources)
	return st
}

// A worker that burns a core drives cpu utilisation (usage over the
// template's request, computed by the HPA engine) far above target: the HPA
// scales up. Once it idles, the utilisation falls and the HPA scales down,
// but only after the scale-down stabilisation window.
func TestProcessCPUUtilisationScalesUpAndDown(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "burn-worker-1", "")
	proc := resProcess(t, dir)
	var log strings.Builder
	// request 100m, target 100 %: a busy core is about 1000 % (less on a
	// loaded machine), an idle test worker a few %
	loop, err := NewLoop(Config{HPA: resourceHPA(corev1.ResourceCPU, 100, 1, 3, 60, false), Target: proc,
		PodSpec: podSpec("inference", "100m", "1Gi"), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Scale(context.Background(), t0, 1); err != nil {
		t.Fatal(err)
	}
	s := &stepper{t: t, loop: loop, now: t0}
	st := s.step()
	// the first reconcile has one reading: no rate yet, as metrics-server
	if st.Spec != 1 || st.Metrics[0].Err == "" || !strings.Contains(st.Metrics[0].Err, "no metrics returned from resource metrics API") {
		t.Fatalf("first reconcile: spec %d, metrics %+v", st.Spec, st.Metrics)
	}
	st = s.until(10, "scaled up", func(st Status) bool { return st.Spec > 1 })
	if st.ScaleUps == 0 || !strings.Contains(log.String(), "cpu resource utilization (percentage of request) above target") {
		t.Errorf("scale-ups %d, log:\n%s", st.ScaleUps, log.String())
	}
	var peak float64
	for _, m := range loop.Status().Metrics {
		peak = max(peak, m.Value)
	}
	if peak < 110 {
		t.Errorf("cpu utilisation of a busy worker: %v %%", peak)
	}
	if err := os.Remove(filepath.Join(dir, "burn-worker-1")); err != nil {
		t.Fatal(err)
	}
	low := s.until(10, "below target", func(st Status) bool { return st.Metrics[0].HasValue && st.Metrics[0].Value < 50 })
	if low.Spec == 1 {
		t.Fatalf("scaled down at once (spec %d): the stabilisation window is 60 s", low.Spec)
	}
	lowAt := s.now.Add(-15 * time.Second)
	st = s.until(10, "scaled down", func(st Status) bool { return st.Spec == 1 })
	if downAt := s.now.Add(-15 * time.Second); downAt.Sub(lowAt) < 45*time.Second {
		t.Errorf("scaled down %s after the load dropped; the window is 60 s", downAt.Sub(lowAt))
	}
	if src := sourceNamed(st, "resource/proc"); src == nil || src.LastOK.IsZero() {
		t.Errorf("sources: %+v", st.Sources)
	}
}

// The worker's descendants count: a worker that forks a busy child is busy.
func TestProcessCPUCountsChildren(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "child-worker-1", "burn")
	proc := resProcess(t, dir)
	if err := proc.Scale(context.Background(), t0, 1); err != nil {
		t.Fatal(err)
	}
	now := t0
	var pm []hpa.PodMetrics
	eventually(t, "a busy child measured", func() bool {
		time.Sleep(350 * time.Millisecond)
		proc.SampleResources(now)
		var err error
		pm, err = proc.PodMetrics(context.Background(), now, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(pm) != 1 {
			return false
		}
		cpu := pm[0].Containers[0].Usage[corev1.ResourceCPU]
		return cpu.MilliValue() > 200
	})
	if pm[0].Pod != "worker-1" || pm[0].Containers[0].Name != "inference" || pm[0].Window < 300*time.Millisecond || !pm[0].Timestamp.Equal(now) {
		t.Errorf("PodMetrics %+v", pm)
	}
	if len(proc.workers[0].cpu.pids) < 2 {
		t.Errorf("tree %v: the child is not in it", proc.workers[0].cpu.pids)
	}
	// a reading older than the staleness rule is no sample
	if pm, _ := proc.PodMetrics(context.Background(), now.Add(2*time.Minute), true); len(pm) != 0 {
		t.Errorf("stale reading answered: %+v", pm)
	}
}

// Memory: the tree's working set over the template's request. A child that
// holds memory drives the utilisation above target (scale up); once it is
// gone the HPA scales back down after the window.
func TestProcessMemoryUtilisationScalesUpAndDown(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	proc := resProcess(t, dir)
	if err := proc.Scale(ctx, t0, 1); err != nil {
		t.Fatal(err)
	}
	// calibrate: the idle worker's own memory (larger under -race, and
	// growing a little as it runs) is the request, the target 400 %
	var idle int64
	eventually(t, "the idle worker measured", func() bool {
		time.Sleep(350 * time.Millisecond)
		proc.SampleResources(t0)
		pm, err := proc.PodMetrics(ctx, t0, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(pm) == 1 {
			m := pm[0].Containers[0].Usage[corev1.ResourceMemory]
			idle = m.Value()
		}
		return idle > 0
	})
	var log strings.Builder
	spec := podSpec("inference", "1", "1Gi")
	spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = *resource.NewQuantity(idle, resource.BinarySI)
	loop, err := NewLoop(Config{HPA: resourceHPA(corev1.ResourceMemory, 400, 1, 2, 60, false), Target: proc, PodSpec: spec, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	s := &stepper{t: t, loop: loop, now: t0}
	s.step()
	s.step()
	if st := loop.Status(); st.Spec != 1 || !st.Metrics[0].HasValue || st.Metrics[0].Value > 300 {
		t.Fatalf("idle: spec %d, metrics %+v", st.Spec, st.Metrics)
	}
	// a child holding 4x the idle worker's memory
	write(t, dir, "child-worker-1", "alloc "+strconv.FormatInt(4*idle>>20+1, 10))
	st := s.until(15, "scaled up", func(st Status) bool { return st.Spec == 2 })
	if !strings.Contains(log.String(), "memory resource utilization (percentage of request) above target") {
		t.Errorf("metrics %+v, log:\n%s", st.Metrics, log.String())
	}
	if err := os.Remove(filepath.Join(dir, "child-worker-1")); err != nil {
		t.Fatal(err)
	}
	low := s.until(15, "below target", func(st Status) bool { return st.Metrics[0].HasValue && st.Metrics[0].Value < 300 })
	if low.Spec == 1 {
		t.Fatal("scaled down at once: the stabilisation window is 60 s")
	}
	s.until(10, "scaled down", func(st Status) bool { return st.Spec == 1 })
}

// A ContainerResource metric on the workers' container is answered; on
// another container of the template it fails with the reason.
func TestProcessContainerResource(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "burn-worker-1", "")
	proc := resProcess(t, dir)
	h := resourceHPA(corev1.ResourceCPU, 100, 1, 3, 60, false)
	h.Spec.Metrics = append(h.Spec.Metrics, h.Spec.Metrics[0])
	for i, c := range []string{"inference", "sidecar"} {
		r := h.Spec.Metrics[i].Resource
		h.Spec.Metrics[i] = autoscalingv2MetricContainer(r.Name, c, *r.Target.AverageUtilization)
	}
	loop, err := NewLoop(Config{HPA: h, Target: proc, PodSpec: podSpec("inference", "100m", "1Gi")})
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Scale(context.Background(), t0, 1); err != nil {
		t.Fatal(err)
	}
	s := &stepper{t: t, loop: loop, now: t0}
	st := s.until(10, "scaled up on the container's cpu", func(st Status) bool { return st.Spec > 1 })
	if st.Metrics[1].Err == "" || !strings.Contains(st.Metrics[1].Err, `container "sidecar" is not run by mlscale run`) {
		t.Errorf("metrics %+v", st.Metrics)
	}
}
