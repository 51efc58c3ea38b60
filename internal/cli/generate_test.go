package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/iostreams"
	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/testutil/golden"
)

func TestGeneratePresetsGolden(t *testing.T) {
	for _, name := range profile.Presets() {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, "generate", "--preset", name)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Assert(t, "generate/preset-"+name+".yaml", []byte(out))
		})
	}
}

func TestGenerateArticleExamplesGolden(t *testing.T) {
	files, _ := filepath.Glob("../../examples/article/*.yaml")
	if len(files) != 4 {
		t.Fatalf("want the 4 article examples, found %v", files)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, "generate", "-f", f)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Assert(t, "generate/article-"+name+".yaml", []byte(out))
		})
	}
}

// The article's objects come out with the article's names and settings.
func TestGenerateArticleSpecifics(t *testing.T) {
	_, out, _ := run(t, "generate", "-f", "../../examples/article/ml-inference-service.yaml")
	for _, want := range []string{
		"name: ml-inference-hpa", "name: ml-inference-pdb", "averageUtilization: 70", "averageUtilization: 80",
		"name: inference_queue_depth", `averageValue: "10"`, "stabilizationWindowSeconds: 300", "workload-type",
		"- g4dn.xlarge", "- p3.2xlarge", "nvidia.com/gpu: \"1\"", "minAvailable: 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ml-inference-service output lacks %q", want)
		}
	}
	code, out, errOut := run(t, "generate", "-f", "../../examples/article/ml-batch-processor.yaml")
	if code != 0 || strings.Contains(out, "metricName") || !strings.Contains(out, "name: ml-batch-processor-scaler") ||
		!strings.Contains(out, "kind: TriggerAuthentication") || strings.Contains(out, "kind: HorizontalPodAutoscaler") {
		t.Errorf("batch processor: code %d stderr %q\n%s", code, errOut, out)
	}
	_, out, _ = run(t, "generate", "-f", "../../examples/article/hybrid-ml-service.yaml")
	if strings.Count(out, "\nkind: Deployment") != 2 || strings.Count(out, "\nkind: HorizontalPodAutoscaler") != 1 ||
		strings.Count(out, "\nkind: ScaledObject") != 1 || strings.Contains(out, "autoscaling.keda.sh/paused") {
		t.Errorf("hybrid: want two Deployments, one HPA, one ScaledObject, no paused annotation:\n%s", out)
	}
}

func TestGenerateOutDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy")
	code, out, errOut := run(t, "generate", "--preset", "batch-queue", "--out-dir", dir)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 { // deployment, service, scaledobject, triggerauthentication, pdb... plus kustomization
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if len(entries) < 5 {
			t.Errorf("files: %v", names)
		}
	}
	for _, e := range entries {
		if e.Name() != "kustomization.yaml" && !strings.Contains(string(k), "- "+e.Name()) {
			t.Errorf("kustomization.yaml does not list %s", e.Name())
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	_, a, _ := run(t, "generate", "--preset", "vision-inference")
	_, b, _ := run(t, "generate", "--preset", "vision-inference")
	if a != b || a == "" {
		t.Fatal("two renders differ")
	}
}

func TestGenerateBadProfiles(t *testing.T) {
	cases := []struct {
		name, file, want string
	}{
		{"unknown field", "unknown-field.yaml", "unknown-field.yaml:13:5: spec.container.imag: unknown field \"imag\" (did you mean \"image\"?)"},
		{"wrong type", "wrong-type.yaml", "wrong-type.yaml:16:29: spec.scaling.replicas.max: expected an integer, got string \"ten\""},
		{"min greater than max", "min-gt-max.yaml", "min-gt-max.yaml:16:21: spec.scaling.replicas.min: min (12) is greater than max (10)"},
		{"invalid trigger metadata", "bad-trigger.yaml", "bad-trigger.yaml:22:18: spec.scaling.triggers[0].metadata.value: \"five\" is not a number"},
		{"trigger missing queue", "bad-trigger.yaml", "bad-trigger.yaml:19:9: spec.scaling.triggers[0].metadata: rabbitmq trigger needs metadata.queueName"},
		{"scale to zero on cpu only", "zero-cpu-only.yaml", "zero-cpu-only.yaml:16:38: spec.scaling.replicas.scaleToZero: an HPA scales to zero only on Object or External metrics"},
		{"pdb blocks drains", "pdb-blocks.yaml", "pdb-blocks.yaml:20:19: spec.disruption.minAvailable: minAvailable 2 with minReplicas 2 blocks every drain"},
		{"bad quantity", "bad-quantity.yaml", "bad-quantity.yaml:11:12: spec.resources.requests.cpu: invalid value two cores"},
		{"bad behavior period", "bad-period.yaml", "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 3600: must be between 1 and 1800"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			outDir := filepath.Join(dir, "out")
			code, out, errOut := run(t, "generate", "-f", filepath.Join("testdata", "badprofiles", c.file), "--out-dir", outDir)
			if code != ExitFailure {
				t.Errorf("exit code %d, want %d", code, ExitFailure)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", errOut, c.want)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if _, err := os.Stat(outDir); err == nil {
				t.Errorf("%s was created: partial output", outDir)
			}
		})
	}
}

func TestGenerateUsageErrors(t *testing.T) {
	if code, _, errOut := run(t, "generate", "--preset", "nope"); code != ExitUsage || !strings.Contains(errOut, `unknown preset "nope"`) {
		t.Errorf("code %d stderr %q", code, errOut)
	}
	if code, _, _ := run(t, "generate", "-f", "x.yaml", "--preset", "embedding"); code != ExitUsage {
		t.Errorf("-f with --preset: code %d", code)
	}
	if code, _, errOut := run(t, "generate", "-f", "does-not-exist.yaml"); code != ExitFailure || !strings.Contains(errOut, "does-not-exist.yaml") {
		t.Errorf("missing file: code %d stderr %q", code, errOut)
	}
}

func TestInitWritesValidProfileAndRefusesOverwrite(t *testing.T) {
	for _, preset := range profile.Presets() {
		t.Run(preset, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "mlscale.yaml")
			code, _, errOut := run(t, "init", "--preset", preset, "-f", f, "--name", "my-model", "--namespace", "team-a", "--max", "7")
			if code != 0 {
				t.Fatalf("init: %d %s", code, errOut)
			}
			l, err := profile.LoadFile(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if l.Metadata.Name != "my-model" || l.Metadata.Namespace != "team-a" || l.Spec.Scaling.Replicas.Max != 7 {
				t.Errorf("answers not applied: %+v %d", l.Metadata, l.Spec.Scaling.Replicas.Max)
			}
			if code, _, _ := run(t, "generate", "-f", f); code != 0 {
				t.Errorf("generate on the new profile: exit %d", code)
			}
			before, _ := os.ReadFile(f)
			code, _, errOut = run(t, "init", "--preset", preset, "-f", f, "--name", "other")
			after, _ := os.ReadFile(f)
			if code != ExitFailure || !strings.Contains(errOut, "already exists") || string(before) != string(after) {
				t.Errorf("overwrite without --force: code %d stderr %q changed=%v", code, errOut, string(before) != string(after))
			}
			if code, _, _ := run(t, "init", "--preset", preset, "-f", f, "--force", "--name", "other"); code != 0 {
				t.Errorf("--force: exit %d", code)
			}
		})
	}
}

func TestInitRejectsContradictoryAnswers(t *testing.T) {
	f := filepath.Join(t.TempDir(), "p.yaml")
	code, _, errOut := run(t, "init", "--preset", "embedding", "-f", f, "--min", "9", "--max", "3")
	if code != ExitFailure || !strings.Contains(errOut, "min (9) is greater than max (3)") {
		t.Errorf("code %d stderr %q", code, errOut)
	}
	if _, err := os.Stat(f); err == nil {
		t.Error("file written despite the error")
	}
}

// The form asks the flags' questions; in accessible mode it reads plain lines.
func TestInitFormAccessible(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true, true, true)
	ios.Getenv = func(k string) string {
		if k == "ACCESSIBLE" {
			return "1"
		}
		return ""
	}
	f := filepath.Join(t.TempDir(), "p.yaml")
	// preset 4 (llm-inference in sorted order: batch-queue, embedding, llm-inference, vision-inference -> 3), name, namespace, image, gpus, min, max
	ios.In = &lineReader{data: []byte("3\nchatbot\nprod\n\n2\n\n6\n")}
	code := Run(context.Background(), ios, []string{"init", "-f", f})
	if code != 0 {
		t.Fatalf("exit %d; output:\n%s", code, out)
	}
	l, err := profile.LoadFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Metadata.Name != "chatbot" || l.Metadata.Namespace != "prod" || l.Spec.Resources.GPU.Count != 2 ||
		l.Spec.Scaling.Replicas.Max != 6 || l.Spec.Container.Image != "vllm/vllm-openai:v0.11.0" {
		t.Errorf("answers not applied (form output:\n%s): %+v gpus=%d max=%d image=%s", out, l.Metadata, l.Spec.Resources.GPU.Count, l.Spec.Scaling.Replicas.Max, l.Spec.Container.Image)
	}
}

// lineReader hands out one line per Read, as a person typing at a terminal
// does, so that each prompt's scanner sees only its own answer.
type lineReader struct{ data []byte }

func (r *lineReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := bytes.IndexByte(r.data, '\n') + 1
	if n == 0 {
		n = len(r.data)
	}
	n = copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func TestGenerateJSONList(t *testing.T) {
	code, out, errOut := run(t, "generate", "--preset", "embedding", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	_, yamlOut, _ := run(t, "generate", "--preset", "embedding")
	if list.Kind != "List" || len(list.Items) != strings.Count(yamlOut, "\n---\n")+1 {
		t.Errorf("kind %s, %d items", list.Kind, len(list.Items))
	}
	if code, _, _ := run(t, "generate", "--preset", "embedding", "-o", "json", "--out-dir", t.TempDir()); code != ExitUsage {
		t.Errorf("-o json with --out-dir: exit %d", code)
	}
}
