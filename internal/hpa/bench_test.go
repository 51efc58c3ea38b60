package hpa

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// benchInput is a 3-metric HPA (CPU utilisation, a Pods metric, an External
// metric) over 50 pods of one template, steady at its target.
func benchInput(behavior bool) *Input {
	const n = 50
	spec := &corev1.PodSpec{Containers: []corev1.Container{
		{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *q("1")}}},
		{Name: "proxy", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *q("100m")}}},
	}}
	pods := make([]Pod, n)
	cpu := MetricInput{Items: n, Samples: make([]PodSample, n)}
	qd := MetricInput{Items: n, Samples: make([]PodSample, n)}
	for i := range pods {
		pods[i] = Pod{Name: fmt.Sprintf("web-%d", i), Phase: corev1.PodRunning, Ready: corev1.ConditionTrue,
			ReadyTransitionTime: t0.Add(-time.Hour), StartTime: t0.Add(-time.Hour), Spec: spec,
			Labels: map[string]string{"app": "web"}}
		cpu.Samples[i] = PodSample{Present: true, Milli: 550 + int64(i%7), Timestamp: t0, Window: 30 * time.Second}
		qd.Samples[i] = PodSample{Present: true, Milli: 10000 + int64(i%3)*10, Timestamp: t0, Window: time.Minute}
	}
	h := newHPA(cpuUtil(50), podsMetric("inference_queue_depth", 10000), externalValue("s0-rabbitmq", 50000*n))
	h.Spec.MinReplicas = i32(1)
	h.Spec.MaxReplicas = 100
	if behavior {
		h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
	}
	return &Input{HPA: h, Scale: Scale{SpecReplicas: n, StatusReplicas: n, Selector: "app=web"}, Pods: pods,
		Metrics: []MetricInput{cpu, qd, {Values: []int64{50000 * n}}}, Config: DefaultConfig(37), Now: t0}
}

func benchReconcile(b *testing.B, behavior bool) {
	in := benchInput(behavior)
	var st State
	d := Reconcile(in, &st) // warm the state
	if d.Rescale || d.Stage != StageComputed || len(d.Metrics) != 3 {
		b.Fatalf("benchmark input is not steady: %+v", d)
	}
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	b.ResetTimer()
	for b.Loop() {
		in.Now = in.Now.Add(15 * time.Second)
		d = Reconcile(in, &st)
	}
	b.StopTimer()
	// On a shared machine wall time includes time other processes ran; the
	// thread's own CPU time per decision is the steadier figure.
	if cpu := threadCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	if d.Rescale || d.DesiredReplicas != 50 {
		b.Fatalf("decision moved: %+v", d)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// threadCPU is the calling OS thread's user+system CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkReconcile3Metrics50Pods(b *testing.B)         { benchReconcile(b, false) }
func BenchmarkReconcile3Metrics50PodsBehavior(b *testing.B) { benchReconcile(b, true) }

func TestSteadyStateAllocatesNothing(t *testing.T) {
	for _, behavior := range []bool{false, true} {
		in := benchInput(behavior)
		var st State
		Reconcile(in, &st)
		for range 30 { // fill the history up to its steady length
			in.Now = in.Now.Add(15 * time.Second)
			Reconcile(in, &st)
		}
		allocs := testing.AllocsPerRun(100, func() {
			in.Now = in.Now.Add(15 * time.Second)
			Reconcile(in, &st)
		})
		if allocs != 0 {
			t.Errorf("behavior=%v: %.1f allocations per steady-state reconcile, want 0", behavior, allocs)
		}
	}
}
