package scenario

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/sim"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

// Loaded is a decoded and validated scenario.
type Loaded struct {
	*Scenario
	// Source names the file it came from.
	Source string
	doc    *strictyaml.Doc
}

// LoadFile reads and validates a scenario; "-" reads stdin.
func LoadFile(path string, stdin io.Reader) (*Loaded, error) {
	name, data, err := strictyaml.ReadFile(path, stdin)
	if err != nil {
		return nil, err
	}
	return Load(name, data)
}

// Load decodes data strictly and validates it; every error names the file,
// line, column and field.
func Load(file string, data []byte) (*Loaded, error) {
	var s Scenario
	doc, err := strictyaml.DecodeDoc(file, data, &s)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Scenario: &s, Source: file, doc: doc}
	if errs := l.validate(); len(errs) > 0 {
		return nil, errs.Err()
	}
	return l, nil
}

// Patterns are the traffic patterns.
var Patterns = []string{"poisson", "step", "ramp", "diurnal", "mmpp", "trace"}

// TraceFormats are the trace layouts read.
var TraceFormats = []string{"auto", "timestamps", "azure-llm", "azure-functions", "azure-functions-2021"}

func (l *Loaded) validate() strictyaml.Errors {
	var errs strictyaml.Errors
	add := func(path, format string, a ...any) { errs = append(errs, l.doc.Errorf(path, format, a...)) }
	s := l.Scenario
	if s.APIVersion != APIVersion {
		add("apiVersion", "must be %q, got %q", APIVersion, s.APIVersion)
	}
	if s.Kind != Kind {
		add("kind", "must be %q, got %q", Kind, s.Kind)
	}
	if s.Metadata.Name == "" {
		add("metadata.name", "is required")
	}
	sp := &s.Spec
	if sp.Duration.Duration <= 0 {
		add("spec.duration", "must be positive (e.g. 1h)")
	} else if sp.Duration.Duration > 31*24*time.Hour {
		add("spec.duration", "at most 31 days")
	}
	w := sp.Workload
	switch {
	case w.Profile == "" && w.Preset == "":
		add("spec.workload", "needs a profile (a file) or a preset (%s)", strings.Join(profile.Presets(), ", "))
	case w.Profile != "" && w.Preset != "":
		add("spec.workload.preset", "use either profile or preset, not both")
	case w.Preset != "" && !contains(profile.Presets(), w.Preset):
		add("spec.workload.preset", "unknown preset %q (one of %s)", w.Preset, strings.Join(profile.Presets(), ", "))
	}
	if w.Component != "" && w.Component != "online" && w.Component != "worker" {
		add("spec.workload.component", "must be online or worker, got %q", w.Component)
	}
	if a := sp.Autoscaler; a != nil {
		switch a.Kind {
		case "", "profile", "none":
		case "manifests":
			if a.Manifests == "" {
				add("spec.autoscaler.manifests", "kind manifests needs a directory")
			}
		default:
			add("spec.autoscaler.kind", "must be profile, manifests or none, got %q", a.Kind)
		}
		if a.Replicas != nil && *a.Replicas < 0 {
			add("spec.autoscaler.replicas", "must not be negative")
		}
		if a.Manifests != "" && a.Kind != "manifests" {
			add("spec.autoscaler.manifests", "set kind: manifests to use rendered manifests")
		}
	}
	l.validateTraffic(add)
	if sv := sp.Serving; sv != nil {
		if sv.Routing != "" {
			if _, ok := sim.ParseRouting(sv.Routing); !ok {
				add("spec.serving.routing", "unknown routing %q (one of %s)", sv.Routing, strings.Join(sim.RoutingNames(), ", "))
			}
		}
		if sv.Concurrency != nil && *sv.Concurrency < 1 {
			add("spec.serving.concurrency", "must be at least 1")
		}
		if sv.BatchSize != nil && *sv.BatchSize < 1 {
			add("spec.serving.batchSize", "must be at least 1")
		}
		if sv.ServiceTime != nil && sv.ServiceTimesFile != "" {
			add("spec.serving.serviceTimesFile", "use either serviceTime or serviceTimesFile")
		}
		if sv.MaxQueue < 0 {
			add("spec.serving.maxQueue", "must not be negative")
		}
		if sv.Tokens != nil && (sp.Traffic.Trace == nil) {
			add("spec.serving.tokens", "token-based service times need a trace with token counts")
		}
	}
	if env := sp.Environment; env != nil {
		names := map[string]bool{}
		for i, p := range env.NodePools {
			path := fmt.Sprintf("spec.environment.nodePools[%d]", i)
			if p.Name == "" {
				add(path+".name", "is required")
			} else if names[p.Name] {
				add(path+".name", "duplicate pool %q", p.Name)
			}
			names[p.Name] = true
			if p.GPUsPerNode < 1 {
				add(path+".gpusPerNode", "must be at least 1")
			}
			if p.Max > 0 && p.Min > p.Max {
				add(path+".min", "min %d is above max %d", p.Min, p.Max)
			}
			if p.Initial != nil && p.Max > 0 && *p.Initial > p.Max {
				add(path+".initial", "initial %d is above max %d", *p.Initial, p.Max)
			}
			if p.GPUHourUSD != nil && *p.GPUHourUSD < 0 {
				add(path+".gpuHourUSD", "must not be negative")
			}
		}
		if u := env.Usage; u != nil {
			for _, f := range []struct {
				name string
				v    *float64
			}{{"cpuIdle", u.CPUIdle}, {"cpuBusy", u.CPUBusy}, {"memory", u.Memory}} {
				if f.v != nil && (*f.v < 0 || *f.v > 4) {
					add("spec.environment.usage."+f.name, "a fraction of the request, 0 to 4, got %g", *f.v)
				}
			}
		}
	}
	if m := sp.Metrics; m != nil {
		for _, f := range []struct {
			name string
			d    *metav1.Duration
		}{{"gaugeRefresh", m.GaugeRefresh}, {"scrapeInterval", m.ScrapeInterval}, {"rateWindow", m.RateWindow},
			{"metricsServerResolution", m.MetricsServerResolution}, {"hpaSyncPeriod", m.HPASyncPeriod}} {
			if f.d != nil && f.d.Duration < time.Second {
				add("spec.metrics."+f.name, "must be at least 1s")
			}
		}
		for _, k := range sortedKeys(m.Signals) {
			if _, ok := sim.ParseSignal(m.Signals[k]); !ok {
				add("spec.metrics.signals."+k, "unknown signal %q (one of %s)", m.Signals[k], strings.Join(sim.SignalNames(), ", "))
			}
		}
		if m.KubernetesVersion != "" {
			if _, err := kubeMinor(m.KubernetesVersion); err != nil {
				add("spec.metrics.kubernetesVersion", "%v", err)
			}
		}
		if m.KEDAVersion != "" {
			if _, err := kedaVersion(m.KEDAVersion); err != nil {
				add("spec.metrics.kedaVersion", "%v", err)
			}
		}
		for i, o := range m.Outages {
			path := fmt.Sprintf("spec.metrics.outages[%d]", i)
			if o.Metric == "" {
				add(path+".metric", "is required (a metric name, trigger name or query substring)")
			}
			switch {
			case o.At.Duration < 0:
				add(path+".at", "must not be negative")
			case sp.Duration.Duration > 0 && o.At.Duration >= sp.Duration.Duration:
				add(path+".at", "%s is not before the end of the run (%s)", o.At.Duration, sp.Duration.Duration)
			}
			if o.Duration.Duration <= 0 {
				add(path+".duration", "must be positive (e.g. 5m)")
			}
			if _, ok := sim.ParseOutageMode(o.Mode); !ok {
				add(path+".mode", "unknown mode %q (one of %s)", o.Mode, strings.Join(sim.OutageModeNames(), ", "))
			}
		}
	}
	if slo := sp.SLO; slo != nil {
		if slo.Percentile != 0 && (slo.Percentile <= 0 || slo.Percentile >= 100) {
			add("spec.slo.percentile", "must be between 0 and 100")
		}
		if slo.Goal != 0 && (slo.Goal <= 0 || slo.Goal > 1) {
			add("spec.slo.goal", "must be in (0, 1]")
		}
	}
	return errs
}

func (l *Loaded) validateTraffic(add func(path, format string, a ...any)) {
	t := &l.Spec.Traffic
	if !contains(Patterns, t.Pattern) {
		add("spec.traffic.pattern", "must be one of %s, got %q", strings.Join(Patterns, ", "), t.Pattern)
		return
	}
	only := func(field string, set bool) {
		if set {
			add("spec.traffic."+field, "does not apply to pattern %s", t.Pattern)
		}
	}
	if t.Rate < 0 {
		add("spec.traffic.rate", "must not be negative")
	}
	switch t.Pattern {
	case "poisson":
		if t.Rate <= 0 && len(t.Spikes) == 0 && t.InitialBacklog == 0 {
			add("spec.traffic.rate", "pattern poisson needs a rate (requests per second)")
		}
	case "step", "ramp":
		if len(t.Points) == 0 {
			add("spec.traffic.points", "pattern %s needs points [{at, rate}]", t.Pattern)
		}
		for i := 1; i < len(t.Points); i++ {
			if t.Points[i].At.Duration <= t.Points[i-1].At.Duration {
				add(fmt.Sprintf("spec.traffic.points[%d].at", i), "points must be in increasing time order")
			}
		}
		for i, p := range t.Points {
			if p.Rate < 0 {
				add(fmt.Sprintf("spec.traffic.points[%d].rate", i), "must not be negative")
			}
		}
	case "diurnal":
		if t.Diurnal == nil {
			add("spec.traffic.diurnal", "pattern diurnal needs diurnal: {min, max}")
		} else if t.Diurnal.Min < 0 || t.Diurnal.Max < t.Diurnal.Min {
			add("spec.traffic.diurnal.max", "needs 0 <= min <= max")
		}
	case "mmpp":
		if len(t.MMPP) < 2 {
			add("spec.traffic.mmpp", "pattern mmpp needs at least two states [{rate, meanDuration}]")
		}
		for i, s := range t.MMPP {
			if s.MeanDuration.Duration <= 0 {
				add(fmt.Sprintf("spec.traffic.mmpp[%d].meanDuration", i), "must be positive")
			}
			if s.Rate < 0 {
				add(fmt.Sprintf("spec.traffic.mmpp[%d].rate", i), "must not be negative")
			}
		}
	case "trace":
		if t.Trace == nil || t.Trace.File == "" {
			add("spec.traffic.trace.file", "pattern trace needs a CSV file")
		} else {
			if t.Trace.Format != "" && !contains(TraceFormats, t.Trace.Format) {
				add("spec.traffic.trace.format", "must be one of %s", strings.Join(TraceFormats, ", "))
			}
			if t.Trace.TimeScale < 0 || t.Trace.RateScale < 0 {
				add("spec.traffic.trace", "timeScale and rateScale must be positive")
			}
		}
		only("spikes", len(t.Spikes) > 0)
		only("rate", t.Rate > 0)
	}
	if t.Pattern != "step" && t.Pattern != "ramp" {
		only("points", len(t.Points) > 0)
	}
	if t.Pattern != "diurnal" {
		only("diurnal", t.Diurnal != nil)
	}
	if t.Pattern != "mmpp" {
		only("mmpp", len(t.MMPP) > 0)
	}
	if t.Pattern != "trace" {
		only("trace", t.Trace != nil)
	}
	for i, s := range t.Spikes {
		if s.Duration.Duration <= 0 {
			add(fmt.Sprintf("spec.traffic.spikes[%d].duration", i), "must be positive")
		}
	}
	if t.InitialBacklog < 0 {
		add("spec.traffic.initialBacklog", "must not be negative")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
