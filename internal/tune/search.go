package tune

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Run is one simulation of a candidate: which scenario, which seed (an
// index: seed k of every scenario is the same for every candidate), how
// much of the scenario (a prefix) and how much traffic.
type Run struct {
	Scenario int
	Seed     int
	Fraction float64
	Scale    float64
}

func (r Run) key() string {
	return fmt.Sprintf("s%d/seed%d/f%g/x%g", r.Scenario, r.Seed, r.Fraction, r.Scale)
}

// Metrics are what one simulation measured.
type Metrics struct {
	Cost float64 `json:"cost"`
	// Latency at the objective's percentile, seconds.
	Latency float64 `json:"latency"`
	// Attainment is the share of SLO windows met.
	Attainment float64 `json:"attainment"`
	Dropped    uint64  `json:"dropped"`
	Flaps      int     `json:"flaps"`
	MeanWait   float64 `json:"meanWait"`
	// Invalid: the candidate could not be simulated (the profile it makes
	// is rejected); it never meets the objective.
	Invalid bool `json:"invalid,omitempty"`
}

// InvalidError marks a candidate that is not a valid policy (an
// Evaluator returns it; the search treats the candidate as infeasible).
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Evaluator runs one simulation of a candidate.
type Evaluator func(p Point, r Run) (Metrics, error)

// Objective is what a candidate must meet in every scenario; the search
// minimises the cost of those that do.
type Objective struct {
	// MaxLatency (seconds) bounds the latency percentile over the run (0: off).
	MaxLatency float64 `json:"maxLatency,omitempty"`
	// Goal is the share of SLO windows that must meet the objective (0: off).
	Goal float64 `json:"goal,omitempty"`
	// MaxDropped requests (dropped, timed out or killed).
	MaxDropped uint64 `json:"maxDropped"`
	// MaxFlaps allowed (negative: off).
	MaxFlaps int `json:"maxFlaps"`
	// MaxMeanWait (seconds) bounds the mean queue wait (0: off).
	MaxMeanWait float64 `json:"maxMeanWait,omitempty"`
}

// Violation is 0 when m meets the objective, else a positive measure of
// how far it is.
func (o *Objective) Violation(m Metrics) float64 {
	if m.Invalid {
		return 1e6
	}
	v := 0.0
	if o.MaxLatency > 0 && m.Latency > o.MaxLatency {
		v += m.Latency/o.MaxLatency - 1
	}
	if o.Goal > 0 && m.Attainment < o.Goal {
		v += 10 * (o.Goal - m.Attainment)
	}
	if m.Dropped > o.MaxDropped {
		v += math.Log1p(float64(m.Dropped - o.MaxDropped))
	}
	if o.MaxFlaps >= 0 && m.Flaps > o.MaxFlaps {
		v += float64(m.Flaps-o.MaxFlaps) / float64(o.MaxFlaps+1)
	}
	if o.MaxMeanWait > 0 && m.MeanWait > o.MaxMeanWait {
		v += m.MeanWait/o.MaxMeanWait - 1
	}
	return v
}

// Options control the search.
type Options struct {
	Seed uint64
	// Candidates sampled at first (an all-discrete space smaller than this
	// is enumerated).
	Candidates int
	// Eta: each rung keeps 1/Eta of the candidates.
	Eta int
	// Fractions of the scenarios simulated at each rung (the last is 1).
	Fractions []float64
	// Refine is the most candidates the local refinement evaluates.
	Refine int
	// Finalists re-run on Seeds seeds.
	Finalists int
	Seeds     int
	// Margin: bisection steps on the traffic multiplier, up to MarginMax.
	MarginSteps int
	MarginMax   float64
	Workers     int
	// Progress is called after each batch.
	Progress func(done, total int, best string)
}

func (o *Options) defaults() {
	if o.Candidates <= 0 {
		o.Candidates = 40
	}
	if o.Eta < 2 {
		o.Eta = 3
	}
	if len(o.Fractions) == 0 {
		o.Fractions = []float64{1.0 / 4, 1}
	}
	if o.Refine < 0 {
		o.Refine = 0
	} else if o.Refine == 0 {
		o.Refine = 24
	}
	if o.Finalists <= 0 {
		o.Finalists = 3
	}
	if o.Seeds <= 0 {
		o.Seeds = 3
	}
	if o.MarginSteps == 0 {
		o.MarginSteps = 6
	}
	if o.MarginMax <= 1 {
		o.MarginMax = 4
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// Problem is a search: the space, where it starts, the objective and how
// to simulate a candidate in each scenario.
type Problem struct {
	Space     Space
	Start     Point
	Scenarios int
	Objective Objective
	Evaluate  Evaluator
}

// Setting is one parameter's value.
type Setting struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// Interval is a mean with its 95 % confidence interval.
type Interval struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// Candidate is an evaluated point (full scenarios, summed over them; the
// latency and attainment are the worst scenario's).
type Candidate struct {
	Key        string    `json:"key"`
	Settings   []Setting `json:"settings"`
	Point      Point     `json:"-"`
	Cost       float64   `json:"cost"`
	Latency    float64   `json:"latency"`
	Attainment float64   `json:"attainment"`
	Dropped    uint64    `json:"dropped"`
	Flaps      int       `json:"flaps"`
	Violation  float64   `json:"violation"`
	Feasible   bool      `json:"feasible"`
	// Seeds > 1: the finalist re-runs (feasible on every seed).
	Seeds     int       `json:"seeds,omitempty"`
	CostCI    *Interval `json:"costCI,omitempty"`
	LatencyCI *Interval `json:"latencyCI,omitempty"`
}

// Margin is how much more traffic the winner absorbs within the objective.
type Margin struct {
	// Multiplier of every arrival rate the winner still meets the objective at.
	Multiplier float64 `json:"multiplier"`
	// Breaks is the smallest multiplier tried that breaks it (0: none did).
	Breaks float64 `json:"breaks,omitempty"`
}

// Result is the search's outcome.
type Result struct {
	Parameters []Param     `json:"parameters"`
	Objective  Objective   `json:"objective"`
	Seed       uint64      `json:"seed"`
	Start      Candidate   `json:"start"`
	Winner     *Candidate  `json:"winner,omitempty"`
	Finalists  []Candidate `json:"finalists"`
	// Pareto is the cost vs latency front of the full-scenario candidates.
	Pareto []Candidate `json:"pareto"`
	Margin *Margin     `json:"margin,omitempty"`
	// Simulations is the number of distinct simulations the search needed.
	Simulations int `json:"simulations"`
	// Candidates evaluated on the full scenarios.
	Evaluated int `json:"evaluated"`
	// Invalid candidates make profiles that do not validate; InvalidReason
	// is the first one's error.
	Invalid       int    `json:"invalid,omitempty"`
	InvalidReason string `json:"invalidReason,omitempty"`
	// All is every candidate evaluated on the full scenarios (seed 0).
	All []Candidate `json:"-"`
}

// Cache holds simulation results by candidate and run; it is what shards
// exchange.
type Cache map[string]Metrics

type searcher struct {
	pr    *Problem
	o     Options
	mu    sync.Mutex
	cache Cache
	ran   int
	total int // an estimate of the simulations to run, for progress
	best  string
	// fullKeys are the candidates evaluated in full so far
	fullKeys map[string]Candidate
	// the first invalid candidate (by key) and why
	invalid, invalidKey string
	// only restricts the simulations actually run (a shard's share);
	// others are left out of the cache.
	only func(i int) bool
}

type task struct {
	p Point
	r Run
}

func (s *searcher) key(p Point, r Run) string { return s.pr.Space.Key(p) + "|" + r.key() }

// batch runs every task not cached, on the bounded pool.
func (s *searcher) batch(ts []task) error {
	var todo []task
	seen := map[string]bool{}
	for i, t := range ts {
		k := s.key(t.p, t.r)
		if _, ok := s.cache[k]; ok || seen[k] {
			continue
		}
		if s.only != nil && !s.only(i) {
			continue
		}
		seen[k] = true
		todo = append(todo, t)
	}
	if len(todo) == 0 {
		return nil
	}
	ch := make(chan task)
	var (
		wg    sync.WaitGroup
		first error
	)
	for w := 0; w < min(s.o.Workers, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range ch {
				m, err := s.pr.Evaluate(t.p, t.r)
				var inv *InvalidError
				s.mu.Lock()
				if errors.As(err, &inv) {
					m, err = Metrics{Invalid: true}, nil
					k := s.pr.Space.Key(t.p)
					if s.invalid == "" || k < s.invalidKey {
						s.invalid, s.invalidKey = inv.Error(), k
					}
				}
				if err != nil {
					if first == nil {
						first = fmt.Errorf("%s: %w", s.pr.Space.Key(t.p), err)
					}
				} else {
					s.cache[s.key(t.p, t.r)] = m
				}
				s.ran++
				if s.o.Progress != nil {
					s.o.Progress(s.ran, max(s.total, s.ran), s.best)
				}
				s.mu.Unlock()
			}
		}()
	}
	for _, t := range todo {
		ch <- t
	}
	close(ch)
	wg.Wait()
	return first
}

func (s *searcher) runs(p Point, seed int, frac, scale float64) []task {
	ts := make([]task, s.pr.Scenarios)
	for i := range ts {
		ts[i] = task{p, Run{Scenario: i, Seed: seed, Fraction: frac, Scale: scale}}
	}
	return ts
}

// candidate sums up a point's runs (they must be cached).
func (s *searcher) candidate(p Point, seed int, frac, scale float64) Candidate {
	c := Candidate{Key: s.pr.Space.Key(p), Point: p, Attainment: 1}
	for i, pa := range s.pr.Space {
		c.Settings = append(c.Settings, Setting{pa.Path, pa.Format(p[i])})
	}
	for _, t := range s.runs(p, seed, frac, scale) {
		m := s.cache[s.key(t.p, t.r)]
		c.Cost += m.Cost
		c.Latency = math.Max(c.Latency, m.Latency)
		c.Attainment = math.Min(c.Attainment, m.Attainment)
		c.Dropped += m.Dropped
		c.Flaps += m.Flaps
		c.Violation += s.pr.Objective.Violation(m)
	}
	c.Feasible = c.Violation == 0
	return c
}

// better orders candidates: feasible ones by cost, then the others by
// violation; the key breaks ties.
func better(a, b *Candidate) int {
	if a.Feasible != b.Feasible {
		if a.Feasible {
			return -1
		}
		return 1
	}
	if !a.Feasible {
		if c := cmp.Compare(a.Violation, b.Violation); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(a.Cost, b.Cost); c != 0 {
		return c
	}
	return cmp.Compare(a.Key, b.Key)
}

// Initial is the candidates of the first rung, in order (the start first).
func Initial(pr *Problem, o Options) []Point {
	o.defaults()
	sp := pr.Space
	start := sp.Canon(pr.Start)
	var pts []Point
	if sp.gridSize(o.Candidates) > 0 {
		pts = sp.grid()
	} else {
		rng := rand.New(rand.NewPCG(o.Seed, 0x74756e65))
		pts = sp.sample(rng, o.Candidates)
	}
	out := []Point{start}
	seen := map[string]bool{sp.Key(start): true}
	for _, p := range pts {
		p = sp.Canon(p)
		if k := sp.Key(p); !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// Shard runs shard i of n of the first rung and returns its simulations.
func Shard(pr *Problem, o Options, i, n int) (Cache, error) {
	if n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("shard %d/%d: want 0 <= i < n", i, n)
	}
	o.defaults()
	s := &searcher{pr: pr, o: o, cache: Cache{}, only: func(k int) bool { return k%n == i }}
	var ts []task
	for _, p := range Initial(pr, o) {
		ts = append(ts, s.runs(p, 0, o.Fractions[0], 1)...)
	}
	if err := s.batch(ts); err != nil {
		return nil, err
	}
	return s.cache, nil
}

// Search runs the whole search. cache (may be nil) holds simulations
// already run, e.g. merged shards; the result does not depend on it.
func Search(pr *Problem, o Options, cache Cache) (*Result, error) {
	if err := pr.Space.Validate(); err != nil {
		return nil, err
	}
	if pr.Scenarios < 1 {
		return nil, fmt.Errorf("no scenario")
	}
	o.defaults()
	if o.Fractions[len(o.Fractions)-1] != 1 {
		o.Fractions = append(o.Fractions, 1)
	}
	s := &searcher{pr: pr, o: o, cache: Cache{}}
	for k, v := range cache {
		s.cache[k] = v
	}
	sp := pr.Space
	res := &Result{Parameters: sp, Objective: pr.Objective, Seed: o.Seed}

	// successive halving
	alive := Initial(pr, o)
	start := alive[0]
	est, n := 0, len(alive)
	for _, f := range o.Fractions {
		est += n
		if f == 1 {
			break
		}
		n = max(o.Finalists, (n+o.Eta-1)/o.Eta)
	}
	est += o.Refine + (o.Finalists+1)*(o.Seeds-1) + o.MarginSteps + 1
	s.total = est * pr.Scenarios
	full := map[string]Candidate{}
	s.fullKeys = full
	for r, frac := range o.Fractions {
		var ts []task
		for _, p := range alive {
			ts = append(ts, s.runs(p, 0, frac, 1)...)
		}
		if err := s.batch(ts); err != nil {
			return nil, err
		}
		cs := make([]Candidate, len(alive))
		for i, p := range alive {
			cs[i] = s.candidate(p, 0, frac, 1)
		}
		slices.SortFunc(cs, func(a, b Candidate) int { return better(&a, &b) })
		s.best = fmt.Sprintf("rung %d: best $%.2f (%s)", r, cs[0].Cost, feasibleWord(cs[0].Feasible))
		if frac == 1 {
			for _, c := range cs {
				full[c.Key] = c
			}
			break
		}
		keep := max(o.Finalists, (len(cs)+o.Eta-1)/o.Eta)
		alive = alive[:0]
		for i := 0; i < min(keep, len(cs)); i++ {
			alive = append(alive, cs[i].Point)
		}
	}

	// local refinement of the best full candidate
	bestOf := func() Candidate {
		var b *Candidate
		for _, c := range sortedCands(full) {
			if b == nil || better(&c, b) < 0 {
				c := c
				b = &c
			}
		}
		return *b
	}
	eval := func(ps []Point) ([]Candidate, error) {
		var ts []task
		for _, p := range ps {
			ts = append(ts, s.runs(p, 0, 1, 1)...)
		}
		if err := s.batch(ts); err != nil {
			return nil, err
		}
		out := make([]Candidate, len(ps))
		for i, p := range ps {
			out[i] = s.candidate(p, 0, 1, 1)
			full[out[i].Key] = out[i]
		}
		b := bestOf()
		s.mu.Lock()
		s.best = fmt.Sprintf("refining: best $%.2f (%s)", b.Cost, feasibleWord(b.Feasible))
		s.mu.Unlock()
		return out, nil
	}
	budget := o.Refine
	if err := s.refineContinuous(&budget, bestOf, eval); err != nil {
		return nil, err
	}
	// coordinate search over the discrete parameters
	for budget > 0 {
		b := bestOf()
		var nb []Point
		for i, pa := range sp {
			if pa.Type == Float {
				continue
			}
			st := pa.step()
			for _, d := range []float64{-st, st} {
				q := slices.Clone(b.Point)
				q[i] = pa.canon(q[i] + d)
				if _, ok := full[sp.Key(q)]; !ok && sp.Key(q) != b.Key {
					nb = append(nb, q)
				}
			}
		}
		if len(nb) == 0 {
			break
		}
		if len(nb) > budget {
			nb = nb[:budget]
		}
		budget -= len(nb)
		if _, err := eval(nb); err != nil {
			return nil, err
		}
		if bestOf().Key == b.Key {
			break
		}
	}

	// finalists on several seeds, and the start
	all := sortedCands(full)
	slices.SortFunc(all, func(a, b Candidate) int { return better(&a, &b) })
	fin := all[:min(o.Finalists, len(all))]
	startKey := sp.Key(start)
	var finPts []Point
	for _, c := range fin {
		finPts = append(finPts, c.Point)
	}
	if !slices.ContainsFunc(fin, func(c Candidate) bool { return c.Key == startKey }) {
		finPts = append(finPts, start)
	}
	var ts []task
	for _, p := range finPts {
		for k := 0; k < o.Seeds; k++ {
			ts = append(ts, s.runs(p, k, 1, 1)...)
		}
	}
	if err := s.batch(ts); err != nil {
		return nil, err
	}
	for _, p := range finPts {
		c := s.seeded(p, o.Seeds)
		if c.Key == startKey {
			res.Start = c
		}
		if len(res.Finalists) < len(fin) {
			res.Finalists = append(res.Finalists, c)
		}
	}
	slices.SortFunc(res.Finalists, func(a, b Candidate) int { return better(&a, &b) })
	if res.Finalists[0].Feasible {
		w := res.Finalists[0]
		res.Winner = &w
	}

	// the start is simulated in full as a finalist even when it was
	// discarded early: it belongs on the front and in the plots
	if _, ok := full[startKey]; !ok {
		full[startKey] = s.candidate(start, 0, 1, 1)
	}
	res.All = sortedCands(full)
	res.Pareto = pareto(sortedCands(full))
	res.Evaluated = len(full)

	// margin: bisection on the traffic multiplier
	if res.Winner != nil && o.MarginSteps > 0 {
		m, err := s.margin(res.Winner.Point)
		if err != nil {
			return nil, err
		}
		res.Margin = m
	}
	res.Simulations = len(s.cache)
	for _, c := range res.All {
		if c.Violation >= 1e6 {
			res.Invalid++
		}
	}
	if res.Invalid > 0 {
		res.InvalidReason = s.invalid
	}
	return res, nil
}

func feasibleWord(ok bool) string {
	if ok {
		return "meets the objective"
	}
	return "misses the objective"
}

func sortedCands(m map[string]Candidate) []Candidate {
	out := make([]Candidate, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Candidate) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// seeded sums up a point over seeds 0..n-1: feasible when it is on every
// seed; cost and latency with 95 % intervals.
func (s *searcher) seeded(p Point, n int) Candidate {
	c := s.candidate(p, 0, 1, 1)
	costs := []float64{c.Cost}
	lats := []float64{c.Latency}
	for k := 1; k < n; k++ {
		d := s.candidate(p, k, 1, 1)
		costs = append(costs, d.Cost)
		lats = append(lats, d.Latency)
		c.Violation += d.Violation
		c.Dropped += d.Dropped
		c.Flaps = max(c.Flaps, d.Flaps)
		c.Attainment = math.Min(c.Attainment, d.Attainment)
	}
	c.Feasible = c.Violation == 0
	c.Seeds = n
	c.CostCI = interval(costs)
	c.LatencyCI = interval(lats)
	c.Cost = c.CostCI.Mean
	c.Latency = slices.Max(lats)
	return c
}

func interval(xs []float64) *Interval {
	m, sd := stat.MeanStdDev(xs, nil)
	if len(xs) < 2 || math.IsNaN(sd) {
		return &Interval{m, m, m}
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975)
	h := t * sd / math.Sqrt(float64(len(xs)))
	return &Interval{round6(m), round6(m - h), round6(m + h)}
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// pareto is the cost vs latency front, by cost.
func pareto(cs []Candidate) []Candidate {
	slices.SortFunc(cs, func(a, b Candidate) int {
		if c := cmp.Compare(a.Cost, b.Cost); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Latency, b.Latency); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	var out []Candidate
	for _, c := range cs {
		if c.Violation >= 1e6 {
			continue // invalid
		}
		if len(out) == 0 || c.Latency < out[len(out)-1].Latency {
			out = append(out, c)
		}
	}
	return out
}

// refineContinuous runs Nelder-Mead over the continuous parameters of the
// best candidate, the others fixed, in the unit cube.
func (s *searcher) refineContinuous(budget *int, bestOf func() Candidate, eval func([]Point) ([]Candidate, error)) error {
	sp := s.pr.Space
	var dims []int
	for i, p := range sp {
		if p.Type == Float {
			dims = append(dims, i)
		}
	}
	if len(dims) == 0 || *budget <= 0 {
		return nil
	}
	b := bestOf()
	ref := math.Max(b.Cost, 1e-9)
	toPoint := func(x []float64) Point {
		q := slices.Clone(b.Point)
		for j, i := range dims {
			q[i] = sp[i].fromUnit(x[j])
		}
		return sp.Canon(q)
	}
	var evalErr error
	n := *budget
	calls := 0
	f := func(x []float64) float64 {
		if evalErr != nil {
			return math.Inf(1)
		}
		if _, ok := s.fullKeys[sp.Key(toPoint(x))]; !ok {
			calls++ // a new candidate
		}
		cs, err := eval([]Point{toPoint(x)})
		if err != nil {
			evalErr = err
			return math.Inf(1)
		}
		c := cs[0]
		// penalty: an infeasible candidate costs more than any feasible one
		v := c.Cost / ref
		if !c.Feasible {
			v += 10 + 100*c.Violation
		}
		return v
	}
	x0 := make([]float64, len(dims))
	for j, i := range dims {
		x0[j] = sp[i].toUnit(b.Point[i])
	}
	_, err := optimize.Minimize(optimize.Problem{Func: f}, x0,
		&optimize.Settings{FuncEvaluations: n, Converger: &optimize.FunctionConverge{Absolute: 1e-3, Iterations: 6}},
		&optimize.NelderMead{SimplexSize: 0.25})
	if evalErr != nil {
		return evalErr
	}
	_ = err // budget exhausted or converged: both fine
	// new candidates, not simulations run: a cache must not change the result
	*budget -= calls
	return nil
}

// margin bisects the traffic multiplier at which the point stops meeting
// the objective (seed 0, full scenarios).
func (s *searcher) margin(p Point) (*Margin, error) {
	ok := func(x float64) (bool, error) {
		if err := s.batch(s.runs(p, 0, 1, x)); err != nil {
			return false, err
		}
		return s.candidate(p, 0, 1, x).Feasible, nil
	}
	lo, hi := 1.0, s.o.MarginMax
	good, err := ok(hi)
	if err != nil {
		return nil, err
	}
	if good {
		return &Margin{Multiplier: hi}, nil
	}
	for i := 0; i < s.o.MarginSteps; i++ {
		mid, _ := strconv.ParseFloat(strconv.FormatFloat((lo+hi)/2, 'f', 3, 64), 64)
		g, err := ok(mid)
		if err != nil {
			return nil, err
		}
		if g {
			lo = mid
		} else {
			hi = mid
		}
	}
	return &Margin{Multiplier: lo, Breaks: hi}, nil
}
