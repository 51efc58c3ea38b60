// Package tune searches autoscaling policies for the cheapest one that
// meets a latency objective in the simulator (internal/sim, used unchanged).
//
// A search space is a list of parameters (integer, continuous or
// categorical), each a path into a workload profile. Every candidate runs
// on the same random streams (common random numbers: the same scenario
// seeds for everyone), first on short prefixes of the scenarios, then on
// the full ones (successive halving); the survivors' continuous parameters
// are refined with Nelder-Mead (gonum/optimize) and their integer ones by a
// coordinate search; the finalists are re-run on several seeds and given
// confidence intervals. The search is deterministic for a seed: every
// evaluation is a pure function of (candidate, scenario, seed, fraction,
// traffic scale), so the worker pool, shards and caches cannot change the
// outcome.
package tune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Kind of a parameter.
type Kind string

// Parameter kinds.
const (
	Int    Kind = "int"
	Float  Kind = "float"
	Choice Kind = "choice"
)

// Param is one tunable knob: a path into the profile (dots and [i]).
type Param struct {
	Path string  `json:"path"`
	Type Kind    `json:"type"`
	Min  float64 `json:"min,omitempty"`
	Max  float64 `json:"max,omitempty"`
	// Step of an integer parameter (default 1).
	Step   float64  `json:"step,omitempty"`
	Values []string `json:"values,omitempty"`
	// String writes the value as a string (trigger metadata, quantities).
	String bool `json:"string,omitempty"`
}

// Space is the parameters searched.
type Space []Param

// Point is one candidate: a value per parameter (an index for choices).
type Point []float64

func (p *Param) step() float64 {
	if p.Step > 0 {
		return p.Step
	}
	return 1
}

// levels is the number of distinct values (0: continuous).
func (p *Param) levels() int {
	switch p.Type {
	case Choice:
		return len(p.Values)
	case Int:
		return int(math.Floor((p.Max-p.Min)/p.step()+1e-9)) + 1
	}
	return 0
}

// canon snaps v onto the parameter's grid: integers on their steps,
// continuous values to 3 significant digits (so that keys are stable).
func (p *Param) canon(v float64) float64 {
	if p.Type == Choice {
		return math.Max(0, math.Min(float64(len(p.Values)-1), math.Round(v)))
	}
	v = math.Max(p.Min, math.Min(p.Max, v))
	switch p.Type {
	case Int:
		return p.Min + math.Round((v-p.Min)/p.step())*p.step()
	}
	if v == 0 {
		return 0
	}
	s := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Max(p.Min, math.Min(p.Max, math.Round(v*s)/s))
}

// Format is the value as written into the profile.
func (p *Param) Format(v float64) string {
	switch p.Type {
	case Choice:
		return p.Values[int(v)]
	case Int:
		return strconv.FormatInt(int64(math.Round(v)), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// value is the JSON value written at the path.
func (p *Param) value(v float64) any {
	switch {
	case p.Type == Choice || p.String:
		return p.Format(v)
	case p.Type == Int:
		return int64(math.Round(v))
	}
	return v
}

// Validate checks the parameters.
func (s Space) Validate() error {
	if len(s) == 0 {
		return fmt.Errorf("the search space is empty")
	}
	seen := map[string]bool{}
	for i, p := range s {
		if p.Path == "" {
			return fmt.Errorf("parameter %d: no path", i)
		}
		if seen[p.Path] {
			return fmt.Errorf("parameter %s appears twice", p.Path)
		}
		seen[p.Path] = true
		switch p.Type {
		case Int, Float:
			if !(p.Max >= p.Min) || math.IsInf(p.Max, 0) || math.IsInf(p.Min, 0) {
				return fmt.Errorf("parameter %s: max %g is below min %g", p.Path, p.Max, p.Min)
			}
			if p.Step < 0 {
				return fmt.Errorf("parameter %s: negative step", p.Path)
			}
		case Choice:
			if len(p.Values) == 0 {
				return fmt.Errorf("parameter %s: a choice needs values", p.Path)
			}
		default:
			return fmt.Errorf("parameter %s: type %q is not int, float or choice", p.Path, p.Type)
		}
	}
	return nil
}

// Canon snaps every coordinate onto its grid.
func (s Space) Canon(p Point) Point {
	q := make(Point, len(s))
	for i := range s {
		v := 0.0
		if i < len(p) {
			v = p[i]
		}
		q[i] = s[i].canon(v)
	}
	return q
}

// Key names a point ("path=value,...").
func (s Space) Key(p Point) string {
	var b strings.Builder
	for i := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i].Path)
		b.WriteByte('=')
		b.WriteString(s[i].Format(p[i]))
	}
	return b.String()
}

// gridSize is the number of points of an all-discrete space (0: infinite
// or larger than limit).
func (s Space) gridSize(limit int) int {
	n := 1
	for i := range s {
		l := s[i].levels()
		if l == 0 || n*l > limit {
			return 0
		}
		n *= l
	}
	return n
}

// grid enumerates an all-discrete space in order.
func (s Space) grid() []Point {
	n := s.gridSize(1 << 20)
	out := make([]Point, 0, n)
	for k := 0; k < n; k++ {
		p := make(Point, len(s))
		r := k
		for i := len(s) - 1; i >= 0; i-- {
			l := s[i].levels()
			idx := r % l
			r /= l
			if s[i].Type == Choice {
				p[i] = float64(idx)
			} else {
				p[i] = s[i].Min + float64(idx)*s[i].step()
			}
		}
		out = append(out, p)
	}
	return out
}

// sample draws n points by Latin hypercube sampling.
func (s Space) sample(rng *rand.Rand, n int) []Point {
	out := make([]Point, n)
	for k := range out {
		out[k] = make(Point, len(s))
	}
	for i := range s {
		perm := rng.Perm(n)
		for k := 0; k < n; k++ {
			u := (float64(perm[k]) + rng.Float64()) / float64(n)
			out[k][i] = s[i].fromUnit(u)
		}
	}
	return out
}

// fromUnit maps u in [0,1] onto the parameter's range.
func (p *Param) fromUnit(u float64) float64 {
	u = math.Max(0, math.Min(1, u))
	switch p.Type {
	case Choice:
		return math.Min(float64(len(p.Values)-1), math.Floor(u*float64(len(p.Values))))
	case Int:
		l := p.levels()
		return p.canon(p.Min + math.Min(float64(l-1), math.Floor(u*float64(l)))*p.step())
	}
	return p.canon(p.Min + u*(p.Max-p.Min))
}

// toUnit is the inverse of fromUnit for continuous parameters.
func (p *Param) toUnit(v float64) float64 {
	if p.Max == p.Min {
		return 0
	}
	return (v - p.Min) / (p.Max - p.Min)
}
