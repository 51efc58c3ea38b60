package sim

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// arrivals draws arrival times. Rate patterns are drawn by thinning against
// a piecewise-constant bound over short segments, so a constant segment
// costs one exponential draw per arrival and smooth shapes lose few draws.
type arrivals struct {
	tr  *Traffic
	r   *rand.Rand // arrivals stream
	rm  *rand.Rand // MMPP switching stream
	end int64

	t      float64 // ns, last candidate
	segEnd float64
	bound  float64 // per ns
	exact  bool    // the rate is constant over the segment

	breaks []float64 // ns: where the rate may jump

	// MMPP path
	mState  int
	mSwitch float64

	// trace replay
	ti int

	pending bool  // the engine holds the next arrival
	dur     int64 // recorded service time of the next traced arrival
}

const segLen = float64(10 * time.Second)

func newArrivals(tr *Traffic, r, rm *rand.Rand, end int64) *arrivals {
	a := &arrivals{tr: tr, r: r, rm: rm, end: end, segEnd: 0}
	for _, p := range tr.Points {
		a.breaks = append(a.breaks, float64(p.At))
	}
	for _, s := range tr.Spikes {
		a.breaks = append(a.breaks, float64(s.At), float64(s.At+s.Duration))
	}
	sort.Float64s(a.breaks)
	if len(tr.MMPP) > 0 {
		a.mState = 0
		a.mSwitch = float64(tr.MMPP[0].MeanDuration) * rm.ExpFloat64()
	}
	return a
}

// rate is the arrival rate in requests per second at t (ns).
func (a *arrivals) rate(t float64) float64 {
	tr := a.tr
	r := tr.Rate
	if n := len(tr.Points); n > 0 {
		i := sort.Search(n, func(i int) bool { return float64(tr.Points[i].At) > t }) - 1
		switch {
		case i < 0:
			r += 0
		case tr.Linear && i+1 < n:
			p, q := tr.Points[i], tr.Points[i+1]
			f := (t - float64(p.At)) / float64(q.At-p.At)
			r += p.Rate + f*(q.Rate-p.Rate)
		default:
			r += tr.Points[i].Rate
		}
	}
	if d := tr.Diurnal; d != nil {
		ph := 2 * math.Pi * (t - float64(d.PeakAt)) / float64(d.Period)
		r += d.Min + (d.Max-d.Min)*(1+math.Cos(ph))/2
	}
	if len(tr.MMPP) > 0 {
		for t >= a.mSwitch { // the path only moves forward
			next := a.rm.IntN(len(tr.MMPP) - 1)
			if next >= a.mState {
				next++
			}
			a.mState = next
			a.mSwitch += float64(tr.MMPP[next].MeanDuration) * a.rm.ExpFloat64()
		}
		r += tr.MMPP[a.mState].Rate
	}
	for _, s := range tr.Spikes {
		if t >= float64(s.At) && t < float64(s.At+s.Duration) {
			r += s.Rate
		}
	}
	return r
}

// newSegment sets the bound for the segment starting at a.t.
func (a *arrivals) newSegment() {
	start := a.t
	end := start + segLen
	for _, b := range a.breaks {
		if b > start {
			end = math.Min(end, b)
			break
		}
	}
	if len(a.tr.MMPP) > 0 {
		a.rate(start) // advance the path
		end = math.Min(end, a.mSwitch)
	}
	r0, r1 := a.rate(start), a.rate(math.Nextafter(end, start))
	a.exact = !a.tr.Linear && a.tr.Diurnal == nil
	b := math.Max(r0, r1)
	if !a.exact {
		// smooth shapes: a small margin over the end points (a cosine
		// barely moves within one 10 s segment of a day).
		mid := a.rate((start + end) / 2)
		b = math.Max(b, mid) * 1.01
	}
	a.bound = b / 1e9
	a.segEnd = end
}

// next returns the next arrival time (ns) and token counts, or -1 when no
// arrival falls before the end.
func (a *arrivals) next() (int64, int32, int32) {
	if a.tr.Trace != nil {
		if a.ti >= len(a.tr.Trace) {
			return -1, 0, 0
		}
		tr := a.tr.Trace[a.ti]
		a.ti++
		if int64(tr.At) > a.end {
			return -1, 0, 0
		}
		a.dur = int64(tr.Duration)
		return int64(tr.At), tr.InputTokens, tr.OutputTokens
	}
	for {
		if a.t >= float64(a.end) {
			return -1, 0, 0
		}
		if a.t >= a.segEnd {
			a.newSegment()
		}
		if a.bound <= 0 {
			a.t = a.segEnd
			continue
		}
		t := a.t + a.r.ExpFloat64()/a.bound
		if t >= a.segEnd {
			a.t = a.segEnd
			continue
		}
		a.t = t
		if a.exact || a.r.Float64()*a.bound*1e9 < a.rate(t) {
			if t > float64(a.end) {
				return -1, 0, 0
			}
			return int64(t), 0, 0
		}
	}
}
