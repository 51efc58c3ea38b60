package report

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// ConfidenceInterval returns the mean of xs and its two-sided Student's t
// interval at the given level (the mean twice for fewer than two values).
func ConfidenceInterval(xs []float64, level float64) (mean, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	mean, sd := stat.MeanStdDev(xs, nil)
	if len(xs) < 2 || math.IsNaN(sd) {
		return mean, mean, mean
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(1 - (1-level)/2)
	half := t * sd / math.Sqrt(float64(len(xs)))
	return mean, mean - half, mean + half
}
