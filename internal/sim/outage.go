package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// OutageMode is how a metric fails during an outage.
type OutageMode uint8

// Outage modes.
const (
	// OutageModeError: the metrics API the HPA asks answers with an error
	// (the aggregated API's backend is unavailable), and a KEDA trigger's
	// upstream call fails, so the scaler returns an error.
	OutageModeError OutageMode = iota
	// OutageModeStale: the value served at the outage's start keeps being
	// served (a frozen exporter, Prometheus target or adapter cache): no
	// error reaches the controllers, the value just stops moving. Pods
	// metrics keep each pod's frozen sample; pods created during the
	// outage have none.
	OutageModeStale
)

var outageModeNames = [...]string{"error", "stale"}

func (m OutageMode) String() string { return outageModeNames[m] }

// ParseOutageMode reads a mode name ("" is error).
func ParseOutageMode(s string) (OutageMode, bool) {
	if s == "" {
		return OutageModeError, true
	}
	for i, n := range outageModeNames {
		if n == s {
			return OutageMode(i), true
		}
	}
	return 0, false
}

// OutageModeNames lists the outage modes.
func OutageModeNames() []string { return outageModeNames[:] }

// Outage makes the metrics that match Metric fail during [At, At+Duration).
// Metric is matched like MetricsPipeline.Signals: an HPA metric name (or
// cpu/memory), a KEDA trigger's name, type, External metric name or
// metadata (query, metricName, queueName, topic, ...); exact matches win,
// otherwise every metric or trigger containing Metric is hit.
type Outage struct {
	Metric       string
	At, Duration time.Duration
	Mode         OutageMode
}

// OutageMatchError is a problem with outage Index of the pipeline.
type OutageMatchError struct {
	Index int
	Msg   string
}

func (e *OutageMatchError) Error() string {
	return fmt.Sprintf("spec.metrics.outages[%d].metric: %s", e.Index, e.Msg)
}

// CheckOutages matches every outage of cfg against the policy's metrics and
// triggers as the engine does. An *OutageMatchError names the outage;
// other errors are the engine's own (they are returned by Run as well).
func CheckOutages(cfg *Config) error {
	if len(cfg.Metrics.Outages) == 0 {
		return nil
	}
	e := &Engine{cfg: cfg}
	return e.ctl.init(e)
}

// outage is one configured outage and what it hits.
type outage struct {
	Outage
	srcs   []int // HPA spec.metrics indices (not the KEDA-served External ones)
	trigs  []int // KEDA trigger indices
	hit    []string
	active bool
}

// frozenReading is a KEDA trigger's upstream reading at a stale outage's start.
type frozenReading struct {
	rmq   scalers.RabbitMQReading
	sqs   scalers.SQSReading
	kafka []int64
	prom  float64
	val   float64
}

// onTimer integrates the time a condition holds.
type onTimer struct {
	on           bool
	since, total int64
}

func (t *onTimer) set(on bool, now int64) {
	if on == t.on {
		return
	}
	if on {
		t.since = now
	} else {
		t.total += now - t.since
	}
	t.on = on
}

func (t *onTimer) at(now int64) int64 {
	if t.on {
		return t.total + now - t.since
	}
	return t.total
}

// outages is the control loop's outage state.
type outages struct {
	list    []outage
	srcOut  []int // per HPA metric: the active outage, -1
	trigOut []int // per KEDA trigger: the active outage, -1
	// stale values, per HPA metric / trigger
	frozenPods   []map[int32]hpa.PodSample
	frozenGlobal []int64
	frozenRd     []frozenReading

	fallback, inactive         onTimer
	failedPolls, failedHPARuns int
}

// matchOutage picks what metric hits: exact keys first, else substrings.
func matchOutage(metric string, keys [][]string) []int {
	var exact, sub []int
	for i, ks := range keys {
		e, s := false, false
		for _, k := range ks {
			if k == "" {
				continue
			}
			if k == metric {
				e = true
			} else if strings.Contains(k, metric) {
				s = true
			}
		}
		if e {
			exact = append(exact, i)
		} else if s {
			sub = append(sub, i)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return sub
}

func (c *control) initOutages(e *Engine) error {
	cfg := e.cfg.Metrics.Outages
	if len(cfg) == 0 {
		return nil
	}
	o := &c.out
	// the keys of each target; nil for targets an outage cannot hit directly
	var keys [][]string
	var labels []string
	nsrc := len(c.srcs)
	for i, s := range c.srcs {
		switch s.kind {
		case msResource:
			keys = append(keys, []string{string(s.res)})
		case msPods, msGlobal:
			keys = append(keys, []string{s.name})
		default:
			keys = append(keys, nil) // served by KEDA: its triggers fail
		}
		labels = append(labels, "hpa:"+metricLabel(i, nil, c.srcs))
	}
	if c.kc != nil {
		spec := c.kc.SO.Spec.Triggers
		for i, t := range c.kc.Triggers {
			var ks []string
			if t.Type != "cpu" && t.Type != "memory" {
				ks = []string{t.Name, t.Type, t.MetricName}
				for _, k := range []string{"query", "metricName", "queueName", "topic", "valueLocation", "url"} {
					ks = append(ks, spec[i].Metadata[k])
				}
			}
			keys = append(keys, ks)
			labels = append(labels, "keda:"+t.Type+itoa(t.Index))
		}
	}
	var known []string
	for i, ks := range keys {
		if len(ks) > 0 {
			known = append(known, strings.TrimPrefix(strings.TrimPrefix(labels[i], "hpa:"), "keda:"))
		}
	}
	o.list = make([]outage, len(cfg))
	for j, oc := range cfg {
		ot := &o.list[j]
		ot.Outage = oc
		hits := matchOutage(oc.Metric, keys)
		if len(hits) == 0 {
			if len(known) == 0 {
				return &OutageMatchError{j, fmt.Sprintf("%q: the policy reads no metric that can fail (autoscaler none)", oc.Metric)}
			}
			return &OutageMatchError{j, fmt.Sprintf("%q matches no metric or trigger of policy %s (%s)", oc.Metric, e.cfg.Policy, strings.Join(known, ", "))}
		}
		for _, h := range hits {
			if h < nsrc {
				ot.srcs = append(ot.srcs, h)
			} else {
				ot.trigs = append(ot.trigs, h-nsrc)
			}
			ot.hit = append(ot.hit, labels[h])
		}
		for i := 0; i < j; i++ {
			prev := &o.list[i]
			if oc.At >= prev.At+prev.Duration || prev.At >= oc.At+oc.Duration {
				continue
			}
			for _, a := range ot.hit {
				for _, b := range prev.hit {
					if a == b {
						return &OutageMatchError{j, fmt.Sprintf("%q overlaps outages[%d] (%q) on %s", oc.Metric, i, prev.Metric, a)}
					}
				}
			}
		}
	}
	o.srcOut = fill(make([]int, nsrc), -1)
	o.frozenPods = make([]map[int32]hpa.PodSample, nsrc)
	o.frozenGlobal = make([]int64, nsrc)
	if c.kc != nil {
		o.trigOut = fill(make([]int, len(c.kc.Triggers)), -1)
		o.frozenRd = make([]frozenReading, len(c.kc.Triggers))
	}
	return nil
}

func fill(s []int, v int) []int {
	for i := range s {
		s[i] = v
	}
	return s
}

// startOutages schedules each outage's start and end.
func (c *control) startOutages(e *Engine) {
	for j := range c.out.list {
		ot := &c.out.list[j]
		e.schedule(int64(ot.At), evOutage, int32(j), 0, 0)
		e.schedule(int64(ot.At+ot.Duration), evOutage, int32(j), 1, 0)
	}
}

// onOutage starts (gen 0) or ends (gen 1) outage j.
func (c *control) onOutage(e *Engine, j int32, gen uint32) {
	o := &c.out
	ot := &o.list[j]
	on := gen == 0
	ot.active = on
	who := -1
	if on {
		who = int(j)
	}
	if on && ot.Mode == OutageModeStale && c.kc != nil {
		c.fillReadings(e) // the values being served now
	}
	for _, k := range ot.srcs {
		o.srcOut[k] = who
		o.frozenPods[k] = nil
		if on && ot.Mode == OutageModeStale {
			c.freezeSrc(e, k)
		}
	}
	for _, i := range ot.trigs {
		o.trigOut[i] = who
		if on && ot.Mode == OutageModeStale {
			c.freezeReading(i)
		}
	}
}

func (c *control) freezeSrc(e *Engine, k int) {
	s := &c.srcs[k]
	o := &c.out
	switch s.kind {
	case msResource, msPods:
		m := map[int32]hpa.PodSample{}
		for _, i := range e.live {
			if ps := c.podSample(e, s, &e.pods[i]); ps.Present {
				m[i] = ps
			}
		}
		o.frozenPods[k] = m
	case msGlobal:
		o.frozenGlobal[k] = c.globalMilli(e, s)
	}
}

func (c *control) freezeReading(i int) {
	f := &c.out.frozenRd[i]
	rd := &c.readings[i]
	switch {
	case rd.RabbitMQ != nil:
		f.rmq = c.rmq[i]
	case rd.SQS != nil:
		f.sqs = c.sqs[i]
	case rd.Kafka != nil:
		f.kafka = f.kafka[:0]
		for _, p := range c.kafka[i].Partitions {
			f.kafka = append(f.kafka, p.Lag)
		}
	case rd.Prometheus != nil:
		f.prom = c.prom[i].Series[0]
	case rd.Value != nil:
		f.val = c.vals[i]
	}
}

// applyTriggerOutages runs after fillReadings: failing triggers error,
// stale ones get their frozen reading back.
func (c *control) applyTriggerOutages() {
	o := &c.out
	for i := range c.readings {
		rd := &c.readings[i]
		rd.Failed, rd.Err = false, ""
		if len(o.trigOut) == 0 || o.trigOut[i] < 0 {
			continue
		}
		if o.list[o.trigOut[i]].Mode == OutageModeError {
			rd.Failed = true
			rd.Err = "error requesting " + c.kc.Triggers[i].Type + " metrics: dial tcp: connect: connection refused"
			continue
		}
		f := &o.frozenRd[i]
		switch {
		case rd.RabbitMQ != nil:
			c.rmq[i] = f.rmq
		case rd.SQS != nil:
			c.sqs[i] = f.sqs
		case rd.Kafka != nil:
			for p := range c.kafka[i].Partitions {
				c.kafka[i].Partitions[p].Lag = f.kafka[p]
			}
		case rd.Prometheus != nil:
			c.prom[i].Series[0] = f.prom
		case rd.Value != nil:
			c.vals[i] = f.val
		}
	}
}

// errAPIUnavailable is what the aggregated metrics APIs answer while their
// backend (metrics-server, prometheus-adapter, an external adapter) is down.
type apiErr string

func (a apiErr) Error() string { return string(a) }

const errAPIUnavailable = apiErr("the server is currently unable to handle the request")

// outageInput fills spec.metrics[k]'s answer during an outage; false when
// the metric is not out.
func (c *control) outageInput(e *Engine, k int, mi *hpa.MetricInput) bool {
	o := &c.out
	if len(o.srcOut) == 0 || o.srcOut[k] < 0 {
		return false
	}
	s := &c.srcs[k]
	if o.list[o.srcOut[k]].Mode == OutageModeError {
		mi.FetchErr = errAPIUnavailable
		mi.Samples = mi.Samples[:0]
		return true
	}
	switch s.kind {
	case msResource, msPods:
		n := len(c.podIdx)
		mi.Samples = sampleSlice(mi.Samples, n)
		for j, i := range c.podIdx {
			ps := o.frozenPods[k][i]
			if ps.Present {
				mi.Items++
			}
			mi.Samples[j] = ps
		}
	case msGlobal:
		mi.Samples = mi.Samples[:0]
		mi.Values = append(mi.Values, o.frozenGlobal[k])
		mi.Items = 1
	default:
		return false
	}
	return true
}

// accountOutages integrates KEDA's Fallback condition and the HPA's
// ScalingActive=False for a failed metric (not ScalingDisabled at zero).
func (c *control) accountOutages(e *Engine) {
	o := &c.out
	if len(o.list) == 0 {
		return
	}
	if c.kc != nil {
		o.fallback.set(c.kst.Conditions[keda.CondFallback].Status == metav1.ConditionTrue, e.now)
	}
	if c.hpaObj != nil {
		o.inactive.set(c.scalingInactive(), e.now)
	}
}

func (c *control) scalingInactive() bool {
	for _, cd := range c.hpaObj.Status.Conditions {
		if cd.Type == autoscalingv2.ScalingActive {
			return cd.Status == corev1.ConditionFalse && cd.Reason != "ScalingDisabled"
		}
	}
	return false
}

func (c *control) activeOutages() int {
	n := 0
	for j := range c.out.list {
		if c.out.list[j].active {
			n++
		}
	}
	return n
}

// outageReport is the run's outages and what they did (nil without any).
func (e *Engine) outageReport() ([]OutageReport, *OutageSummary) {
	o := &e.ctl.out
	if len(o.list) == 0 {
		return nil, nil
	}
	var reps []OutageReport
	type iv struct{ a, b int64 }
	var ivs []iv
	for _, ot := range o.list {
		a, b := int64(ot.At), min(int64(ot.At+ot.Duration), e.end)
		if a >= e.end {
			b = a
		}
		reps = append(reps, OutageReport{
			Metric: ot.Metric, Mode: ot.Mode.String(), Hit: ot.hit,
			Start: round(float64(a)/1e9, 3), StartTime: clock(a), End: round(float64(b)/1e9, 3), EndTime: clock(b),
			Seconds: round(float64(b-a)/1e9, 3),
		})
		ivs = append(ivs, iv{a, b})
	}
	// the union of the intervals
	sort.Slice(ivs, func(x, y int) bool { return ivs[x].a < ivs[y].a })
	var total, end int64 = 0, -1
	for _, v := range ivs {
		switch {
		case v.a >= end:
			total += v.b - v.a
			end = v.b
		case v.b > end:
			total += v.b - end
			end = v.b
		}
	}
	return reps, &OutageSummary{
		Seconds:                round(float64(total)/1e9, 3),
		KEDAFailedPolls:        o.failedPolls,
		FallbackSeconds:        round(float64(o.fallback.at(e.end))/1e9, 3),
		HPAFailedReconciles:    o.failedHPARuns,
		ScalingInactiveSeconds: round(float64(o.inactive.at(e.end))/1e9, 3),
	}
}
