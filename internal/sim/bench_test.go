package sim

import (
	"math/rand/v2"
	"runtime"
	"sort"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mm1Event and mm1Heap are the minimal typed-heap M/M/1 loop the engine is
// compared with: a binary heap of value structs, no statistics beyond the
// mean wait.
type mm1Event struct {
	t    float64
	kind uint8
}

type mm1Heap []mm1Event

func (h *mm1Heap) push(e mm1Event) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].t <= e.t {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = e
}

func (h *mm1Heap) pop() mm1Event {
	s := *h
	top := s[0]
	n := len(s) - 1
	last := s[n]
	s = s[:n]
	*h = s
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && s[c+1].t < s[c].t {
			c++
		}
		if last.t <= s[c].t {
			break
		}
		s[i] = s[c]
		i = c
	}
	if n > 0 {
		s[i] = last
	}
	return top
}

// minimalMM1 runs n events of an M/M/1 queue (ρ = 0.9) and returns the mean wait.
func minimalMM1(n int, seed uint64) float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	h := mm1Heap{}
	var queue []float64
	busy := false
	now, waitSum, served := 0.0, 0.0, 0
	h.push(mm1Event{t: r.ExpFloat64() / 0.9, kind: 0})
	for k := 0; k < n; k++ {
		e := h.pop()
		now = e.t
		if e.kind == 0 {
			h.push(mm1Event{t: now + r.ExpFloat64()/0.9, kind: 0})
			if !busy {
				busy = true
				h.push(mm1Event{t: now + r.ExpFloat64(), kind: 1})
			} else {
				queue = append(queue, now)
			}
			continue
		}
		served++
		if len(queue) > 0 {
			waitSum += now - queue[0]
			queue = queue[1:]
			h.push(mm1Event{t: now + r.ExpFloat64(), kind: 1})
		} else {
			busy = false
		}
	}
	return waitSum / float64(max(served, 1))
}

// BenchmarkMinimalMM1 is the reference loop; ns/op is per event.
func BenchmarkMinimalMM1(b *testing.B) {
	b.ReportAllocs()
	minimalMM1(b.N, 1)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// engineMM1 is the engine on an M/M/1 load with ρ = 0.9 at 900 req/s (mean
// service 1 ms), so that the per-request events (arrival, completion)
// outnumber the engine's periodic ones (1 s ticks, gauges, scrapes) 1000 to 1.
func engineMM1(events int, seed uint64) *Config {
	return mmcConfig(900, time.Millisecond, 1, time.Duration(float64(events)/1800*1e9)+time.Second, seed)
}

// BenchmarkEngineMM1 runs the engine on the same M/M/1 load (one warm
// replica, one slot, shared queue, no autoscaler); ns/op is per event.
func BenchmarkEngineMM1(b *testing.B) {
	b.ReportAllocs()
	cfg := engineMM1(b.N, 1)
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	e.Run()
	b.StopTimer()
	b.ReportMetric(float64(e.nev)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(e.nev)/float64(b.N), "events/op")
}

// threadCPU is the calling thread's CPU time in seconds: on a shared
// machine it measures the work, not the wait for a core.
func threadCPU() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return float64(time.Now().UnixNano()) / 1e9
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkEngineVsMinimal interleaves the engine and the minimal loop on
// the same M/M/1 load (ρ = 0.9), five rounds of 2M events each per op,
// timing each by the thread's CPU time, and reports each one's events per
// CPU-second and the median of the per-round ratios engine/minimal.
func BenchmarkEngineVsMinimal(b *testing.B) {
	const events = 2_000_000
	var ratios []float64
	var engEPS, minEPS float64
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := 0; i < b.N; i++ {
		for round := 0; round < 5; round++ {
			c0 := threadCPU()
			minimalMM1(events, uint64(round+1))
			dm := threadCPU() - c0
			cfg := engineMM1(events, uint64(round+1))
			e, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			c0 = threadCPU()
			e.Run()
			de := threadCPU() - c0
			me, ee := events/dm, float64(e.nev)/de
			minEPS += me
			engEPS += ee
			ratios = append(ratios, ee/me)
		}
	}
	sort.Float64s(ratios)
	n := float64(len(ratios))
	b.ReportMetric(engEPS/n, "engine-events/s")
	b.ReportMetric(minEPS/n, "minimal-events/s")
	b.ReportMetric(ratios[len(ratios)/2], "ratio")
}
