package live

import (
	"github.com/mlscale/mlscale/internal/gpu"
)

// Allocate picks n GPUs for one worker: devices not used by another worker,
// not lost, not a MIG-enabled parent (its MIG instances are allocated
// instead) and with at least minFree bytes of free framebuffer memory in
// the latest sample (unknown memory counts as not enough when minFree > 0).
// Devices are taken in index order. It returns nil, false when fewer than n
// qualify.
func Allocate(devs []gpu.Device, smp []gpu.Sample, used map[string]bool, n int, minFree uint64) ([]string, bool) {
	if n <= 0 {
		return nil, true
	}
	var out []string
	for i := range devs {
		d := &devs[i]
		if used[d.UUID] || d.MIGEnabled {
			continue
		}
		var s *gpu.Sample
		if i < len(smp) && smp[i].UUID == d.UUID {
			s = &smp[i]
		}
		if s != nil && s.Lost {
			continue
		}
		if minFree > 0 {
			free, ok := gpu.FreeBytes(d, s)
			if !ok || free < minFree {
				continue
			}
		}
		out = append(out, d.UUID)
		if len(out) == n {
			return out, true
		}
	}
	return nil, false
}
