// Package gpu is mlscale's view of the local GPUs: the devices and one
// sample per device, behind a small interface (Source) that the live scaler,
// the exporter and the tests depend on. It imports no cgo: the NVML adapter
// lives in internal/gpu/nvmlsource (linux && cgo only); this package holds
// the contract, a scripted Fake and the Null source (no GPUs).
//
// Unsupported readings are absent (nil), never 0: a MIG-enabled GPU reports
// no utilisation through NVML, and a 0 there would scale a busy workload in.
package gpu

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable means there is no GPU telemetry on this machine: NVML is
// not installed, the driver is not loaded, permission was denied, or the
// binary was built without cgo. Errors wrap it with the reason.
var ErrUnavailable = errors.New("gpu telemetry unavailable")

// Device is one GPU or MIG instance.
type Device struct {
	Index            int
	UUID             string // "GPU-…" or "MIG-…"
	Name             string
	PCIBusID         string
	MemoryTotalBytes uint64
	// MinorNumber is the /dev/nvidiaN number (-1 when unknown).
	MinorNumber int
	// ParentUUID is set for MIG instances.
	ParentUUID string
	// GPUInstanceID and ComputeInstanceID are -1 on a full GPU.
	GPUInstanceID, ComputeInstanceID int
	// MIGProfile is e.g. "1g.10gb" for a MIG instance.
	MIGProfile string
	// MIGEnabled: the (full) GPU runs in MIG mode; its MIG instances are
	// listed as their own Devices.
	MIGEnabled bool
}

// IsMIG reports whether the device is a MIG instance.
func (d *Device) IsMIG() bool { return d.ParentUUID != "" }

// Process is a compute process on a device.
type Process struct {
	PID          uint32
	UsedMemBytes *uint64 // nil: not reported (e.g. without permission)
	// SMUtilPercent is the process's SM utilisation; nil when not reported.
	SMUtilPercent *uint32
}

// Sample is one device's readings at one time. Pointer fields are nil when
// the device cannot report them.
type Sample struct {
	UUID string
	At   time.Time
	// GPUUtilPercent and MemUtilPercent are NVML's utilisation rates (0–100)
	// over the driver's last sample period.
	GPUUtilPercent *float64
	MemUtilPercent *float64
	// Framebuffer memory in bytes.
	FBUsedBytes, FBFreeBytes, FBTotalBytes *uint64
	FBReservedBytes                        *uint64
	PowerWatts                             *float64
	TemperatureC                           *float64
	Processes                              []Process
	// ProcessesKnown: Processes was read (an empty list means none run).
	ProcessesKnown bool
	// Lost: the GPU fell off the bus (NVML_ERROR_GPU_IS_LOST); the other
	// fields are absent.
	Lost bool
	// Err is the first unexpected error while sampling this device ("" when
	// none); the fields it affected are absent.
	Err string
}

// Source is where GPU devices and samples come from.
type Source interface {
	// Devices lists the GPUs and MIG instances (MIG instances after their
	// parent), in index order.
	Devices(ctx context.Context) ([]Device, error)
	// Sample reads every device once, index-aligned with Devices.
	Sample(ctx context.Context) ([]Sample, error)
	// Close releases the source; later calls fail.
	Close() error
}

// ErrClosed is returned by a closed source.
var ErrClosed = errors.New("gpu source closed")

// Null is a source with no GPUs: the machine has none, or GPU telemetry is
// off. (The device plugin's null manager.)
type Null struct{}

// Devices returns no device.
func (Null) Devices(context.Context) ([]Device, error) { return nil, nil }

// Sample returns no sample.
func (Null) Sample(context.Context) ([]Sample, error) { return nil, nil }

// Close does nothing.
func (Null) Close() error { return nil }

// F64 and U64 return pointers, for building samples.
func F64(v float64) *float64 { return &v }

// U64 returns a pointer to v.
func U64(v uint64) *uint64 { return &v }

// FreeBytes is the device's free framebuffer memory from a sample, falling
// back to the device total when the sample has no memory reading.
func FreeBytes(d *Device, s *Sample) (uint64, bool) {
	if s == nil || s.Lost {
		return 0, false
	}
	if s.FBFreeBytes != nil {
		return *s.FBFreeBytes, true
	}
	if s.FBUsedBytes != nil && d.MemoryTotalBytes >= *s.FBUsedBytes {
		return d.MemoryTotalBytes - *s.FBUsedBytes, true
	}
	return 0, false
}
