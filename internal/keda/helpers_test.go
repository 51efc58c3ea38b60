package keda

import (
	"time"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// tb is what the helpers need; *testing.T and *rapid.T both have it.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// so parses a ScaledObject written in YAML (spec only, or a whole object).
func so(t tb, spec string) *v1alpha1.ScaledObject {
	t.Helper()
	var o v1alpha1.ScaledObject
	if err := yaml.UnmarshalStrict([]byte(spec), &o); err != nil {
		t.Fatalf("bad test object: %v", err)
	}
	if o.Name == "" {
		o.Name = "so"
	}
	if o.Namespace == "" {
		o.Namespace = "ns"
	}
	if o.CreationTimestamp.IsZero() {
		o.CreationTimestamp.Time = t0.Add(-time.Hour)
	}
	return &o
}

func compile(t tb, spec string) *Compiled {
	t.Helper()
	c, err := Compile(so(t, spec), Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func compileV(t tb, minor int, spec string) *Compiled {
	t.Helper()
	c, err := Compile(so(t, spec), Options{Version: Version{Minor: minor}})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func val(v float64) scalers.Reading { return scalers.Reading{Value: &v} }
func fail(msg string) scalers.Reading {
	return scalers.Reading{Failed: true, Err: msg}
}
func repl(n int32) *int32 { return &n }

// one-trigger metrics-api object with activation 5 and target 10.
const simple = `
spec:
  scaleTargetRef: {name: web}
  triggers:
  - type: metrics-api
    metadata: {url: "http://x", valueLocation: v, targetValue: "10", activationTargetValue: "5"}
`
