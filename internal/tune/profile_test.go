package tune

import (
	"os"
	"strings"
	"testing"
)

func TestDefaultSpaceArticle(t *testing.T) {
	src, err := os.ReadFile("../../examples/article/ml-inference-service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := DefaultSpace(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp) != 8 {
		t.Fatalf("%d parameters: %+v", len(sp), sp)
	}
	pp, err := NewProfileProblem("article", src, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := pp.Start()
	want := "spec.scaling.replicas.min=2,spec.scaling.replicas.max=10,spec.scaling.metrics.cpu.utilization=70," +
		"spec.scaling.metrics.pods[0].averageValue=10,spec.scaling.behavior.scaleUp.stabilizationWindowSeconds=60," +
		"spec.scaling.behavior.scaleDown.stabilizationWindowSeconds=300,spec.scaling.behavior.scaleUp.policies[0].value=100," +
		"spec.scaling.behavior.scaleDown.policies[0].value=50"
	if got := sp.Key(start); got != want {
		t.Errorf("start\n%s\nwant\n%s", got, want)
	}
	// a candidate's profile carries its values and still validates
	p := append(Point{}, start...)
	p[0], p[3], p[5] = 3, 7.5, 600
	prof, err := pp.Profile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := prof.Spec.Scaling
	if *s.Replicas.Min != 3 || s.Metrics.Pods[0].AverageValue.String() != "7500m" || *s.Behavior.ScaleDown.StabilizationWindowSeconds != 600 {
		t.Errorf("applied: min %d, averageValue %s, scaleDown window %d", *s.Replicas.Min, s.Metrics.Pods[0].AverageValue.String(), *s.Behavior.ScaleDown.StabilizationWindowSeconds)
	}
	// the base is not changed by a candidate
	if again := pp.Start(); sp.Key(again) != want {
		t.Errorf("base modified: %s", sp.Key(again))
	}
	// a path into a list item that does not exist is an error
	bad := &ProfileProblem{base: pp.base, Space: Space{{Path: "spec.scaling.metrics.pods[3].averageValue", Type: Float, Min: 1, Max: 2}}}
	if _, err := bad.Document(Point{1}); err == nil || !strings.Contains(err.Error(), "no item 3") {
		t.Errorf("error %v", err)
	}
}

func TestLoadSpecErrors(t *testing.T) {
	_, err := LoadSpec("s.yaml", []byte("apiVersion: mlscale.dev/v1alpha1\nkind: TuneSpec\nspec:\n  parameters:\n    - {path: a, type: int, min: 3, max: 1}\n"))
	if err == nil || !strings.Contains(err.Error(), "s.yaml:5") {
		t.Errorf("error %v", err)
	}
	s, err := LoadSpec("s.yaml", []byte("apiVersion: mlscale.dev/v1alpha1\nkind: TuneSpec\nspec:\n  objective: {maxFlaps: 0, maxLatency: 2s}\n  search: {candidates: 5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var o Objective
	var so Options
	s.Apply(&o, &so)
	if o.MaxFlaps != 0 || o.MaxLatency != 2 || so.Candidates != 5 {
		t.Errorf("applied %+v %+v", o, so)
	}
}
