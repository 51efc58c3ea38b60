package tune

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/mlscale/mlscale/internal/sim"
)

// erlangWait is the mean queue wait of an M/M/c queue (Erlang C).
func erlangWait(lambda, mu float64, c int) float64 {
	a := lambda / mu
	rho := a / float64(c)
	if rho >= 1 {
		return math.Inf(1)
	}
	sum, term := 0.0, 1.0
	for k := 0; k < c; k++ {
		if k > 0 {
			term *= a / float64(k)
		}
		sum += term
	}
	last := term * a / float64(c) / (1 - rho)
	return last / (sum + last) / (float64(c)*mu - lambda)
}

// mmc is a fixed-replica M/M/c in the simulator: c one-slot replicas fed
// by a shared queue, Poisson arrivals, exponential service of 1 s, one GPU
// per replica at $1 an hour, so the cost is c × hours.
func mmc(lambda float64, d time.Duration, seed0 uint64) Evaluator {
	return func(p Point, r Run) (Metrics, error) {
		c := int32(p[0])
		cfg := &sim.Config{
			Name: "mmc", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Duration: time.Duration(float64(d) * r.Fraction),
			Seed:     seed0 + uint64(r.Seed) + 1000*uint64(r.Scenario),
			Traffic:  sim.Traffic{Rate: lambda * r.Scale},
			Service:  sim.Service{Routing: sim.RouteSharedQueue, Concurrency: 1, Time: sim.Exp(time.Second)},
			Pod: sim.PodModel{Deployment: "w", Namespace: "default", Labels: map[string]string{"app": "w"},
				GPUs: 1, GPUHourUSD: 1},
			Metrics: sim.MetricsPipeline{GaugeRefresh: 5 * time.Second, ScrapeInterval: 15 * time.Second, ScrapeOffset: 7 * time.Second,
				RateWindow: time.Minute, MetricsServerResolution: 15 * time.Second, MetricsServerOffset: 3 * time.Second, HPASyncPeriod: 15 * time.Second},
			Autoscaler: sim.Autoscaler{Kind: sim.AutoscaleNone, Replicas: c, WarmStart: true},
			SLO:        sim.SLO{Percentile: 99, Latency: 10 * time.Second, Goal: 0.99, Window: time.Minute},
			Output:     sim.OutputOptions{FlapWindow: 5 * time.Minute},
		}
		res, err := sim.Run(cfg)
		if err != nil {
			return Metrics{}, err
		}
		return Metrics{Cost: res.Summary.Cost, Latency: res.Summary.Latency.P99, Attainment: res.Summary.SLO.WindowAttainment,
			MeanWait: res.Summary.QueueWait.Mean}, nil
	}
}

func mmcProblem(lambda, target float64, scenarios int) *Problem {
	return &Problem{
		Space:     Space{{Path: "replicas", Type: Int, Min: 4, Max: 24}},
		Start:     Point{20},
		Scenarios: scenarios,
		Objective: Objective{MaxMeanWait: target, MaxFlaps: -1},
		Evaluate:  mmc(lambda, 40*time.Minute, 11),
	}
}

// TestMMcOptimum: the search returns the cheapest c whose Erlang C mean
// wait meets the target, for several loads.
func TestMMcOptimum(t *testing.T) {
	for _, tc := range []struct {
		lambda float64
		want   int
	}{{8, 11}, {5, 8}} {
		// a target halfway (geometrically) between c*-1 and c*
		target := math.Sqrt(erlangWait(tc.lambda, 1, tc.want-1) * erlangWait(tc.lambda, 1, tc.want))
		for c := 4; c <= 24; c++ {
			if erlangWait(tc.lambda, 1, c) <= target {
				if c != tc.want {
					t.Fatalf("λ=%g: Erlang C optimum is %d, test expects %d", tc.lambda, c, tc.want)
				}
				break
			}
		}
		res, err := Search(mmcProblem(tc.lambda, target, 2), Options{Seed: 1, Seeds: 3, MarginSteps: -1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Winner == nil {
			t.Fatalf("λ=%g: no winner; finalists %+v", tc.lambda, res.Finalists)
		}
		got := res.Winner.Point[0]
		t.Logf("λ=%g target wait %.3fs: c*=%d (Erlang C %.3fs / %.3fs at c*-1); found %g at $%.2f, %d simulations",
			tc.lambda, target, tc.want, erlangWait(tc.lambda, 1, tc.want), erlangWait(tc.lambda, 1, tc.want-1), got, res.Winner.Cost, res.Simulations)
		if int(got) != tc.want {
			t.Errorf("λ=%g: found c=%g, want %d", tc.lambda, got, tc.want)
		}
		if res.Winner.Seeds != 3 || res.Winner.CostCI == nil {
			t.Errorf("winner not re-run on 3 seeds: %+v", res.Winner)
		}
		if !res.Start.Feasible || res.Start.Point[0] != 20 {
			t.Errorf("start c=20 should meet the objective: %+v", res.Start)
		}
	}
}

// TestDeterministic: the same seed gives the same result whatever the
// number of workers; a cache of earlier simulations changes nothing.
func TestDeterministic(t *testing.T) {
	pr := mmcProblem(8, 0.12, 1)
	pr.Evaluate = mmc(8, 10*time.Minute, 3)
	run := func(workers int, cache Cache) string {
		res, err := Search(pr, Options{Seed: 7, Workers: workers, MarginSteps: 3, MarginMax: 2}, cache)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		return string(b)
	}
	a, b := run(1, nil), run(2, nil)
	if a != b {
		t.Fatalf("1 and 2 workers differ:\n%s\n%s", a, b)
	}
	var c Cache = Cache{}
	for i := 0; i < 3; i++ {
		sh, err := Shard(pr, Options{Seed: 7}, i, 3)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range sh {
			c[k] = v
		}
	}
	if m := run(2, c); m != a {
		t.Fatalf("merged shards differ from one run:\n%s\n%s", m, a)
	}
}

// TestInfeasible: when nothing meets the objective there is no winner,
// and the Pareto front is reported, cheapest first with falling latency.
func TestInfeasible(t *testing.T) {
	pr := mmcProblem(8, 1e-6, 1)
	pr.Evaluate = mmc(8, 10*time.Minute, 3)
	pr.Space[0].Max = 12
	res, err := Search(pr, Options{Seed: 1, MarginSteps: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Winner != nil {
		t.Fatalf("winner %+v with an impossible objective", res.Winner)
	}
	if len(res.Pareto) < 2 {
		t.Fatalf("Pareto front %+v", res.Pareto)
	}
	for i := 1; i < len(res.Pareto); i++ {
		a, b := res.Pareto[i-1], res.Pareto[i]
		if !(b.Cost > a.Cost && b.Latency < a.Latency) || b.Feasible {
			t.Errorf("front not ordered: %+v then %+v", a, b)
		}
	}
}

// TestRefineContinuous: Nelder-Mead finds the edge of the feasible region
// of a continuous parameter: cost = x, feasible for x >= 0.37.
func TestRefineContinuous(t *testing.T) {
	pr := &Problem{
		Space:     Space{{Path: "x", Type: Float, Min: 0, Max: 1}},
		Start:     Point{0.9},
		Scenarios: 1,
		Objective: Objective{MaxLatency: 1, MaxFlaps: -1},
		Evaluate: func(p Point, r Run) (Metrics, error) {
			return Metrics{Cost: p[0] * r.Fraction, Latency: 1 + math.Max(0, 0.37-p[0])}, nil
		},
	}
	res, err := Search(pr, Options{Seed: 2, Candidates: 6, Refine: 40, MarginSteps: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Winner == nil || math.Abs(res.Winner.Point[0]-0.37) > 0.01 {
		t.Fatalf("winner %+v, want x = 0.37 ± 0.01", res.Winner)
	}
}

func TestObjectiveViolation(t *testing.T) {
	o := Objective{MaxLatency: 2, Goal: 0.99, MaxFlaps: 1}
	for _, tc := range []struct {
		m    Metrics
		fail bool
	}{
		{Metrics{Latency: 2, Attainment: 0.99, Flaps: 1}, false},
		{Metrics{Latency: 2.1, Attainment: 1}, true},
		{Metrics{Latency: 1, Attainment: 0.98}, true},
		{Metrics{Latency: 1, Attainment: 1, Dropped: 1}, true},
		{Metrics{Latency: 1, Attainment: 1, Flaps: 2}, true},
	} {
		if v := o.Violation(tc.m); (v > 0) != tc.fail {
			t.Errorf("%+v: violation %g, want fail=%v", tc.m, v, tc.fail)
		}
	}
}

func TestSpace(t *testing.T) {
	sp := Space{{Path: "a", Type: Int, Min: 0, Max: 300, Step: 15}, {Path: "b", Type: Float, Min: 0.5, Max: 20}, {Path: "c", Type: Choice, Values: []string{"Max", "Min"}}}
	if err := sp.Validate(); err != nil {
		t.Fatal(err)
	}
	p := sp.Canon(Point{22, 3.14159, 0.7})
	if got := sp.Key(p); got != "a=15,b=3.14,c=Min" {
		t.Errorf("key %s", got)
	}
	if err := (Space{{Path: "a", Type: Int, Min: 3, Max: 1}}).Validate(); err == nil {
		t.Error("max < min accepted")
	}
	if err := (Space{{Path: "a", Type: "bool"}}).Validate(); err == nil {
		t.Error("unknown type accepted")
	}
}
