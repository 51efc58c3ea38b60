package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/iostreams"
	"github.com/mlscale/mlscale/internal/profile"
)

var tuneArgs = []string{"tune", "-f", "../../examples/article/ml-inference-service.yaml",
	"--scenario", "testdata/tune/short.yaml", "--spec", "testdata/tune/spec.yaml"}

func TestTuneRecommendsAProfile(t *testing.T) {
	dir := t.TempDir()
	args := append(append([]string{}, tuneArgs...), "--out-dir", filepath.Join(dir, "m"), "--report", filepath.Join(dir, "r.html"))
	code, out, errOut := run(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	p, err := profile.Load("stdout", []byte(out))
	if err != nil {
		t.Fatalf("the recommended profile does not load: %v\n%s", err, out)
	}
	if m := *p.Spec.Scaling.Replicas.Min; m < 2 || m > 4 {
		t.Errorf("min replicas %d outside the spec's range", m)
	}
	for _, want := range []string{"winner  meets the objective", "Pareto front", "margin", "finalists"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "m", "profile.yaml")); err != nil {
		t.Error(err)
	}
	ms, _ := filepath.Glob(filepath.Join(dir, "m", "*.yaml"))
	if len(ms) < 3 {
		t.Errorf("--out-dir wrote %v", ms)
	}
	html, err := os.ReadFile(filepath.Join(dir, "r.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), "data:image/svg+xml;base64,"); n != 3 {
		t.Errorf("report has %d plots, want 3 (cost vs latency, winner, start)", n)
	}
}

// TestTuneShardsMatchOneProcess: 3 shards + merge print byte for byte what
// one process prints.
func TestTuneShardsMatchOneProcess(t *testing.T) {
	code, want, errOut := run(t, append(append([]string{}, tuneArgs...), "-o", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Winner  *struct{ Cost float64 } `json:"winner"`
		Pareto  []json.RawMessage       `json:"pareto"`
		Profile string                  `json:"profile"`
	}
	if err := json.Unmarshal([]byte(want), &res); err != nil || res.Winner == nil || len(res.Pareto) == 0 || res.Profile == "" {
		t.Fatalf("json output: %v\n%s", err, want)
	}
	dir := t.TempDir()
	merge := []string{"tune", "merge"}
	merge = append(merge, tuneArgs[1:]...)
	merge = append(merge, "-o", "json")
	for i := 0; i < 3; i++ {
		f := filepath.Join(dir, "shard-"+string(rune('0'+i))+".json")
		code, _, errOut := run(t, append(append([]string{}, tuneArgs...), "--shard", string(rune('0'+i))+"/3", "--results", f)...)
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, errOut)
		}
		merge = append(merge, f)
	}
	code, got, errOut := run(t, merge...)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errOut)
	}
	if got != want {
		t.Fatalf("merged shards differ from one process:\n%s\n---\n%s", got, want)
	}
	// a missing shard is an error
	code, _, errOut = run(t, merge[:len(merge)-1]...)
	if code == 0 || !strings.Contains(errOut, "missing") {
		t.Errorf("merge without shard 2: exit %d, %s", code, errOut)
	}
	// shards of another search do not mix
	other := append(append([]string{}, merge...), "--seed", "9")
	if code, _, errOut = run(t, other...); code == 0 || !strings.Contains(errOut, "fingerprint") {
		t.Errorf("merge with another seed: exit %d, %s", code, errOut)
	}
}

func TestTuneKubernetesRender(t *testing.T) {
	code, out, errOut := run(t, append(append([]string{}, tuneArgs...), "--backend", "kubernetes", "--parallelism", "3", "-n", "ml")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 5 {
		t.Fatalf("%d documents, want ConfigMap, ServiceAccount, Role, RoleBinding, Job", len(docs))
	}
	var job struct {
		Kind string
		Spec struct {
			CompletionMode string
			Completions    int
			Parallelism    int
			Template       struct {
				Spec struct {
					Containers []struct{ Args []string }
				}
			}
		}
	}
	if err := yaml.Unmarshal([]byte(docs[4]), &job); err != nil {
		t.Fatal(err)
	}
	if job.Kind != "Job" || job.Spec.CompletionMode != "Indexed" || job.Spec.Completions != 3 || job.Spec.Parallelism != 3 {
		t.Errorf("job %+v", job)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"--shard=$(JOB_COMPLETION_INDEX)/3", "--results-configmap=mlscale-tune-shard-$(JOB_COMPLETION_INDEX)", "--spec /inputs/spec.yaml", "-f /inputs/profile.yaml"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if !strings.Contains(errOut, "mlscale tune merge") {
		t.Errorf("no merge hint: %s", errOut)
	}
}

func TestTuneErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tune", "--scenario", "testdata/tune/short.yaml"}, "-f PROFILE"},
		{[]string{"tune", "-f", "../../examples/article/ml-inference-service.yaml"}, "--scenario"},
		{append(append([]string{}, tuneArgs...), "--shard", "3/3"), "--shard"},
		{[]string{"tune", "-f", "../../examples/article/ml-inference-service.yaml", "--scenario", "testdata/tune/short.yaml", "--spec", "testdata/tune/bad-spec.yaml"}, "bad-spec.yaml:5"},
	} {
		code, _, errOut := run(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestTuneProgressOnlyOnATerminal: the progress bar with the best so far
// is drawn on a terminal's stderr, never in a pipe.
func TestTuneProgressOnlyOnATerminal(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	ios.SetTTY(false, false, true)
	if code := Run(context.Background(), ios, tuneArgs); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Redraws are throttled to 10 per second, so which phase ("rung N" or
	// "refining") shows depends on the machine's speed; the best so far
	// always does.
	if !strings.Contains(errOut.String(), "tuning [") || !strings.Contains(errOut.String(), ": best $") {
		t.Errorf("no progress bar on a terminal:\n%q", errOut.String())
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("progress on stdout")
	}
	_, _, errPipe := run(t, tuneArgs...)
	if strings.Contains(errPipe, "\r") {
		t.Errorf("progress drawn into a pipe: %q", errPipe)
	}
}
