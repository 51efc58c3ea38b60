package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/iostreams"
	"github.com/mlscale/mlscale/internal/testutil/golden"
)

const hpaExamples = "../../testdata/hpa"

func hpaExampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(hpaExamples, "*.yaml"))
	if err != nil || len(files) < 8 {
		t.Fatalf("examples under %s: %v %v", hpaExamples, files, err)
	}
	return files
}

// Every example evaluates, and its JSON and text outputs are pinned.
func TestHPAEvalGolden(t *testing.T) {
	for _, f := range hpaExampleFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, "hpa", "eval", "-f", f, "-o", "json")
			if code != 0 || errOut != "" {
				t.Fatalf("code=%d stderr=%q", code, errOut)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			for _, k := range []string{"desiredReplicas", "rescale", "metrics", "conditions", "events", "history"} {
				if _, ok := doc[k]; !ok {
					t.Errorf("output lacks %q", k)
				}
			}
			golden.Assert(t, "hpa/"+name+".json", []byte(out))

			code, out, errOut = run(t, "hpa", "eval", "-f", f, "-o", "text")
			if code != 0 || errOut != "" {
				t.Fatalf("text: code=%d stderr=%q", code, errOut)
			}
			golden.Assert(t, "hpa/"+name+".txt", []byte(out))

			// The default output (-o table) is the same explanation.
			_, def, _ := run(t, "hpa", "eval", "-f", f)
			if def != out {
				t.Errorf("default output differs from -o text")
			}
		})
	}
}

// The decisions the examples were written to show.
func TestHPAEvalExampleDecisions(t *testing.T) {
	want := map[string]struct {
		desired int
		rescale bool
	}{
		"resource-cpu":                   {5, true},
		"container-resource-startup":     {3, false},
		"resource-memory-averagevalue":   {4, false},
		"pods-metric-scaledown":          {9, true},
		"object-value":                   {6, true},
		"object-averagevalue":            {9, true},
		"external-keda-scale-to-zero":    {0, true},
		"external-partial-failure":       {5, false},
		"rolling-update-missing-metrics": {3, false},
		"tolerance-override":             {5, true},
		"startup-unready-scale-up":       {5, true},
		"behavior-policies-scale-events": {13, true},
		"legacy-scale-up-cap":            {8, true},
		"scaled-to-zero-wake-up":         {2, true},
		"ambiguous-selector":             {4, false},
		"zero-replicas-paused":           {0, false},
	}
	seen := 0
	for _, f := range hpaExampleFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		w, ok := want[name]
		if !ok {
			t.Errorf("example %s has no expected decision here", name)
			continue
		}
		seen++
		_, out, _ := run(t, "hpa", "eval", "-f", f, "-o", "json")
		var doc struct {
			DesiredReplicas int  `json:"desiredReplicas"`
			Rescale         bool `json:"rescale"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.DesiredReplicas != w.desired || doc.Rescale != w.rescale {
			t.Errorf("%s: desired=%d rescale=%v, want %d %v", name, doc.DesiredReplicas, doc.Rescale, w.desired, w.rescale)
		}
	}
	if seen != len(want) {
		t.Errorf("%d examples checked, %d expected", seen, len(want))
	}
}

// The output's history fed back as the next input gives the same history
// handling (format round trip).
func TestHPAEvalHistoryRoundTrip(t *testing.T) {
	f := filepath.Join(hpaExamples, "pods-metric-scaledown.yaml")
	_, out, _ := run(t, "hpa", "eval", "-f", f, "-o", "yaml")
	i := strings.Index(out, "history:\n")
	if i < 0 {
		t.Fatalf("no history in %s", out)
	}
	hist := out[i:]
	hist = hist[:strings.Index(hist, "metrics:")]
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	j := strings.Index(src, "history:\n")
	next := src[:j] + hist
	tmp := filepath.Join(t.TempDir(), "next.yaml")
	if err := os.WriteFile(tmp, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out2, errOut := run(t, "hpa", "eval", "-f", tmp, "-o", "json")
	if code != 0 {
		t.Fatalf("feeding the history back failed: %s\n%s", errOut, next)
	}
	if !strings.Contains(out2, `"replicas": 4`) {
		t.Errorf("the fed-back history lost the last recommendation:\n%s", out2)
	}
}

func TestHPAEvalInvalidFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, body string
		want       []string
	}{
		{"unknown field", "apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nnow: \"2026-01-01T12:00:00Z\"\nscale: {specReplicas: 1, selector: a=b}\nhpa:\n  spec:\n    maxReplicas: 3\n    minReplicass: 1\n",
			[]string{"bad.yaml:8:5: hpa.spec.minReplicass: unknown field \"minReplicass\""}},
		{"wrong type", "apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nnow: \"2026-01-01T12:00:00Z\"\nscale: {specReplicas: many, selector: a=b}\nhpa: {spec: {maxReplicas: 3}}\n",
			[]string{"bad.yaml:4:23: scale.specReplicas: expected an integer"}},
		{"bad quantity", "apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nnow: \"2026-01-01T12:00:00Z\"\nscale: {specReplicas: 1, selector: a=b}\nhpa: {spec: {maxReplicas: 3}}\nmetrics:\n  object: {rps: lots}\n",
			[]string{"bad.yaml:7:17: metrics.object.rps: invalid value lots"}},
		{"locked gate", "apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nfeatureGates: {HPAConfigurableTolerance: false}\nnow: \"2026-01-01T12:00:00Z\"\nscale: {specReplicas: 1, selector: a=b}\nhpa: {spec: {maxReplicas: 3}}\n",
			[]string{"bad.yaml:3:42: featureGates.HPAConfigurableTolerance: feature gate HPAConfigurableTolerance is locked to true in Kubernetes 1.37"}},
		{"gate not in version", "apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nkubernetesVersion: \"1.36\"\nfeatureGates: {HPAGeneration: true}\nnow: \"2026-01-01T12:00:00Z\"\nscale: {specReplicas: 1, selector: a=b}\nhpa: {spec: {maxReplicas: 3}}\n",
			[]string{"featureGates.HPAGeneration: Kubernetes 1.36 has no feature gate HPAGeneration"}},
		{"bad version", "apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nkubernetesVersion: \"1.30\"\nnow: \"2026-01-01T12:00:00Z\"\nscale: {specReplicas: 1, selector: a=b}\nhpa: {spec: {maxReplicas: 3}}\n",
			[]string{"bad.yaml:3:20: kubernetesVersion: unsupported Kubernetes version \"1.30\""}},
		{"missing required", "apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\n",
			[]string{"now: required", "hpa: required", "scale: required"}},
		{"bad ready", "apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nnow: \"2026-01-01T12:00:00Z\"\nscale: {specReplicas: 1, selector: a=b}\nhpa: {spec: {maxReplicas: 3}}\npods:\n  - {name: p, ready: \"Yes\"}\n",
			[]string{"bad.yaml:7:22: pods[0].ready: must be \"True\", \"False\" or \"Unknown\""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := run(t, "hpa", "eval", "-f", path)
			if code != ExitFailure || out != "" {
				t.Fatalf("code=%d out=%q", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}

func TestHPAEvalUsage(t *testing.T) {
	code, _, errOut := run(t, "hpa", "eval")
	if code != ExitUsage || !strings.Contains(errOut, "-f is required") {
		t.Errorf("no -f: code=%d stderr=%q", code, errOut)
	}
	code, _, errOut = run(t, "hpa", "eval", "-f", "x.yaml", "-o", "sarif")
	if code != ExitUsage || !strings.Contains(errOut, "unknown output format") {
		t.Errorf("bad -o: code=%d stderr=%q", code, errOut)
	}
	code, _, errOut = run(t, "hpa", "eval", "-f", "does-not-exist.yaml")
	if code != ExitFailure || !strings.Contains(errOut, "does-not-exist.yaml") {
		t.Errorf("missing file: code=%d stderr=%q", code, errOut)
	}
	code, _, _ = run(t, "hpa")
	if code != ExitUsage {
		t.Errorf("bare hpa: code=%d", code)
	}
}

func TestHPAEvalStdin(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(hpaExamples, "resource-cpu.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ios, in, out, errOut := iostreams.Test()
	in.Write(data)
	code := Run(context.Background(), ios, []string{"hpa", "eval", "-f", "-", "-o", "json"})
	if code != 0 || !strings.Contains(out.String(), `"desiredReplicas": 5`) {
		t.Fatalf("code=%d out=%s err=%s", code, out, errOut)
	}
	ios, in, _, errOut = iostreams.Test()
	in.WriteString("apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nbogus: 1\n")
	code = Run(context.Background(), ios, []string{"hpa", "eval", "-f", "-"})
	if code != ExitFailure || !strings.Contains(errOut.String(), "<stdin>:3:1: bogus: unknown field") {
		t.Fatalf("code=%d err=%s", code, errOut)
	}
}
