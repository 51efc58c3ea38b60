package sim

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHeapOrder(t *testing.T) {
	var h eventHeap
	r := rand.New(rand.NewPCG(1, 2))
	var seq uint32
	var want []event
	for i := 0; i < 5000; i++ {
		seq++
		e := event{t: int64(r.IntN(1000)), seq: seq}
		h.push(e)
		want = append(want, e)
		if r.IntN(3) == 0 {
			// pop one: it must be the minimum of what is in the heap
			sort.Slice(want, func(i, j int) bool { return less(&want[i], &want[j]) })
			got := h.pop()
			if got != want[0] {
				t.Fatalf("pop %+v, want %+v", got, want[0])
			}
			want = want[1:]
		}
	}
	sort.Slice(want, func(i, j int) bool { return less(&want[i], &want[j]) })
	for _, w := range want {
		if got := h.pop(); got != w {
			t.Fatalf("pop %+v, want %+v", got, w)
		}
	}
	if h.len() != 0 {
		t.Fatal("heap not empty")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(3, 4))
	vals := make([]float64, 200000)
	for i := range vals {
		v := uint64(math.Exp(10 + 2*r.NormFloat64()))
		vals[i] = float64(v)
		h.Record(v)
	}
	sort.Float64s(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(got-exact) / exact; rel > 0.008 {
			t.Errorf("q%.3f: %v, exact %v (rel %.4f)", q, got, exact, rel)
		}
	}
	if h.Max() != uint64(vals[len(vals)-1]) {
		t.Errorf("max %d, want %v", h.Max(), vals[len(vals)-1])
	}
}

func TestHistogramBucketsContiguous(t *testing.T) {
	for i := 1; i < histBuckets-histSub; i++ {
		if histLow(i) != histHigh(i-1)+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, histLow(i), histHigh(i-1))
		}
		if histIndex(histLow(i)) != i || histIndex(histHigh(i)) != i {
			t.Fatalf("bucket %d bounds map to %d, %d", i, histIndex(histLow(i)), histIndex(histHigh(i)))
		}
	}
}

// countArrivals returns the arrivals in [from, to) seconds.
func countArrivals(tr *Traffic, d time.Duration, seed uint64, from, to float64) float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	rm := rand.New(rand.NewPCG(seed, 2))
	a := newArrivals(tr, r, rm, int64(d))
	n := 0.0
	for {
		t, _, _ := a.next()
		if t < 0 {
			return n
		}
		s := float64(t) / 1e9
		if s >= from && s < to {
			n++
		}
	}
}

func within(t *testing.T, name string, got, mean float64) {
	t.Helper()
	if sd := math.Sqrt(mean); math.Abs(got-mean) > 4*sd {
		t.Errorf("%s: %v arrivals, want %v ± %v", name, got, mean, 4*sd)
	}
}

func TestTrafficPatterns(t *testing.T) {
	h := time.Hour
	step := &Traffic{Points: []RatePoint{{0, 10}, {20 * time.Minute, 50}, {40 * time.Minute, 0}}}
	within(t, "step 1", countArrivals(step, h, 1, 0, 1200), 12000)
	within(t, "step 2", countArrivals(step, h, 1, 1200, 2400), 60000)
	if n := countArrivals(step, h, 1, 2400, 3600); n != 0 {
		t.Errorf("step 3: %v arrivals at rate 0", n)
	}
	ramp := &Traffic{Points: []RatePoint{{0, 0}, {h, 100}}, Linear: true}
	within(t, "ramp first half", countArrivals(ramp, h, 2, 0, 1800), 0.25*100*3600/2)
	within(t, "ramp second half", countArrivals(ramp, h, 2, 1800, 3600), 0.75*100*3600/2)
	di := &Traffic{Diurnal: &Diurnal{Min: 10, Max: 110, Period: 24 * h, PeakAt: 12 * h}}
	// around the peak the rate is ~110, around midnight ~10
	within(t, "diurnal peak", countArrivals(di, 24*h, 3, 12*3600-300, 12*3600+300), 600*(10+100*(1+math.Cos(2*math.Pi*300/86400))/2+0.0)*1)
	within(t, "diurnal trough", countArrivals(di, 24*h, 3, 0, 600), 600*10.05)
	sp := &Traffic{Rate: 5, Spikes: []Spike{{At: 10 * time.Minute, Duration: time.Minute, Rate: 95}}}
	within(t, "spike", countArrivals(sp, h, 4, 600, 660), 60*100)
	// MMPP: the long-run rate is the time-weighted mean of the states
	mm := &Traffic{MMPP: []MMPPState{{Rate: 2, MeanDuration: time.Minute}, {Rate: 20, MeanDuration: time.Minute}}}
	n := countArrivals(mm, 48*h, 5, 0, 48*3600)
	if want := 11.0 * 48 * 3600; math.Abs(n-want)/want > 0.05 {
		t.Errorf("mmpp: %v arrivals, want about %v", n, want)
	}
}

// coldConfig is one replica scaled by nothing, with constant cold-start
// parts, so start-up times are exact.
func coldConfig() *Config {
	c := mmcConfig(0, time.Second, 1, 10*time.Minute, 1)
	c.Traffic = Traffic{}
	c.Autoscaler.WarmStart = false
	c.Autoscaler.Replicas = 2
	c.Pod.GPUs = 1
	c.Pod.ImagePull, c.Pod.ModelLoad, c.Pod.Warmup = Const(30*time.Second), Const(41*time.Second), Const(5*time.Second)
	c.Pod.StartupPeriod, c.Pod.StartupFailures = 10*time.Second, 30
	c.Pools = []NodePool{{Name: "p", GPUsPerNode: 1, Provisioning: Const(90 * time.Second), Initial: 0, Max: 4, ScaleDownUnneeded: 10 * time.Minute, GPUHourUSD: 2}}
	return c
}

func TestColdStartTimeline(t *testing.T) {
	res, err := Run(coldConfig())
	if err != nil {
		t.Fatal(err)
	}
	// node 90 s + pull 30 s + load 41 s + warm-up 5 s = 166 s after creation;
	// the startup probe (every 10 s from the container start at 120 s)
	// first sees it ready at 120 + 50 = 170 s.
	if got := res.Summary.Pods.ColdStartAvg; got != 170 {
		t.Errorf("cold start %v s, want 170", got)
	}
	if res.Summary.Nodes.Created != 2 || res.Summary.Nodes.Max != 2 {
		t.Errorf("nodes %+v, want 2", res.Summary.Nodes)
	}
	// 2 nodes × 10 min = 1/3 GPU-hour at $2
	if g := res.Summary.GPUHours; math.Abs(g-1.0/3) > 1e-3 {
		t.Errorf("GPU-hours %v, want 0.3333", g)
	}
	if c := res.Summary.Cost; c != 0.67 {
		t.Errorf("cost %v, want 0.67", c)
	}
}

func TestStartupProbeRestart(t *testing.T) {
	c := coldConfig()
	c.Pod.StartupFailures = 3 // 30 s budget for a 46 s load: the kubelet restarts it
	res, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Pods.Restarts == 0 {
		t.Fatalf("no startup-probe restart: %+v", res.Summary.Pods)
	}
	if res.Summary.Pods.ColdStarts != 0 {
		t.Errorf("a pod whose load never fits the startup budget became ready: %+v", res.Summary.Pods)
	}
}

func TestNodeScaleDown(t *testing.T) {
	c := coldConfig()
	c.Duration = time.Hour
	c.Autoscaler.Replicas = 1
	c.Pools[0].Initial = 3 // two idle nodes go after 10 minutes
	c.Autoscaler.WarmStart = true
	res, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	// 1 node for 1 h + 2 nodes for 10 min
	if g := res.Summary.GPUHours; math.Abs(g-(1+2.0/6)) > 1e-3 {
		t.Errorf("GPU-hours %v, want 1.3333", g)
	}
}

func TestTimeoutAndLittle(t *testing.T) {
	// overloaded: ρ = 2, requests give up after 5 s
	c := mmcConfig(2, time.Second, 1, time.Hour, 9)
	c.Service.Timeout = 5 * time.Second
	res, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Requests.TimedOut == 0 {
		t.Fatal("no request timed out at ρ = 2")
	}
	if s.QueueWait.Max > 5.01+1 { // purge runs every second
		t.Errorf("a request waited %v s with a 5 s timeout", s.QueueWait.Max)
	}
	if s.LittlesLaw.RelativeError > 1e-9 {
		t.Errorf("Little's law off by %v", s.LittlesLaw.RelativeError)
	}
	if got := s.Requests.Completed + s.Requests.TimedOut + uint64(s.Requests.InSystem); got != s.Requests.Total {
		t.Errorf("requests do not add up: %+v", s.Requests)
	}
}

func TestDeterministicAndCommonRandomNumbers(t *testing.T) {
	a, _ := Run(mmcConfig(3, time.Second, 4, time.Hour, 5))
	b, _ := Run(mmcConfig(3, time.Second, 4, time.Hour, 5))
	if a.Summary != b.Summary {
		t.Fatalf("same seed, different summaries:\n%+v\n%+v", a.Summary, b.Summary)
	}
	// another capacity sees the same arrivals
	c, _ := Run(mmcConfig(3, time.Second, 6, time.Hour, 5))
	if c.Summary.Requests.Total != a.Summary.Requests.Total {
		t.Errorf("arrivals differ between policies: %d vs %d", c.Summary.Requests.Total, a.Summary.Requests.Total)
	}
	if c.Summary.QueueWait.Mean >= a.Summary.QueueWait.Mean {
		t.Errorf("6 slots wait %v, not less than 4 slots %v", c.Summary.QueueWait.Mean, a.Summary.QueueWait.Mean)
	}
	d, _ := Run(mmcConfig(3, time.Second, 4, time.Hour, 6))
	if d.Summary.Requests.Total == a.Summary.Requests.Total && d.Summary.Latency == a.Summary.Latency {
		t.Error("another seed gave the same run")
	}
}

func TestRoutings(t *testing.T) {
	for _, r := range []Routing{RouteRandom, RouteRoundRobin, RouteLeastOutstanding, RouteSharedQueue} {
		c := mmcConfig(6, time.Second, 2, 2*time.Hour, 3)
		c.Service.Routing = r
		c.Autoscaler.Replicas = 4
		res, err := Run(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-18s wait mean %.3fs p99 %.3fs", r, res.Summary.QueueWait.Mean, res.Summary.QueueWait.P99)
		if res.Summary.LittlesLaw.RelativeError > 1e-9 {
			t.Errorf("%s: Little's law off by %v", r, res.Summary.LittlesLaw.RelativeError)
		}
	}
	// a shared queue (M/M/8) waits less than random routing (4 × M/M/2)
	sq, rnd := mmcConfig(6, time.Second, 2, 2*time.Hour, 3), mmcConfig(6, time.Second, 2, 2*time.Hour, 3)
	sq.Autoscaler.Replicas, rnd.Autoscaler.Replicas = 4, 4
	rnd.Service.Routing = RouteRandom
	a, _ := Run(sq)
	b, _ := Run(rnd)
	if a.Summary.QueueWait.Mean >= b.Summary.QueueWait.Mean {
		t.Errorf("shared queue waits %v, random %v", a.Summary.QueueWait.Mean, b.Summary.QueueWait.Mean)
	}
}

func TestBatches(t *testing.T) {
	// one slot, constant 1 s per batch: without batching the capacity is
	// 1 req/s; batches of 8 serve 6 req/s with short waits.
	c := mmcConfig(6, time.Second, 1, 2*time.Hour, 4)
	c.Service.Time = Const(time.Second)
	c.Service.BatchSize = 8
	res, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.LittlesLaw.RelativeError > 1e-9 {
		t.Errorf("Little's law off by %v", s.LittlesLaw.RelativeError)
	}
	if s.Requests.InSystem > 50 || s.QueueWait.P99 > 3 {
		t.Errorf("batches of 8 at 6 req/s: %d in system at the end, p99 wait %v s", s.Requests.InSystem, s.QueueWait.P99)
	}
	// every request of a batch takes the batch's time: latency >= 1 s
	if s.Latency.P50 < 1 || s.Latency.Mean < 1 {
		t.Errorf("latency %+v below the batch time", s.Latency)
	}
	c.Service.BatchSize = 1
	res, _ = Run(c)
	if res.Summary.Requests.InSystem < 10000 {
		t.Errorf("without batching 6 req/s on 1 req/s of capacity left %d in the system", res.Summary.Requests.InSystem)
	}
}
