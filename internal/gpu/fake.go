package gpu

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Fake is a scripted Source for tests, demos and machines without GPUs. It
// replays a script of samples, one step per Sample call (the last step
// repeats), or serves what Set last stored. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	devices []Device
	script  [][]Sample
	step    int
	now     func() time.Time
	closed  bool
	err     error
	calls   int
}

// NewFake returns a Fake with the given devices and script (each step
// index-aligned with devices). Without a script every device samples idle:
// 0 % utilisation and all memory free.
func NewFake(devices []Device, script ...[]Sample) *Fake {
	return &Fake{devices: append([]Device(nil), devices...), script: script, now: time.Now}
}

// FakeGPUs returns n full GPUs named name with memGiB of memory each.
func FakeGPUs(n int, name string, memGiB uint64) []Device {
	out := make([]Device, n)
	for i := range out {
		out[i] = Device{
			Index: i, UUID: fmt.Sprintf("GPU-fake-%04d", i), Name: name,
			PCIBusID:         fmt.Sprintf("00000000:%02X:00.0", 0x10+i),
			MemoryTotalBytes: memGiB << 30, MinorNumber: i, GPUInstanceID: -1, ComputeInstanceID: -1,
		}
	}
	return out
}

// SetClock sets the clock stamped on samples (time.Now by default).
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	f.now = now
	f.mu.Unlock()
}

// Set replaces the script with one step that repeats.
func (f *Fake) Set(samples []Sample) {
	f.mu.Lock()
	f.script, f.step = [][]Sample{samples}, 0
	f.mu.Unlock()
}

// SetUtil sets every device's GPU utilisation (and leaves memory free).
func (f *Fake) SetUtil(pct ...float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.idle()
	for i := range s {
		if i < len(pct) {
			s[i].GPUUtilPercent = F64(pct[i])
		}
	}
	f.script, f.step = [][]Sample{s}, 0
}

// FailWith makes Sample and Devices fail with err (nil clears it).
func (f *Fake) FailWith(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// Calls is the number of Sample calls so far.
func (f *Fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *Fake) idle() []Sample {
	s := make([]Sample, len(f.devices))
	for i, d := range f.devices {
		s[i] = Sample{UUID: d.UUID, GPUUtilPercent: F64(0), MemUtilPercent: F64(0),
			FBUsedBytes: U64(0), FBFreeBytes: U64(d.MemoryTotalBytes), FBTotalBytes: U64(d.MemoryTotalBytes), ProcessesKnown: true}
	}
	return s
}

// Devices returns the configured devices.
func (f *Fake) Devices(context.Context) ([]Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	if f.err != nil {
		return nil, f.err
	}
	return append([]Device(nil), f.devices...), nil
}

// Sample returns the next scripted step, stamped with the clock.
func (f *Fake) Sample(context.Context) ([]Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	var src []Sample
	if len(f.script) == 0 {
		src = f.idle()
	} else {
		src = f.script[min(f.step, len(f.script)-1)]
		f.step++
	}
	out := make([]Sample, len(src))
	copy(out, src)
	now := f.now()
	for i := range out {
		if i < len(f.devices) && out[i].UUID == "" {
			out[i].UUID = f.devices[i].UUID
		}
		out[i].At = now
	}
	return out, nil
}

// Close marks the source closed.
func (f *Fake) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

var (
	_ Source = (*Fake)(nil)
	_ Source = Null{}
)
