package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/doctor"
	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/watchtest"
)

const bundledRun = "testdata/watch/flapping.json"

func TestReplayOnceTable(t *testing.T) {
	code, out, errOut := run(t, "replay", bundledRun, "--once", "--at", "2m20s")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	for _, want := range []string{"NAMESPACE", "ml-serving", "edge", "HPA", "Deployment/edge", "app_requests_inflight:", "Breach: SLOViolation"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestReplayOnceJSON(t *testing.T) {
	code, out, errOut := run(t, "replay", bundledRun, "-o", "json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	var snap struct {
		Replay struct {
			At, Duration float64
			Steps        int
		} `json:"replay"`
		Autoscalers []struct {
			Name           string    `json:"name"`
			Max            int32     `json:"maxReplicas"`
			ReplicaHistory []float64 `json:"replicaHistory"`
			Events         []any     `json:"events"`
		} `json:"autoscalers"`
	}
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if snap.Replay.At != snap.Replay.Duration || snap.Replay.Steps != 180 || len(snap.Autoscalers) != 1 {
		t.Fatalf("replay = %+v", snap)
	}
	a := snap.Autoscalers[0]
	if a.Name != "edge" || a.Max != 20 || len(a.ReplicaHistory) != 180 || len(a.Events) == 0 {
		t.Errorf("row = %+v", a)
	}
}

func TestReplayPlainSimulateOutputNeedsTimeline(t *testing.T) {
	dir := t.TempDir()
	var doc map[string]any
	data, _ := os.ReadFile(bundledRun)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "timeline")
	delete(doc, "autoscaler")
	plain, _ := json.Marshal(doc)
	p := filepath.Join(dir, "plain.json")
	os.WriteFile(p, plain, 0o644)
	code, _, errOut := run(t, "replay", p, "--once")
	if code != ExitFailure || !strings.Contains(errOut, "has no timeline: pass the CSV the same run wrote with --timeline") {
		t.Errorf("code %d: %s", code, errOut)
	}
}

func TestReplayUsage(t *testing.T) {
	for _, args := range [][]string{
		{"replay"},
		{"replay", "a.json", "--scenario", "steady"},
		{"replay", "a.json", "b.json", "--timeline", "t.csv"},
		{"replay", "a.json", "--save", "x.json"},
		{"replay", bundledRun, "-o", "yaml"},
	} {
		if code, _, errOut := run(t, args...); code != ExitUsage {
			t.Errorf("%v: code %d (%s)", args, code, errOut)
		}
	}
}

func TestReplayScenarioSave(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a scenario")
	}
	p := filepath.Join(t.TempDir(), "run.json")
	code, out, errOut := run(t, "replay", "--scenario", "cold-start-storm", "--step", "60s", "--duration", "20m", "--save", p, "--once")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "wrote "+p) || !strings.Contains(out, "ScaledObject") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	code, out, errOut = run(t, "replay", p, "--once", "--at", "0s")
	if code != 0 || !strings.Contains(out, "ScaledObject") {
		t.Errorf("reading the saved run: %d %s %s", code, out, errOut)
	}
}

func TestWatchUnreachableCluster(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: gone, context: {cluster: gone, user: u, namespace: ml}}]
current-context: gone
`), 0o600)
	code, _, errOut := run(t, "watch", "--kubeconfig", kc, "--once", "--sync-timeout", "1s")
	if code != ExitFailure || !strings.Contains(errOut, "watching namespace ml") {
		t.Errorf("code %d: %s", code, errOut)
	}
	if code, _, _ := run(t, "watch", "-n", "a", "-A"); code != ExitUsage {
		t.Errorf("-n with -A: code %d", code)
	}
}

// The tmux-driven smoke check of the real binary on a terminal.
func TestTUISmokeTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the TUI smoke check (hack/tui-smoke.sh) needs it (Debian package tmux)")
	}
	cmd := exec.Command("bash", "../../hack/tui-smoke.sh")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("hack/tui-smoke.sh: %v", err)
	}
}

func TestDoctorFindingsForRow(t *testing.T) {
	all := []doctor.Finding{
		{ID: "RES-005", Severity: doctor.Error, Title: "metrics API unavailable", Summary: "pods.metrics.k8s.io is not served",
			Object: doctor.Object{Kind: "HorizontalPodAutoscaler", Namespace: "ml", Name: "web"}, Remediation: "install metrics-server"},
		{ID: "HPA-001", Severity: doctor.Warning, Title: "x", Summary: "other", Object: doctor.Object{Kind: "HorizontalPodAutoscaler", Namespace: "ml", Name: "other"}},
		{ID: "KEDA-003", Severity: doctor.Warning, Title: "scaler error", Summary: "s", Message: "boom",
			Object: doctor.Object{Kind: "HorizontalPodAutoscaler", Namespace: "q", Name: "keda-hpa-worker"}},
	}
	got := doctorFindings(all, &watch.Row{Kind: watch.KindHPA, Namespace: "ml", Name: "web"})
	if len(got) != 1 || got[0].Severity != "error" || got[0].Check != "RES-005 metrics API unavailable" || got[0].Fix != "install metrics-server" {
		t.Errorf("HPA findings = %+v", got)
	}
	got = doctorFindings(all, &watch.Row{Kind: watch.KindScaledObject, Namespace: "q", Name: "worker", HPAName: "keda-hpa-worker"})
	if len(got) != 1 || got[0].Message != "s (controller: boom)" {
		t.Errorf("ScaledObject findings = %+v", got)
	}
}

func TestSnapshotJSONStreams(t *testing.T) {
	for _, st := range []*watch.Store{watch.NewStore("c", "ns", nil), watchtest.DemoStore()} {
		snap := st.Snapshot()
		var b strings.Builder
		if err := writeSnapshotJSON(&b, st, snap); err != nil {
			t.Fatal(err)
		}
		var back watch.Snapshot
		if err := json.Unmarshal([]byte(b.String()), &back); err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		if len(back.Rows) != len(snap.Rows) || back.Rows == nil {
			t.Errorf("rows %d want %d:\n%s", len(back.Rows), len(snap.Rows), b.String())
		}
		if len(snap.Rows) > 0 && (len(back.Rows[1].Pods) != 2 || !strings.Contains(b.String(), `"current": "<unknown>"`)) {
			t.Errorf("details or HTML escaping:\n%s", b.String())
		}
	}
}
