package live

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlscale/mlscale/internal/hpa"
)

// ResourceSourceName is "proc": the workers are measured in /proc.
func (p *Process) ResourceSourceName() string { return "proc" }

// SampleResources reads the CPU time of every running worker's process tree
// (the worker and its descendants) into its CPU history. On systems without
// /proc it only records why.
func (p *Process) SampleResources(now time.Time) {
	if procSupportErr != nil {
		p.mu.Lock()
		p.sampleErr = procSupportErr
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var firstErr error
	tried, ok := 0, 0
	for _, w := range p.workers {
		if w.pending || w.cmd == nil || w.cmd.Process == nil || exited(w) {
			continue
		}
		tried++
		procs, err := p.rd.tree(w.cmd.Process.Pid)
		if err != nil {
			w.cpu.err = err
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		// the rate's time is the monotonic clock of the reading, not the
		// loop's clock
		w.cpu.update(procs, time.Now(), p.cfg.CPUWindow)
		w.cpu.lastOK, w.cpu.err = now, nil
		ok++
	}
	p.sampleErr = nil
	if tried > 0 && ok == 0 {
		p.sampleErr = firstErr
	}
}

// PodMetrics answers as metrics-server would for the workers: per worker,
// one container (ProcessConfig.Container) with the CPU rate of its tree over
// the last window (about 15 s; left out before two readings) and its memory
// working set now (only when memory is read: smaps_rollup is the expensive
// part); timestamp the last reading. Workers without a reading younger than
// MaxAge are left out.
func (p *Process) PodMetrics(_ context.Context, now time.Time, memory bool) ([]hpa.PodMetrics, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if procSupportErr != nil {
		return nil, procSupportErr
	}
	if p.sampleErr != nil {
		return nil, fmt.Errorf("reading the workers' processes: %w", p.sampleErr)
	}
	var out []hpa.PodMetrics
	for _, w := range p.workers {
		if w.pending || w.cpu.lastOK.IsZero() || now.Sub(w.cpu.lastOK) > p.cfg.MaxAge {
			continue
		}
		cpu, win, ok := w.cpu.rate(clkTck)
		if !ok {
			continue
		}
		usage := corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI)}
		if memory {
			mem, err := p.rd.memory(w.cpu.pids)
			if err != nil {
				continue
			}
			usage[corev1.ResourceMemory] = *resource.NewQuantity(int64(mem), resource.BinarySI)
		}
		out = append(out, hpa.PodMetrics{Pod: w.name, Timestamp: w.cpu.lastOK, Window: win,
			Containers: []hpa.ContainerUsage{{Name: p.cfg.Container, Usage: usage}}})
	}
	return out, nil
}

var (
	_ ResourceSource = (*Process)(nil)
	_ ResourceSource = (*Deployment)(nil)
)
