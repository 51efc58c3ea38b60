package sim

import (
	"math"
	"time"
)

// Result is one run's outcome. Its JSON keys are stable (docs/simulator.md).
type Result struct {
	Scenario   RunInfo    `json:"scenario"`
	Summary    Summary    `json:"summary"`
	Decisions  []Decision `json:"decisions"`
	Recoveries []Recovery `json:"recoveries"`
	// Outages are spec.metrics.outages and what each hit (absent without).
	Outages []OutageReport `json:"outages,omitempty"`
	// Timeline is recorded when OutputOptions.TimelineStep > 0.
	Timeline *Timeline `json:"-"`
}

// RunInfo names what ran.
type RunInfo struct {
	Name            string  `json:"name"`
	Policy          string  `json:"policy"`
	Autoscaler      string  `json:"autoscaler"`
	Routing         string  `json:"routing"`
	Duration        string  `json:"duration"`
	DurationSeconds float64 `json:"durationSeconds"`
	Seed            uint64  `json:"seed"`
}

// Summary is the run's figures.
type Summary struct {
	Requests  Requests  `json:"requests"`
	Latency   Latency   `json:"latency"`
	QueueWait Latency   `json:"queueWait"`
	SLO       SLOResult `json:"slo"`
	Replicas  Replicas  `json:"replicas"`
	Pods      Pods      `json:"pods"`
	Nodes     Nodes     `json:"nodes"`
	// GPUHours are the GPU-hours provisioned (node GPUs from launch to
	// removal; pod GPUs when no node pool is modelled).
	GPUHours          float64 `json:"gpuHours"`
	GPUHoursAllocated float64 `json:"gpuHoursAllocated"`
	GPUHoursBusy      float64 `json:"gpuHoursBusy"`
	// Cost in USD of the GPU-hours provisioned.
	Cost                   float64         `json:"cost"`
	CostPerMillionRequests float64         `json:"costPerMillionRequests"`
	ScaleEvents            int             `json:"scaleEvents"`
	ScaleUps               int             `json:"scaleUps"`
	ScaleDowns             int             `json:"scaleDowns"`
	Flaps                  int             `json:"flaps"`
	Recovery               RecoverySummary `json:"recovery"`
	LittlesLaw             LittlesLaw      `json:"littlesLaw"`
	// Outage is what the metric outages did (absent without outages).
	Outage *OutageSummary `json:"outage,omitempty"`
	Engine EngineStats    `json:"engine"`
}

// OutageReport is one metric outage: its interval (clipped to the run) and
// the metrics it hit (hpa:<metric> for the HPA's, keda:<type><index> for a
// KEDA trigger's upstream).
type OutageReport struct {
	Metric    string   `json:"metric"`
	Mode      string   `json:"mode"`
	Start     float64  `json:"start"`
	StartTime string   `json:"startTime"`
	End       float64  `json:"end"`
	EndTime   string   `json:"endTime"`
	Seconds   float64  `json:"seconds"`
	Hit       []string `json:"hit"`
}

// OutageSummary is what the outages did to the controllers.
type OutageSummary struct {
	// Seconds is the time with at least one outage.
	Seconds float64 `json:"seconds"`
	// KEDAFailedPolls counts KEDA polls at which a scaler returned an error.
	KEDAFailedPolls int `json:"kedaFailedPolls"`
	// FallbackSeconds is the time the ScaledObject's Fallback condition was True.
	FallbackSeconds float64 `json:"fallbackSeconds"`
	// HPAFailedReconciles counts HPA reconciles in which a metric fetch failed.
	HPAFailedReconciles int `json:"hpaFailedReconciles"`
	// ScalingInactiveSeconds is the time the HPA had ScalingActive=False
	// for a failed metric (ScalingDisabled at zero replicas not counted).
	ScalingInactiveSeconds float64 `json:"scalingInactiveSeconds"`
}

// Requests counts requests by outcome.
type Requests struct {
	Total     uint64 `json:"total"`
	Completed uint64 `json:"completed"`
	Dropped   uint64 `json:"dropped"`
	TimedOut  uint64 `json:"timedOut"`
	Killed    uint64 `json:"killed"`
	InSystem  int64  `json:"inSystemAtEnd"`
	// Throughput is completions per second.
	Throughput float64 `json:"throughput"`
}

// Latency is a distribution in seconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// SLOResult is how the run met the latency objective.
type SLOResult struct {
	Percentile float64 `json:"percentile"`
	Latency    float64 `json:"latency"`
	Goal       float64 `json:"goal"`
	// Attainment is the share of requests answered within Latency
	// (dropped, timed-out and killed requests count as misses).
	Attainment float64 `json:"attainment"`
	// Windows met: the percentile of a window is within Latency.
	WindowSeconds    float64 `json:"windowSeconds"`
	Windows          int     `json:"windows"`
	WindowsMet       int     `json:"windowsMet"`
	WindowAttainment float64 `json:"windowAttainment"`
	// Met: WindowAttainment >= Goal.
	Met bool `json:"met"`
}

// Replicas are the Deployment's spec.replicas and ready pods over time.
type Replicas struct {
	Initial       int32   `json:"initial"`
	Final         int32   `json:"final"`
	Min           int32   `json:"min"`
	Max           int32   `json:"max"`
	Mean          float64 `json:"mean"`
	MeanReady     float64 `json:"meanReady"`
	TimeAtMax     float64 `json:"timeAtMaxSeconds"`
	HPAReconciles uint64  `json:"hpaReconciles"`
}

// Pods are the pods created and their start-up.
type Pods struct {
	Created      int     `json:"created"`
	ColdStarts   int     `json:"coldStarts"`
	ColdStartAvg float64 `json:"coldStartMeanSeconds"`
	ColdStartMax float64 `json:"coldStartMaxSeconds"`
	Restarts     int     `json:"restarts"`
}

// Nodes are the GPU nodes provisioned.
type Nodes struct {
	Created       int  `json:"created"`
	Max           int  `json:"max"`
	Unschedulable bool `json:"unschedulable"`
}

// RecoverySummary sums up the SLO violation episodes.
type RecoverySummary struct {
	Episodes    int     `json:"episodes"`
	MeanSeconds float64 `json:"meanSeconds"`
	MaxSeconds  float64 `json:"maxSeconds"`
	// Unrecovered: the run ended in violation.
	Unrecovered bool `json:"unrecovered"`
}

// Recovery is one stretch of SLO windows that missed the objective.
type Recovery struct {
	Start     float64 `json:"start"`
	StartTime string  `json:"startTime"`
	Seconds   float64 `json:"seconds"`
	Recovered bool    `json:"recovered"`
}

// LittlesLaw compares the time-average number in the system (L) with the
// arrival rate times the mean time in system (λW).
type LittlesLaw struct {
	L             float64 `json:"l"`
	LambdaW       float64 `json:"lambdaW"`
	RelativeError float64 `json:"relativeError"`
}

// EngineStats describe the run itself. WallSeconds and EventsPerSecond are
// 0 when no clock was given.
type EngineStats struct {
	Events          uint64  `json:"events"`
	WallSeconds     float64 `json:"wallSeconds"`
	EventsPerSecond float64 `json:"eventsPerSecond"`
	SpeedUp         float64 `json:"speedUp"`
}

// Decision is one change of the Deployment's replicas.
type Decision struct {
	At     float64 `json:"at"`
	Time   string  `json:"time"`
	From   int32   `json:"from"`
	To     int32   `json:"to"`
	By     string  `json:"by"`
	Reason string  `json:"reason"`
}

func latencyOf(h *Histogram) Latency {
	s := func(us float64) float64 { return round(us/1e6, 6) }
	return Latency{
		Mean: s(h.Mean()), P50: s(h.Quantile(0.50)), P90: s(h.Quantile(0.90)),
		P95: s(h.Quantile(0.95)), P99: s(h.Quantile(0.99)), Max: s(float64(h.Max())),
	}
}

var autoscalerNames = [...]string{"none", "hpa", "keda"}

func (e *Engine) result() *Result {
	cfg := e.cfg
	st := &e.st
	st.advance(e)
	// close the last partial window
	if e.win.n > 0 {
		st.winNext = e.now + st.winLen
		st.closeWindow(e)
	}
	T := float64(e.end)
	secs := T / 1e9
	r := &Result{
		Scenario: RunInfo{
			Name: cfg.Name, Policy: cfg.Policy, Autoscaler: autoscalerNames[cfg.Autoscaler.Kind],
			Routing: cfg.Service.Routing.String(), Duration: cfg.Duration.String(),
			DurationSeconds: cfg.Duration.Seconds(), Seed: cfg.Seed,
		},
		Decisions:  st.decisions,
		Recoveries: st.recoveries,
		Timeline:   nil,
	}
	if r.Decisions == nil {
		r.Decisions = []Decision{}
	}
	if st.inViolation {
		r.Recoveries = append(r.Recoveries, Recovery{
			Start: round(float64(st.violStart)/1e9, 3), StartTime: clock(st.violStart),
			Seconds: round(float64(e.end-st.violStart)/1e9, 3), Recovered: false,
		})
	}
	if r.Recoveries == nil {
		r.Recoveries = []Recovery{}
	}
	s := &r.Summary
	s.Requests = Requests{
		Total: e.arrivals, Completed: e.completed, Dropped: e.dropped, TimedOut: e.timedOut,
		Killed: e.killed, InSystem: e.inSys, Throughput: round(float64(e.completed)/secs, 4),
	}
	s.Latency = latencyOf(&e.lat)
	s.QueueWait = latencyOf(&e.wait)
	left := e.completed + e.dropped + e.timedOut + e.killed
	att := 0.0
	if left > 0 {
		att = float64(e.sloOK) / float64(left)
	}
	s.SLO = SLOResult{
		Percentile: cfg.SLO.Percentile, Latency: cfg.SLO.Latency.Seconds(), Goal: cfg.SLO.Goal,
		Attainment: round(att, 6), WindowSeconds: time.Duration(st.winLen).Seconds(),
		Windows: st.windows, WindowsMet: st.windowsMet,
	}
	if st.windows > 0 {
		s.SLO.WindowAttainment = round(float64(st.windowsMet)/float64(st.windows), 6)
	} else {
		s.SLO.WindowAttainment = 1
	}
	s.SLO.Met = s.SLO.WindowAttainment >= cfg.SLO.Goal
	s.Replicas = Replicas{
		Initial: st.initialReplicas, Final: e.spec, Min: st.minSpec, Max: st.maxSpec,
		Mean: round(st.specArea/T, 4), MeanReady: round(st.readyArea/T, 4),
		TimeAtMax: round(float64(st.timeAtMax)/1e9, 3), HPAReconciles: e.ctl.hpaRuns,
	}
	s.Pods = Pods{Created: st.podsCreated, ColdStarts: st.coldN, Restarts: st.restarts}
	if st.coldN > 0 {
		s.Pods.ColdStartAvg = round(st.coldSum/float64(st.coldN)/1e9, 3)
		s.Pods.ColdStartMax = round(st.coldMax/1e9, 3)
	}
	// GPU time of pods still alive
	podGPU, podBusy := st.podGPUTime, st.podBusyTime
	g := float64(max(cfg.Pod.GPUs, 0))
	for _, i := range e.live {
		p := &e.pods[i]
		e.setBusy(p, 0)
		if p.sched >= 0 || p.stage > stPending {
			podGPU += float64(e.now-max(p.sched, 0)) * g
		}
		podBusy += p.busyArea / float64(e.conc) * g
	}
	var nodeGPU, cost float64
	for n := range e.nodes {
		nd := &e.nodes[n]
		end := e.end
		if nd.gone {
			end = nd.goneAt
		}
		pl := &cfg.Pools[nd.pool]
		h := float64(end-max(nd.created, 0)) / float64(time.Hour) * float64(pl.GPUsPerNode)
		nodeGPU += h
		cost += h * pl.GPUHourUSD
	}
	s.Nodes = Nodes{Created: st.nodesCreated, Max: st.nodesMax, Unschedulable: st.unschedulable}
	alloc := podGPU / float64(time.Hour)
	if len(cfg.Pools) == 0 {
		nodeGPU = alloc
		cost = alloc * cfg.Pod.GPUHourUSD
	}
	s.GPUHours = round(nodeGPU, 4)
	s.GPUHoursAllocated = round(alloc, 4)
	s.GPUHoursBusy = round(podBusy/float64(time.Hour), 4)
	s.Cost = round(cost, 2)
	if e.completed > 0 {
		s.CostPerMillionRequests = round(cost/float64(e.completed)*1e6, 2)
	}
	s.ScaleEvents, s.ScaleUps, s.ScaleDowns, s.Flaps = st.scaleEvents, st.ups, st.downs, st.flaps
	rs := &s.Recovery
	for _, rc := range r.Recoveries {
		rs.Episodes++
		rs.MeanSeconds += rc.Seconds
		rs.MaxSeconds = math.Max(rs.MaxSeconds, rc.Seconds)
		if !rc.Recovered {
			rs.Unrecovered = true
		}
	}
	if rs.Episodes > 0 {
		rs.MeanSeconds = round(rs.MeanSeconds/float64(rs.Episodes), 3)
	}
	// Little's law over [0, T]: L = ∫N dt / T (integrated at every event);
	// λ = arrivals / T; W = mean time in system per arrival, summed
	// request by request: departures, plus T - arrival for those still
	// waiting or in service at T. The two sides are computed separately,
	// so any request the engine loses or double-counts shows up here.
	inside := 0.0
	qIn := func(q *reqQueue) {
		for k := 0; k < q.size; k++ {
			inside += float64(e.now - q.buf[(q.head+k)%len(q.buf)].arrive)
		}
	}
	qIn(&e.shared)
	for _, i := range e.live {
		p := &e.pods[i]
		qIn(&p.q)
		inside += float64(int64(p.reqs)*e.now - p.arrSum)
	}
	L := e.area / T
	lw := 0.0
	if e.arrivals > 0 {
		lw = float64(e.arrivals) / T * ((e.sojourn + inside) / float64(e.arrivals))
	}
	s.LittlesLaw = LittlesLaw{L: round(L, 6), LambdaW: round(lw, 6)}
	if L > 0 {
		s.LittlesLaw.RelativeError = round(math.Abs(L-lw)/L, 12)
	}
	r.Outages, s.Outage = e.outageReport()
	s.Engine = EngineStats{Events: e.nev}
	r.Timeline = e.tl.finish()
	return r
}
