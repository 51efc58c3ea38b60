package sim

import (
	"math"
	"time"
)

// winStats counts requests in the current SLO window.
type winStats struct {
	n, miss uint64
}

type stats struct {
	step    int64
	winLen  int64
	winNext int64

	// replica integrals
	lastRT          int64
	specArea        float64
	readyArea       float64
	maxSpec         int32
	timeAtMax       int64
	minSpec         int32
	initialReplicas int32

	podsCreated, nodesCreated, restarts int
	nodesAlive, nodesMax                int
	coldN                               int
	coldSum, coldMax                    float64
	unschedulable                       bool

	podGPUTime  float64 // ns·GPU, removed pods
	podBusyTime float64 // ns·GPU of work, removed pods

	scaleEvents, ups, downs, flaps int
	lastDir                        int
	lastScale                      int64
	decisions                      []Decision

	windows, windowsMet int
	inViolation         bool
	violStart           int64
	recoveries          []Recovery
}

func (s *stats) init(e *Engine) {
	s.step = int64(time.Second)
	if e.cfg.Output.TimelineStep > 0 {
		s.step = int64(e.cfg.Output.TimelineStep)
	}
	s.winLen = int64(e.cfg.SLO.Window)
	if s.winLen <= 0 {
		s.winLen = int64(time.Minute)
	}
	s.winNext = s.winLen
	s.lastScale = math.MinInt64 / 2
}

func (s *stats) start(e *Engine) {
	s.maxSpec, s.minSpec, s.initialReplicas = e.spec, e.spec, e.spec
	e.schedule(s.step, evSample, 0, 0, 0)
}

// advance integrates the replica counts up to now.
func (s *stats) advance(e *Engine) {
	dt := e.now - s.lastRT
	if dt <= 0 {
		return
	}
	s.specArea += float64(e.spec) * float64(dt)
	s.readyArea += float64(len(e.ready)) * float64(dt)
	if e.spec == s.maxSpec {
		s.timeAtMax += dt
	}
	s.lastRT = e.now
}

func (s *stats) readyChanged(e *Engine) { s.advance(e) }

func (s *stats) coldStart(e *Engine, p *pod) {
	if p.created < 0 || p.ready < p.created {
		return
	}
	d := float64(p.ready - p.created)
	s.coldN++
	s.coldSum += d
	s.coldMax = math.Max(s.coldMax, d)
}

func (s *stats) podGone(e *Engine, p *pod) {
	if p.sched >= 0 && e.cfg.Pod.GPUs > 0 {
		from := max(p.sched, 0)
		s.podGPUTime += float64(e.now-from) * float64(e.cfg.Pod.GPUs)
	}
	s.podBusyTime += p.busyArea / float64(e.conc) * float64(max(e.cfg.Pod.GPUs, 0))
}

func (s *stats) scaleEvent(e *Engine, from, to int32, by, reason string) {
	s.advance(e)
	s.scaleEvents++
	dir := 1
	if to < from {
		dir = -1
		s.downs++
	} else {
		s.ups++
	}
	if s.lastDir != 0 && dir != s.lastDir && e.now-s.lastScale <= int64(e.cfg.Output.FlapWindow) {
		s.flaps++
	}
	s.lastDir, s.lastScale = dir, e.now
	if to > s.maxSpec {
		s.maxSpec, s.timeAtMax = to, 0
	}
	s.minSpec = min(s.minSpec, to)
	if m := e.cfg.Output.MaxDecisions; m <= 0 || len(s.decisions) < m {
		s.decisions = append(s.decisions, Decision{
			At: round(float64(e.now)/1e9, 3), Time: clock(e.now), From: from, To: to, By: by, Reason: reason,
		})
	}
}

// tick runs every second (or timeline step): timeouts, SLO windows,
// timeline rows.
func (s *stats) tick(e *Engine) {
	e.purge()
	s.advance(e)
	for e.now >= s.winNext {
		s.closeWindow(e)
		s.winNext += s.winLen
	}
	if e.tl != nil {
		e.tl.row(e)
	}
	e.schedule(e.now+s.step, evSample, 0, 0, 0)
}

func (s *stats) closeWindow(e *Engine) {
	w := &e.win
	if w.n > 0 {
		s.windows++
		allowed := (1 - e.cfg.SLO.Percentile/100) * float64(w.n)
		met := float64(w.miss) <= allowed+1e-9
		if met {
			s.windowsMet++
		}
		switch {
		case !met && !s.inViolation:
			s.inViolation, s.violStart = true, s.winNext-s.winLen
		case met && s.inViolation:
			s.inViolation = false
			s.recoveries = append(s.recoveries, Recovery{
				Start: round(float64(s.violStart)/1e9, 3), StartTime: clock(s.violStart),
				Seconds: round(float64(s.winNext-s.winLen-s.violStart)/1e9, 3), Recovered: true,
			})
		}
	}
	*w = winStats{}
}

func clock(ns int64) string {
	d := time.Duration(ns).Round(time.Second)
	h := int(d / time.Hour)
	m := int(d % time.Hour / time.Minute)
	sec := int(d % time.Minute / time.Second)
	return pad2(h) + ":" + pad2(m) + ":" + pad2(sec)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + itoa(n)
	}
	return itoa(n)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
