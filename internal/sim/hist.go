package sim

import (
	"math"
	"math/bits"
)

// histSubBits sets the histogram's precision: 2^7 sub-buckets per power of
// two, a relative error below 0.8 %.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

// Histogram is a log-linear (HDR-style) histogram of non-negative integer
// values (the simulator records microseconds). Its memory is fixed: it does
// not grow with the number of values recorded.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64
	min    uint64
	max    uint64
}

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1
	return (e+1)<<histSubBits + int(v>>uint(e)) - histSub
}

// histLow is the smallest value of bucket i; histHigh the largest.
func histLow(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	e := i>>histSubBits - 1
	m := uint64(i&(histSub-1) + histSub)
	return m << uint(e)
}

func histHigh(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	e := i>>histSubBits - 1
	return histLow(i) + (uint64(1) << uint(e)) - 1
}

// Record adds one value.
func (h *Histogram) Record(v uint64) {
	h.counts[histIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Mean is the exact mean of the values recorded.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Max is the exact largest value.
func (h *Histogram) Max() uint64 { return h.max }

// Quantile returns the q-quantile (0..1): the midpoint of the bucket that
// holds the ceil(q·n)-th value, clamped to the exact min and max.
func (h *Histogram) Quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i]
		if seen >= rank {
			mid := (float64(histLow(i)) + float64(histHigh(i))) / 2
			return math.Max(float64(h.min), math.Min(float64(h.max), mid))
		}
	}
	return float64(h.max)
}

// CountAbove returns how many values are certainly greater than v (whole
// buckets above v's bucket) plus those in v's bucket, pro rata.
func (h *Histogram) CountAbove(v uint64) float64 {
	i := histIndex(v)
	var above uint64
	for j := i + 1; j < histBuckets; j++ {
		above += h.counts[j]
	}
	lo, hi := histLow(i), histHigh(i)
	frac := float64(hi-v) / float64(hi-lo+1)
	return float64(above) + frac*float64(h.counts[i])
}

// Merge adds o's values.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}
