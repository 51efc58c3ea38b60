package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"gonum.org/v1/gonum/stat/distuv"
)

// Distribution kinds.
const (
	DistConstant    = "constant"
	DistExponential = "exponential"
	DistLogNormal   = "lognormal"
	DistUniform     = "uniform"
)

// Distribution is a duration that may vary. In YAML it is either a plain
// duration ("45s", a constant) or an object:
//
//	{dist: lognormal, median: 40s, p99: 120s}
//	{dist: exponential, mean: 200ms}
//	{dist: uniform, min: 20s, max: 60s}
//	{dist: constant, value: 30s}
type Distribution struct {
	Dist   string        `json:"dist"`
	Value  time.Duration `json:"-"`
	Mean   time.Duration `json:"-"`
	Median time.Duration `json:"-"`
	P99    time.Duration `json:"-"`
	Min    time.Duration `json:"-"`
	Max    time.Duration `json:"-"`
}

// Constant returns a fixed duration.
func Constant(d time.Duration) *Distribution { return &Distribution{Dist: DistConstant, Value: d} }

type distributionJSON struct {
	Dist   string `json:"dist"`
	Value  string `json:"value,omitempty"`
	Mean   string `json:"mean,omitempty"`
	Median string `json:"median,omitempty"`
	P99    string `json:"p99,omitempty"`
	Min    string `json:"min,omitempty"`
	Max    string `json:"max,omitempty"`
}

// UnmarshalJSON accepts a duration string or the object form, strictly.
func (d *Distribution) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := parseDuration(s)
		if err != nil {
			return err
		}
		*d = Distribution{Dist: DistConstant, Value: v}
		return nil
	}
	var raw distributionJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("a distribution is a duration such as \"30s\" or {dist: constant|exponential|lognormal|uniform, ...}: %w", err)
	}
	out := Distribution{Dist: raw.Dist}
	fields := []struct {
		name string
		s    string
		dst  *time.Duration
	}{{"value", raw.Value, &out.Value}, {"mean", raw.Mean, &out.Mean}, {"median", raw.Median, &out.Median},
		{"p99", raw.P99, &out.P99}, {"min", raw.Min, &out.Min}, {"max", raw.Max, &out.Max}}
	set := map[string]bool{}
	for _, f := range fields {
		if f.s == "" {
			continue
		}
		v, err := parseDuration(f.s)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = v
		set[f.name] = true
	}
	need := map[string][]string{
		DistConstant: {"value"}, DistExponential: {"mean"},
		DistLogNormal: {"median", "p99"}, DistUniform: {"min", "max"},
	}
	want, ok := need[out.Dist]
	if !ok {
		return fmt.Errorf("dist %q is not one of constant, exponential, lognormal, uniform", out.Dist)
	}
	for _, w := range want {
		if !set[w] {
			return fmt.Errorf("dist %s needs %s", out.Dist, strings.Join(want, " and "))
		}
	}
	for name := range set {
		if !contains(want, name) {
			return fmt.Errorf("dist %s takes %s, not %s", out.Dist, strings.Join(want, " and "), name)
		}
	}
	switch {
	case out.Dist == DistLogNormal && out.P99 < out.Median:
		return fmt.Errorf("p99 (%s) is below the median (%s)", out.P99, out.Median)
	case out.Dist == DistUniform && out.Max < out.Min:
		return fmt.Errorf("max (%s) is below min (%s)", out.Max, out.Min)
	}
	*d = out
	return nil
}

// MarshalJSON writes the shortest form that reads back the same.
func (d Distribution) MarshalJSON() ([]byte, error) {
	if d.Dist == DistConstant || d.Dist == "" {
		return json.Marshal(d.Value.String())
	}
	raw := distributionJSON{Dist: d.Dist}
	f := func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	raw.Mean, raw.Median, raw.P99, raw.Min, raw.Max = f(d.Mean), f(d.Median), f(d.P99), f(d.Min), f(d.Max)
	return json.Marshal(raw)
}

// JSONSchema describes both forms for editors.
func (Distribution) JSONSchema() *jsonschema.Schema {
	dur := &jsonschema.Schema{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, Description: "a duration such as 30s or 1m30s"}
	props := jsonschema.NewProperties()
	props.Set("dist", &jsonschema.Schema{Type: "string", Enum: []any{DistConstant, DistExponential, DistLogNormal, DistUniform}})
	for _, k := range []string{"value", "mean", "median", "p99", "min", "max"} {
		props.Set(k, dur)
	}
	return &jsonschema.Schema{
		Description: "a duration, or a distribution of durations",
		OneOf: []*jsonschema.Schema{dur, {
			Type: "object", Properties: props, Required: []string{"dist"}, AdditionalProperties: jsonschema.FalseSchema,
		}},
	}
}

// Mean is the distribution's expected value.
func (d *Distribution) MeanDuration() time.Duration {
	if d == nil {
		return 0
	}
	switch d.Dist {
	case DistExponential:
		return d.Mean
	case DistLogNormal:
		return roundMicro(d.logNormal().Mean())
	case DistUniform:
		return (d.Min + d.Max) / 2
	}
	return d.Value
}

// Quantile returns the p-quantile (0 < p < 1).
func (d *Distribution) Quantile(p float64) time.Duration {
	if d == nil {
		return 0
	}
	switch d.Dist {
	case DistExponential:
		return roundMicro(distuv.Exponential{Rate: 1 / float64(d.Mean)}.Quantile(p))
	case DistLogNormal:
		return roundMicro(d.logNormal().Quantile(p))
	case DistUniform:
		return d.Min + time.Duration(p*float64(d.Max-d.Min))
	}
	return d.Value
}

// logNormal fits mu and sigma to the median and p99.
func (d *Distribution) logNormal() distuv.LogNormal {
	mu := math.Log(float64(d.Median))
	z99 := distuv.UnitNormal.Quantile(0.99)
	sigma := (math.Log(float64(d.P99)) - mu) / z99
	return distuv.LogNormal{Mu: mu, Sigma: sigma}
}

// roundMicro rounds floating-point nanoseconds to whole microseconds, so
// that a quantile given in the profile (the p99) comes back exactly.
func roundMicro(ns float64) time.Duration {
	return time.Duration(math.Round(ns/1e3)) * time.Microsecond
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %s is negative", s)
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
