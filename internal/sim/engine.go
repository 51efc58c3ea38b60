package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Pod stages.
type stage uint8

const (
	stPending     stage = iota // not scheduled (waiting for a GPU)
	stPulling                  // scheduled, image being pulled (phase Pending)
	stLoading                  // container running, model loading (not ready)
	stReady                    // serving
	stTerminating              // deleted, finishing in-flight work
	stGone
)

type pod struct {
	name    string
	stage   stage
	node    int32
	gen     uint32
	created int64
	sched   int64 // status.startTime
	running int64 // container start
	ready   int64
	// readyIdx / idleIdx are positions in Engine.ready / Engine.idle (-1: absent)
	readyIdx, idleIdx int32
	liveIdx           int32
	restarts          int32

	busy     int32    // slots in use
	reqs     int32    // requests in service (more than busy with batches)
	arrSum   int64    // sum of the in-flight requests' arrival times
	q        reqQueue // routed but not started (load-balancer routings)
	assigned uint64   // requests routed to the pod

	// busy-slot and non-idle time integrals (ns·slots, ns)
	lastT     int64
	busyArea  float64
	nonIdle   float64
	lastBusyA float64 // at the previous gauge refresh
	lastNonId float64
	lastMSA   float64 // at the previous metrics-server scrape
	lastAsg   uint64

	// the app's gauges (refreshed every GaugeRefresh) and what Prometheus scraped
	gauge   [numSignals]float64
	scraped [numSignals]float64
	hasScr  bool
	scrT    int64
	// metrics-server
	msCPU, msMem int64 // milli-units
	hasMS        bool
	msT          int64
}

const numSignals = 7

type node struct {
	pool     int32
	used     int64
	ready    bool
	created  int64
	readyAt  int64
	gone     bool
	goneAt   int64
	pullDone int64 // -1: image never pulled
	gen      uint32
	pods     int32
}

// Engine runs one simulation.
type Engine struct {
	cfg *Config
	end int64
	now int64
	h   eventHeap
	seq uint32
	nev uint64

	rArr, rMMPP, rSvc, rCold, rRoute *rand.Rand
	arr                              *arrivals

	shared reqQueue // shared queue, or the ingress hold queue with no ready pod
	pods   []pod
	live   []int32
	ready  []int32
	idle   []int32
	rr     int
	nodes  []node
	spec   int32
	conc   int32

	nextIn, nextOut int32 // token counts of the pending traced arrival
	nextDur         int64 // its recorded service time
	batch           int32
	batches         [][]int64 // arrival times of the batches in service
	freeB           []int32
	arrEv           event

	// accounting
	inSys     int64
	area      float64 // ∫ requests in system dt (ns)
	waiting   int64
	inflight  int64
	arrivals  uint64
	completed uint64
	dropped   uint64
	timedOut  uint64
	killed    uint64
	sojourn   float64 // ns, every request that left
	lat, wait Histogram
	sloNs     int64
	sloOK     uint64

	win winStats

	ctl control
	st  stats
	tl  *timeline
}

// Run simulates cfg and returns the result.
func Run(cfg *Config) (*Result, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return e.Run(), nil
}

// New prepares an engine for cfg.
func New(cfg *Config) (*Engine, error) {
	if cfg.Duration <= 0 {
		return nil, fmt.Errorf("duration must be positive")
	}
	e := &Engine{cfg: cfg, end: int64(cfg.Duration)}
	seed := cfg.Seed
	e.rArr = rand.New(rand.NewPCG(seed, 0x61727269766c73)) // "arrivls"
	e.rMMPP = rand.New(rand.NewPCG(seed, 0x6d6d7070))
	e.rSvc = rand.New(rand.NewPCG(seed, 0x73657276696365))
	e.rCold = rand.New(rand.NewPCG(seed, 0x636f6c64))
	e.rRoute = rand.New(rand.NewPCG(seed, 0x726f757465))
	e.arr = newArrivals(&cfg.Traffic, e.rArr, e.rMMPP, e.end)
	e.conc = max(1, cfg.Service.Concurrency)
	e.batch = max(1, cfg.Service.BatchSize)
	e.sloNs = int64(cfg.SLO.Latency)
	if err := e.ctl.init(e); err != nil {
		return nil, err
	}
	e.st.init(e)
	if cfg.Output.TimelineStep > 0 {
		e.tl = newTimeline(e)
	}
	return e, nil
}

func (e *Engine) schedule(t int64, k evKind, a int32, gen uint32, arrive int64) {
	e.seq++
	e.h.push(event{t: t, seq: e.seq, kind: k, a: a, gen: gen, arrive: arrive})
}

// Run executes the event loop to the end of the simulated duration.
func (e *Engine) Run() *Result {
	var wall0 time.Time
	if e.cfg.Output.Clock != nil {
		wall0 = e.cfg.Output.Clock()
	}
	e.setup()
	progressEvery := uint64(1 << 22)
	progress := e.cfg.Output.Progress
	for {
		var ev event
		// the next arrival lives outside the heap: one push and pop less per request
		if e.arr.pending && (e.h.len() == 0 || less(&e.arrEv, &e.h.s[0])) {
			ev = e.arrEv
			e.arr.pending = false
		} else if e.h.len() > 0 {
			ev = e.h.pop()
		} else {
			break
		}
		if ev.t > e.end {
			break
		}
		e.area += float64(e.inSys) * float64(ev.t-e.now)
		e.now = ev.t
		e.nev++
		switch ev.kind {
		case evArrival:
			e.onArrival()
		case evComplete:
			e.onComplete(ev.a, ev.gen, ev.arrive)
		case evBatchDone:
			e.onBatchDone(ev.a, ev.gen, int32(ev.arrive))
		case evPodStage:
			e.onPodStage(ev.a, ev.gen)
		case evTermDone:
			e.onTermDone(ev.a, ev.gen)
		case evNodeReady:
			e.onNodeReady(ev.a)
		case evNodeIdle:
			e.onNodeIdle(ev.a, ev.gen)
		case evOutage:
			e.ctl.onOutage(e, ev.a, ev.gen)
		default:
			e.ctl.onEvent(e, ev.kind)
		}
		if progress != nil && e.nev%progressEvery == 0 {
			progress(float64(e.now) / float64(e.end))
		}
	}
	e.area += float64(e.inSys) * float64(e.end-e.now)
	e.now = e.end
	res := e.result()
	if e.cfg.Output.Clock != nil {
		wall := e.cfg.Output.Clock().Sub(wall0).Seconds()
		res.Summary.Engine.WallSeconds = round(wall, 3)
		if wall > 0 {
			res.Summary.Engine.EventsPerSecond = math.Round(float64(e.nev) / wall)
			res.Summary.Engine.SpeedUp = math.Round(e.cfg.Duration.Seconds() / wall)
		}
	}
	return res
}

func (e *Engine) setup() {
	cfg := e.cfg
	for i := range cfg.Pools {
		p := &cfg.Pools[i]
		for j := 0; j < p.Initial; j++ {
			n := e.addNode(int32(i))
			// nodes that exist at t=0 have run the workload: the image is cached
			e.nodes[n].ready, e.nodes[n].readyAt, e.nodes[n].pullDone = true, 0, 0
			e.schedule(int64(p.ScaleDownUnneeded), evNodeIdle, n, e.nodes[n].gen, 0)
		}
	}
	e.spec = cfg.Autoscaler.Replicas
	for i := int32(0); i < e.spec; i++ {
		p := e.newPod()
		if cfg.Autoscaler.WarmStart {
			e.warmPod(p)
		}
	}
	for i := 0; i < cfg.Traffic.InitialBacklog; i++ {
		e.arrivals++
		e.admit(request{arrive: 0, service: cfg.Service.Time.Sample(e.rSvc)})
	}
	e.ctl.start(e)
	e.nextArrival()
	e.st.start(e)
}

// warmPod places pod p on a node as if it had been running for an hour.
func (e *Engine) warmPod(i int32) {
	p := &e.pods[i]
	if p.stage != stPulling && p.stage != stLoading {
		return // no node: it stays pending
	}
	past := -int64(time.Hour)
	p.created, p.sched, p.running, p.ready = past, past, past, past
	p.gen++ // cancel the pending stage event
	p.stage = stLoading
	e.becomeReady(i)
}

// ---- requests ----

func (e *Engine) onArrival() {
	e.arrivals++
	r := request{arrive: e.now}
	if e.nextDur > 0 {
		r.service = e.nextDur
	} else if tm := e.cfg.Service.Tokens; tm != nil && (e.nextIn > 0 || e.nextOut > 0) {
		r.service = int64(tm.Base) + int64(e.nextIn)*int64(tm.PerInputToken) + int64(e.nextOut)*int64(tm.PerOutputToken)
	} else {
		r.service = e.cfg.Service.Time.Sample(e.rSvc)
	}
	if mq := e.cfg.Service.MaxQueue; mq > 0 && e.waiting >= int64(mq) {
		e.dropped++
		e.win.miss++
		e.win.n++
	} else {
		e.admit(r)
	}
	e.nextArrival()
}

// nextArrival draws the next arrival and holds it beside the heap.
func (e *Engine) nextArrival() {
	if t, in, out := e.arr.next(); t >= 0 {
		e.nextIn, e.nextOut, e.nextDur = in, out, e.arr.dur
		e.seq++
		e.arrEv = event{t: t, seq: e.seq, kind: evArrival}
		e.arr.pending = true
	}
}

// admit routes a request that just entered the system.
func (e *Engine) admit(r request) {
	e.inSys++
	if e.cfg.Service.Routing == RouteSharedQueue {
		if n := len(e.idle); n > 0 && e.shared.len() == 0 {
			e.start(e.idle[n-1], r)
			return
		}
		e.shared.push(r)
		e.waiting++
		return
	}
	if len(e.ready) == 0 {
		e.shared.push(r) // held at the ingress until a pod is ready
		e.waiting++
		return
	}
	e.route(r)
}

// route sends r to a ready pod (load-balancer routings).
func (e *Engine) route(r request) {
	var i int32
	switch e.cfg.Service.Routing {
	case RouteRoundRobin:
		e.rr++
		if e.rr >= len(e.ready) {
			e.rr = 0
		}
		i = e.ready[e.rr]
	case RouteLeastOutstanding:
		best := int64(math.MaxInt64)
		for _, j := range e.ready {
			p := &e.pods[j]
			if o := int64(p.reqs) + int64(p.q.len()); o < best {
				best, i = o, j
			}
		}
	default:
		i = e.ready[e.rRoute.IntN(len(e.ready))]
	}
	p := &e.pods[i]
	p.assigned++
	if p.busy < e.conc {
		e.start(i, r)
		return
	}
	p.q.push(r)
	e.waiting++
}

func (e *Engine) setBusy(p *pod, d int32) {
	dt := float64(e.now - p.lastT)
	p.busyArea += float64(p.busy) * dt
	if p.busy > 0 {
		p.nonIdle += dt
	}
	p.lastT = e.now
	p.busy += d
}

// start begins serving r on pod i.
func (e *Engine) start(i int32, r request) {
	if e.batch > 1 {
		e.startBatch(i, r, nil)
		return
	}
	p := &e.pods[i]
	e.setBusy(p, 1)
	p.arrSum += r.arrive
	p.reqs++
	e.inflight++
	e.wait.Record(uint64((e.now - r.arrive) / 1000))
	e.schedule(e.now+r.service, evComplete, i, p.gen, r.arrive)
	if e.cfg.Service.Routing == RouteSharedQueue && p.busy >= e.conc {
		e.idleRemove(i)
	}
}

// leave accounts for a request that left the system.
func (e *Engine) leave(arrive int64) {
	e.inSys--
	e.sojourn += float64(e.now - arrive)
}

// startBatch serves first and up to BatchSize-1 more requests from src in
// one slot; the batch takes as long as its longest request.
func (e *Engine) startBatch(i int32, first request, src *reqQueue) {
	p := &e.pods[i]
	var b int32
	if n := len(e.freeB); n > 0 {
		b, e.freeB = e.freeB[n-1], e.freeB[:n-1]
	} else {
		b = int32(len(e.batches))
		e.batches = append(e.batches, make([]int64, 0, e.batch))
	}
	arr := e.batches[b][:0]
	svc := int64(0)
	r, ok := first, true
	for ok {
		arr = append(arr, r.arrive)
		svc = max(svc, r.service)
		p.arrSum += r.arrive
		e.wait.Record(uint64((e.now - r.arrive) / 1000))
		if len(arr) >= int(e.batch) || src == nil {
			break
		}
		r, ok = e.take(src)
	}
	e.batches[b] = arr
	e.setBusy(p, 1)
	p.reqs += int32(len(arr))
	e.inflight += int64(len(arr))
	e.schedule(e.now+svc, evBatchDone, i, p.gen, int64(b))
	if e.cfg.Service.Routing == RouteSharedQueue && p.busy >= e.conc {
		e.idleRemove(i)
	}
}

func (e *Engine) onBatchDone(i int32, gen uint32, b int32) {
	p := &e.pods[i]
	arr := e.batches[b]
	e.freeB = append(e.freeB, b)
	if p.gen != gen {
		return // the pod was killed; already accounted for
	}
	for _, a := range arr {
		e.finish(a)
		p.arrSum -= a
	}
	e.setBusy(p, -1)
	p.reqs -= int32(len(arr))
	e.inflight -= int64(len(arr))
	e.pull(i)
	if p.stage == stTerminating && p.busy == 0 && p.q.len() == 0 {
		e.removePod(i)
	}
}

func (e *Engine) onComplete(i int32, gen uint32, arrive int64) {
	p := &e.pods[i]
	if p.gen != gen {
		return // the pod was killed; already accounted for
	}
	e.finish(arrive)
	e.setBusy(p, -1)
	p.arrSum -= arrive
	p.reqs--
	e.inflight--
	e.pull(i)
	if p.stage == stTerminating && p.busy == 0 && p.q.len() == 0 {
		e.removePod(i)
	}
}

// finish accounts for a completed request.
func (e *Engine) finish(arrive int64) {
	lat := e.now - arrive
	e.lat.Record(uint64(lat / 1000))
	e.completed++
	e.win.n++
	if lat <= e.sloNs {
		e.sloOK++
	} else {
		e.win.miss++
	}
	if e.tl != nil {
		e.tl.lat.record(uint64(lat / 1000))
	}
	e.leave(arrive)
}

// take pops the first request of q that has not timed out.
func (e *Engine) take(q *reqQueue) (request, bool) {
	to := int64(e.cfg.Service.Timeout)
	for q.len() > 0 {
		r := q.pop()
		e.waiting--
		if to > 0 && e.now-r.arrive > to {
			e.timeout(r)
			continue
		}
		return r, true
	}
	return request{}, false
}

func (e *Engine) timeout(r request) {
	e.timedOut++
	e.win.n++
	e.win.miss++
	e.leave(r.arrive)
}

// purge drops timed-out requests at the head of every queue.
func (e *Engine) purge() {
	to := int64(e.cfg.Service.Timeout)
	if to <= 0 {
		return
	}
	purgeQ := func(q *reqQueue) {
		for q.len() > 0 && e.now-q.peek().arrive > to {
			r := q.pop()
			e.waiting--
			e.timeout(r)
		}
	}
	purgeQ(&e.shared)
	for _, i := range e.live {
		purgeQ(&e.pods[i].q)
	}
}

// pull fills pod i's free slots from its own queue or the shared queue.
func (e *Engine) pull(i int32) {
	p := &e.pods[i]
	for p.busy < e.conc {
		var (
			r  request
			ok bool
		)
		src := &p.q
		if p.q.len() > 0 {
			r, ok = e.take(&p.q)
		} else if e.cfg.Service.Routing == RouteSharedQueue && p.stage == stReady {
			src = &e.shared
			r, ok = e.take(&e.shared)
		}
		if !ok {
			break
		}
		if e.batch > 1 {
			e.startBatch(i, r, src)
			continue
		}
		e.start(i, r)
	}
	if e.cfg.Service.Routing == RouteSharedQueue && p.stage == stReady && p.busy < e.conc {
		e.idleAdd(i)
	}
}

func (e *Engine) idleAdd(i int32) {
	p := &e.pods[i]
	if p.idleIdx >= 0 {
		return
	}
	p.idleIdx = int32(len(e.idle))
	e.idle = append(e.idle, i)
}

func (e *Engine) idleRemove(i int32) {
	p := &e.pods[i]
	k := p.idleIdx
	if k < 0 {
		return
	}
	last := e.idle[len(e.idle)-1]
	e.idle[k] = last
	e.pods[last].idleIdx = k
	e.idle = e.idle[:len(e.idle)-1]
	p.idleIdx = -1
}

// ---- pods ----

func (e *Engine) newPod() int32 {
	i := int32(len(e.pods))
	e.pods = append(e.pods, pod{
		name:    e.cfg.Pod.Deployment + "-" + strconv.Itoa(int(i)),
		created: e.now, node: -1, readyIdx: -1, idleIdx: -1, liveIdx: int32(len(e.live)), lastT: e.now,
		sched: -1, running: -1, ready: -1,
	})
	e.live = append(e.live, i)
	e.st.podsCreated++
	e.trySchedule(i)
	return i
}

// fits reports whether pool k can hold pods of this workload.
func (e *Engine) fits(k int) bool {
	its := e.cfg.Pod.InstanceTypes
	if len(its) == 0 {
		return true
	}
	for _, t := range its {
		if t == e.cfg.Pools[k].InstanceType {
			return true
		}
	}
	return false
}

func (e *Engine) trySchedule(i int32) bool {
	g := e.cfg.Pod.GPUs
	if g <= 0 || len(e.cfg.Pools) == 0 {
		e.bind(i, -1)
		return true
	}
	for n := range e.nodes {
		nd := &e.nodes[n]
		if nd.ready && !nd.gone && e.cfg.Pools[nd.pool].GPUsPerNode-nd.used >= g && e.fits(int(nd.pool)) {
			e.bind(i, int32(n))
			return true
		}
	}
	e.provision()
	return false
}

// provision asks the node autoscaler for nodes for the pending pods that
// the nodes already coming up cannot hold.
func (e *Engine) provision() {
	g := e.cfg.Pod.GPUs
	pending := int64(0)
	for _, i := range e.live {
		if e.pods[i].stage == stPending {
			pending++
		}
	}
	var coming int64
	for n := range e.nodes {
		nd := &e.nodes[n]
		if !nd.ready && !nd.gone {
			coming += (e.cfg.Pools[nd.pool].GPUsPerNode - nd.used) / g
		}
	}
	for pending > coming {
		k := -1
		for j := range e.cfg.Pools {
			pl := &e.cfg.Pools[j]
			if e.fits(j) && pl.GPUsPerNode >= g && (pl.Max <= 0 || e.poolNodes(j) < pl.Max) {
				k = j
				break
			}
		}
		if k < 0 {
			e.st.unschedulable = true
			return
		}
		n := e.addNode(int32(k))
		pl := &e.cfg.Pools[k]
		e.schedule(e.now+pl.Provisioning.Sample(e.rCold), evNodeReady, n, 0, 0)
		coming += pl.GPUsPerNode / g
	}
}

func (e *Engine) poolNodes(k int) int {
	c := 0
	for n := range e.nodes {
		if int(e.nodes[n].pool) == k && !e.nodes[n].gone {
			c++
		}
	}
	return c
}

func (e *Engine) addNode(pool int32) int32 {
	n := int32(len(e.nodes))
	e.nodes = append(e.nodes, node{pool: pool, created: e.now, pullDone: -1})
	e.st.nodesCreated++
	e.st.nodesAlive++
	e.st.nodesMax = max(e.st.nodesMax, e.st.nodesAlive)
	return n
}

func (e *Engine) onNodeReady(n int32) {
	nd := &e.nodes[n]
	nd.ready, nd.readyAt = true, e.now
	for _, i := range e.live {
		if e.pods[i].stage == stPending {
			if !e.trySchedule(i) {
				break
			}
		}
	}
	if nd.pods == 0 {
		nd.gen++
		e.schedule(e.now+int64(e.cfg.Pools[nd.pool].ScaleDownUnneeded), evNodeIdle, n, nd.gen, 0)
	}
}

func (e *Engine) onNodeIdle(n int32, gen uint32) {
	nd := &e.nodes[n]
	if nd.gen != gen || nd.pods > 0 || nd.gone {
		return
	}
	pl := &e.cfg.Pools[nd.pool]
	if e.poolNodes(int(nd.pool)) <= pl.Min {
		return
	}
	nd.gone, nd.goneAt = true, e.now
	e.st.nodesAlive--
}

// bind places pod i on node n (-1: no GPU node needed).
func (e *Engine) bind(i int32, n int32) {
	p := &e.pods[i]
	p.node, p.sched = n, e.now
	p.stage = stPulling
	start := e.now
	if n >= 0 {
		nd := &e.nodes[n]
		nd.used += e.cfg.Pod.GPUs
		nd.pods++
		nd.gen++ // cancels a pending idle check
		switch {
		case nd.pullDone >= 0 && nd.pullDone <= e.now:
		case nd.pullDone > e.now:
			start = nd.pullDone // another pod is pulling the image
		default:
			nd.pullDone = e.now + e.cfg.Pod.ImagePull.Sample(e.rCold)
			start = nd.pullDone
		}
	} else {
		start = e.now + e.cfg.Pod.ImagePull.Sample(e.rCold)
	}
	e.schedule(start, evPodStage, i, p.gen, 0)
}

// onPodStage moves a pod along its start-up.
func (e *Engine) onPodStage(i int32, gen uint32) {
	p := &e.pods[i]
	if p.gen != gen {
		return
	}
	switch p.stage {
	case stPulling:
		p.stage, p.running = stLoading, e.now
		e.startContainer(i)
	case stLoading:
		e.becomeReady(i)
	}
}

// startContainer draws the model load and warm-up and schedules the probe
// that first sees the container ready (or the restart when the startup
// probe gives up first).
func (e *Engine) startContainer(i int32) {
	p := &e.pods[i]
	pm := &e.cfg.Pod
	loaded := e.now + pm.ModelLoad.Sample(e.rCold) + pm.Warmup.Sample(e.rCold)
	delay, period := pm.StartupInitialDelay, pm.StartupPeriod
	if period <= 0 {
		delay, period = pm.ReadinessInitialDelay, pm.ReadinessPeriod
	}
	if period <= 0 {
		e.schedule(loaded, evPodStage, i, p.gen, 0)
		return
	}
	first := e.now + int64(delay)
	k := int64(0)
	if loaded > first {
		k = (loaded - first + int64(period) - 1) / int64(period)
	}
	if pm.StartupPeriod > 0 && pm.StartupFailures > 0 && k >= int64(pm.StartupFailures) {
		// the startup probe fails FailureThreshold times: the kubelet kills
		// the container and restarts it after the crash-loop back-off
		// (10 s doubling to 5 min), and the model loads again.
		p.restarts++
		e.st.restarts++
		p.gen++
		giveUp := first + (int64(pm.StartupFailures)-1)*int64(period)
		backoff := int64(10*time.Second) << min(p.restarts-1, 5)
		backoff = min(backoff, int64(5*time.Minute))
		e.schedule(giveUp+backoff, evPodStage, i, p.gen, 0)
		p.stage = stPulling // the next stage event restarts the container
		return
	}
	e.schedule(first+k*int64(period), evPodStage, i, p.gen, 0)
}

func (e *Engine) becomeReady(i int32) {
	p := &e.pods[i]
	p.stage = stReady
	if p.ready < 0 || p.ready > e.now {
		p.ready = e.now
	}
	if p.ready >= 0 && p.created >= 0 {
		e.st.coldStart(e, p)
	}
	p.readyIdx = int32(len(e.ready))
	e.ready = append(e.ready, i)
	e.st.readyChanged(e)
	if e.cfg.Service.Routing == RouteSharedQueue {
		e.pull(i)
		return
	}
	if len(e.ready) == 1 {
		// pods were unavailable: release the requests held at the ingress
		for e.shared.len() > 0 {
			r, ok := e.take(&e.shared)
			if !ok {
				break
			}
			e.route(r)
		}
	}
}

func (e *Engine) readyRemove(i int32) {
	p := &e.pods[i]
	k := p.readyIdx
	if k < 0 {
		return
	}
	last := e.ready[len(e.ready)-1]
	e.ready[k] = last
	e.pods[last].readyIdx = k
	e.ready = e.ready[:len(e.ready)-1]
	p.readyIdx = -1
	e.st.readyChanged(e)
}

// deletePod starts deleting pod i (graceful termination for a serving pod).
func (e *Engine) deletePod(i int32) {
	p := &e.pods[i]
	switch p.stage {
	case stReady:
		e.readyRemove(i)
		e.idleRemove(i)
		p.stage = stTerminating
		if p.busy == 0 && p.q.len() == 0 {
			e.removePod(i)
			return
		}
		e.schedule(e.now+int64(e.cfg.Pod.TerminationGrace), evTermDone, i, p.gen, 0)
	case stPending, stPulling, stLoading:
		e.removePod(i)
	}
}

// onTermDone kills a pod whose grace period ran out with work left.
func (e *Engine) onTermDone(i int32, gen uint32) {
	p := &e.pods[i]
	if p.gen != gen || p.stage != stTerminating {
		return
	}
	// the in-flight requests are lost (SIGKILL)
	n := int64(p.reqs)
	p.reqs = 0
	e.killed += uint64(n)
	e.inflight -= n
	for p.q.len() > 0 {
		r := p.q.pop()
		e.waiting--
		e.killed++
		e.win.n++
		e.win.miss++
		e.leave(r.arrive)
	}
	// in-flight requests leave now (their completions are cancelled)
	e.inSys -= n
	e.sojourn += float64(n*e.now - p.arrSum)
	p.arrSum = 0
	e.win.n += uint64(n)
	e.win.miss += uint64(n)
	e.setBusy(p, -p.busy)
	e.removePod(i)
}

func (e *Engine) removePod(i int32) {
	p := &e.pods[i]
	e.readyRemove(i)
	e.idleRemove(i)
	p.gen++
	p.stage = stGone
	e.setBusy(p, 0)
	e.st.podGone(e, p)
	// remove from live (keeping creation order)
	k := p.liveIdx
	copy(e.live[k:], e.live[k+1:])
	e.live = e.live[:len(e.live)-1]
	for j := int(k); j < len(e.live); j++ {
		e.pods[e.live[j]].liveIdx = int32(j)
	}
	p.liveIdx = -1
	if p.node >= 0 {
		nd := &e.nodes[p.node]
		nd.used -= e.cfg.Pod.GPUs
		nd.pods--
		if nd.pods == 0 {
			nd.gen++
			e.schedule(e.now+int64(e.cfg.Pools[nd.pool].ScaleDownUnneeded), evNodeIdle, p.node, nd.gen, 0)
		}
		// a freed GPU may let a pending pod run
		for _, j := range e.live {
			if e.pods[j].stage == stPending {
				if !e.trySchedule(j) {
					break
				}
			}
		}
	}
}

// activePods counts pods that are not being deleted (the ReplicaSet's
// status.replicas).
func (e *Engine) activePods() int32 {
	c := int32(0)
	for _, i := range e.live {
		if e.pods[i].stage != stTerminating {
			c++
		}
	}
	return c
}

// setSpec writes the Deployment's spec.replicas and lets the ReplicaSet
// controller create or delete pods at once.
func (e *Engine) setSpec(n int32, by, reason string) {
	if n == e.spec {
		return
	}
	e.st.scaleEvent(e, e.spec, n, by, reason)
	e.spec = n
	act := e.activePods()
	for ; act < n; act++ {
		e.newPod()
	}
	for ; act > n; act-- {
		e.deletePod(e.victim())
	}
}

// victim picks the pod the ReplicaSet controller deletes first: unscheduled
// before scheduled, not running before running, not ready before ready,
// ready for less time before longer, newer before older.
func (e *Engine) victim() int32 {
	best := int32(-1)
	rank := func(p *pod) (int, int64, int64) {
		switch p.stage {
		case stPending:
			return 0, 0, -p.created
		case stPulling:
			return 1, 0, -p.created
		case stLoading:
			return 2, 0, -p.created
		}
		return 3, -p.ready, -p.created
	}
	for _, i := range e.live {
		p := &e.pods[i]
		if p.stage == stTerminating {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		a1, a2, a3 := rank(p)
		b1, b2, b3 := rank(&e.pods[best])
		if a1 < b1 || a1 == b1 && (a2 < b2 || a2 == b2 && a3 < b3) {
			best = i
		}
	}
	return best
}
