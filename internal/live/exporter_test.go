package live

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mlscale/mlscale/internal/gpu"
)

func TestExporterGPUNamesAndScalerMetrics(t *testing.T) {
	devs := gpu.FakeGPUs(2, "NVIDIA H100 80GB HBM3", 80)
	fake := gpu.NewFake(devs, []gpu.Sample{
		{GPUUtilPercent: gpu.F64(87), FBUsedBytes: gpu.U64(3 << 30), PowerWatts: gpu.F64(301.5), ProcessesKnown: true, Processes: []gpu.Process{{PID: 1}}},
		{GPUUtilPercent: nil, FBUsedBytes: gpu.U64(0)}, // no utilisation: absent, not 0
	})
	tgt := &fakeTarget{spec: 1, metrics: workerMetricsServer(t, 40)}
	loop, err := NewLoop(Config{HPA: queueHPA(1, 4, 0), Target: tgt, GPU: fake})
	if err != nil {
		t.Fatal(err)
	}
	ready := NewExporter(loop, "llm", CompatDCGM).Handler(func() time.Time { return t0 })
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 {
		t.Errorf("readyz before the first step: %d", rec.Code)
	}
	if err := loop.Step(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("readyz after a step: %d", rec.Code)
	}

	dcgm := NewExporter(loop, "llm", CompatDCGM)
	dbody := scrapeBody(t, dcgm.Handler(time.Now))
	for _, line := range []string{
		`# TYPE DCGM_FI_DEV_GPU_UTIL gauge`,
		`DCGM_FI_DEV_GPU_UTIL{GPU_I_ID="",GPU_I_PROFILE="",UUID="GPU-fake-0000",device="nvidia0",gpu="0",modelName="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:10:00.0"} 87`,
		`DCGM_FI_DEV_FB_USED{GPU_I_ID="",GPU_I_PROFILE="",UUID="GPU-fake-0000",device="nvidia0",gpu="0",modelName="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:10:00.0"} 3072`,
		`DCGM_FI_DEV_FB_USED{GPU_I_ID="",GPU_I_PROFILE="",UUID="GPU-fake-0001",device="nvidia1",gpu="1",modelName="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:11:00.0"} 0`,
		`DCGM_FI_DEV_POWER_USAGE{GPU_I_ID="",GPU_I_PROFILE="",UUID="GPU-fake-0000",device="nvidia0",gpu="0",modelName="NVIDIA H100 80GB HBM3",pci_bus_id="00000000:10:00.0"} 301.5`,
		`mlscale_desired_replicas{workload="llm"} 4`,
		`mlscale_metric_value{metric="pods metric inference_queue_depth",workload="llm"} 40`,
		`mlscale_scale_events_total{direction="up",workload="llm"} 1`,
		`mlscale_scale_events_total{direction="down",workload="llm"} 0`,
	} {
		if !strings.Contains(dbody, line+"\n") {
			t.Errorf("missing %s", line)
		}
	}
	if strings.Contains(dbody, `DCGM_FI_DEV_GPU_UTIL{GPU_I_ID="",GPU_I_PROFILE="",UUID="GPU-fake-0001"`) {
		t.Error("a GPU without a utilisation reading must have no utilisation series")
	}
	if t.Failed() {
		t.Log(dbody)
	}
	def := NewExporter(loop, "llm", CompatMLScale)
	body := scrapeBody(t, def.Handler(time.Now))
	if !strings.Contains(body, `mlscale_gpu_utilization{GPU_I_ID="",GPU_I_PROFILE="",UUID="GPU-fake-0000"`) || strings.Contains(body, "DCGM_FI_") {
		t.Errorf("default names:\n%s", body)
	}
	if strings.Contains(body, `mlscale_gpu_utilization{GPU_I_ID="",GPU_I_PROFILE="",UUID="GPU-fake-0001"`) {
		t.Error("a GPU without a utilisation reading must have no utilisation series")
	}
	if !strings.Contains(body, `mlscale_gpu_processes{`) || !strings.Contains(body, `mlscale_source_age_seconds{source="nvml",workload="llm"}`) {
		t.Errorf("process count or source age missing:\n%s", body)
	}
}

func scrapeBody(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
