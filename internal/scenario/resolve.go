package scenario

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/generate"
	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/sim"
	"github.com/mlscale/mlscale/templates"
)

// Defaults of the environment and the metrics pipeline (docs/simulator.md).
const (
	DefaultSeed              = 1
	DefaultGaugeRefresh      = 5 * time.Second
	DefaultScrapeOffset      = 7 * time.Second
	DefaultRateWindow        = time.Minute
	DefaultMSResolution      = 15 * time.Second
	DefaultMSOffset          = 3 * time.Second
	DefaultHPASync           = 15 * time.Second
	DefaultScaleDownUnneeded = 10 * time.Minute
	DefaultCPUIdle           = 0.1
	DefaultCPUBusy           = 0.9
	DefaultMemory            = 0.6
	DefaultSLOWindow         = time.Minute
	DefaultFlapWindow        = 5 * time.Minute
	DefaultMaxDecisions      = 2000
)

// DefaultProvisioning is a new GPU node's time to join and be allocatable:
// the cluster autoscaler's GPU wait, the VM boot and the device plugin
// (landscape §6.2: 1.5-6 min).
var DefaultProvisioning = &profile.Distribution{Dist: profile.DistLogNormal, Median: 2 * time.Minute, P99: 6 * time.Minute}

// Start is the simulated clock at t=0 (a Thursday midnight, UTC).
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options adjust a resolution.
type Options struct {
	// ReadFile reads a file the scenario names (profile, trace, service
	// times); nil reads it relative to the scenario's file.
	ReadFile func(name string) ([]byte, error)
	// Profile replaces the scenario's workload profile (a --policy file).
	Profile *profile.Loaded
	// Policy names the policy in the output (default the profile's name).
	Policy string
	// Manifests replaces the autoscaler with rendered manifests in a directory.
	Manifests string
	Seed      *uint64
	Duration  time.Duration
	// TimelineStep > 0 records a timeline.
	TimelineStep time.Duration
}

// FileReader reads names relative to the directory of source.
func FileReader(source string) func(string) ([]byte, error) {
	dir := filepath.Dir(source)
	return func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return os.ReadFile(name)
	}
}

func durOf(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

func kubeMinor(v string) (int, error) {
	s := strings.TrimPrefix(v, "v")
	s = strings.TrimPrefix(s, "1.")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < hpa.MinMinor || n > hpa.MaxMinor {
		return 0, fmt.Errorf("kubernetes version %q: supported 1.%d to 1.%d", v, hpa.MinMinor, hpa.MaxMinor)
	}
	return n, nil
}

func kedaVersion(v string) (keda.Version, error) { return keda.ParseVersion(v) }

// LoadProfile loads the scenario's workload profile.
func (l *Loaded) LoadProfile(read func(string) ([]byte, error)) (*profile.Loaded, error) {
	w := l.Spec.Workload
	if w.Preset != "" {
		src, err := profile.Preset(w.Preset)
		if err != nil {
			return nil, err
		}
		return profile.Load("preset "+w.Preset, src)
	}
	data, err := read(w.Profile)
	if err != nil {
		return nil, l.doc.Errorf("spec.workload.profile", "%v", err)
	}
	return profile.Load(w.Profile, data)
}

// Resolve turns the scenario and its profile into the engine's Config.
func (l *Loaded) Resolve(o Options) (*sim.Config, error) {
	read := o.ReadFile
	if read == nil {
		read = FileReader(l.Source)
	}
	prof := o.Profile
	if prof == nil {
		var err error
		if prof, err = l.LoadProfile(read); err != nil {
			return nil, err
		}
	}
	sp := &l.Spec
	cfg := &sim.Config{
		Name:     l.Metadata.Name,
		Policy:   o.Policy,
		Start:    Start,
		Duration: sp.Duration.Duration,
		Seed:     DefaultSeed,
	}
	if sp.Seed != nil {
		cfg.Seed = *sp.Seed
	}
	if o.Seed != nil {
		cfg.Seed = *o.Seed
	}
	if o.Duration > 0 {
		cfg.Duration = o.Duration
	}
	if cfg.Policy == "" {
		cfg.Policy = prof.Metadata.Name
	}

	// The objects generate would write: the simulated HPA/ScaledObject are
	// exactly the ones that would be deployed.
	r, err := generate.NewRenderer(templates.FS)
	if err != nil {
		return nil, err
	}
	rendered, err := r.Render(prof)
	if err != nil {
		return nil, err
	}
	worker := sp.Workload.Component == "worker"
	if worker && prof.Spec.Worker == nil {
		return nil, l.doc.Errorf("spec.workload.component", "profile %s has no worker (mode %s)", prof.Metadata.Name, prof.Spec.Scaling.Mode)
	}
	depName := prof.Spec.Names.Deployment
	if worker {
		depName = prof.Spec.Worker.Name
	}
	var (
		dep *appsv1.Deployment
		hp  *autoscalingv2.HorizontalPodAutoscaler
		so  *kedav1alpha1.ScaledObject
	)
	for _, obj := range rendered.Objects {
		switch t := obj.Typed.(type) {
		case *appsv1.Deployment:
			if t.Name == depName {
				dep = t
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			if t.Spec.ScaleTargetRef.Name == depName {
				hp = t
			}
		case *kedav1alpha1.ScaledObject:
			if t.Spec.ScaleTargetRef.Name == depName {
				so = t
			}
		}
	}
	kind := "profile"
	if a := sp.Autoscaler; a != nil && a.Kind != "" {
		kind = a.Kind
	}
	manifests := o.Manifests
	if manifests == "" && kind == "manifests" {
		manifests = sp.Autoscaler.Manifests
		if !filepath.IsAbs(manifests) && l.Source != "" {
			manifests = filepath.Join(filepath.Dir(l.Source), manifests)
		}
	}
	if manifests != "" {
		m, err := LoadManifests(manifests, depName)
		if err != nil {
			return nil, err
		}
		if m.Deployment != nil {
			dep = m.Deployment
		}
		hp, so = m.HPA, m.ScaledObject
		if hp == nil && so == nil {
			return nil, fmt.Errorf("%s: no HorizontalPodAutoscaler or ScaledObject targets Deployment %s", manifests, depName)
		}
		kind = "manifests"
	}
	if dep == nil {
		return nil, fmt.Errorf("profile %s rendered no Deployment %s", prof.Metadata.Name, depName)
	}

	// Pods
	pm := &cfg.Pod
	pm.Deployment, pm.Namespace = dep.Name, dep.Namespace
	pm.Labels = dep.Spec.Template.Labels
	pm.Spec = &dep.Spec.Template.Spec
	for _, c := range pm.Spec.Containers {
		for name, q := range c.Resources.Limits {
			if strings.HasSuffix(string(name), "/gpu") {
				pm.GPUs += q.Value()
			}
		}
	}
	if g := prof.Spec.Resources.GPU; g != nil {
		pm.InstanceTypes = g.InstanceTypes
	}
	cs := prof.Spec.ColdStart
	if env := sp.Environment; env != nil && env.ColdStart != nil {
		o := env.ColdStart
		if o.ImagePull != nil {
			cs.ImagePull = o.ImagePull
		}
		if o.ModelLoad != nil {
			cs.ModelLoad = o.ModelLoad
		}
		if o.Warmup != nil {
			cs.Warmup = o.Warmup
		}
	}
	pm.ImagePull, pm.ModelLoad, pm.Warmup = sim.FromProfile(cs.ImagePull), sim.FromProfile(cs.ModelLoad), sim.FromProfile(cs.Warmup)
	if len(pm.Spec.Containers) > 0 {
		c := pm.Spec.Containers[0]
		if p := c.StartupProbe; p != nil {
			pm.StartupInitialDelay = time.Duration(p.InitialDelaySeconds) * time.Second
			pm.StartupPeriod = time.Duration(max(p.PeriodSeconds, 1)) * time.Second
			pm.StartupFailures = max(p.FailureThreshold, 1)
		}
		if p := c.ReadinessProbe; p != nil {
			pm.ReadinessInitialDelay = time.Duration(p.InitialDelaySeconds) * time.Second
			pm.ReadinessPeriod = time.Duration(max(p.PeriodSeconds, 1)) * time.Second
		}
	}
	pm.TerminationGrace = 30 * time.Second
	if g := pm.Spec.TerminationGracePeriodSeconds; g != nil {
		pm.TerminationGrace = time.Duration(*g) * time.Second
	}
	pm.Usage = sim.Usage{CPUIdle: DefaultCPUIdle, CPUBusy: DefaultCPUBusy, Memory: DefaultMemory}
	if env := sp.Environment; env != nil && env.Usage != nil {
		u := env.Usage
		if u.CPUIdle != nil {
			pm.Usage.CPUIdle = *u.CPUIdle
		}
		if u.CPUBusy != nil {
			pm.Usage.CPUBusy = *u.CPUBusy
		}
		if u.Memory != nil {
			pm.Usage.Memory = *u.Memory
		}
	}
	price := 0.0
	if prof.Spec.Cost != nil {
		price = prof.Spec.Cost.GPUHourUSD
	}
	pm.GPUHourUSD = price

	// Serving
	sv := &cfg.Service
	sv.Concurrency = max(prof.Spec.Serving.Concurrency, 1)
	sv.BatchSize = prof.Spec.Serving.BatchSize
	st := prof.Spec.Serving.ServiceTime
	if st == nil {
		st = profile.Constant(time.Second)
	}
	sv.Time = sim.FromProfile(st)
	sv.Routing = sim.RouteRandom
	if worker || queueFed(so) {
		sv.Routing = sim.RouteSharedQueue
	}
	if s := sp.Serving; s != nil {
		if s.Routing != "" {
			sv.Routing, _ = sim.ParseRouting(s.Routing)
		}
		if s.Concurrency != nil {
			sv.Concurrency = *s.Concurrency
		}
		if s.BatchSize != nil {
			sv.BatchSize = *s.BatchSize
		}
		if s.ServiceTime != nil {
			sv.Time = sim.FromProfile(s.ServiceTime)
		}
		if s.ServiceTimesFile != "" {
			d, err := readDurations(read, s.ServiceTimesFile)
			if err != nil {
				return nil, l.doc.Errorf("spec.serving.serviceTimesFile", "%v", err)
			}
			sv.Time = sim.Empirical(d)
		}
		if s.Tokens != nil {
			sv.Tokens = &sim.TokenModel{Base: s.Tokens.Base.Duration, PerInputToken: s.Tokens.PerInputToken.Duration, PerOutputToken: s.Tokens.PerOutputToken.Duration}
		}
		if s.Timeout != nil {
			sv.Timeout = s.Timeout.Duration
		}
		sv.MaxQueue = s.MaxQueue
	}

	// Traffic
	if err := l.traffic(cfg, read); err != nil {
		return nil, err
	}

	// Autoscaler
	as := &cfg.Autoscaler
	reps := prof.Spec.Scaling.Replicas
	if worker {
		reps = prof.Spec.Worker.Replicas
	}
	as.Replicas = *reps.Initial
	if dep.Spec.Replicas != nil && manifests != "" {
		as.Replicas = *dep.Spec.Replicas
	}
	if a := sp.Autoscaler; a != nil && a.Replicas != nil {
		as.Replicas = *a.Replicas
	}
	as.WarmStart = true
	if env := sp.Environment; env != nil && env.WarmStart != nil {
		as.WarmStart = *env.WarmStart
	}
	switch {
	case kind == "none":
		as.Kind = sim.AutoscaleNone
	case so != nil:
		as.Kind, as.ScaledObject = sim.AutoscaleKEDA, so
	case hp != nil:
		as.Kind, as.HPA = sim.AutoscaleHPA, hp
	default:
		as.Kind = sim.AutoscaleNone
	}

	// Metrics pipeline
	mp := &cfg.Metrics
	scrape := DefaultHPASync
	if v, err := time.ParseDuration(prof.Spec.Monitoring.ScrapeInterval); err == nil && v > 0 {
		scrape = v
	}
	m := sp.Metrics
	if m == nil {
		m = &Metrics{}
	}
	mp.GaugeRefresh = durOf(m.GaugeRefresh, DefaultGaugeRefresh)
	mp.ScrapeInterval = durOf(m.ScrapeInterval, scrape)
	mp.ScrapeOffset = min(DefaultScrapeOffset, mp.ScrapeInterval/2)
	mp.RateWindow = durOf(m.RateWindow, DefaultRateWindow)
	mp.MetricsServerResolution = durOf(m.MetricsServerResolution, DefaultMSResolution)
	mp.MetricsServerOffset = min(DefaultMSOffset, mp.MetricsServerResolution/2)
	mp.HPASyncPeriod = durOf(m.HPASyncPeriod, DefaultHPASync)
	mp.KubernetesMinor = hpa.DefaultMinor
	if m.KubernetesVersion != "" {
		mp.KubernetesMinor, _ = kubeMinor(m.KubernetesVersion)
	}
	if m.KEDAVersion != "" {
		as.KEDAVersion, _ = kedaVersion(m.KEDAVersion)
	}
	if len(m.Signals) > 0 {
		mp.Signals = map[string]sim.Signal{}
		for k, v := range m.Signals {
			mp.Signals[k], _ = sim.ParseSignal(v)
		}
	}
	for _, o := range m.Outages {
		mode, _ := sim.ParseOutageMode(o.Mode)
		mp.Outages = append(mp.Outages, sim.Outage{Metric: o.Metric, At: o.At.Duration, Duration: o.Duration.Duration, Mode: mode})
	}

	// Node pools
	if err := l.pools(cfg, price); err != nil {
		return nil, err
	}

	// SLO
	slo := prof.Spec.SLO
	if s := sp.SLO; s != nil {
		if s.Percentile != 0 {
			slo.Percentile = s.Percentile
		}
		if s.Latency != nil {
			slo.Latency = s.Latency
		}
		if s.Goal != 0 {
			slo.Goal = s.Goal
		}
	}
	cfg.SLO = sim.SLO{Percentile: slo.Percentile, Goal: slo.Goal}
	if slo.Latency != nil {
		cfg.SLO.Latency = slo.Latency.Duration
	} else {
		// no objective given: twice the p99 service time
		cfg.SLO.Latency = time.Duration(2 * sv.Time.Quantile(0.99)).Round(time.Millisecond)
	}
	out := sp.Output
	if out == nil {
		out = &Output{}
	}
	cfg.SLO.Window = durOf(out.SLOWindow, DefaultSLOWindow)
	cfg.Output = sim.OutputOptions{
		FlapWindow:   durOf(out.FlapWindow, DefaultFlapWindow),
		MaxDecisions: DefaultMaxDecisions,
		TimelineStep: o.TimelineStep,
	}
	// an outage must hit a metric of this policy (the engine's own errors
	// surface when it runs)
	var oe *sim.OutageMatchError
	if err := sim.CheckOutages(cfg); errors.As(err, &oe) {
		return nil, l.doc.Errorf(fmt.Sprintf("spec.metrics.outages[%d].metric", oe.Index), "%s", oe.Msg)
	}
	return cfg, nil
}

// queueFed reports a ScaledObject scaled on a broker queue.
func queueFed(so *kedav1alpha1.ScaledObject) bool {
	if so == nil {
		return false
	}
	for _, t := range so.Spec.Triggers {
		switch t.Type {
		case "rabbitmq", "aws-sqs-queue", "kafka", "azure-servicebus", "redis", "nats-jetstream":
			return true
		}
	}
	return false
}

func (l *Loaded) pools(cfg *sim.Config, price float64) error {
	pm := &cfg.Pod
	var pools []NodePool
	if env := l.Spec.Environment; env != nil {
		pools = env.NodePools
	}
	if pm.GPUs <= 0 {
		return nil // CPU pods: capacity is not modelled
	}
	initialPods := int(cfg.Autoscaler.Replicas)
	if len(pools) == 0 {
		it := "gpu-node"
		if len(pm.InstanceTypes) > 0 {
			it = pm.InstanceTypes[0]
		}
		pools = []NodePool{{Name: "gpu", InstanceType: it, GPUsPerNode: pm.GPUs}}
	}
	for i, p := range pools {
		np := sim.NodePool{
			Name: p.Name, InstanceType: p.InstanceType, GPUsPerNode: p.GPUsPerNode,
			Provisioning: sim.FromProfile(DefaultProvisioning), Min: p.Min, Max: p.Max, GPUHourUSD: price,
			ScaleDownUnneeded: durOf(p.ScaleDownUnneeded, DefaultScaleDownUnneeded),
		}
		if np.InstanceType == "" && len(pm.InstanceTypes) > 0 {
			np.InstanceType = pm.InstanceTypes[0]
		}
		if p.Provisioning != nil {
			np.Provisioning = sim.FromProfile(p.Provisioning)
		}
		if p.GPUHourUSD != nil {
			np.GPUHourUSD = *p.GPUHourUSD
		}
		perNode := int(p.GPUsPerNode / pm.GPUs)
		if perNode < 1 {
			return l.doc.Errorf(fmt.Sprintf("spec.environment.nodePools[%d].gpusPerNode", i), "a pod needs %d GPUs; this pool's nodes have %d", pm.GPUs, p.GPUsPerNode)
		}
		if p.Initial != nil {
			np.Initial = *p.Initial
		} else if i == 0 {
			// enough nodes for the initial replicas, and the pool's minimum
			np.Initial = max((initialPods+perNode-1)/perNode, p.Min)
		}
		cfg.Pools = append(cfg.Pools, np)
	}
	return nil
}

func readDurations(read func(string) ([]byte, error), name string) ([]time.Duration, error) {
	data, err := read(name)
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		d, err := time.ParseDuration(line)
		if err != nil {
			f, ferr := strconv.ParseFloat(line, 64)
			if ferr != nil || f < 0 || math.IsNaN(f) {
				return nil, fmt.Errorf("%s:%d: %q is neither a duration nor seconds", name, n+1, line)
			}
			d = time.Duration(f * float64(time.Second))
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no durations", name)
	}
	return out, nil
}
