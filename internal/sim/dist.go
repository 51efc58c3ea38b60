package sim

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/mlscale/mlscale/internal/profile"
)

// DistKind is a duration distribution's family.
type DistKind uint8

// Distribution families.
const (
	DistConstant DistKind = iota
	DistExponential
	DistLogNormal
	DistUniform
	DistEmpirical
)

// z99 is the standard normal 0.99 quantile, as profile.Distribution uses it.
const z99 = 2.3263478740408408

// Dist samples durations in nanoseconds. The zero value is the constant 0.
type Dist struct {
	Kind DistKind
	// A and B are the parameters in nanoseconds (constant: A; exponential:
	// mean A; uniform: [A, B]) or, for lognormal, mu and sigma of ln(ns).
	A, B float64
	// Values are an empirical distribution's samples (ns, sorted).
	Values []float64
}

// Const is a fixed duration.
func Const(d time.Duration) Dist { return Dist{Kind: DistConstant, A: float64(d)} }

// Exp is an exponential distribution with the given mean.
func Exp(mean time.Duration) Dist { return Dist{Kind: DistExponential, A: float64(mean)} }

// LogNormal is fitted to a median and a p99 as profile.Distribution does.
func LogNormal(median, p99 time.Duration) Dist {
	mu := math.Log(float64(median))
	return Dist{Kind: DistLogNormal, A: mu, B: (math.Log(float64(p99)) - mu) / z99}
}

// Uniform draws from [lo, hi].
func Uniform(lo, hi time.Duration) Dist {
	return Dist{Kind: DistUniform, A: float64(lo), B: float64(hi)}
}

// Empirical resamples the given durations uniformly.
func Empirical(values []time.Duration) Dist {
	v := make([]float64, len(values))
	for i, d := range values {
		v[i] = float64(d)
	}
	sort.Float64s(v)
	return Dist{Kind: DistEmpirical, Values: v}
}

// FromProfile converts a profile distribution; nil is the constant 0.
func FromProfile(d *profile.Distribution) Dist {
	if d == nil {
		return Dist{}
	}
	switch d.Dist {
	case profile.DistExponential:
		return Exp(d.Mean)
	case profile.DistLogNormal:
		return LogNormal(d.Median, d.P99)
	case profile.DistUniform:
		return Uniform(d.Min, d.Max)
	}
	return Const(d.Value)
}

// Sample draws one duration in nanoseconds (never negative).
func (d *Dist) Sample(r *rand.Rand) int64 {
	var v float64
	switch d.Kind {
	case DistConstant:
		return int64(d.A)
	case DistExponential:
		v = d.A * r.ExpFloat64()
	case DistLogNormal:
		v = math.Exp(d.A + d.B*r.NormFloat64())
	case DistUniform:
		v = d.A + (d.B-d.A)*r.Float64()
	case DistEmpirical:
		if len(d.Values) == 0 {
			return 0
		}
		v = d.Values[r.IntN(len(d.Values))]
	}
	if v < 0 {
		return 0
	}
	return int64(v)
}

// Mean is the distribution's expected value in nanoseconds.
func (d *Dist) Mean() float64 {
	switch d.Kind {
	case DistExponential, DistConstant:
		return d.A
	case DistLogNormal:
		return math.Exp(d.A + d.B*d.B/2)
	case DistUniform:
		return (d.A + d.B) / 2
	case DistEmpirical:
		s := 0.0
		for _, v := range d.Values {
			s += v
		}
		if len(d.Values) == 0 {
			return 0
		}
		return s / float64(len(d.Values))
	}
	return 0
}

// Quantile returns the p-quantile in nanoseconds.
func (d *Dist) Quantile(p float64) float64 {
	switch d.Kind {
	case DistExponential:
		return -d.A * math.Log(1-p)
	case DistLogNormal:
		return math.Exp(d.A + d.B*math.Sqrt2*math.Erfinv(2*p-1))
	case DistUniform:
		return d.A + p*(d.B-d.A)
	case DistEmpirical:
		if len(d.Values) == 0 {
			return 0
		}
		i := int(p * float64(len(d.Values)-1))
		return d.Values[i]
	}
	return d.A
}
