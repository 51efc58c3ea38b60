package live

import (
	"context"
	"fmt"
	"time"

	"github.com/mlscale/mlscale/internal/hpa"
)

// ResourceSource is a target's resource metrics API (metrics.k8s.io): what
// the HPA controller reads for Resource and ContainerResource (cpu, memory)
// metrics. The process target measures its workers in /proc, the deployment
// target asks the cluster's metrics API.
type ResourceSource interface {
	// SampleResources is called at every tick while the policy reads a
	// resource metric (CPU is a rate: it needs a history of readings).
	SampleResources(now time.Time)
	// PodMetrics answers as a PodMetrics list of metrics.k8s.io for the
	// target's pods: per pod, per container usage (cpu in cores, memory in
	// bytes) with the sample's timestamp and window. A pod without a usable
	// sample is left out, as metrics-server leaves it out. memory says
	// whether the policy reads memory (a source may skip an expensive read
	// when it does not).
	PodMetrics(ctx context.Context, now time.Time, memory bool) ([]hpa.PodMetrics, error)
	// ResourceSourceName names the source in mlscale_source_* series.
	ResourceSourceName() string
}

// DefaultCPUWindow is the window of the CPU rate of a local worker: about
// metrics-server's (its --metric-resolution, 15 s, between the two
// cumulative readings it turns into a rate).
const DefaultCPUWindow = 15 * time.Second

// unsupportedReason is the one-line reason why local workers' cpu and
// memory cannot be read on goos (empty where they can).
func unsupportedReason(goos string) string {
	if goos == "linux" {
		return ""
	}
	return fmt.Sprintf("cpu and memory of local workers are read from /proc, which %s does not have: use a Pods, External or GPU metric, or --target deployment (metrics.k8s.io)", goos)
}

// procCPU is one process of a worker's tree at one reading: its start
// (clock ticks after boot, to tell a reused pid), its parent, and its CPU
// time with that of its reaped children, in clock ticks.
type procCPU struct {
	pid, ppid int
	start     uint64
	ticks     uint64
}

// cpuPoint is one reading of a worker's cumulative CPU counter.
type cpuPoint struct {
	mono  time.Time // the monotonic clock when /proc was read
	ticks uint64
}

// cpuTrack turns a worker tree's per-process CPU times into one monotonic
// counter of the tree's CPU time, and keeps the readings of the last window
// to answer a rate as metrics-server does (the difference of two cumulative
// readings over the time between them).
type cpuTrack struct {
	prev, cur map[int]procCPU
	counter   uint64
	points    []cpuPoint
	seeded    bool
	pids      []int // the tree at the last reading
	// lastOK is the loop's clock at the last successful reading; err the
	// last reading's error.
	lastOK time.Time
	err    error
}

// update adds one reading of the tree (procs, read at mono) to the counter:
// a process seen before adds what it used since; a new one adds all its
// time (it started since the last reading); one that is gone and whose
// parent is still in the tree was reaped by it, so that its time, already
// counted, now shows again in the parent's children's time and is taken off
// once. A process that left the tree otherwise (an orphan) stops counting.
func (c *cpuTrack) update(procs []procCPU, mono time.Time, window time.Duration) {
	if c.prev == nil {
		c.prev, c.cur = map[int]procCPU{}, map[int]procCPU{}
	}
	clear(c.cur)
	c.pids = c.pids[:0]
	for _, p := range procs {
		c.cur[p.pid] = p
		c.pids = append(c.pids, p.pid)
	}
	if c.seeded {
		var add, sub uint64
		for _, p := range procs {
			if o, ok := c.prev[p.pid]; ok && o.start == p.start {
				if p.ticks > o.ticks {
					add += p.ticks - o.ticks
				}
			} else {
				add += p.ticks
			}
		}
		for pid, o := range c.prev {
			if n, ok := c.cur[pid]; ok && n.start == o.start {
				continue
			}
			if _, ok := c.cur[o.ppid]; ok {
				sub += o.ticks
			}
		}
		if add > sub {
			c.counter += add - sub
		}
	}
	c.seeded = true
	c.prev, c.cur = c.cur, c.prev
	c.points = append(c.points, cpuPoint{mono: mono, ticks: c.counter})
	// keep the newest reading at least a window old, and those after it
	k := 0
	for k+1 < len(c.points) && !c.points[k+1].mono.After(mono.Add(-window)) {
		k++
	}
	if k > 0 {
		c.points = append(c.points[:0], c.points[k:]...)
	}
}

// rate is the tree's CPU usage in millicores over the readings kept, and
// the time they span; ok is false before two readings.
func (c *cpuTrack) rate(clkTck uint64) (millicores int64, window time.Duration, ok bool) {
	if len(c.points) < 2 || clkTck == 0 {
		return 0, 0, false
	}
	a, b := c.points[0], c.points[len(c.points)-1]
	window = b.mono.Sub(a.mono)
	if window <= 0 {
		return 0, 0, false
	}
	cpuSec := float64(b.ticks-a.ticks) / float64(clkTck)
	return milli(cpuSec / window.Seconds()), window, true
}
