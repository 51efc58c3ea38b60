package sim

import (
	"math"
	"math/bits"
)

// coarseHist is a small log-linear histogram (4 sub-bucket bits, about 6 %
// relative error) reset every timeline step.
type coarseHist struct {
	c    [(64 - 4 + 1) * 16]uint32
	n    uint32
	used int // highest bucket used + 1
}

func coarseIndex(v uint64) int {
	if v < 16 {
		return int(v)
	}
	e := bits.Len64(v) - 5
	return (e+1)<<4 + int(v>>uint(e)) - 16
}

func coarseMid(i int) float64 {
	if i < 32 {
		return float64(i)
	}
	e := i>>4 - 1
	lo := uint64(i&15+16) << uint(e)
	return float64(lo) + float64(uint64(1)<<uint(e))/2
}

func (h *coarseHist) record(v uint64) {
	i := coarseIndex(v)
	h.c[i]++
	h.n++
	if i >= h.used {
		h.used = i + 1
	}
}

func (h *coarseHist) quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	rank := uint32(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint32
	for i := 0; i < h.used; i++ {
		seen += h.c[i]
		if seen >= rank {
			return coarseMid(i)
		}
	}
	return coarseMid(h.used - 1)
}

func (h *coarseHist) reset() {
	clear(h.c[:h.used])
	h.n, h.used = 0, 0
}

// Timeline is the per-step record of a run.
type Timeline struct {
	Columns []string
	Rows    [][]float64
}

type timeline struct {
	t        Timeline
	lat      coarseHist
	lastArr  uint64
	lastDone uint64
}

func newTimeline(e *Engine) *timeline {
	tl := &timeline{}
	cols := []string{"t", "arrivalRate", "throughput", "queue", "inflight", "specReplicas", "readyReplicas", "pods", "nodes", "hpaDesired", "latencyP50", "latencyP99"}
	if e.ctl.hpaObj != nil {
		for i, m := range e.ctl.hpaObj.Spec.Metrics {
			cols = append(cols, "hpa:"+metricLabel(i, m.Type, e.ctl.srcs))
		}
	}
	if e.ctl.kc != nil {
		for _, t := range e.ctl.kc.Triggers {
			cols = append(cols, "keda:"+t.Type+itoa(t.Index))
		}
	}
	if len(e.ctl.out.list) > 0 {
		cols = append(cols, "outages")
		if e.ctl.kc != nil {
			cols = append(cols, "kedaFallback")
		}
		if e.ctl.hpaObj != nil {
			cols = append(cols, "hpaScalingInactive")
		}
	}
	tl.t.Columns = cols
	return tl
}

func metricLabel(i int, typ any, srcs []metricSrc) string {
	s := srcs[i]
	switch s.kind {
	case msResource:
		return string(s.res)
	default:
		return s.name
	}
}

func (tl *timeline) row(e *Engine) {
	step := float64(e.st.step) / 1e9
	nodes := 0
	for n := range e.nodes {
		if !e.nodes[n].gone {
			nodes++
		}
	}
	r := make([]float64, 0, len(tl.t.Columns))
	r = append(r, float64(e.now)/1e9,
		float64(e.arrivals-tl.lastArr)/step, float64(e.completed-tl.lastDone)/step,
		float64(e.waiting), float64(e.inflight), float64(e.spec), float64(len(e.ready)),
		float64(len(e.live)), float64(nodes), float64(e.ctl.desired),
		tl.lat.quantile(0.5)/1e6, tl.lat.quantile(0.99)/1e6)
	r = append(r, e.ctl.lastHPA...)
	r = append(r, e.ctl.lastKEDA...)
	if c := &e.ctl; len(c.out.list) > 0 {
		r = append(r, float64(c.activeOutages()))
		if c.kc != nil {
			r = append(r, b2f(c.out.fallback.on))
		}
		if c.hpaObj != nil {
			r = append(r, b2f(c.out.inactive.on))
		}
	}
	tl.t.Rows = append(tl.t.Rows, r)
	tl.lastArr, tl.lastDone = e.arrivals, e.completed
	tl.lat.reset()
}

func (tl *timeline) finish() *Timeline {
	if tl == nil {
		return nil
	}
	return &tl.t
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
