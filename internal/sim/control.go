package sim

import (
	"fmt"
	"math"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// metric source kinds: where the value of one spec.metrics entry comes from.
type msKind uint8

const (
	msResource msKind = iota // metrics-server (cpu, memory)
	msPods                   // the app's gauge, scraped by Prometheus, through prometheus-adapter
	msGlobal                 // External/Object metric from Prometheus (a rate or a sum)
	msKEDA                   // External metric served by KEDA's metrics server
)

type aggregation uint8

const (
	aggSum aggregation = iota
	aggAvg
	aggMax
)

type metricSrc struct {
	kind msKind
	res  corev1.ResourceName
	sig  Signal
	agg  aggregation
	name string
}

type rateSample struct {
	t                   int64
	arrivals, completed uint64
}

// control holds the autoscalers in the loop and the metrics pipeline that
// feeds them.
type control struct {
	t0       time.Time
	selector string
	labels   labels.Set

	hpaObj  *autoscalingv2.HorizontalPodAutoscaler
	hst     hpa.State
	in      hpa.Input
	srcs    []metricSrc
	podBuf  []hpa.Pod
	podIdx  []int32
	lastHPA []float64 // per metric, what the HPA last computed (average value, utilisation % or value)
	desired int32
	hpaRuns uint64

	kc       *keda.Compiled
	kst      keda.State
	kres     keda.PollResult
	qres     keda.QueryResult
	readings []scalers.Reading
	rdSig    []Signal
	rdAgg    []aggregation
	rmq      []scalers.RabbitMQReading
	sqs      []scalers.SQSReading
	kafka    []scalers.KafkaReading
	prom     []scalers.PrometheusReading
	vals     []float64
	lastKEDA []float64
	partN    int

	reqCPU, reqMem int64 // milli, per pod

	gScr      [numSignals]float64
	ring      []rateSample
	ringN     int
	ringStart int

	out outages
}

func milliOf(q corev1.ResourceList, name corev1.ResourceName) int64 {
	if v, ok := q[name]; ok {
		return v.MilliValue()
	}
	return 0
}

func (c *control) init(e *Engine) error {
	cfg := e.cfg
	c.t0 = cfg.Start
	c.labels = labels.Set(cfg.Pod.Labels)
	c.selector = labels.SelectorFromSet(c.labels).String()
	if s := cfg.Pod.Spec; s != nil {
		for _, ct := range s.Containers {
			c.reqCPU += milliOf(ct.Resources.Requests, corev1.ResourceCPU)
			c.reqMem += milliOf(ct.Resources.Requests, corev1.ResourceMemory)
		}
	}
	mp := &cfg.Metrics
	if mp.ScrapeInterval <= 0 || mp.GaugeRefresh <= 0 || mp.MetricsServerResolution <= 0 || mp.HPASyncPeriod <= 0 {
		return fmt.Errorf("metrics pipeline intervals must be positive")
	}
	n := int(mp.RateWindow/mp.ScrapeInterval) + 2
	c.ring = make([]rateSample, n)
	as := &cfg.Autoscaler
	switch as.Kind {
	case AutoscaleHPA:
		if as.HPA == nil {
			return fmt.Errorf("autoscaler hpa without an HPA object")
		}
		c.hpaObj = as.HPA.DeepCopy()
	case AutoscaleKEDA:
		if as.ScaledObject == nil {
			return fmt.Errorf("autoscaler keda without a ScaledObject")
		}
		so := as.ScaledObject.DeepCopy()
		so.CreationTimestamp = metav1.NewTime(c.t0)
		kc, err := keda.Compile(so, keda.Options{Version: as.KEDAVersion})
		if err != nil {
			return err
		}
		c.kc = kc
		c.kst = kc.NewState()
		c.hpaObj = kc.GenerateHPA()
		if err := c.initTriggers(e); err != nil {
			return err
		}
	}
	if c.hpaObj != nil {
		if err := c.initHPA(e); err != nil {
			return err
		}
	}
	return c.initOutages(e)
}

// guessSignal says what a metric name or query measures.
func guessSignal(name string, explicit map[string]Signal) (Signal, bool) {
	if s, ok := explicit[name]; ok {
		return s, true
	}
	for k, s := range explicit {
		if k != "" && strings.Contains(name, k) {
			return s, true
		}
	}
	n := strings.ToLower(name)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(n, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("gpu", "dcgm"):
		return SigGPU, true
	case has("queue", "waiting", "pending", "backlog", "lag"):
		return SigQueue, true
	case has("outstanding"):
		return SigOutstanding, true
	case has("inflight", "in_flight", "running", "active", "concurren", "ongoing"):
		return SigInflight, true
	case has("per_second", "rps", "qps", "rate(", "request", "throughput"):
		return SigRPS, true
	case has("util", "busy", "slots", "saturation"):
		return SigSlots, true
	}
	return SigNone, false
}

func guessAgg(query string) aggregation {
	q := strings.TrimSpace(strings.ToLower(query))
	switch {
	case strings.HasPrefix(q, "avg"):
		return aggAvg
	case strings.HasPrefix(q, "max"):
		return aggMax
	}
	return aggSum
}

func (c *control) initHPA(e *Engine) error {
	sigs := e.cfg.Metrics.Signals
	for i, m := range c.hpaObj.Spec.Metrics {
		var s metricSrc
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType:
			s = metricSrc{kind: msResource, res: m.Resource.Name}
		case autoscalingv2.ContainerResourceMetricSourceType:
			s = metricSrc{kind: msResource, res: m.ContainerResource.Name}
		case autoscalingv2.PodsMetricSourceType:
			sig, ok := guessSignal(m.Pods.Metric.Name, sigs)
			if !ok {
				return fmt.Errorf("spec.metrics[%d]: cannot tell what Pods metric %q measures; map it in the scenario's spec.metrics.signals (one of %s)", i, m.Pods.Metric.Name, strings.Join(SignalNames(), ", "))
			}
			s = metricSrc{kind: msPods, sig: sig, name: m.Pods.Metric.Name}
		case autoscalingv2.ExternalMetricSourceType:
			name := m.External.Metric.Name
			if c.kc != nil && c.kc.TriggerByMetric(name) >= 0 || c.kc != nil && name == keda.CompositeMetricName {
				s = metricSrc{kind: msKEDA, name: name}
				break
			}
			sig, ok := guessSignal(name, sigs)
			if !ok {
				return fmt.Errorf("spec.metrics[%d]: cannot tell what External metric %q measures; map it in the scenario's spec.metrics.signals", i, name)
			}
			s = metricSrc{kind: msGlobal, sig: sig, name: name}
		case autoscalingv2.ObjectMetricSourceType:
			name := m.Object.Metric.Name
			sig, ok := guessSignal(name, sigs)
			if !ok {
				return fmt.Errorf("spec.metrics[%d]: cannot tell what Object metric %q measures; map it in the scenario's spec.metrics.signals", i, name)
			}
			s = metricSrc{kind: msGlobal, sig: sig, name: name}
		default:
			return fmt.Errorf("spec.metrics[%d]: metric type %q is not simulated", i, m.Type)
		}
		c.srcs = append(c.srcs, s)
	}
	c.lastHPA = make([]float64, len(c.srcs))
	minor := e.cfg.Metrics.KubernetesMinor
	c.in = hpa.Input{
		HPA:     c.hpaObj,
		Config:  hpa.DefaultConfig(minor),
		Metrics: make([]hpa.MetricInput, len(c.srcs)),
	}
	return nil
}

func (c *control) initTriggers(e *Engine) error {
	n := len(c.kc.Triggers)
	c.readings = make([]scalers.Reading, n)
	c.rdSig = make([]Signal, n)
	c.rdAgg = make([]aggregation, n)
	c.rmq = make([]scalers.RabbitMQReading, n)
	c.sqs = make([]scalers.SQSReading, n)
	c.kafka = make([]scalers.KafkaReading, n)
	c.prom = make([]scalers.PrometheusReading, n)
	c.vals = make([]float64, n)
	c.lastKEDA = make([]float64, n)
	c.partN = 10
	spec := c.kc.SO.Spec.Triggers
	for i, t := range c.kc.Triggers {
		rd := &c.readings[i]
		switch t.Type {
		case "rabbitmq":
			rd.RabbitMQ = &c.rmq[i]
			c.rdSig[i] = SigQueue
		case "aws-sqs-queue":
			rd.SQS = &c.sqs[i]
			c.rdSig[i] = SigQueue
		case "kafka":
			c.kafka[i].Partitions = make([]scalers.KafkaPartition, c.partN)
			for p := range c.kafka[i].Partitions {
				c.kafka[i].Partitions[p].Partition = int32(p)
				c.kafka[i].Partitions[p].Topic = spec[i].Metadata["topic"]
			}
			rd.Kafka = &c.kafka[i]
			c.rdSig[i] = SigQueue
		case "prometheus":
			q := spec[i].Metadata["query"]
			sig, ok := guessSignal(q, e.cfg.Metrics.Signals)
			if !ok {
				return fmt.Errorf("trigger %d (prometheus): cannot tell what the query %q measures; map it in the scenario's spec.metrics.signals", i, q)
			}
			c.rdSig[i], c.rdAgg[i] = sig, guessAgg(q)
			c.prom[i].Series = make([]float64, 1)
			rd.Prometheus = &c.prom[i]
		case "cpu", "memory":
		default:
			key := spec[i].Name
			for _, k := range []string{"metricName", "valueLocation", "url", "query"} {
				if v := spec[i].Metadata[k]; v != "" {
					key = v
					break
				}
			}
			sig, ok := guessSignal(key, e.cfg.Metrics.Signals)
			if !ok {
				return fmt.Errorf("trigger %d (%s): cannot tell what it measures; map it in the scenario's spec.metrics.signals", i, t.Type)
			}
			c.rdSig[i] = sig
			rd.Value = &c.vals[i]
		}
	}
	return nil
}

// start schedules the periodic controller and pipeline events. KEDA's
// loop checks at once on start; the HPA (1.37) reconciles a new HPA at once.
func (c *control) start(e *Engine) {
	mp := &e.cfg.Metrics
	if c.kc != nil {
		e.schedule(0, evKEDA, 0, 0, 0)
	}
	if c.hpaObj != nil {
		e.schedule(0, evHPA, 0, 0, 0)
	}
	e.schedule(0, evGauge, 0, 0, 0)
	e.schedule(int64(mp.ScrapeOffset), evScrape, 0, 0, 0)
	e.schedule(int64(mp.MetricsServerOffset), evMetricsServer, 0, 0, 0)
	c.startOutages(e)
}

func (c *control) now(e *Engine) time.Time { return c.t0.Add(time.Duration(e.now)) }

func (c *control) onEvent(e *Engine, k evKind) {
	mp := &e.cfg.Metrics
	switch k {
	case evHPA:
		c.reconcileHPA(e)
		e.schedule(e.now+int64(mp.HPASyncPeriod), evHPA, 0, 0, 0)
	case evKEDA:
		c.pollKEDA(e)
		e.schedule(e.now+int64(c.kc.PollingInterval), evKEDA, 0, 0, 0)
	case evGauge:
		c.refreshGauges(e)
		e.schedule(e.now+int64(mp.GaugeRefresh), evGauge, 0, 0, 0)
	case evScrape:
		c.scrape(e)
		e.schedule(e.now+int64(mp.ScrapeInterval), evScrape, 0, 0, 0)
	case evMetricsServer:
		c.metricsServer(e)
		e.schedule(e.now+int64(mp.MetricsServerResolution), evMetricsServer, 0, 0, 0)
	case evSample:
		e.st.tick(e)
	}
}

// serving: the app answers /metrics once it serves (after the model load).
func serving(p *pod) bool { return p.stage == stReady || p.stage == stTerminating }

func (c *control) refreshGauges(e *Engine) {
	iv := float64(e.cfg.Metrics.GaugeRefresh)
	for _, i := range e.live {
		p := &e.pods[i]
		e.setBusy(p, 0)
		if serving(p) {
			p.gauge[SigQueue] = float64(p.q.len())
			p.gauge[SigInflight] = float64(p.reqs)
			p.gauge[SigOutstanding] = float64(p.reqs) + float64(p.q.len())
			p.gauge[SigRPS] = float64(p.assigned-p.lastAsg) / (iv / 1e9)
			p.gauge[SigGPU] = math.Min(100, 100*(p.nonIdle-p.lastNonId)/iv)
			p.gauge[SigSlots] = math.Min(100, 100*(p.busyArea-p.lastBusyA)/(iv*float64(e.conc)))
		}
		p.lastBusyA, p.lastNonId, p.lastAsg = p.busyArea, p.nonIdle, p.assigned
	}
}

func (c *control) scrape(e *Engine) {
	var g [numSignals]float64
	for _, i := range e.live {
		p := &e.pods[i]
		if !serving(p) {
			continue
		}
		p.scraped, p.hasScr, p.scrT = p.gauge, true, e.now
		for s := range g {
			g[s] += p.gauge[s]
		}
	}
	g[SigQueue] += float64(e.shared.len())
	g[SigOutstanding] += float64(e.shared.len())
	// the request counter, for rate() over RateWindow
	n := len(c.ring)
	c.ring[(c.ringStart+c.ringN)%n] = rateSample{t: e.now, arrivals: e.arrivals, completed: e.completed}
	if c.ringN < n {
		c.ringN++
	} else {
		c.ringStart = (c.ringStart + 1) % n
	}
	g[SigRPS] = c.rate(e, false)
	c.gScr = g
}

// rate is rate(counter[RateWindow]) at the last scrape.
func (c *control) rate(e *Engine, completions bool) float64 {
	n := len(c.ring)
	if c.ringN < 2 {
		return 0
	}
	last := c.ring[(c.ringStart+c.ringN-1)%n]
	w := int64(e.cfg.Metrics.RateWindow)
	first := c.ring[c.ringStart]
	for k := 0; k < c.ringN-1; k++ {
		s := c.ring[(c.ringStart+k)%n]
		if last.t-s.t <= w {
			first = s
			break
		}
	}
	if last.t == first.t {
		return 0
	}
	d := float64(last.arrivals - first.arrivals)
	if completions {
		d = float64(last.completed - first.completed)
	}
	return d / (float64(last.t-first.t) / 1e9)
}

func (c *control) metricsServer(e *Engine) {
	res := float64(e.cfg.Metrics.MetricsServerResolution)
	u := &e.cfg.Pod.Usage
	for _, i := range e.live {
		p := &e.pods[i]
		e.setBusy(p, 0)
		if p.stage == stLoading || serving(p) {
			w := math.Min(res, float64(e.now-p.running))
			frac := 0.0
			if w > 0 {
				frac = math.Min(1, (p.busyArea-p.lastMSA)/(w*float64(e.conc)))
			}
			cpu := u.CPUIdle
			if p.stage != stLoading {
				cpu += (u.CPUBusy - u.CPUIdle) * frac
			} else {
				cpu = u.CPUBusy // loading weights keeps the CPU busy
			}
			p.msCPU = int64(float64(c.reqCPU) * cpu)
			p.msMem = int64(float64(c.reqMem) * u.Memory)
			p.hasMS, p.msT = true, e.now
		}
		p.lastMSA = p.busyArea
	}
}

// globalValue is what a Prometheus query for sig returns at the last scrape.
func (c *control) globalValue(e *Engine, sig Signal, agg aggregation) float64 {
	v := c.gScr[sig]
	switch agg {
	case aggAvg, aggMax:
		n, mx := 0, 0.0
		for _, i := range e.live {
			p := &e.pods[i]
			if p.hasScr {
				n++
				mx = math.Max(mx, p.scraped[sig])
			}
		}
		if agg == aggMax {
			return mx
		}
		if n == 0 {
			return 0
		}
		return v / float64(n)
	}
	return v
}

// fillReadings sets every trigger's upstream reading at now. Brokers are
// read live; Prometheus queries see the last scrape.
func (c *control) fillReadings(e *Engine) {
	queue := e.waiting
	for i := range c.readings {
		switch {
		case c.readings[i].RabbitMQ != nil:
			r := &c.rmq[i]
			r.MessagesReady, r.MessagesUnacknowledged = queue, e.inflight
			r.PublishRate, r.DeliverRate = c.rate(e, false), c.rate(e, true)
		case c.readings[i].SQS != nil:
			c.sqs[i] = scalers.SQSReading{Visible: queue, InFlight: e.inflight}
		case c.readings[i].Kafka != nil:
			ps := c.kafka[i].Partitions
			for p := range ps {
				lag := queue / int64(len(ps))
				if int64(p) < queue%int64(len(ps)) {
					lag++
				}
				ps[p].Lag = lag
			}
		case c.readings[i].Prometheus != nil:
			c.prom[i].Series[0] = c.globalValue(e, c.rdSig[i], c.rdAgg[i])
		case c.readings[i].Value != nil:
			c.vals[i] = c.globalValue(e, c.rdSig[i], aggSum)
		}
	}
	c.applyTriggerOutages()
}

func (c *control) target(e *Engine) keda.Target {
	spec := e.spec
	return keda.Target{SpecReplicas: &spec, ReadyReplicas: int32(len(e.ready))}
}

func (c *control) pollKEDA(e *Engine) {
	c.fillReadings(e)
	tgt := c.target(e)
	var sn *KEDASnapshot
	if e.cfg.Output.KEDASnapshot != nil {
		sn = newKEDASnapshot(c, c.now(e), tgt)
	}
	c.kc.Poll(c.now(e), tgt, c.readings, &c.kst, &c.kres)
	if sn != nil {
		sn.Branch, sn.ScaleTo, sn.HasScaleTo = c.kres.Branch, c.kres.ScaleTo, c.kres.HasScaleTo
		e.cfg.Output.KEDASnapshot(sn)
	}
	failed := false
	for i := range c.kres.Metrics {
		if c.kres.Metrics[i].HasValue {
			c.lastKEDA[i] = c.kres.Metrics[i].Value
		}
		failed = failed || c.kres.Metrics[i].Raw.Err != ""
	}
	if failed {
		c.out.failedPolls++
	}
	c.accountOutages(e)
	if c.kres.HasScaleTo && c.kres.ScaleTo != e.spec {
		e.setSpec(c.kres.ScaleTo, "keda", c.kres.Branch.String())
	}
}

// podView is a pod as the HPA controller lists it.
func (c *control) podView(e *Engine, p *pod) hpa.Pod {
	hp := hpa.Pod{Name: p.name, Labels: c.labels, Spec: e.cfg.Pod.Spec}
	at := func(t int64) time.Time { return c.t0.Add(time.Duration(t)) }
	switch p.stage {
	case stPending:
		hp.Phase = corev1.PodPending
	case stPulling:
		hp.Phase, hp.Ready, hp.ReadyTransitionTime, hp.StartTime = corev1.PodPending, corev1.ConditionFalse, at(p.sched), at(p.sched)
	case stLoading:
		hp.Phase, hp.Ready, hp.ReadyTransitionTime, hp.StartTime = corev1.PodRunning, corev1.ConditionFalse, at(p.sched), at(p.sched)
	case stReady:
		hp.Phase, hp.Ready, hp.ReadyTransitionTime, hp.StartTime = corev1.PodRunning, corev1.ConditionTrue, at(p.ready), at(p.sched)
	case stTerminating:
		hp.Phase, hp.Ready, hp.ReadyTransitionTime, hp.StartTime = corev1.PodRunning, corev1.ConditionTrue, at(p.ready), at(p.sched)
		hp.Deleting = true
	}
	return hp
}

func (c *control) reconcileHPA(e *Engine) {
	now := c.now(e)
	c.podBuf = c.podBuf[:0]
	c.podIdx = c.podIdx[:0]
	for _, i := range e.live {
		c.podBuf = append(c.podBuf, c.podView(e, &e.pods[i]))
		c.podIdx = append(c.podIdx, i)
	}
	in := &c.in
	in.Now = now
	in.Pods = c.podBuf
	in.Scale = hpa.Scale{SpecReplicas: e.spec, StatusReplicas: e.activePods(), Selector: c.selector}
	if c.kc != nil {
		c.fillReadings(e)
	}
	for k := range c.srcs {
		c.metricInput(e, k)
	}
	snap := e.cfg.Output.Snapshot
	var sn *HPASnapshot
	if snap != nil {
		sn = newSnapshot(in, &c.hst)
	}
	d := hpa.Reconcile(in, &c.hst)
	c.hpaRuns++
	if sn != nil {
		sn.Desired, sn.Rescale, sn.Reason = d.DesiredReplicas, d.Rescale, d.RescaleReason
		snap(sn)
	}
	for k := range d.Metrics {
		m := &d.Metrics[k]
		switch {
		case m.HasUtilization:
			c.lastHPA[k] = float64(m.AverageUtilization)
		case m.HasAverageValue:
			c.lastHPA[k] = float64(m.AverageValueMilli) / 1000
		case m.HasValue:
			c.lastHPA[k] = float64(m.ValueMilli) / 1000
		}
	}
	if len(d.Conditions) > 0 || d.RemoveScaledToZero {
		c.hpaObj.Status.Conditions = hpa.MergeConditions(c.hpaObj.Status.Conditions, &d, now)
	}
	for k := range in.Metrics {
		if in.Metrics[k].FetchErr != nil {
			c.out.failedHPARuns++
			break
		}
	}
	c.accountOutages(e)
	if d.Stage == hpa.StageComputed || d.Stage == hpa.StageAboveMax || d.Stage == hpa.StageBelowMin {
		c.desired = d.DesiredReplicas
	}
	if d.Rescale && d.DesiredReplicas != e.spec {
		e.setSpec(d.DesiredReplicas, "hpa", d.RescaleReason)
	}
}

// metricInput fills the metrics API's answer for spec.metrics[k].
func (c *control) metricInput(e *Engine, k int) {
	s := &c.srcs[k]
	mi := &c.in.Metrics[k]
	mi.FetchErr, mi.Extra, mi.Values, mi.Items = nil, nil, mi.Values[:0], 0
	if c.outageInput(e, k, mi) {
		return
	}
	switch s.kind {
	case msResource, msPods:
		n := len(c.podIdx)
		mi.Samples = sampleSlice(mi.Samples, n)
		for j, i := range c.podIdx {
			ps := c.podSample(e, s, &e.pods[i])
			if ps.Present {
				mi.Items++
			}
			mi.Samples[j] = ps
		}
	case msGlobal:
		mi.Samples = mi.Samples[:0]
		mi.Values = append(mi.Values, c.globalMilli(e, s))
		mi.Items = 1
	case msKEDA:
		mi.Samples = mi.Samples[:0]
		if e.spec == 0 {
			// KEDA's HPA has minReplicas >= 1: at zero its scaling is
			// disabled and the controller asks KEDA nothing (a query
			// would count a failing trigger toward fallback).
			return
		}
		c.kc.HPAQuery(s.name, c.target(e), c.readings, &c.kst, &c.qres)
		switch {
		case c.qres.Err != "":
			mi.FetchErr = kedaErr(c.qres.Err)
		case c.qres.Empty:
		default:
			mi.Values = append(mi.Values, int64(math.Round(c.qres.Value*1000)))
			mi.Items = 1
		}
	}
}

// podSample is pod p's sample of a Resource or Pods metric.
func (c *control) podSample(e *Engine, s *metricSrc, p *pod) hpa.PodSample {
	if s.kind == msResource && p.hasMS {
		ps := hpa.PodSample{Present: true, Timestamp: c.t0.Add(time.Duration(p.msT)), Window: e.cfg.Metrics.MetricsServerResolution}
		if s.res == corev1.ResourceMemory {
			ps.Milli = p.msMem
		} else {
			ps.Milli = p.msCPU
		}
		return ps
	}
	if s.kind == msPods && p.hasScr {
		return hpa.PodSample{Present: true, Milli: int64(math.Round(p.scraped[s.sig] * 1000)),
			Timestamp: c.t0.Add(time.Duration(p.scrT)), Window: time.Minute}
	}
	return hpa.PodSample{}
}

// globalMilli is an External/Object metric's value in milli-units.
func (c *control) globalMilli(e *Engine, s *metricSrc) int64 {
	return int64(math.Round(c.globalValue(e, s.sig, aggSum) * 1000))
}

type kedaErr string

func (k kedaErr) Error() string { return string(k) }

// sampleSlice returns s resized to n pod samples, reusing its array when
// it is large enough.
func sampleSlice(s []hpa.PodSample, n int) []hpa.PodSample {
	if cap(s) < n {
		return make([]hpa.PodSample, n, 2*n)
	}
	return s[:n]
}
