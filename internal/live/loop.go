package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/gpu"
	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/hpa/hpastate"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/keda/kedastate"
	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// Config is one live scaler: the policy (exactly one of HPA and
// ScaledObject, as generate renders them), the target and the sources.
type Config struct {
	HPA          *autoscalingv2.HorizontalPodAutoscaler
	ScaledObject *kedav1alpha1.ScaledObject
	KEDA         keda.Options
	// KubernetesMinor picks the HPA controller release (0: the default).
	KubernetesMinor int
	// SyncPeriod is --horizontal-pod-autoscaler-sync-period (15 s).
	SyncPeriod time.Duration

	Target Target
	// PodSpec is the pod template's spec (what generate renders, or the
	// Deployment of --manifests): the requests of cpu and memory utilisation
	// for the process target's workers. The deployment target's pods carry
	// their own.
	PodSpec *corev1.PodSpec
	// GPU is the GPU source (gpu.Null{} when there are none).
	GPU gpu.Source
	// GPUMaxAge: a GPU sample older than this is stale (treated as failed).
	GPUMaxAge time.Duration
	Fetcher   *Fetcher
	// Prometheus overrides every prometheus trigger's serverAddress and
	// serves External/Object metrics mapped in External.
	Prometheus string
	// External maps an HPA External or Object metric name to a PromQL query.
	External map[string]string
	// RabbitMQ is the management API base URL for rabbitmq triggers.
	RabbitMQ string

	DryRun bool
	// Explain writes the full explanation at every rescale (always when
	// Verbose): `hpa eval -o text` for an HPA reconcile; for a ScaledObject
	// `keda eval -o text` of the poll, and of each query of the generated
	// HPA (step hpaQuery) before that HPA's own `hpa eval -o text`.
	Explain, Verbose bool
	Log              io.Writer
}

// MetricStatus is one policy metric's last value.
type MetricStatus struct {
	Name     string
	Value    float64
	HasValue bool
	Err      string
}

// SourceStatus is one metric source's health.
type SourceStatus struct {
	Name   string
	LastOK time.Time
	Err    string
	Errors int
}

// Status is the scaler's state after a step, for the exporter and tests.
type Status struct {
	At                   time.Time
	Spec, Current, Ready int32
	Desired              int32
	Metrics              []MetricStatus
	Sources              []SourceStatus
	ScaleUps, ScaleDowns int
	Restarts             int
	Decisions            int
	KEDABranch           string
	LastReason           string
	GPUDevices           []gpu.Device
	GPUSamples           []gpu.Sample
	Queues               map[string]RabbitQueue
	Steps                int
}

// Loop is the decision loop. Step runs one tick on the caller's clock; the
// HPA reconciles every SyncPeriod and KEDA polls every pollingInterval,
// each keeping its state across ticks.
type Loop struct {
	cfg Config

	hpaObj  *autoscalingv2.HorizontalPodAutoscaler
	hst     hpa.State
	in      hpa.Input
	podSpec *corev1.PodSpec
	// needRes: the HPA reads a Resource or ContainerResource metric; res
	// is the target's resource metrics API (nil when it has none).
	needRes, needMem bool
	res              ResourceSource

	kc       *keda.Compiled
	kst      keda.State
	kres     keda.PollResult
	qres     keda.QueryResult
	readings []scalers.Reading
	// queryExplain collects the `keda eval` explanations of the HPA's
	// queries at the reconcile in progress (only when explaining).
	queryExplain []byte

	nextHPA, nextKEDA time.Time
	started           bool

	gpuDevs []gpu.Device
	gpuSmp  []gpu.Sample
	gpuMu   sync.Mutex

	mu     sync.Mutex
	status Status
	srcIdx map[string]int
}

// NewLoop compiles the policy.
func NewLoop(cfg Config) (*Loop, error) {
	if (cfg.HPA == nil) == (cfg.ScaledObject == nil) {
		return nil, fmt.Errorf("the live scaler needs exactly one policy: an HPA or a ScaledObject")
	}
	if cfg.SyncPeriod <= 0 {
		cfg.SyncPeriod = 15 * time.Second
	}
	if cfg.GPU == nil {
		cfg.GPU = gpu.Null{}
	}
	if cfg.Fetcher == nil {
		cfg.Fetcher = &Fetcher{}
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.GPUMaxAge <= 0 {
		cfg.GPUMaxAge = 30 * time.Second
	}
	l := &Loop{cfg: cfg, podSpec: cfg.PodSpec, srcIdx: map[string]int{}}
	if l.podSpec == nil {
		l.podSpec = &corev1.PodSpec{}
	}
	l.res, _ = cfg.Target.(ResourceSource)
	if so := cfg.ScaledObject; so != nil {
		opts := cfg.KEDA
		opts.AuthParams = append([]map[string]string(nil), opts.AuthParams...)
		for i, t := range so.Spec.Triggers {
			// the TriggerAuthentication's Secret is not here: the broker is
			// the one given on the command line
			if t.Type == "rabbitmq" && t.Metadata["host"] == "" && t.Metadata["hostFromEnv"] == "" {
				for len(opts.AuthParams) <= i {
					opts.AuthParams = append(opts.AuthParams, nil)
				}
				if opts.AuthParams[i] == nil {
					host := cfg.RabbitMQ
					if host == "" {
						host = "http://127.0.0.1:15672"
					}
					opts.AuthParams[i] = map[string]string{"host": host}
				}
			}
		}
		kc, err := keda.Compile(so.DeepCopy(), opts)
		if err != nil {
			return nil, err
		}
		l.kc, l.kst = kc, kc.NewState()
		l.hpaObj = kc.GenerateHPA()
		l.readings = make([]scalers.Reading, len(kc.Triggers))
	} else {
		l.hpaObj = cfg.HPA.DeepCopy()
	}
	if l.hpaObj != nil {
		for _, m := range l.hpaObj.Spec.Metrics {
			switch {
			case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil:
				l.needRes = true
				l.needMem = l.needMem || m.Resource.Name == corev1.ResourceMemory
			case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil:
				l.needRes = true
				l.needMem = l.needMem || m.ContainerResource.Name == corev1.ResourceMemory
			}
		}
		l.in = hpa.Input{HPA: l.hpaObj, Config: hpa.DefaultConfig(cfg.KubernetesMinor), Metrics: make([]hpa.MetricInput, len(l.hpaObj.Spec.Metrics))}
	}
	return l, nil
}

// GPUs returns the latest GPU devices and samples (the allocator's view).
func (l *Loop) GPUs() ([]gpu.Device, []gpu.Sample) {
	l.gpuMu.Lock()
	defer l.gpuMu.Unlock()
	return l.gpuDevs, l.gpuSmp
}

// Status returns a copy of the status after the last step.
func (l *Loop) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.status
	s.Metrics = append([]MetricStatus(nil), s.Metrics...)
	s.Sources = append([]SourceStatus(nil), s.Sources...)
	if s.Queues != nil {
		q := make(map[string]RabbitQueue, len(s.Queues))
		for k, v := range s.Queues {
			q[k] = v
		}
		s.Queues = q
	}
	return s
}

func (l *Loop) logf(now time.Time, format string, a ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(l.cfg.Log, "%s %s\n", now.UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
}

func (l *Loop) source(name string, now time.Time, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.srcIdx[name]
	if !ok {
		i = len(l.status.Sources)
		l.srcIdx[name] = i
		l.status.Sources = append(l.status.Sources, SourceStatus{Name: name})
	}
	s := &l.status.Sources[i]
	if err == nil {
		s.LastOK, s.Err = now, ""
		return
	}
	s.Err = err.Error()
	s.Errors++
}

// NeedsGPU reports whether the policy reads a GPU metric.
func (l *Loop) NeedsGPU() bool {
	if l.kc != nil {
		for i := range l.kc.SO.Spec.Triggers {
			t := &l.kc.SO.Spec.Triggers[i]
			if t.Type == "prometheus" && IsGPUMetric(t.Metadata["query"]) {
				return true
			}
		}
		return false
	}
	for _, m := range l.hpaObj.Spec.Metrics {
		if m.Type == autoscalingv2.PodsMetricSourceType && IsGPUMetric(m.Pods.Metric.Name) {
			return true
		}
	}
	return false
}

// IsGPUMetric says whether a metric name or query reads GPU utilisation
// (dcgm-exporter's or mlscale's exporter's names): such metrics are answered
// from the local GPU source.
func IsGPUMetric(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "dcgm_fi_dev_gpu_util") || strings.Contains(s, "mlscale_gpu_util") || strings.Contains(s, "gpu_utilization")
}

// Run steps every tick on now until ctx ends.
func (l *Loop) Run(ctx context.Context, tick time.Duration, now func() time.Time) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := l.Step(ctx, now()); err != nil && ctx.Err() == nil {
			l.logf(now(), "step: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step runs one tick at now: it observes the target, samples the GPUs and,
// when due, polls KEDA and reconciles the HPA, applying their decisions.
func (l *Loop) Step(ctx context.Context, now time.Time) error {
	if !l.started {
		l.started = true
		l.nextHPA, l.nextKEDA = now, now
		if l.kc != nil {
			// the object is created when the scaler starts: KEDA counts
			// initialCooldownPeriod from then
			l.kc.SO.CreationTimestamp = metav1.NewTime(now)
			l.kc.Created = now
		}
	}
	l.sampleGPUs(ctx, now)
	obs, err := l.cfg.Target.Observe(ctx, now)
	if err != nil {
		l.source("target", now, err)
		l.publish(now, obs)
		return err
	}
	l.source("target", now, nil)
	if l.needRes && l.res != nil {
		l.res.SampleResources(now)
	}
	if l.kc != nil && !now.Before(l.nextKEDA) {
		l.fillReadings(ctx, now, &obs)
		l.pollKEDA(ctx, now, &obs)
		l.nextKEDA = now.Add(l.kc.PollingInterval)
	}
	if l.hpaObj != nil && !now.Before(l.nextHPA) {
		if l.kc != nil {
			l.fillReadings(ctx, now, &obs)
		}
		l.reconcileHPA(ctx, now, &obs)
		l.nextHPA = now.Add(l.cfg.SyncPeriod)
	}
	l.publish(now, obs)
	return nil
}

func (l *Loop) publish(now time.Time, obs Observed) {
	devs, smp := l.GPUs()
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.status
	s.At, s.Spec, s.Current, s.Ready, s.Restarts = now, obs.Spec, obs.Status, obs.Ready(), obs.Restarts
	s.GPUDevices, s.GPUSamples = devs, smp
	s.Steps++
}

// SampleGPUs reads the GPU source once (Step does it at every tick); call
// it before the first Scale so that the allocator sees the GPUs.
func (l *Loop) SampleGPUs(ctx context.Context, now time.Time) { l.sampleGPUs(ctx, now) }

func (l *Loop) sampleGPUs(ctx context.Context, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	devs, err := l.cfg.GPU.Devices(ctx)
	var smp []gpu.Sample
	if err == nil {
		smp, err = l.cfg.GPU.Sample(ctx)
	}
	if err == nil {
		for i := range smp {
			if !smp[i].At.IsZero() && now.Sub(smp[i].At) > l.cfg.GPUMaxAge {
				err = fmt.Errorf("GPU %s: stale sample (%s old)", smp[i].UUID, now.Sub(smp[i].At).Round(time.Second))
				break
			}
		}
	}
	if len(devs) > 0 || err != nil {
		l.source("nvml", now, err)
	}
	l.gpuMu.Lock()
	defer l.gpuMu.Unlock()
	if err != nil {
		l.gpuSmp = nil // failed: no reading this tick
		return
	}
	l.gpuDevs, l.gpuSmp = devs, smp
}

// gpuUtil is the mean utilisation of the given GPUs (all when uuids is
// empty and all is set), and the sum; ok is false when none reports.
func (l *Loop) gpuUtil(uuids []string) (mean, sum float64, ok bool) {
	devs, smp := l.GPUs()
	n := 0
	for i := range smp {
		if i >= len(devs) || smp[i].Lost || smp[i].GPUUtilPercent == nil {
			continue
		}
		if uuids != nil && !contains(uuids, smp[i].UUID) {
			continue
		}
		sum += *smp[i].GPUUtilPercent
		n++
	}
	if n == 0 {
		return 0, 0, false
	}
	return sum / float64(n), sum, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// podGPUs is the GPUs of the target's running pods; nil when no pod has GPUs
// (the deployment target: then every local GPU counts).
func podGPUs(obs *Observed) []string {
	var out []string
	for _, p := range obs.Pods {
		if !p.Deleting {
			out = append(out, p.GPUs...)
		}
	}
	return out
}

var errNoGPU = errors.New("no GPU utilisation reading (no GPU source, GPUs lost, or MIG without utilisation)")

// fillReadings reads every KEDA trigger's upstream.
func (l *Loop) fillReadings(ctx context.Context, now time.Time, obs *Observed) {
	spec := l.kc.SO.Spec.Triggers
	var wg sync.WaitGroup
	for i := range l.kc.Triggers {
		t := &spec[i]
		rd := &l.readings[i]
		*rd = scalers.Reading{}
		name := fmt.Sprintf("trigger/%d/%s", i, t.Type)
		fail := func(err error) {
			*rd = scalers.Reading{Failed: true, Err: err.Error()}
			l.source(name, now, err)
		}
		switch t.Type {
		case "cpu", "memory":
			// a Resource metric of the generated HPA (metrics-server's):
			// KEDA never reads it
			continue
		case "rabbitmq":
			base := l.cfg.RabbitMQ
			if base == "" {
				if h := t.Metadata["host"]; strings.HasPrefix(h, "http") {
					base = h
				}
			}
			if base == "" {
				fail(fmt.Errorf("no RabbitMQ management URL: pass --rabbitmq http://user:pass@host:15672"))
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				q, err := l.cfg.Fetcher.RabbitMQ(ctx, base, t.Metadata["vhostName"], t.Metadata["queueName"])
				if err != nil {
					fail(err)
					return
				}
				rd.RabbitMQ = &scalers.RabbitMQReading{MessagesReady: q.MessagesReady, MessagesUnacknowledged: q.MessagesUnacknowledged,
					PublishRate: q.PublishRate, DeliverRate: q.DeliverRate}
				l.source(name, now, nil)
				l.mu.Lock()
				if l.status.Queues == nil {
					l.status.Queues = map[string]RabbitQueue{}
				}
				l.status.Queues[t.Metadata["queueName"]] = q
				l.mu.Unlock()
			}()
		case "prometheus":
			q := t.Metadata["query"]
			if IsGPUMetric(q) {
				_, sum, ok := l.gpuUtil(podGPUs(obs))
				if !ok {
					fail(errNoGPU)
					continue
				}
				rd.Prometheus = &scalers.PrometheusReading{Series: []float64{sum}}
				l.source(name, now, nil)
				continue
			}
			server := l.cfg.Prometheus
			if server == "" {
				server = t.Metadata["serverAddress"]
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := l.cfg.Fetcher.Query(ctx, server, q, now)
				if err != nil {
					fail(err)
					return
				}
				rd.Prometheus = &scalers.PrometheusReading{Series: v}
				l.source(name, now, nil)
			}()
		default:
			fail(fmt.Errorf("trigger type %q is not read by mlscale run (rabbitmq and prometheus are)", t.Type))
		}
	}
	wg.Wait()
}

func (l *Loop) pollKEDA(ctx context.Context, now time.Time, obs *Observed) {
	spec := obs.Spec
	tgt := keda.Target{SpecReplicas: &spec, ReadyReplicas: obs.Ready()}
	var explain []byte
	if l.cfg.Explain || l.cfg.Verbose {
		explain = l.kedaExplain(now, tgt, kedastate.StepPoll, "")
	}
	l.kc.Poll(now, tgt, l.readings, &l.kst, &l.kres)
	r := &l.kres
	l.mu.Lock()
	l.status.KEDABranch = r.Branch.String()
	if l.hpaObj == nil || r.HasScaleTo {
		l.status.Metrics = l.status.Metrics[:0]
		for i, m := range r.Metrics {
			ms := MetricStatus{Name: l.kc.Triggers[i].MetricName, Value: m.Value, HasValue: m.HasValue, Err: m.Err}
			l.status.Metrics = append(l.status.Metrics, ms)
		}
	}
	l.mu.Unlock()
	for _, e := range r.Events {
		l.logf(now, "keda event %s %s: %s", e.Type, e.Reason, e.Message)
	}
	if r.HasScaleTo && r.ScaleTo != obs.Spec {
		l.writeExplain(explain)
		l.apply(ctx, now, obs, r.ScaleTo, "keda "+r.Branch.String())
	} else {
		if l.cfg.Verbose {
			l.writeExplain(explain)
		}
		l.logf(now, "keda poll: %s (active %v, error %v), replicas %d", r.Branch, r.Active, r.Error, obs.Spec)
	}
}

// kedaExplain renders `keda eval -o text` for the KEDA step about to run
// (a poll, or the metrics server's answer to the HPA's query for metric),
// on a copy of KEDA's state, so the live state is untouched.
func (l *Loop) kedaExplain(now time.Time, tgt keda.Target, step, metric string) []byte {
	var b bytes.Buffer
	if err := kedastate.Eval(kedastate.StepInput(l.kc, step, metric, now, tgt, l.readings, &l.kst), false).WriteText(&b); err != nil {
		return nil
	}
	return b.Bytes()
}

// writeExplain writes a multi-line explanation to the log as it is.
func (l *Loop) writeExplain(explain []byte) {
	if len(explain) == 0 {
		return
	}
	logMu.Lock()
	defer logMu.Unlock()
	_, _ = l.cfg.Log.Write(explain)
}

func (l *Loop) apply(ctx context.Context, now time.Time, obs *Observed, n int32, reason string) {
	l.mu.Lock()
	l.status.Decisions++
	l.status.Desired, l.status.LastReason = n, reason
	if n > obs.Spec {
		l.status.ScaleUps++
	} else if n < obs.Spec {
		l.status.ScaleDowns++
	}
	l.mu.Unlock()
	if l.cfg.DryRun {
		l.logf(now, "would scale %d -> %d (%s) [dry run]", obs.Spec, n, reason)
		return
	}
	l.logf(now, "scale %d -> %d (%s)", obs.Spec, n, reason)
	if err := l.cfg.Target.Scale(ctx, now, n); err != nil {
		l.source("target", now, err)
		l.logf(now, "scale failed: %v", err)
		return
	}
	obs.Spec = n
}

func (l *Loop) hpaPods(obs *Observed) []hpa.Pod {
	sel := map[string]string{}
	if l.hpaObj != nil {
		sel["app"] = l.hpaObj.Spec.ScaleTargetRef.Name
	}
	out := make([]hpa.Pod, len(obs.Pods))
	for i, p := range obs.Pods {
		spec := p.Spec
		if spec == nil {
			spec = l.podSpec
		}
		hp := hpa.Pod{Name: p.Name, Spec: spec, Phase: p.Phase, Deleting: p.Deleting, StartTime: p.Started, ReadyTransitionTime: p.ReadySince, Labels: sel}
		if p.Phase == corev1.PodRunning {
			hp.Ready = corev1.ConditionFalse
			if p.Ready {
				hp.Ready = corev1.ConditionTrue
			}
		}
		out[i] = hp
	}
	return out
}

func (l *Loop) reconcileHPA(ctx context.Context, now time.Time, obs *Observed) {
	in := &l.in
	in.Now = now
	in.Pods = l.hpaPods(obs)
	in.Scale = hpa.Scale{SpecReplicas: obs.Spec, StatusReplicas: obs.Status, Selector: "app=" + l.hpaObj.Spec.ScaleTargetRef.Name}
	l.queryExplain = l.queryExplain[:0]
	l.metricInputs(ctx, now, obs)
	var explain []byte
	if l.cfg.Explain || l.cfg.Verbose {
		explain = append(append([]byte(nil), l.queryExplain...), l.explain(now)...)
	}
	d := hpa.Reconcile(in, &l.hst)
	if len(d.Conditions) > 0 || d.RemoveScaledToZero {
		l.hpaObj.Status.Conditions = hpa.MergeConditions(l.hpaObj.Status.Conditions, &d, now)
	}
	l.mu.Lock()
	if l.kc == nil || !l.kres.HasScaleTo {
		l.status.Metrics = l.status.Metrics[:0]
		for k := range d.Metrics {
			m := &d.Metrics[k]
			ms := MetricStatus{Name: m.Name, Err: m.Error}
			switch {
			case m.HasUtilization:
				ms.Value, ms.HasValue = float64(m.AverageUtilization), true
			case m.HasAverageValue:
				ms.Value, ms.HasValue = float64(m.AverageValueMilli)/1000, true
			case m.HasValue:
				ms.Value, ms.HasValue = float64(m.ValueMilli)/1000, true
			}
			l.status.Metrics = append(l.status.Metrics, ms)
		}
	}
	l.status.Desired = d.DesiredReplicas
	l.mu.Unlock()
	for _, e := range d.Events {
		l.logf(now, "hpa event %s %s: %s", e.Type, e.Reason, e.Message)
	}
	summary := fmt.Sprintf("hpa: %d -> %d (metric proposal %d from %s; %s; %s)", obs.Spec, d.DesiredReplicas, d.MetricDesired, d.MetricName, d.StabilizeReason, d.LimitReason)
	if d.MetricDesired < 0 {
		summary = fmt.Sprintf("hpa: keeps %d (stage %d)", obs.Spec, d.Stage)
		for _, c := range d.Conditions {
			if c.Status != corev1.ConditionTrue {
				summary = fmt.Sprintf("hpa: keeps %d (%s: %s)", obs.Spec, c.Reason, c.Message)
				break
			}
		}
	}
	if d.Rescale && d.DesiredReplicas != obs.Spec {
		l.writeExplain(explain)
		l.apply(ctx, now, obs, d.DesiredReplicas, "hpa "+d.RescaleReason)
		return
	}
	if l.cfg.Verbose {
		l.writeExplain(explain)
	}
	l.logf(now, "%s", summary)
}

// explain renders `hpa eval -o text` for the reconcile about to run (on a
// copy of the state, so the live state is untouched).
func (l *Loop) explain(now time.Time) []byte {
	snap := &hpastate.Snapshot{Input: l.in, Engine: l.hst.Clone(), Conditions: l.hpaObj.Status.Conditions, Minor: l.in.Config.KubernetesMinor}
	if l.hst.Recommendations != nil {
		snap.State.History = &hpastate.History{}
	}
	snap.Input.Metrics = make([]hpa.MetricInput, len(l.in.Metrics))
	copy(snap.Input.Metrics, l.in.Metrics)
	var b bytes.Buffer
	if err := snap.Run().WriteText(&b); err != nil {
		return nil
	}
	return b.Bytes()
}

// metricInputs fills the metrics API's answer for every spec.metrics entry.
func (l *Loop) metricInputs(ctx context.Context, now time.Time, obs *Observed) {
	var scraped []map[string]float64
	scrape := func() []map[string]float64 {
		if scraped != nil {
			return scraped
		}
		scraped = make([]map[string]float64, len(obs.Pods))
		var wg sync.WaitGroup
		for i, p := range obs.Pods {
			if p.MetricsURL == "" || p.Phase != corev1.PodRunning {
				continue
			}
			wg.Add(1)
			go func(i int, u string) {
				defer wg.Done()
				v, err := l.cfg.Fetcher.Scrape(ctx, u, now)
				l.source("scrape/"+obs.Pods[i].Name, now, err)
				if err == nil {
					scraped[i] = v
				}
			}(i, p.MetricsURL)
		}
		wg.Wait()
		return scraped
	}
	var pm []hpa.PodMetrics
	var pmErr error
	pmDone := false
	// podMetrics is the resource metrics API's answer, read once per
	// reconcile for every cpu and memory metric
	podMetrics := func() ([]hpa.PodMetrics, error) {
		if pmDone {
			return pm, pmErr
		}
		pmDone = true
		switch {
		case l.res == nil:
			pmErr = fmt.Errorf("the %T target has no resource metrics (cpu, memory)", l.cfg.Target)
			return nil, pmErr
		case l.cfg.PodSpec == nil && hasTemplatePods(obs):
			pmErr = errors.New("no pod template for the workers' cpu and memory requests: run with -f PROFILE, or --manifests with the Deployment")
			return nil, pmErr
		}
		pm, pmErr = l.res.PodMetrics(ctx, now, l.needMem)
		l.source("resource/"+l.res.ResourceSourceName(), now, pmErr)
		return pm, pmErr
	}
	for k, ms := range l.hpaObj.Spec.Metrics {
		mi := &l.in.Metrics[k]
		*mi = hpa.MetricInput{}
		switch ms.Type {
		case autoscalingv2.PodsMetricSourceType:
			name := ms.Pods.Metric.Name
			mi.Samples = make([]hpa.PodSample, len(obs.Pods))
			if IsGPUMetric(name) {
				for i, p := range obs.Pods {
					if p.Phase != corev1.PodRunning || len(p.GPUs) == 0 {
						continue
					}
					if mean, _, ok := l.gpuUtil(p.GPUs); ok {
						mi.Samples[i] = hpa.PodSample{Present: true, Milli: milli(mean), Timestamp: now, Window: time.Minute}
						mi.Items++
					}
				}
				continue
			}
			vals := scrape()
			for i := range obs.Pods {
				if v, ok := vals[i][name]; ok && !math.IsNaN(v) {
					mi.Samples[i] = hpa.PodSample{Present: true, Milli: milli(v), Timestamp: now, Window: time.Minute}
					mi.Items++
				}
			}
		case autoscalingv2.ExternalMetricSourceType, autoscalingv2.ObjectMetricSourceType:
			var name string
			if ms.External != nil {
				name = ms.External.Metric.Name
			} else {
				name = ms.Object.Metric.Name
			}
			if l.kc != nil && (l.kc.TriggerByMetric(name) >= 0 || name == keda.CompositeMetricName) {
				if obs.Spec == 0 {
					// KEDA's HPA has minReplicas ≥ 1: at 0 replicas its
					// scaling is disabled and it asks KEDA for nothing, so
					// no failure is counted here (only polls count)
					continue
				}
				spec := obs.Spec
				tgt := keda.Target{SpecReplicas: &spec, ReadyReplicas: obs.Ready()}
				if l.cfg.Explain || l.cfg.Verbose {
					l.queryExplain = append(l.queryExplain, l.kedaExplain(now, tgt, kedastate.StepHPAQuery, name)...)
				}
				l.kc.HPAQuery(name, tgt, l.readings, &l.kst, &l.qres)
				switch {
				case l.qres.Err != "":
					mi.FetchErr = errors.New(l.qres.Err)
				case l.qres.Empty:
				default:
					mi.Values, mi.Items = []int64{milli(l.qres.Value)}, 1
				}
				continue
			}
			q, ok := l.cfg.External[name]
			if !ok || l.cfg.Prometheus == "" {
				mi.FetchErr = fmt.Errorf("no source for metric %q: map it with --external %s=PROMQL and --prometheus URL", name, name)
				continue
			}
			v, err := l.cfg.Fetcher.Query(ctx, l.cfg.Prometheus, q, now)
			l.source("prometheus/"+name, now, err)
			if err != nil {
				mi.FetchErr = err
				continue
			}
			for _, x := range v {
				mi.Values = append(mi.Values, milli(x))
			}
			mi.Items = len(v)
		case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
			res, container := corev1.ResourceName(""), ""
			if ms.Resource != nil {
				res = ms.Resource.Name
			} else if ms.ContainerResource != nil {
				res, container = ms.ContainerResource.Name, ms.ContainerResource.Container
			}
			items, err := podMetrics()
			if err != nil {
				mi.FetchErr = err
				continue
			}
			if p, ok := l.cfg.Target.(*Process); ok && container != "" && container != p.cfg.Container {
				mi.FetchErr = fmt.Errorf("the workers stand for container %q of the pod template; container %q is not run by mlscale run", p.cfg.Container, container)
				continue
			}
			*mi = hpa.ResourceSamples(items, l.in.Pods, res, container)
		default:
			mi.FetchErr = fmt.Errorf("%s metrics are not read by mlscale run", ms.Type)
		}
	}
}

// hasTemplatePods says whether some pod takes its spec from the policy's
// pod template (the process target's workers).
func hasTemplatePods(obs *Observed) bool {
	for i := range obs.Pods {
		if obs.Pods[i].Spec == nil {
			return true
		}
	}
	return false
}
