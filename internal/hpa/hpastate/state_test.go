package hpastate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

const examples = "../../../testdata/hpa"

func exampleFiles(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join(examples, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	return files
}

const minimal = `apiVersion: mlscale.dev/v1alpha1
kind: HPAState
now: "2026-01-01T12:00:00Z"
hpa:
  metadata: {name: web, namespace: default}
  spec:
    maxReplicas: 10
    metrics:
      - type: External
        external: {metric: {name: q}, target: {type: AverageValue, averageValue: "5"}}
scale: {specReplicas: 2, selector: "app=web"}
metrics:
  external: {q: ["20"]}
`

func TestDecodeDefaults(t *testing.T) {
	s, err := Decode("m.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	in := &s.Input
	if s.Minor != 37 || in.Config != hpa.DefaultConfig(37) {
		t.Errorf("config %+v", in.Config)
	}
	if in.Scale.StatusReplicas != 2 {
		t.Errorf("statusReplicas defaults to specReplicas, got %d", in.Scale.StatusReplicas)
	}
	if in.HPA.Spec.MinReplicas == nil || *in.HPA.Spec.MinReplicas != 1 {
		t.Errorf("minReplicas not defaulted")
	}
	if s.Engine.Recommendations != nil {
		t.Errorf("absent history must leave the state unseeded")
	}
	r := s.Run()
	if r.DesiredReplicas != 4 || len(r.History.Recommendations) != 2 {
		t.Errorf("result %+v", r)
	}
	// Run does not consume the snapshot.
	if r2 := s.Run(); r2.DesiredReplicas != 4 || len(r2.History.Recommendations) != 2 {
		t.Errorf("second run %+v", r2)
	}
}

func TestEmptyHistoryIsNotSeeded(t *testing.T) {
	doc := minimal + "history: {recommendations: [], scaleUpEvents: [], scaleDownEvents: []}\n"
	s, err := Decode("m.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if s.Engine.Recommendations == nil {
		t.Fatal("present history must be non-nil")
	}
	r := s.Run()
	if len(r.History.Recommendations) != 1 || r.History.Recommendations[0].Replicas != 4 {
		t.Errorf("history %+v: only the new recommendation", r.History.Recommendations)
	}
}

func TestPartialBehaviorDefaulted(t *testing.T) {
	doc := strings.Replace(minimal, "    maxReplicas: 10\n", "    maxReplicas: 10\n    behavior: {scaleDown: {selectPolicy: Min}}\n", 1)
	s, err := Decode("m.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	b := s.Input.HPA.Spec.Behavior
	if b.ScaleUp == nil || len(b.ScaleUp.Policies) != 2 || *b.ScaleUp.StabilizationWindowSeconds != 0 {
		t.Errorf("scaleUp not defaulted: %+v", b.ScaleUp)
	}
	if *b.ScaleDown.SelectPolicy != "Min" || len(b.ScaleDown.Policies) != 1 || b.ScaleDown.StabilizationWindowSeconds != nil {
		t.Errorf("scaleDown defaulting: %+v", b.ScaleDown)
	}
	if s.State.HPA.Spec.Behavior.ScaleUp != nil {
		t.Errorf("the decoded object was modified")
	}
}

func TestFeatureGatesAndVersions(t *testing.T) {
	with := func(extra string) string { return strings.Replace(minimal, "now:", extra+"\nnow:", 1) }
	s, err := Decode("m.yaml", []byte(with("kubernetesVersion: \"1.34\"\nfeatureGates: {HPAConfigurableTolerance: true, HPAScaleToZero: true}")))
	if err != nil {
		t.Fatal(err)
	}
	g := s.Input.Config.Gates
	if s.Minor != 34 || !g.ConfigurableTolerance || !g.ScaleToZero || !g.PodLevelResources || g.OptimizedSelectorStore {
		t.Errorf("gates %+v", g)
	}
	s, err = Decode("m.yaml", []byte(with("kubernetesVersion: \"v1.36.3\"")))
	if err != nil || s.Minor != 36 || s.Input.Config.Gates.ScaleToZero {
		t.Errorf("1.36 defaults: %v %+v", err, s)
	}
	_, err = Decode("m.yaml", []byte(with("featureGates: {NoSuchGate: true}")))
	var se *strictyaml.Error
	if !errors.As(err, &se) || se.Field != "featureGates.NoSuchGate" || se.Line != 3 {
		t.Errorf("unknown gate: %v", err)
	}
}

func TestErrorsAreLocated(t *testing.T) {
	cases := map[string]string{
		"hpa:\n  spec: {maxReplicas: 10, metrics: [{type: Pods, pods: {metric: {name: q}, target: {type: AverageValue, averageValue: 5x}}}]}": "hpa.spec.metrics[0].pods.target.averageValue",
		"pods:\n  - {name: a, phase: Runing}":                               "pods[0].phase",
		"pods:\n  - {name: a}\n  - {name: a}":                               "pods[1].name",
		"otherHPASelectors: [\"a in (b\"]":                                  "otherHPASelectors[0]",
		"controller: {tolerance: -1}":                                       "controller.tolerance",
		"controller: {downscaleStabilization: 5 minutes}":                   "controller.downscaleStabilization",
		"history: {recommendations: [{timestamp: yesterday, replicas: 1}]}": "history.recommendations[0].timestamp",
	}
	for body, field := range cases {
		doc := minimal + body + "\n"
		doc = strings.Replace(doc, "hpa:\n  metadata: {name: web, namespace: default}\n  spec:\n    maxReplicas: 10\n    metrics:\n      - type: External\n        external: {metric: {name: q}, target: {type: AverageValue, averageValue: \"5\"}}\n", "", strings.Count(body, "hpa:"))
		_, err := Decode("x.yaml", []byte(doc))
		if err == nil {
			t.Errorf("%s: no error", field)
			continue
		}
		var se *strictyaml.Error
		var ses strictyaml.Errors
		switch {
		case errors.As(err, &se):
		case errors.As(err, &ses):
			se = ses[0]
		default:
			t.Errorf("%s: error %T %v is not located", field, err, err)
			continue
		}
		if se.Field != field || se.Line == 0 || se.File != "x.yaml" {
			t.Errorf("%s: got %q at line %d: %v", field, se.Field, se.Line, err)
		}
	}
}

func TestSelectorLabels(t *testing.T) {
	got := selectorLabels("app=web,tier in (a),x!=y,z")
	if len(got) != 3 || got["app"] != "web" || got["tier"] != "a" || got["z"] != "" {
		t.Errorf("%v", got)
	}
	if selectorLabels("a in (") != nil {
		t.Errorf("invalid selector must give nil")
	}
}

func TestExamplesDecodeAndRun(t *testing.T) {
	for _, f := range exampleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Decode(f, data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		r := s.Run()
		if _, err := json.Marshal(r); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil || !strings.Contains(b.String(), "Decision: ") {
			t.Errorf("%s: text %v", f, err)
		}
	}
}

// FuzzDecodeHPAState: no input makes the decoder (or a reconcile of what
// it accepts) panic, and every rejection is a located error.
func FuzzDecodeHPAState(f *testing.F) {
	for _, file := range exampleFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte(""))
	f.Add([]byte("apiVersion: [\n"))
	f.Add([]byte("a: 1\n---\nb: 2\n"))
	f.Add([]byte(strings.Replace(minimal, "averageValue: \"5\"", "averageValue: \"0\"", 1)))
	f.Add([]byte(strings.Replace(minimal, "specReplicas: 2", "specReplicas: 0", 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				panic(fmt.Sprintf("slow input: %q", data))
			}
		}()
		s, err := Decode("fuzz.yaml", data)
		if err != nil {
			var se *strictyaml.Error
			var ses strictyaml.Errors
			if !errors.As(err, &se) && !errors.As(err, &ses) {
				t.Fatalf("unlocated error %T: %v", err, err)
			}
			return
		}
		r := s.Run()
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSpecExampleDecodes(t *testing.T) {
	data, err := os.ReadFile("testdata/spec-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode("spec-example.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	g := s.Input.Config.Gates
	if s.Minor != 35 || !g.ConfigurableTolerance || g.ScaleToZero || !g.PodLevelResources {
		t.Errorf("version/gates: %d %+v", s.Minor, g)
	}
	if len(s.Input.Pods) != 1 || s.Input.Pods[0].Spec == nil || len(s.Input.Pods[0].Spec.InitContainers) != 1 {
		t.Errorf("pods %+v", s.Input.Pods)
	}
	r := s.Run()
	// otherHPASelectors selects the same pods: AmbiguousSelector (1.35 text).
	if r.Rescale || len(r.Conditions) != 2 || r.Conditions[1].Reason != "AmbiguousSelector" ||
		!strings.Contains(r.Conditions[1].Message, "controlled by multiple HPAs") {
		t.Errorf("%+v", r.Conditions)
	}
}
