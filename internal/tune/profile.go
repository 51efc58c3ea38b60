package tune

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/scenario"
	"github.com/mlscale/mlscale/internal/sim"
)

// Scenario is one scenario a profile is tuned on.
type Scenario struct {
	Loaded *scenario.Loaded
	Read   func(string) ([]byte, error)
}

// ProfileProblem tunes a workload profile: a candidate is the profile with
// the parameters' paths set, rendered by generate and simulated unchanged.
type ProfileProblem struct {
	Name      string
	base      map[string]any
	Space     Space
	Scenarios []Scenario
	// Timeline records a timeline at this step (reports).
	Timeline time.Duration
}

// NewProfileProblem reads the profile's document (YAML) for tuning.
func NewProfileProblem(name string, src []byte, sp Space, scs []Scenario) (*ProfileProblem, error) {
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &ProfileProblem{Name: name, base: m, Space: sp, Scenarios: scs}, nil
}

// Document is the profile with p applied, as YAML.
func (pp *ProfileProblem) Document(p Point) ([]byte, error) {
	m := deepCopy(pp.base).(map[string]any)
	for i, pa := range pp.Space {
		if err := setPath(m, pa.Path, pa.value(p[i])); err != nil {
			return nil, err
		}
	}
	return yaml.Marshal(m)
}

// Profile is the profile with p applied, loaded and validated.
func (pp *ProfileProblem) Profile(p Point) (*profile.Loaded, error) {
	doc, err := pp.Document(p)
	if err != nil {
		return nil, err
	}
	return profile.Load(pp.Name, doc)
}

// Start reads the profile's own values of the space's parameters (the
// middle of the range where the profile leaves one unset).
func (pp *ProfileProblem) Start() Point {
	p := make(Point, len(pp.Space))
	for i, pa := range pp.Space {
		v, ok := getPath(pp.base, pa.Path)
		p[i] = (pa.Min + pa.Max) / 2
		if pa.Type == Choice {
			p[i] = 0
		}
		if !ok {
			continue
		}
		if pa.Type == Choice {
			for k, c := range pa.Values {
				if fmt.Sprint(v) == c {
					p[i] = float64(k)
				}
			}
			continue
		}
		if f, ok := number(v); ok {
			p[i] = f
		}
	}
	return pp.Space.Canon(p)
}

// Config resolves one run of candidate p.
func (pp *ProfileProblem) Config(p Point, r Run) (*sim.Config, error) {
	prof, err := pp.Profile(p)
	if err != nil {
		return nil, &InvalidError{err}
	}
	sc := pp.Scenarios[r.Scenario]
	l := sc.Loaded
	seed := uint64(scenario.DefaultSeed)
	if l.Spec.Seed != nil {
		seed = *l.Spec.Seed
	}
	seed += uint64(r.Seed)
	d := time.Duration(float64(l.Spec.Duration.Duration) * r.Fraction).Round(time.Second)
	cfg, err := l.Resolve(scenario.Options{ReadFile: sc.Read, Profile: prof, Seed: &seed, Duration: d, TimelineStep: pp.Timeline})
	if err != nil {
		return nil, err
	}
	if r.Scale != 1 && r.Scale != 0 {
		ScaleTraffic(&cfg.Traffic, r.Scale, seed)
	}
	return cfg, nil
}

// Evaluate simulates one run of candidate p.
func (pp *ProfileProblem) Evaluate(p Point, r Run) (Metrics, error) {
	cfg, err := pp.Config(p, r)
	if err != nil {
		return Metrics{}, err
	}
	res, err := sim.Run(cfg)
	if err != nil {
		return Metrics{}, err
	}
	return MetricsOf(res, cfg.SLO.Percentile), nil
}

// MetricsOf reads a run's figures; the latency is the one at the SLO's
// percentile (the nearest reported one at or above it).
func MetricsOf(res *sim.Result, pct float64) Metrics {
	s := &res.Summary
	lat := s.Latency.P99
	switch {
	case pct <= 50:
		lat = s.Latency.P50
	case pct <= 90:
		lat = s.Latency.P90
	case pct <= 95:
		lat = s.Latency.P95
	}
	return Metrics{
		Cost: s.Cost, Latency: lat, Attainment: s.SLO.WindowAttainment,
		Dropped: s.Requests.Dropped + s.Requests.TimedOut + s.Requests.Killed,
		Flaps:   s.Flaps, MeanWait: s.QueueWait.Mean,
	}
}

// ScaleTraffic multiplies every arrival rate by x (the margin's burst).
func ScaleTraffic(t *sim.Traffic, x float64, seed uint64) {
	t.Rate *= x
	for i := range t.Points {
		t.Points[i].Rate *= x
	}
	if t.Diurnal != nil {
		d := *t.Diurnal
		d.Min *= x
		d.Max *= x
		t.Diurnal = &d
	}
	for i := range t.MMPP {
		t.MMPP[i].Rate *= x
	}
	for i := range t.Spikes {
		t.Spikes[i].Rate *= x
	}
	if len(t.Trace) > 0 {
		t.Trace = scenario.ScaleTrace(t.Trace, 1, x, seed)
	}
}

// DefaultSpace is the knobs of the profile's scaling mode that it sets (or
// that have defaults), with ranges around its own values.
func DefaultSpace(src []byte) (Space, error) {
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, err
	}
	get := func(path string) (float64, bool) {
		v, ok := getPath(m, path)
		if !ok {
			return 0, false
		}
		return number(v)
	}
	has := func(path string) bool { _, ok := getPath(m, path); return ok }
	mode, _ := getPath(m, "spec.scaling.mode")
	var sp Space
	// replicas: min below max's range
	mx, _ := get("spec.scaling.replicas.max")
	mn, ok := get("spec.scaling.replicas.min")
	if !ok {
		mn = 1
	}
	if mx < 1 {
		mx = 10
	}
	minLo := 1.0
	if z, _ := getPath(m, "spec.scaling.replicas.scaleToZero"); z == true {
		minLo = 0
	}
	if v, ok := get("spec.disruption.minAvailable"); ok && v >= 1 {
		minLo = v + 1 // a PDB that would block every drain at the minimum is rejected
	}
	minHi := math.Max(minLo, math.Min(math.Max(2*mn, 2), math.Floor(mx/2)))
	sp = append(sp,
		Param{Path: "spec.scaling.replicas.min", Type: Int, Min: minLo, Max: minHi},
		Param{Path: "spec.scaling.replicas.max", Type: Int, Min: minHi, Max: math.Max(minHi, 2*mx)})
	switch mode {
	case "keda":
		sp = append(sp,
			Param{Path: "spec.scaling.keda.pollingInterval", Type: Int, Min: 5, Max: 60, Step: 5},
			Param{Path: "spec.scaling.keda.cooldownPeriod", Type: Int, Min: 30, Max: 600, Step: 30})
		trig, _ := getPath(m, "spec.scaling.triggers")
		ts, _ := trig.([]any)
		for i := range ts {
			for _, key := range []string{"threshold", "activationThreshold", "targetValue", "activationTargetValue", "value", "activationValue", "queueLength", "lagThreshold", "activationLagThreshold"} {
				path := fmt.Sprintf("spec.scaling.triggers[%d].metadata.%s", i, key)
				if v, ok := get(path); ok && v > 0 {
					lo := v / 4
					if strings.HasPrefix(key, "activation") {
						lo = 0
					}
					sp = append(sp, Param{Path: path, Type: Float, Min: lo, Max: 2 * v, String: true})
				}
			}
		}
	default: // hpa
		if v, ok := get("spec.scaling.metrics.cpu.utilization"); ok {
			_ = v
			sp = append(sp, Param{Path: "spec.scaling.metrics.cpu.utilization", Type: Int, Min: 30, Max: 95, Step: 5})
		}
		pods, _ := getPath(m, "spec.scaling.metrics.pods")
		ps, _ := pods.([]any)
		for i := range ps {
			path := fmt.Sprintf("spec.scaling.metrics.pods[%d].averageValue", i)
			if v, ok := get(path); ok && v > 0 {
				sp = append(sp, Param{Path: path, Type: Float, Min: v / 4, Max: 2 * v, String: true})
			}
		}
		sp = append(sp,
			Param{Path: "spec.scaling.behavior.scaleUp.stabilizationWindowSeconds", Type: Int, Min: 0, Max: 300, Step: 15},
			Param{Path: "spec.scaling.behavior.scaleDown.stabilizationWindowSeconds", Type: Int, Min: 0, Max: 900, Step: 30})
		if has("spec.scaling.behavior.scaleUp.policies[0].value") {
			sp = append(sp, Param{Path: "spec.scaling.behavior.scaleUp.policies[0].value", Type: Int, Min: 25, Max: 400, Step: 25})
		}
		if has("spec.scaling.behavior.scaleDown.policies[0].value") {
			sp = append(sp, Param{Path: "spec.scaling.behavior.scaleDown.policies[0].value", Type: Int, Min: 10, Max: 100, Step: 10})
		}
	}
	return sp, nil
}

func number(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case string:
		f, err := strconv.ParseFloat(t, 64)
		return f, err == nil
	}
	return 0, false
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

type seg struct {
	key string
	idx int // -1: a map key
}

func splitPath(path string) ([]seg, error) {
	var out []seg
	for _, part := range strings.Split(path, ".") {
		name := part
		idx := -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("path %s: bad index in %q", path, part)
			}
			name, idx = part[:i], n
		}
		if name == "" {
			return nil, fmt.Errorf("path %s: empty segment", path)
		}
		out = append(out, seg{name, -1})
		if idx >= 0 {
			out = append(out, seg{"", idx})
		}
	}
	return out, nil
}

func getPath(m map[string]any, path string) (any, bool) {
	segs, err := splitPath(path)
	if err != nil {
		return nil, false
	}
	var cur any = m
	for _, s := range segs {
		if s.idx >= 0 {
			l, ok := cur.([]any)
			if !ok || s.idx >= len(l) {
				return nil, false
			}
			cur = l[s.idx]
			continue
		}
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[s.key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// setPath sets a value, creating maps on the way (list items must exist).
func setPath(m map[string]any, path string, v any) error {
	segs, err := splitPath(path)
	if err != nil {
		return err
	}
	var cur any = m
	for i, s := range segs {
		last := i == len(segs)-1
		if s.idx >= 0 {
			l, ok := cur.([]any)
			if !ok || s.idx >= len(l) {
				return fmt.Errorf("path %s: the profile has no item %d there", path, s.idx)
			}
			if last {
				l[s.idx] = v
				return nil
			}
			cur = l[s.idx]
			continue
		}
		mm, ok := cur.(map[string]any)
		if !ok {
			return fmt.Errorf("path %s: %s is not a map", path, s.key)
		}
		if last {
			mm[s.key] = v
			return nil
		}
		next, ok := mm[s.key]
		if !ok || next == nil {
			if segs[i+1].idx >= 0 {
				return fmt.Errorf("path %s: the profile has no list %s", path, s.key)
			}
			next = map[string]any{}
			mm[s.key] = next
		}
		cur = next
	}
	return nil
}
