//go:build linux && cgo

package nvmlsource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/dl"
	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/mlscale/mlscale/internal/gpu"
)

// Supported reports whether this build can talk to NVML at all.
const Supported = true

const defaultLibrary = "libnvidia-ml.so.1"

// Option configures Open.
type Option func(*options)

type options struct {
	lib  nvml.Interface
	path string
	now  func() time.Time
}

// WithLibraryPath loads NVML from path instead of libnvidia-ml.so.1.
func WithLibraryPath(path string) Option { return func(o *options) { o.path = path } }

// WithLibrary uses lib (a go-nvml mock in tests) instead of loading NVML.
func WithLibrary(lib nvml.Interface) Option { return func(o *options) { o.lib = lib } }

// WithClock stamps samples with now (time.Now by default).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Source is an initialised NVML session. It exists only after a successful
// Init (see Open).
type Source struct {
	lib nvml.Interface
	now func() time.Time

	mu      sync.Mutex
	closed  bool
	devices []gpu.Device
	handles []nvml.Device
	once    sync.Once
}

var _ gpu.Source = (*Source)(nil)

// Open initialises NVML and enumerates the devices. It returns an error
// wrapping gpu.ErrUnavailable when NVML or the driver is missing or not
// usable, with the loader's reason when there is one.
func Open(opts ...Option) (gpu.Source, error) {
	o := options{now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	lib := o.lib
	if lib == nil {
		var nopts []nvml.LibraryOption
		if o.path != "" {
			nopts = append(nopts, nvml.WithLibraryPath(o.path))
		}
		lib = nvml.New(nopts...)
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return nil, initError(ret, o)
	}
	s := &Source{lib: lib, now: o.now}
	if err := s.enumerate(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// initError explains a failed Init. Only Init was called: nothing else may
// be (see the package doc).
func initError(ret nvml.Return, o options) error {
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		reason := "libnvidia-ml.so.1 (the NVIDIA driver's NVML library) was not found"
		if o.lib == nil {
			name := defaultLibrary
			if o.path != "" {
				name = o.path
			}
			lib := dl.New(name, dl.RTLD_LAZY|dl.RTLD_GLOBAL)
			if err := lib.Open(); err != nil {
				reason = err.Error()
			} else {
				_ = lib.Close()
			}
		}
		return fmt.Errorf("%w: NVML not found: %s; is the NVIDIA driver installed (or, in a container, the NVIDIA runtime set)?", gpu.ErrUnavailable, reason)
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return fmt.Errorf("%w: NVML is installed but the NVIDIA kernel driver is not loaded (%v)", gpu.ErrUnavailable, ret)
	case nvml.ERROR_NO_PERMISSION:
		return fmt.Errorf("%w: no permission to open the NVIDIA devices (%v)", gpu.ErrUnavailable, ret)
	case nvml.ERROR_LIB_RM_VERSION_MISMATCH:
		return fmt.Errorf("%w: the NVML library does not match the loaded kernel driver; reboot or reload the driver (%v)", gpu.ErrUnavailable, ret)
	}
	return fmt.Errorf("NVML init: %w", ret)
}

func (s *Source) enumerate() error {
	n, ret := s.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return fmt.Errorf("NVML device count: %w", ret)
	}
	for i := 0; i < n; i++ {
		h, ret := s.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("NVML device %d: %w", i, ret)
		}
		d := gpu.Device{Index: i, MinorNumber: -1, GPUInstanceID: -1, ComputeInstanceID: -1}
		if d.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
			return fmt.Errorf("NVML device %d uuid: %w", i, ret)
		}
		d.Name, _ = h.GetName()
		if m, ret := h.GetMinorNumber(); ret == nvml.SUCCESS {
			d.MinorNumber = m
		}
		if p, ret := h.GetPciInfo(); ret == nvml.SUCCESS {
			d.PCIBusID = busID(p)
		}
		if m, ret := h.GetMemoryInfo(); ret == nvml.SUCCESS {
			d.MemoryTotalBytes = m.Total
		}
		cur, _, ret := h.GetMigMode()
		d.MIGEnabled = ret == nvml.SUCCESS && cur == nvml.DEVICE_MIG_ENABLE
		s.devices = append(s.devices, d)
		s.handles = append(s.handles, h)
		if d.MIGEnabled {
			if err := s.enumerateMIG(h, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Source) enumerateMIG(parent nvml.Device, pd gpu.Device) error {
	max, ret := parent.GetMaxMigDeviceCount()
	if ret != nvml.SUCCESS {
		return fmt.Errorf("NVML device %d MIG count: %w", pd.Index, ret)
	}
	for j := 0; j < max; j++ {
		h, ret := parent.GetMigDeviceHandleByIndex(j)
		if ret == nvml.ERROR_NOT_FOUND || ret == nvml.ERROR_INVALID_ARGUMENT {
			continue // an empty slot (go-nvlib's VisitMigDevices)
		}
		if ret != nvml.SUCCESS {
			return fmt.Errorf("NVML device %d MIG %d: %w", pd.Index, j, ret)
		}
		d := gpu.Device{Index: len(s.devices), ParentUUID: pd.UUID, PCIBusID: pd.PCIBusID, MinorNumber: pd.MinorNumber,
			GPUInstanceID: -1, ComputeInstanceID: -1}
		if d.UUID, ret = h.GetUUID(); ret != nvml.SUCCESS {
			return fmt.Errorf("NVML device %d MIG %d uuid: %w", pd.Index, j, ret)
		}
		d.Name, _ = h.GetName()
		if d.Name == "" {
			d.Name = pd.Name
		}
		if gi, ret := h.GetGpuInstanceId(); ret == nvml.SUCCESS {
			d.GPUInstanceID = gi
		}
		if ci, ret := h.GetComputeInstanceId(); ret == nvml.SUCCESS {
			d.ComputeInstanceID = ci
		}
		if m, ret := h.GetMemoryInfo(); ret == nvml.SUCCESS {
			d.MemoryTotalBytes = m.Total
			d.MIGProfile = migProfile(d.Name, m.Total)
		}
		s.devices = append(s.devices, d)
		s.handles = append(s.handles, h)
	}
	return nil
}

// migProfile reads the profile from a MIG device name such as
// "NVIDIA A100-SXM4-40GB MIG 1g.5gb"; "" when the name has none.
func migProfile(name string, _ uint64) string {
	if i := strings.LastIndex(name, "MIG "); i >= 0 {
		return strings.TrimSpace(name[i+4:])
	}
	return ""
}

func busID(p nvml.PciInfo) string {
	b := make([]byte, 0, len(p.BusId))
	for _, c := range p.BusId {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	if len(b) == 0 {
		return fmt.Sprintf("%08X:%02X:%02X.0", p.Domain, p.Bus, p.Device)
	}
	return string(b)
}

// Devices returns the GPUs and MIG instances found at Open.
func (s *Source) Devices(context.Context) ([]gpu.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, gpu.ErrClosed
	}
	return append([]gpu.Device(nil), s.devices...), nil
}

// Sample reads every device once.
func (s *Source) Sample(ctx context.Context) ([]gpu.Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, gpu.ErrClosed
	}
	now := s.now()
	out := make([]gpu.Sample, len(s.devices))
	for i := range s.devices {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = sampleDevice(s.handles[i], &s.devices[i], now)
	}
	return out, nil
}

// reading classifies a return code: ok, absent (not supported), lost, or an
// unexpected error.
type reading struct {
	lost bool
	err  string
}

func (r *reading) check(what string, ret nvml.Return) bool {
	switch ret {
	case nvml.SUCCESS:
		return true
	case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_NOT_FOUND:
		return false
	case nvml.ERROR_GPU_IS_LOST:
		r.lost = true
	default:
		if r.err == "" {
			r.err = what + ": " + ret.Error()
		}
	}
	return false
}

func sampleDevice(h nvml.Device, d *gpu.Device, now time.Time) gpu.Sample {
	smp := gpu.Sample{UUID: d.UUID, At: now}
	var r reading
	if m, ret := h.GetMemoryInfo(); r.check("memory", ret) {
		smp.FBUsedBytes, smp.FBFreeBytes, smp.FBTotalBytes = gpu.U64(m.Used), gpu.U64(m.Free), gpu.U64(m.Total)
		if m.Total > m.Used+m.Free {
			smp.FBReservedBytes = gpu.U64(m.Total - m.Used - m.Free)
		}
	}
	if !r.lost && !d.MIGEnabled && !d.IsMIG() {
		// NVML reports no utilisation for MIG instances or a MIG-enabled GPU.
		if u, ret := h.GetUtilizationRates(); r.check("utilization", ret) {
			smp.GPUUtilPercent, smp.MemUtilPercent = gpu.F64(float64(u.Gpu)), gpu.F64(float64(u.Memory))
		}
	}
	if !r.lost && !d.IsMIG() {
		if p, ret := h.GetPowerUsage(); r.check("power", ret) {
			smp.PowerWatts = gpu.F64(float64(p) / 1000)
		}
	}
	if !r.lost && !d.IsMIG() {
		if t, ret := h.GetTemperature(nvml.TEMPERATURE_GPU); r.check("temperature", ret) {
			smp.TemperatureC = gpu.F64(float64(t))
		}
	}
	if !r.lost {
		ps, ret := h.GetComputeRunningProcesses()
		if ret == nvml.ERROR_NOT_FOUND {
			smp.ProcessesKnown = true
		} else if r.check("processes", ret) {
			smp.ProcessesKnown = true
			for _, p := range ps {
				pr := gpu.Process{PID: p.Pid}
				// NVML_VALUE_NOT_AVAILABLE (all ones) when the memory is unknown.
				if p.UsedGpuMemory != ^uint64(0) {
					pr.UsedMemBytes = gpu.U64(p.UsedGpuMemory)
				}
				smp.Processes = append(smp.Processes, pr)
			}
		}
	}
	if r.lost {
		return gpu.Sample{UUID: d.UUID, At: now, Lost: true}
	}
	smp.Err = r.err
	return smp
}

// Close shuts NVML down once.
func (s *Source) Close() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		if ret := s.lib.Shutdown(); ret != nvml.SUCCESS {
			err = fmt.Errorf("NVML shutdown: %w", ret)
		}
	})
	return err
}

// IsUnavailable reports whether err says that NVML cannot be used here.
func IsUnavailable(err error) bool { return errors.Is(err, gpu.ErrUnavailable) }
