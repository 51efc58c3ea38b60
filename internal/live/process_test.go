//go:build unix

package live

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/mlscale/mlscale/internal/gpu"
)

func newTestProcess(t *testing.T, dir string, gpus func() ([]gpu.Device, []gpu.Sample), perWorker int, grace time.Duration) *Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProcess(ProcessConfig{
		Name: "worker", Command: []string{exe}, Env: []string{"MLSCALE_TEST_WORKER=" + dir},
		GPUsPerWorker: perWorker, MinFreeBytes: 10 << 30, ReadyPath: "/ready", MetricsPath: "/metrics",
		Grace: grace, GPUs: gpus, ProbeTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func workerEnv(t *testing.T, port int) string {
	t.Helper()
	var resp *http.Response
	eventually(t, "the worker to listen", func() bool {
		var err error
		resp, err = http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/env")
		return err == nil
	})
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A queue step starts workers on free GPUs, readiness gates them, a killed
// worker is replaced and counted, and the load drop scales in only after
// the stabilisation window.
func TestProcessScalesOnQueue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write(t, dir, "queue", "0")
	devs := gpu.FakeGPUs(5, "Fake H100", 80)
	fake := gpu.NewFake(devs)
	smp := make([]gpu.Sample, 5)
	for i := range smp {
		free := uint64(70 << 30)
		if i == 2 {
			free = 1 << 30 // almost full: not given out
		}
		smp[i] = gpu.Sample{GPUUtilPercent: gpu.F64(0), FBFreeBytes: gpu.U64(free)}
	}
	fake.Set(smp)
	var loop *Loop
	proc := newTestProcess(t, dir, func() ([]gpu.Device, []gpu.Sample) { return loop.GPUs() }, 1, 5*time.Second)
	loop, err := NewLoop(Config{HPA: queueHPA(1, 4, 60), Target: proc, GPU: fake, Fetcher: &Fetcher{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Scale(ctx, t0, 1); err != nil {
		t.Fatal(err)
	}
	if err := loop.Step(ctx, t0); err != nil {
		t.Fatal(err)
	}
	observe := func(now time.Time) Observed {
		o, err := proc.Observe(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	eventually(t, "the first worker ready", func() bool { return observe(t0).Ready() == 1 })

	// queue step: 40 waiting on one worker, 4 per worker wanted -> max 4
	write(t, dir, "queue", "40")
	for _, n := range []string{"worker-2", "worker-3", "worker-4"} {
		write(t, dir, "notready-"+n, "")
	}
	if err := loop.Step(ctx, t0.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st := loop.Status(); st.Spec != 4 || st.ScaleUps != 1 {
		t.Fatalf("after the queue step: spec %d, scale-ups %d", st.Spec, st.ScaleUps)
	}
	o := observe(t0.Add(15 * time.Second))
	if o.Status != 4 || o.Ready() != 1 {
		t.Fatalf("new workers must not be ready before their probe passes: status %d ready %d", o.Status, o.Ready())
	}
	var got []string
	for _, w := range proc.Workers() {
		if len(w.GPUs) != 1 {
			t.Fatalf("worker %s GPUs %v", w.Name, w.GPUs)
		}
		if env := workerEnv(t, w.Port); env != w.GPUs[0] {
			t.Errorf("worker %s CUDA_VISIBLE_DEVICES=%q, allocated %v", w.Name, env, w.GPUs)
		}
		got = append(got, w.GPUs[0])
	}
	slices.Sort(got)
	want := []string{devs[0].UUID, devs[1].UUID, devs[3].UUID, devs[4].UUID}
	if !slices.Equal(got, want) {
		t.Errorf("allocated GPUs %v, want %v (GPU 2 lacks free memory)", got, want)
	}
	for _, n := range []string{"worker-2", "worker-3", "worker-4"} {
		os.Remove(filepath.Join(dir, "notready-"+n))
	}
	eventually(t, "4 ready workers", func() bool { return observe(t0.Add(15*time.Second)).Ready() == 4 })

	// a killed worker is replaced, on the GPU it freed, and counted
	var victim WorkerInfo
	for _, w := range proc.Workers() {
		if w.Name == "worker-3" {
			victim = w
		}
	}
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the killed worker replaced", func() bool {
		// +26 s: it ran 11 s, longer than the crash window: replaced at once
		o := observe(t0.Add(26 * time.Second))
		return o.Restarts == 1 && o.Status == 4
	})
	var replaced bool
	for _, w := range proc.Workers() {
		if w.Name == "worker-5" && slices.Equal(w.GPUs, victim.GPUs) {
			replaced = true
		}
	}
	if !replaced {
		t.Errorf("worker-5 should run on %v: %+v", victim.GPUs, proc.Workers())
	}
	eventually(t, "4 ready workers again", func() bool { return observe(t0.Add(26*time.Second)).Ready() == 4 })

	// load drop: 60 s down-stabilisation keeps 4 until the window passes
	write(t, dir, "queue", "0")
	var scaledAt time.Duration
	for s := 30 * time.Second; s <= 120*time.Second; s += 15 * time.Second {
		if err := loop.Step(ctx, t0.Add(s)); err != nil {
			t.Fatal(err)
		}
		if loop.Status().Spec < 4 {
			scaledAt = s
			break
		}
	}
	if scaledAt != 75*time.Second {
		// the last recommendation of 4 was made at +15 s; the controller keeps
		// recommendations strictly after now-60s, so +75 s is the first reconcile
		// that no longer sees it (+30..+60 s are held at 4)
		t.Errorf("scaled in at +%s, want +75s (after the 60 s stabilisation window)", scaledAt)
	}
	if st := loop.Status(); st.Spec != 1 || st.ScaleDowns != 1 {
		t.Errorf("after the load drop: spec %d, scale-downs %d", st.Spec, st.ScaleDowns)
	}
	eventually(t, "3 workers stopped by SIGTERM", func() bool { return observe(t0.Add(76*time.Second)).Status == 1 })
	if o := observe(t0.Add(76 * time.Second)); o.Restarts != 1 {
		t.Errorf("a SIGTERMed worker counted as a crash: restarts %d", o.Restarts)
	}
}

// A worker that ignores SIGTERM is killed after the grace period, measured
// on the scaler's clock; Close leaves no process behind.
func TestProcessGraceThenKill(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write(t, dir, "ignoreterm", "")
	proc := newTestProcess(t, dir, nil, 0, 30*time.Second)
	if err := proc.Scale(ctx, t0, 2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "2 ready", func() bool { o, _ := proc.Observe(ctx, t0); return o.Ready() == 2 })
	pids := []int{}
	for _, w := range proc.Workers() {
		pids = append(pids, w.PID)
	}
	if err := proc.Scale(ctx, t0, 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the SIGTERM arrive (and be ignored)
	o, _ := proc.Observe(ctx, t0.Add(29*time.Second))
	if o.Status != 2 || !o.Pods[0].Deleting && !o.Pods[1].Deleting {
		t.Fatalf("within the grace period the worker must still run, marked deleting: %+v", o.Pods)
	}
	_, _ = proc.Observe(ctx, t0.Add(30*time.Second))
	eventually(t, "the worker SIGKILLed", func() bool { o, _ := proc.Observe(ctx, t0.Add(31*time.Second)); return o.Status == 1 })
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_ = proc.Close(cctx) // SIGTERM ignored: Close kills when its grace or ctx ends
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("worker pid %d still exists after Close: %v", pid, err)
		}
	}
}

func TestAllocate(t *testing.T) {
	devs := gpu.FakeGPUs(4, "x", 16)
	smp := []gpu.Sample{{UUID: devs[0].UUID, FBFreeBytes: gpu.U64(16 << 30)}, {UUID: devs[1].UUID, Lost: true},
		{UUID: devs[2].UUID}, {UUID: devs[3].UUID, FBFreeBytes: gpu.U64(8 << 30)}}
	if g, ok := Allocate(devs, smp, nil, 2, 4<<30); !ok || !slices.Equal(g, []string{devs[0].UUID, devs[3].UUID}) {
		t.Errorf("lost and unknown-memory GPUs are skipped: %v %v", g, ok)
	}
	if _, ok := Allocate(devs, smp, map[string]bool{devs[0].UUID: true}, 2, 4<<30); ok {
		t.Error("a used GPU was given out again")
	}
	if g, ok := Allocate(devs, smp, nil, 3, 0); !ok || !slices.Equal(g, []string{devs[0].UUID, devs[2].UUID, devs[3].UUID}) {
		t.Errorf("without a memory floor unknown memory is fine: %v", g)
	}
	mig := []gpu.Device{{UUID: "GPU-a", MIGEnabled: true}, {UUID: "MIG-a", ParentUUID: "GPU-a"}}
	if g, ok := Allocate(mig, nil, nil, 1, 0); !ok || g[0] != "MIG-a" {
		t.Errorf("a MIG parent is not allocated, its instances are: %v", g)
	}
}

// A worker that dies at once is replaced after a back-off that doubles (the
// kubelet's CrashLoopBackOff), not at every tick.
func TestProcessCrashLoopBackOff(t *testing.T) {
	ctx := context.Background()
	p, err := NewProcess(ProcessConfig{Name: "w", Command: []string{"sh", "-c", "exit 3"}, Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(ctx) })
	if err := p.Scale(ctx, t0, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first crash", func() bool { o, _ := p.Observe(ctx, t0.Add(time.Second)); return o.Restarts == 1 })
	o, _ := p.Observe(ctx, t0.Add(2*time.Second))
	if len(o.Pods) != 1 || o.Pods[0].Phase != corev1.PodPending {
		t.Fatalf("within the back-off the replacement must wait (pending): %+v", o.Pods)
	}
	// back-off 10 s from the crash seen at +1 s: started at +11 s, crashes again
	eventually(t, "the second crash", func() bool { o, _ := p.Observe(ctx, t0.Add(11*time.Second)); return o.Restarts == 2 })
	// now 20 s: still pending at +30 s, started at +31 s
	if o, _ := p.Observe(ctx, t0.Add(30*time.Second)); o.Pods[0].Phase != corev1.PodPending {
		t.Errorf("the back-off must double: %+v", o.Pods)
	}
	eventually(t, "the third crash", func() bool { o, _ := p.Observe(ctx, t0.Add(31*time.Second)); return o.Restarts == 3 })
}
