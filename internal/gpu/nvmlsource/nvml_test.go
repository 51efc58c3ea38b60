//go:build linux && cgo

package nvmlsource

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"

	"github.com/mlscale/mlscale/internal/gpu"
)

// stubReadings gives every dgxa100 device the readings the DGX fake does not
// stub (utilisation, power, temperature, processes).
func stubReadings(srv *dgxa100.Server) {
	for i, d := range srv.Devices {
		dev := d.(*dgxa100.Device)
		pct := uint32(10 * i)
		dev.UUID = "GPU-test-" + string(rune('0'+i))
		dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: pct, Memory: pct / 2}, nvml.SUCCESS
		}
		dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 250_500, nvml.SUCCESS }
		dev.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 61, nvml.SUCCESS }
		dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			return []nvml.ProcessInfo{{Pid: 4242, UsedGpuMemory: 1 << 30}}, nvml.SUCCESS
		}
	}
}

func TestOpenDGXA100(t *testing.T) {
	srv := dgxa100.New()
	stubReadings(srv)
	src, err := Open(WithLibrary(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	devs, err := src.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 8 {
		t.Fatalf("devices: got %d, want 8", len(devs))
	}
	if devs[3].UUID != "GPU-test-3" || !strings.Contains(devs[3].Name, "A100") || devs[3].MemoryTotalBytes != 40<<30 && devs[3].MemoryTotalBytes == 0 {
		t.Errorf("device 3: %+v", devs[3])
	}
	if devs[3].Index != 3 || devs[3].IsMIG() || devs[3].MIGEnabled {
		t.Errorf("device 3 identity: %+v", devs[3])
	}
	smp, err := src.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := smp[3]
	if s.GPUUtilPercent == nil || *s.GPUUtilPercent != 30 || s.MemUtilPercent == nil || *s.MemUtilPercent != 15 {
		t.Errorf("utilisation: %v %v", s.GPUUtilPercent, s.MemUtilPercent)
	}
	if s.PowerWatts == nil || *s.PowerWatts != 250.5 {
		t.Errorf("power: %v", s.PowerWatts)
	}
	if s.TemperatureC == nil || *s.TemperatureC != 61 {
		t.Errorf("temperature: %v", s.TemperatureC)
	}
	if s.FBTotalBytes == nil || *s.FBTotalBytes != devs[3].MemoryTotalBytes {
		t.Errorf("fb total: %v", s.FBTotalBytes)
	}
	if !s.ProcessesKnown || len(s.Processes) != 1 || s.Processes[0].PID != 4242 || *s.Processes[0].UsedMemBytes != 1<<30 {
		t.Errorf("processes: %+v", s.Processes)
	}
	if s.Lost || s.Err != "" {
		t.Errorf("lost %v err %q", s.Lost, s.Err)
	}
}

func TestNotSupportedIsAbsentNotZero(t *testing.T) {
	srv := dgxa100.New()
	stubReadings(srv)
	dev := srv.Devices[0].(*dgxa100.Device)
	dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED }
	dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.ERROR_NOT_FOUND }
	src, err := Open(WithLibrary(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	smp, _ := src.Sample(context.Background())
	if smp[0].GPUUtilPercent != nil || smp[0].MemUtilPercent != nil || smp[0].PowerWatts != nil {
		t.Errorf("unsupported readings must be absent: %+v", smp[0])
	}
	if smp[0].TemperatureC == nil || !smp[0].ProcessesKnown || len(smp[0].Processes) != 0 || smp[0].Err != "" {
		t.Errorf("other readings: %+v", smp[0])
	}
}

func TestLostGPU(t *testing.T) {
	srv := dgxa100.New()
	stubReadings(srv)
	dev := srv.Devices[5].(*dgxa100.Device)
	dev.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) { return nvml.Memory{}, nvml.ERROR_GPU_IS_LOST }
	src, err := Open(WithLibrary(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	smp, _ := src.Sample(context.Background())
	if !smp[5].Lost || smp[5].GPUUtilPercent != nil || smp[5].FBUsedBytes != nil {
		t.Errorf("lost GPU: %+v", smp[5])
	}
	if smp[4].Lost || smp[4].GPUUtilPercent == nil {
		t.Errorf("healthy neighbour: %+v", smp[4])
	}
	if n := len(dev.GetUtilizationRatesCalls()); n != 0 {
		t.Errorf("a lost GPU was asked for utilisation %d times", n)
	}
}

func TestMIGInstances(t *testing.T) {
	srv := dgxa100.New()
	stubReadings(srv)
	dev := srv.Devices[0].(*dgxa100.Device)
	if ret, _ := dev.SetMigMode(nvml.DEVICE_MIG_ENABLE); ret != nvml.SUCCESS {
		t.Fatal(ret)
	}
	mig := &mock.Device{
		GetUUIDFunc:              func() (string, nvml.Return) { return "MIG-test-0", nvml.SUCCESS },
		GetNameFunc:              func() (string, nvml.Return) { return "NVIDIA A100-SXM4-40GB MIG 1g.5gb", nvml.SUCCESS },
		GetGpuInstanceIdFunc:     func() (int, nvml.Return) { return 7, nvml.SUCCESS },
		GetComputeInstanceIdFunc: func() (int, nvml.Return) { return 0, nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: 5 << 30, Used: 1 << 30, Free: 4 << 30}, nvml.SUCCESS
		},
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) { return nil, nvml.SUCCESS },
	}
	dev.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 3, nvml.SUCCESS }
	dev.GetMigDeviceHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i == 1 {
			return mig, nvml.SUCCESS
		}
		return nil, nvml.ERROR_NOT_FOUND // empty slots are skipped
	}
	src, err := Open(WithLibrary(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	devs, _ := src.Devices(context.Background())
	if len(devs) != 9 {
		t.Fatalf("devices: got %d, want 8 GPUs + 1 MIG instance", len(devs))
	}
	m := devs[1]
	if !devs[0].MIGEnabled || m.UUID != "MIG-test-0" || m.ParentUUID != devs[0].UUID || m.GPUInstanceID != 7 || m.MIGProfile != "1g.5gb" || m.MemoryTotalBytes != 5<<30 {
		t.Errorf("MIG device: %+v", m)
	}
	smp, _ := src.Sample(context.Background())
	if smp[0].GPUUtilPercent != nil || smp[1].GPUUtilPercent != nil {
		t.Errorf("MIG utilisation must be absent: %v %v", smp[0].GPUUtilPercent, smp[1].GPUUtilPercent)
	}
	if smp[1].FBFreeBytes == nil || *smp[1].FBFreeBytes != 4<<30 {
		t.Errorf("MIG memory: %+v", smp[1])
	}
	if n := len(dev.GetUtilizationRatesCalls()); n != 0 {
		t.Errorf("utilisation asked of a MIG-enabled GPU %d times", n)
	}
}

func TestInitFailureCallsNothingElse(t *testing.T) {
	for _, tc := range []struct {
		ret  nvml.Return
		want string
		unav bool
	}{
		{nvml.ERROR_LIBRARY_NOT_FOUND, "NVML not found", true},
		{nvml.ERROR_DRIVER_NOT_LOADED, "driver is not loaded", true},
		{nvml.ERROR_NO_PERMISSION, "no permission", true},
		{nvml.ERROR_UNKNOWN, "NVML init", false},
	} {
		m := &mock.Interface{InitFunc: func() nvml.Return { return tc.ret }}
		src, err := Open(WithLibrary(m))
		if err == nil || src != nil {
			t.Fatalf("%v: Open succeeded", tc.ret)
		}
		if errors.Is(err, gpu.ErrUnavailable) != tc.unav || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v", tc.ret, err)
		}
		// any call after a failed Init aborts the process: none may happen
		if len(m.DeviceGetCountCalls()) != 0 || len(m.ShutdownCalls()) != 0 || len(m.InitCalls()) != 1 {
			t.Errorf("%v: calls after a failed Init", tc.ret)
		}
	}
}

func TestCloseOnceThenClosed(t *testing.T) {
	srv := dgxa100.New()
	stubReadings(srv)
	calls := 0
	srv.ShutdownFunc = func() nvml.Return { calls++; return nvml.SUCCESS }
	src, err := Open(WithLibrary(srv))
	if err != nil {
		t.Fatal(err)
	}
	_ = src.Close()
	_ = src.Close()
	if calls != 1 {
		t.Errorf("Shutdown called %d times", calls)
	}
	if _, err := src.Sample(context.Background()); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("Sample after Close: %v", err)
	}
}

// The real loader on this machine: without a driver Init reports the library
// missing, and the message carries the loader's reason.
func TestRealLibraryMissing(t *testing.T) {
	src, err := Open(WithLibraryPath("/nonexistent/libnvidia-ml.so.1"))
	if err == nil {
		src.Close()
		t.Skip("NVML loaded from a nonexistent path?")
	}
	if !errors.Is(err, gpu.ErrUnavailable) || !strings.Contains(err.Error(), "/nonexistent/libnvidia-ml.so.1") {
		t.Errorf("error: %v", err)
	}
}

func BenchmarkSample8(b *testing.B) {
	srv := dgxa100.New()
	stubReadings(srv)
	src, err := Open(WithLibrary(srv))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Sample(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRealNVML samples every GPU of this machine through the real
// libnvidia-ml (the goal: under 5 ms for all GPUs). It skips where
// NVML is missing; hack/gpu-smoke.sh runs it on a GPU machine.
func BenchmarkRealNVML(b *testing.B) {
	src, err := Open()
	if err != nil {
		b.Skip(err)
	}
	defer src.Close()
	devs, _ := src.Devices(context.Background())
	b.ReportMetric(float64(len(devs)), "devices")
	ctx := context.Background()
	for b.Loop() {
		if _, err := src.Sample(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
