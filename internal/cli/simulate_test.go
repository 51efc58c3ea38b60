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

func TestSimulateDefaultTable(t *testing.T) {
	code, out, errOut := run(t, "simulate", "--duration", "30m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Assert(t, "simulate/default-30m.txt", []byte(out))
	if !strings.Contains(out, "the SLO (p99 ≤ 10s") || !strings.Contains(out, "GPU-hours") {
		t.Errorf("no verdict or cost:\n%s", out)
	}
}

func TestSimulateJSON(t *testing.T) {
	code, out, errOut := run(t, "simulate", "-f", "../../scenarios/step-burst.yaml", "--duration", "40m", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Assert(t, "simulate/step-burst-40m.json", []byte(out))
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// the documented stable keys
	for _, path := range []string{"summary.latency.p99", "summary.slo.attainment", "summary.gpuHours", "summary.cost",
		"summary.scaleEvents", "summary.engine.events", "summary.engine.eventsPerSecond", "summary.requests.total",
		"summary.queueWait.p95", "summary.replicas.mean", "summary.flaps", "scenario.seed", "decisions"} {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: %v is not an object", path, v)
			}
			if v, ok = m[k]; !ok {
				t.Errorf("JSON lacks %s", path)
				break
			}
		}
	}
}

func TestSimulateYAML(t *testing.T) {
	code, out, errOut := run(t, "simulate", "--duration", "10m", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "gpuHours:") || !strings.Contains(out, "attainment:") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
}

func TestSimulateComparePolicies(t *testing.T) {
	code, out, errOut := run(t, "simulate", "-f", "../../scenarios/steady.yaml", "--duration", "1h", "--seeds", "3",
		"--policy", "testdata/simulate/policy-waiting-2.yaml", "--policy", "testdata/simulate/policy-waiting-8.yaml", "--jobs", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Assert(t, "simulate/compare-steady.txt", []byte(out))
	code, js, _ := run(t, "simulate", "-f", "../../scenarios/steady.yaml", "--duration", "1h", "--seeds", "3",
		"--policy", "testdata/simulate/policy-waiting-2.yaml", "--policy", "testdata/simulate/policy-waiting-8.yaml", "-o", "json", "--jobs", "1")
	if code != 0 {
		t.Fatal("json comparison failed")
	}
	var c struct {
		Seeds    []uint64
		Policies []struct {
			Policy    string
			Runs      int
			Summaries []struct {
				Requests struct{ Total uint64 }
			}
			Metrics []struct {
				Name            string
				Mean, Low, High float64
			}
		}
	}
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Policies) != 2 || len(c.Seeds) != 3 || c.Policies[0].Runs != 3 {
		t.Fatalf("comparison %+v", c)
	}
	// common random numbers: the same seed brings the same arrivals to both policies
	for k := 0; k < 3; k++ {
		if a, b := c.Policies[0].Summaries[k].Requests.Total, c.Policies[1].Summaries[k].Requests.Total; a != b {
			t.Errorf("seed %d: %d vs %d arrivals", c.Seeds[k], a, b)
		}
	}
	for _, m := range c.Policies[0].Metrics {
		if m.Low > m.Mean || m.High < m.Mean {
			t.Errorf("%s: interval [%v, %v] does not hold the mean %v", m.Name, m.Low, m.High, m.Mean)
		}
	}
	// the parallel and the serial runs agree
	if !strings.Contains(out, "WAITING-2 (hpa)") {
		t.Errorf("no side-by-side header:\n%s", out)
	}
}

func TestSimulateArtifacts(t *testing.T) {
	dir := t.TempDir()
	tl, svg, png, html := filepath.Join(dir, "t.csv"), filepath.Join(dir, "p.svg"), filepath.Join(dir, "p.png"), filepath.Join(dir, "r.html")
	code, _, errOut := run(t, "simulate", "-f", "../../scenarios/cold-start-storm.yaml", "--duration", "30m",
		"--timeline", tl, "--plot", svg, "--report", html)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	csv, _ := os.ReadFile(tl)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 1+1800 || !strings.HasPrefix(lines[0], "t,arrivalRate,throughput,queue,inflight,specReplicas,readyReplicas") ||
		!strings.Contains(lines[0], "keda:rabbitmq0") {
		t.Errorf("timeline: %d lines, header %q", len(lines), lines[0])
	}
	if b, _ := os.ReadFile(svg); !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "Replicas") {
		t.Error("the SVG plot lacks its panels")
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "data:image/svg+xml;base64,") || !strings.Contains(string(b), "KEDAScaleTargetActivated") && !strings.Contains(string(b), "<td>keda</td>") {
		t.Error("the report lacks the embedded plot or the decisions")
	}
	if code, _, errOut := run(t, "simulate", "-f", "../../scenarios/cold-start-storm.yaml", "--duration", "10m", "--plot", png); code != 0 {
		t.Fatalf("png: %s", errOut)
	}
	if b, _ := os.ReadFile(png); len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Error("not a PNG")
	}
}

func TestSimulateErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"simulate", "--plot", "x.jpg"}, ExitUsage, "--plot x.jpg: the file must end in .png or .svg"},
		{[]string{"simulate", "-f", "nope.yaml"}, ExitFailure, "nope.yaml"},
		{[]string{"simulate", "--seeds", "0"}, ExitUsage, "--seeds must be at least 1"},
		{[]string{"simulate", "-o", "text"}, ExitUsage, "unknown output format"},
		{[]string{"simulate", "-f", "testdata/simulate/bad-scenario.yaml"}, ExitFailure, "bad-scenario.yaml:8:5: spec.traffic.burst: unknown field"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

func TestSimulateList(t *testing.T) {
	code, out, _ := run(t, "simulate", "--list")
	for _, n := range []string{"default", "steady", "step-burst", "diurnal-day", "cold-start-storm", "rabbitmq-backlog", "flapping", "trace-replay", "article-inference"} {
		if !strings.Contains(out, n) {
			t.Errorf("--list lacks %s:\n%s", n, out)
		}
	}
	if code != 0 || strings.Contains(out, "invalid") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	// a bundled scenario runs by name from the binary
	if code, out, errOut := run(t, "simulate", "-f", "trace-replay", "--duration", "5m"); code != 0 || !strings.Contains(out, "trace-replay") {
		t.Errorf("bundled by name: exit %d %s", code, errOut)
	}
}

// --manifests simulates the rendered objects themselves: what generate
// wrote, edited by hand, is what runs.
func TestSimulateManifests(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := run(t, "generate", "--preset", "llm-inference", "--out-dir", dir); code != 0 {
		t.Fatalf("generate: %s", errOut)
	}
	hpaFile := filepath.Join(dir, "horizontalpodautoscaler-llm-inference.yaml")
	b, err := os.ReadFile(hpaFile)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "simulate", "-f", "../../scenarios/steady.yaml", "--duration", "1h", "--manifests", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// cap the HPA at 3 replicas by hand (the preset reaches 5 on this
	// traffic): the simulation follows the edited object
	edited := strings.Replace(string(b), "maxReplicas: 8", "maxReplicas: 3", 1)
	if edited == string(b) {
		t.Fatal("maxReplicas: 8 not found in the rendered HPA")
	}
	os.WriteFile(hpaFile, []byte(edited), 0o644)
	code, out2, errOut := run(t, "simulate", "-f", "../../scenarios/default.yaml", "--duration", "4h", "--manifests", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r1, r2 struct {
		Scenario struct{ Autoscaler string }
		Summary  struct{ Replicas struct{ Max int } }
	}
	json.Unmarshal([]byte(out), &r1)
	json.Unmarshal([]byte(out2), &r2)
	if r1.Scenario.Autoscaler != "hpa" || r2.Summary.Replicas.Max != 3 {
		t.Errorf("manifests: %+v / edited max replicas %d", r1, r2.Summary.Replicas.Max)
	}
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {kind: Deployment, name: llm-inference}\n  maxReplicaz: 3\n"), 0o644)
	if code, _, errOut := run(t, "simulate", "--manifests", dir); code == 0 || !strings.Contains(errOut, "maxReplicaz") {
		t.Errorf("a misspelt field in a manifest: exit %d %s", code, errOut)
	}
}

// On a terminal, progress goes to stderr and is erased at the end; stdout
// is the same as without a terminal.
func TestSimulateProgressOnTerminal(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	ios.SetTTY(false, false, true)
	if code := Run(context.Background(), ios, []string{"simulate", "--duration", "10m"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	e := errOut.String()
	if !strings.Contains(e, "simulating [") || !strings.HasSuffix(e, "\r\033[K") {
		t.Errorf("stderr %q", e)
	}
	_, plain, _ := run(t, "simulate", "--duration", "10m")
	if out.String() != plain {
		t.Error("stdout differs on a terminal")
	}
}
