package sim

import (
	"math"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// erlangC returns the probability of waiting and the mean wait (seconds)
// of an M/M/c queue.
func erlangC(lambda, mu float64, c int) (pw, wq float64) {
	a := lambda / mu
	rho := a / float64(c)
	sum, term := 0.0, 1.0
	for k := 0; k < c; k++ {
		if k > 0 {
			term *= a / float64(k)
		}
		sum += term
	}
	last := term * a / float64(c) / (1 - rho)
	pw = last / (sum + last)
	return pw, pw / (float64(c)*mu - lambda)
}

func TestErlangC(t *testing.T) {
	// c=4 slots, λ=3.2/s, mean service 1 s: ρ = 0.8.
	const (
		lambda = 3.2
		c      = 4
		seeds  = 12
	)
	pw, wq := erlangC(lambda, 1, c)
	var means, pws []float64
	for s := uint64(1); s <= seeds; s++ {
		e, err := New(mmcConfig(lambda, time.Second, c, 6*time.Hour, s))
		if err != nil {
			t.Fatal(err)
		}
		res := e.Run()
		means = append(means, res.Summary.QueueWait.Mean)
		if ll := res.Summary.LittlesLaw; ll.RelativeError > 0.01 {
			t.Errorf("seed %d: Little's law L=%v λW=%v", s, ll.L, ll.LambdaW)
		}
		// P(wait > 0): the share of requests that waited at all
		pws = append(pws, 1-float64(e.wait.counts[0])/float64(e.wait.Count()))
	}
	m, sd := stat.MeanStdDev(means, nil)
	half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: seeds - 1}.Quantile(0.995) * sd / math.Sqrt(seeds)
	t.Logf("Erlang C mean wait %.4f s; simulated %.4f ± %.4f s (99%% CI, %d seeds × 6 h)", wq, m, half, seeds)
	if math.Abs(m-wq) > half {
		t.Errorf("mean wait %.4f ± %.4f does not cover Erlang C %.4f", m, half, wq)
	}
	pm, psd := stat.MeanStdDev(pws, nil)
	phalf := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: seeds - 1}.Quantile(0.995) * psd / math.Sqrt(seeds)
	t.Logf("Erlang C P(wait>0) %.4f; simulated %.4f ± %.4f", pw, pm, phalf)
	if math.Abs(pm-pw) > phalf {
		t.Errorf("P(wait>0) %.4f ± %.4f does not cover %.4f", pm, phalf, pw)
	}
}

// TestErlangCTail checks the wait distribution: P(W > x) = C·e^{-(cμ-λ)x}.
func TestErlangCTail(t *testing.T) {
	e, err := New(mmcConfig(3.2, time.Second, 4, 48*time.Hour, 7))
	if err != nil {
		t.Fatal(err)
	}
	e.Run()
	pw, _ := erlangC(3.2, 1, 4)
	n := float64(e.wait.Count())
	for _, x := range []float64{0.5, 1, 2, 4} {
		want := pw * math.Exp(-(4-3.2)*x)
		got := e.wait.CountAbove(uint64(x*1e6)) / n
		// binomial standard error, inflated for autocorrelation of waits
		se := 10 * math.Sqrt(want*(1-want)/n)
		if math.Abs(got-want) > se+0.01*want {
			t.Errorf("P(W>%gs) = %.4f, Erlang C %.4f (±%.4f)", x, got, want, se)
		}
	}
}
