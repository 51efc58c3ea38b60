package profile

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mlscale/mlscale/internal/strictyaml"
)

// Loaded is a decoded, defaulted and validated profile.
type Loaded struct {
	*WorkloadProfile
	// Source names the file it came from.
	Source string
	// Warnings are accepted but questionable inputs, already corrected.
	Warnings []string
	doc      *strictyaml.Doc
}

// LoadFile reads, defaults and validates a profile; "-" reads stdin from r.
func LoadFile(path string, stdin io.Reader) (*Loaded, error) {
	name, data, err := strictyaml.ReadFile(path, stdin)
	if err != nil {
		return nil, err
	}
	return Load(name, data)
}

// Load decodes data (named file in errors) strictly, applies defaults and
// validates it. Every error names the file, line and field.
func Load(file string, data []byte) (*Loaded, error) {
	var p WorkloadProfile
	doc, err := strictyaml.DecodeDoc(file, data, &p)
	if err != nil {
		return nil, err
	}
	l := &Loaded{WorkloadProfile: &p, Source: file, doc: doc}
	if errs := l.validate(); len(errs) > 0 {
		return nil, errs.Err()
	}
	l.applyDefaults()
	return l, nil
}

func (l *Loaded) errf(errs *strictyaml.Errors, path, format string, a ...any) {
	*errs = append(*errs, l.doc.Errorf(path, format, a...))
}

// validate checks what strict decoding cannot: required fields, ranges and
// contradictions. It runs before defaults so paths match the user's file.
func (l *Loaded) validate() strictyaml.Errors {
	var errs strictyaml.Errors
	p := l.WorkloadProfile
	if p.APIVersion != APIVersion {
		l.errf(&errs, "apiVersion", "must be %q, got %q", APIVersion, p.APIVersion)
	}
	if p.Kind != Kind {
		l.errf(&errs, "kind", "must be %q, got %q", Kind, p.Kind)
	}
	if p.Metadata.Name == "" {
		l.errf(&errs, "metadata.name", "is required")
	} else if msgs := validation.IsDNS1123Label(p.Metadata.Name); len(msgs) > 0 {
		l.errf(&errs, "metadata.name", "%q is not a valid name: %s", p.Metadata.Name, strings.Join(msgs, "; "))
	}
	if ns := p.Metadata.Namespace; ns != "" {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			l.errf(&errs, "metadata.namespace", "%q is not a valid namespace: %s", ns, strings.Join(msgs, "; "))
		}
	}
	s := &p.Spec
	if s.Container.Image == "" {
		l.errf(&errs, "spec.container.image", "is required")
	}
	for name, q := range s.Resources.Requests {
		if lim, ok := s.Resources.Limits[name]; ok && lim.Cmp(q) < 0 {
			l.errf(&errs, "spec.resources.limits."+string(name), "limit %s is below the request %s", lim.String(), q.String())
		}
	}
	if g := s.Resources.GPU; g != nil && g.Count < 1 {
		l.errf(&errs, "spec.resources.gpu.count", "must be at least 1, got %d", g.Count)
	}
	l.validateReplicas(&errs, "spec.scaling.replicas", s.Scaling.Replicas)
	switch s.Scaling.Mode {
	case ModeHPA:
		l.validateHPAMetrics(&errs, s)
		if len(s.Scaling.Triggers) > 0 {
			l.errf(&errs, "spec.scaling.triggers", "triggers are KEDA's: use mode keda, or mode hybrid with spec.worker.triggers")
		}
		if s.Worker != nil {
			l.errf(&errs, "spec.worker", "a worker belongs to mode hybrid")
		}
		if s.Scaling.KEDA != nil {
			l.errf(&errs, "spec.scaling.keda", "KEDA settings need mode keda")
		}
	case ModeKEDA:
		if len(s.Scaling.Triggers) == 0 && s.Scaling.Metrics.CPU == nil && s.Scaling.Metrics.Memory == nil && s.Scaling.Metrics.GPUUtilization == nil {
			l.errf(&errs, "spec.scaling.triggers", "mode keda needs at least one trigger")
		}
		if len(s.Scaling.Metrics.Pods) > 0 {
			l.errf(&errs, "spec.scaling.metrics.pods", "Pods metrics are served to an HPA by prometheus-adapter; in mode keda use a prometheus trigger instead")
		}
		if len(s.Scaling.Metrics.External) > 0 {
			l.errf(&errs, "spec.scaling.metrics.external", "in mode keda, KEDA serves the external metrics API: use a trigger instead")
		}
		if g := s.Scaling.Metrics.GPUUtilization; g != nil && g.PrometheusAddress == "" {
			l.errf(&errs, "spec.scaling.metrics.gpuUtilization.prometheusAddress", "is required in mode keda (the GPU metric becomes a prometheus trigger)")
		}
		l.validateTriggers(&errs, "spec.scaling.triggers", s.Scaling.Triggers)
		if s.Worker != nil {
			l.errf(&errs, "spec.worker", "a worker belongs to mode hybrid")
		}
		if r := s.Scaling.Replicas; r.ScaleToZero && onlyResourceTriggers(s) {
			l.errf(&errs, "spec.scaling.replicas.scaleToZero", "KEDA cannot scale to zero on cpu/memory triggers alone (a pod at zero reports no usage): add an event trigger")
		}
		l.validateKEDA(&errs, "spec.scaling.keda", s.Scaling.KEDA, s.Scaling.Replicas)
	case ModeHybrid:
		l.validateHPAMetrics(&errs, s)
		if len(s.Scaling.Triggers) > 0 {
			l.errf(&errs, "spec.scaling.triggers", "in mode hybrid the online service scales with an HPA; put the queue triggers under spec.worker.triggers")
		}
		if s.Worker == nil {
			l.errf(&errs, "spec.worker", "mode hybrid needs a worker (the queue-fed KEDA half)")
		} else {
			l.validateReplicas(&errs, "spec.worker.replicas", s.Worker.Replicas)
			if len(s.Worker.Triggers) == 0 {
				l.errf(&errs, "spec.worker.triggers", "the worker needs at least one trigger")
			}
			l.validateTriggers(&errs, "spec.worker.triggers", s.Worker.Triggers)
			l.validateKEDA(&errs, "spec.worker.keda", s.Worker.KEDA, s.Worker.Replicas)
			if s.Worker.Name != "" {
				if msgs := validation.IsDNS1123Label(s.Worker.Name); len(msgs) > 0 {
					l.errf(&errs, "spec.worker.name", "%q is not a valid name: %s", s.Worker.Name, strings.Join(msgs, "; "))
				}
			}
		}
	case "":
		l.errf(&errs, "spec.scaling.mode", "is required: hpa, keda or hybrid")
	default:
		l.errf(&errs, "spec.scaling.mode", "%q is not one of hpa, keda, hybrid", s.Scaling.Mode)
	}
	if s.Scaling.Mode != ModeKEDA && s.Scaling.Replicas.ScaleToZero && len(s.Scaling.Metrics.External) == 0 {
		l.errf(&errs, "spec.scaling.replicas.scaleToZero", "an HPA scales to zero only on Object or External metrics (and with the HPAScaleToZero feature gate); with cpu/memory/Pods metrics use mode keda")
	}
	l.validateDisruption(&errs, s)
	if slo := s.SLO; slo.Percentile != 0 && (slo.Percentile <= 0 || slo.Percentile >= 100) {
		l.errf(&errs, "spec.slo.percentile", "must be between 0 and 100 (exclusive), got %g", slo.Percentile)
	}
	if g := s.SLO.Goal; g < 0 || g > 1 {
		l.errf(&errs, "spec.slo.goal", "is a fraction between 0 and 1, got %g", g)
	}
	if s.Serving.Concurrency < 0 {
		l.errf(&errs, "spec.serving.concurrency", "must not be negative")
	}
	return errs
}

func (l *Loaded) validateReplicas(errs *strictyaml.Errors, path string, r Replicas) {
	if r.Max < 1 {
		l.errf(errs, path+".max", "must be at least 1, got %d", r.Max)
	}
	if r.Min != nil {
		switch {
		case *r.Min < 0:
			l.errf(errs, path+".min", "must not be negative, got %d", *r.Min)
		case *r.Min > r.Max && r.Max >= 1:
			l.errf(errs, path+".min", "min (%d) is greater than max (%d)", *r.Min, r.Max)
		case *r.Min == 0 && !r.ScaleToZero:
			l.errf(errs, path+".min", "min 0 means scale to zero: set scaleToZero: true as well")
		case *r.Min > 0 && r.ScaleToZero:
			l.errf(errs, path+".scaleToZero", "scaleToZero contradicts min %d: remove min or set it to 0", *r.Min)
		}
	}
	if r.Initial != nil && (*r.Initial < 0 || *r.Initial > r.Max) {
		l.errf(errs, path+".initial", "must be between 0 and max (%d), got %d", r.Max, *r.Initial)
	}
}

func (l *Loaded) validateHPAMetrics(errs *strictyaml.Errors, s *Spec) {
	m := s.Scaling.Metrics
	if m.CPU == nil && m.Memory == nil && len(m.Pods) == 0 && m.GPUUtilization == nil && len(m.External) == 0 {
		l.errf(errs, "spec.scaling.metrics", "an HPA needs at least one metric (cpu, memory, pods, gpuUtilization or external)")
	}
	for _, u := range []struct {
		name string
		t    *UtilizationTarget
	}{{"cpu", m.CPU}, {"memory", m.Memory}} {
		if u.t == nil {
			continue
		}
		if u.t.Utilization < 1 {
			l.errf(errs, "spec.scaling.metrics."+u.name+".utilization", "must be at least 1 (percent of the request), got %d", u.t.Utilization)
		}
		if _, ok := s.Resources.Requests[corev1ResourceName(u.name)]; !ok {
			l.errf(errs, "spec.resources.requests", "a %s utilization target needs a %s request (the HPA divides usage by it; without it the HPA shows <unknown>)", u.name, u.name)
		}
	}
	for i, pm := range m.Pods {
		p := fmt.Sprintf("spec.scaling.metrics.pods[%d]", i)
		if pm.Name == "" {
			l.errf(errs, p+".name", "is required")
		}
		if pm.AverageValue.Sign() <= 0 {
			l.errf(errs, p+".averageValue", "must be positive, got %s", pm.AverageValue.String())
		}
	}
	if g := m.GPUUtilization; g != nil {
		if g.Target < 1 || g.Target > 100 {
			l.errf(errs, "spec.scaling.metrics.gpuUtilization.target", "is a percentage between 1 and 100, got %d", g.Target)
		}
		if s.Resources.GPU == nil {
			l.errf(errs, "spec.scaling.metrics.gpuUtilization", "scaling on GPU utilisation needs spec.resources.gpu (pods without a GPU report no GPU metric)")
		}
	}
	for i, em := range m.External {
		p := fmt.Sprintf("spec.scaling.metrics.external[%d]", i)
		if em.Name == "" {
			l.errf(errs, p+".name", "is required")
		}
		if (em.Value == nil) == (em.AverageValue == nil) {
			l.errf(errs, p, "set exactly one of value and averageValue")
		}
		for _, q := range []*resource.Quantity{em.Value, em.AverageValue} {
			if q != nil && q.Sign() <= 0 {
				l.errf(errs, p, "target must be positive, got %s", q.String())
			}
		}
	}
}

func (l *Loaded) validateKEDA(errs *strictyaml.Errors, path string, k *KEDA, r Replicas) {
	if k == nil {
		return
	}
	if k.PollingInterval != nil && *k.PollingInterval < 1 {
		l.errf(errs, path+".pollingInterval", "must be at least 1 second, got %d", *k.PollingInterval)
	}
	if k.CooldownPeriod != nil && *k.CooldownPeriod < 0 {
		l.errf(errs, path+".cooldownPeriod", "must not be negative")
	}
	if k.IdleReplicaCount != nil {
		min := int32(0)
		if r.Min != nil {
			min = *r.Min
		}
		if *k.IdleReplicaCount >= min && !(min == 0 && *k.IdleReplicaCount == 0) {
			l.errf(errs, path+".idleReplicaCount", "KEDA requires idleReplicaCount (%d) < minReplicaCount (%d)", *k.IdleReplicaCount, min)
		}
	}
	if f := k.Fallback; f != nil {
		if f.FailureThreshold < 0 {
			l.errf(errs, path+".fallback.failureThreshold", "must not be negative")
		}
		if f.Replicas < 0 {
			l.errf(errs, path+".fallback.replicas", "must not be negative")
		}
	}
}

func (l *Loaded) validateDisruption(errs *strictyaml.Errors, s *Spec) {
	d := s.Disruption
	if d == nil {
		return
	}
	if (d.MinAvailable == nil) == (d.MaxUnavailable == nil) {
		l.errf(errs, "spec.disruption", "set exactly one of minAvailable and maxUnavailable")
		return
	}
	min := int32(1)
	if s.Scaling.Replicas.Min != nil {
		min = *s.Scaling.Replicas.Min
	}
	if d.MaxUnavailable != nil {
		if v, err := intOrPercent(*d.MaxUnavailable, min); err != nil {
			l.errf(errs, "spec.disruption.maxUnavailable", "%v", err)
		} else if v == 0 {
			l.errf(errs, "spec.disruption.maxUnavailable", "0 blocks every voluntary eviction, so no node can ever be drained")
		}
		return
	}
	v, err := intOrPercent(*d.MinAvailable, min)
	if err != nil {
		l.errf(errs, "spec.disruption.minAvailable", "%v", err)
		return
	}
	if min > 0 && v >= int(min) {
		l.errf(errs, "spec.disruption.minAvailable", "minAvailable %s with minReplicas %d blocks every drain while the workload runs at its minimum; use %d or less, or maxUnavailable: 1", d.MinAvailable.String(), min, min-1)
	}
}

func onlyResourceTriggers(s *Spec) bool {
	if s.Scaling.Metrics.GPUUtilization != nil {
		return false
	}
	for _, t := range s.Scaling.Triggers {
		if t.Type != "cpu" && t.Type != "memory" {
			return false
		}
	}
	return true
}

// sortedKeys returns m's keys in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
