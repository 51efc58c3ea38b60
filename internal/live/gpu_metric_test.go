package live

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlscale/mlscale/internal/gpu"
)

// The HPA on DCGM_FI_DEV_GPU_UTIL (what generate renders for
// gpuUtilization) is answered from the GPU source: each pod's value is its
// GPUs' utilisation; a lost GPU gives its pod no sample.
func TestHPAOnGPUUtilisation(t *testing.T) {
	devs := gpu.FakeGPUs(3, "Fake H100", 80)
	fake := gpu.NewFake(devs, []gpu.Sample{{GPUUtilPercent: gpu.F64(90)}, {GPUUtilPercent: gpu.F64(80)}, {Lost: true}})
	fake.SetClock(func() time.Time { return t0 })
	avg := resource.MustParse("50")
	h := queueHPA(1, 10, 0)
	h.Spec.Metrics[0].Pods.Metric.Name = "DCGM_FI_DEV_GPU_UTIL"
	h.Spec.Metrics[0].Pods.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &avg}
	tgt := &gpuFakeTarget{fakeTarget: fakeTarget{spec: 3}, devs: devs}
	loop, err := NewLoop(Config{HPA: h, Target: tgt, GPU: fake})
	if err != nil {
		t.Fatal(err)
	}
	if !loop.NeedsGPU() {
		t.Error("a GPU-utilisation policy must report that it needs the GPUs")
	}
	if err := loop.Step(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	// samples 90 and 80 on 2 of 3 pods (the third pod's GPU is lost): the
	// current value is 85 (pods with samples); on a scale-up the controller
	// counts the missing pod as 0: 170/3 = 56.7 per pod, 3 * 56.7/50 -> 4
	st := loop.Status()
	if tgt.spec != 4 || !st.Metrics[0].HasValue || st.Metrics[0].Value != 85 {
		t.Errorf("spec %d, metric %+v", tgt.spec, st.Metrics)
	}
}

// A KEDA prometheus trigger on dcgm-exporter's series (generate's
// gpuUtilization in KEDA mode) is answered from the GPU source: the sum over
// the workers' GPUs.
func TestKEDAPrometheusGPUTriggerFromNVML(t *testing.T) {
	devs := gpu.FakeGPUs(2, "Fake H100", 80)
	fake := gpu.NewFake(devs)
	fake.SetUtil(100, 60)
	fake.SetClock(func() time.Time { return t0 })
	so := rabbitSO(1, 10, false)
	so.Spec.Triggers[0].Type = "prometheus"
	so.Spec.Triggers[0].Metadata = map[string]string{"serverAddress": "http://127.0.0.1:1", "threshold": "50",
		"query": `sum(DCGM_FI_DEV_GPU_UTIL{exported_namespace="default",exported_pod=~"batch-.*"})`}
	tgt := &gpuFakeTarget{fakeTarget: fakeTarget{spec: 2}, devs: devs}
	loop, err := NewLoop(Config{ScaledObject: so, Target: tgt, GPU: fake})
	if err != nil {
		t.Fatal(err)
	}
	if !loop.NeedsGPU() {
		t.Error("NeedsGPU")
	}
	if err := loop.Step(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	// sum 160 / threshold 50 (AverageValue) -> ceil(3.2) = 4; legacy HPA
	// limit max(2*2, 4) = 4
	if tgt.spec != 4 {
		t.Errorf("spec %d (scales %v), metrics %+v", tgt.spec, tgt.scales, loop.Status().Metrics)
	}
	for _, s := range loop.Status().Sources {
		if s.Err != "" {
			t.Errorf("source %s failed: %s (the server address must not be contacted)", s.Name, s.Err)
		}
	}
}
