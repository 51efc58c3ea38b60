package doctor_test

// End-to-end through the CLI (internal/cli) against the real control plane:
// exit codes, object selection, and `doctor snapshot` replayed by
// `hpa eval`. The scenario helpers live in integration_test.go (package
// doctor); these tests set up their own small scenarios.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlscale/mlscale/internal/cli"
	"github.com/mlscale/mlscale/internal/doctor"
	"github.com/mlscale/mlscale/internal/iostreams"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	ios.Now = time.Now
	code := cli.Run(context.Background(), ios, args)
	return code, out.String(), errOut.String()
}

func TestCLIDoctorLive(t *testing.T) {
	c := doctor.NewTestCluster(t)
	c.Workload("llm", corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}})
	c.CPUHPA("llm", "llm")
	c.WaitCondition("llm", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "")
	kc := c.Kubeconfig()

	code, out, errOut := runCLI(t, "doctor", "hpa/llm", "--kubeconfig", kc, "-n", c.Namespace(), "-o", "json")
	if code != cli.ExitFailure {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.SchemaVersion != doctor.SchemaVersion || r.Cluster == nil || r.Cluster.ServerVersion == "" {
		t.Errorf("report header: %+v %+v", r.SchemaVersion, r.Cluster)
	}
	for _, f := range r.Findings {
		if f.Object.Namespace != "" && f.Object.Name != "llm" {
			t.Errorf("finding about another object: %+v", f.Object)
		}
	}
	// --exit-zero, and an unknown object.
	if code, _, _ := runCLI(t, "doctor", "--kubeconfig", kc, "-n", c.Namespace(), "--exit-zero"); code != 0 {
		t.Errorf("--exit-zero: exit %d", code)
	}
	if code, _, errOut := runCLI(t, "doctor", "hpa/nope", "--kubeconfig", kc, "-n", c.Namespace()); code != cli.ExitFailure || !strings.Contains(errOut, "not found") {
		t.Errorf("unknown hpa: exit %d %q", code, errOut)
	}
	// JUnit and markdown render live reports; SARIF is refused (exit 2).
	for _, f := range []string{"junit", "markdown", "table"} {
		if code, out, _ := runCLI(t, "doctor", "--kubeconfig", kc, "-n", c.Namespace(), "-o", f); code != cli.ExitFailure || out == "" {
			t.Errorf("-o %s: exit %d", f, code)
		}
	}
	if code, _, _ := runCLI(t, "doctor", "--kubeconfig", kc, "-n", c.Namespace(), "-o", "sarif"); code != cli.ExitUsage {
		t.Errorf("-o sarif live: exit %d", code)
	}
}

// `doctor --save` writes the collection; `doctor --from` replays it,
// without the cluster, to the same report; a bad file is an input error
// at its line.
func TestCLIDoctorSaveAndReplay(t *testing.T) {
	c := doctor.NewTestCluster(t)
	c.Workload("llm", corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}})
	c.CPUHPA("llm", "llm")
	c.WaitCondition("llm", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "")
	saved := filepath.Join(t.TempDir(), "collection.json")
	code, live, errOut := runCLI(t, "doctor", "--kubeconfig", c.Kubeconfig(), "-n", c.Namespace(), "-o", "json", "--save", saved)
	if code != cli.ExitFailure {
		t.Fatalf("live: exit %d, stderr %q", code, errOut)
	}
	code, replay, errOut := runCLI(t, "doctor", "--from", saved, "-o", "json")
	if code != cli.ExitFailure || replay != live {
		t.Errorf("--from: exit %d, stderr %q; report differs from the live one:\nlive   %s\nreplay %s", code, errOut, live, replay)
	}
	code, one, _ := runCLI(t, "doctor", "hpa/llm", "--from", saved)
	if code != cli.ExitFailure || !strings.Contains(one, "HorizontalPodAutoscaler/"+c.Namespace()+"/llm") {
		t.Errorf("--from with an object: exit %d\n%s", code, one)
	}
	if code, _, errOut := runCLI(t, "doctor", "--from", saved, "-n", "other"); code != cli.ExitUsage || !strings.Contains(errOut, "--namespace does not apply") {
		t.Errorf("--from with -n: exit %d %q", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\"apiVersion\": \"mlscale.dev/v1alpha1\",\n \"kind\": \"DoctorSnapshot\",\n \"snapshot\": {\"now\": \"2026-01-01T00:00:00Z\",\n  \"hpas\": {}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "doctor", "--from", bad); code == 0 || out != "" || !strings.Contains(errOut, "bad.json:4") {
		t.Errorf("bad --from file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// `doctor snapshot` writes an HPAState that `hpa eval` replays to the
// decision the real controller took.
func TestCLIDoctorSnapshotReplays(t *testing.T) {
	c := doctor.NewTestCluster(t)
	c.MetricsServer(map[string]map[string]string{"llm-0": {"app": "400m"}})
	c.Workload("llm", corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")}}}}})
	c.CPUHPA("llm", "llm")
	c.WaitCondition("llm", autoscalingv2.ScalingActive, "ValidMetricFound", "")
	kc := c.Kubeconfig()
	dir := t.TempDir()
	state := filepath.Join(dir, "state.yaml")
	code, _, errOut := runCLI(t, "doctor", "snapshot", "hpa/llm", "--kubeconfig", kc, "-n", c.Namespace(), "--out", state)
	if code != 0 {
		t.Fatalf("snapshot: exit %d %q", code, errOut)
	}
	b, _ := os.ReadFile(state)
	if !bytes.Contains(b, []byte("kind: HPAState")) {
		t.Fatalf("not an HPAState:\n%s", b)
	}
	code, out, errOut := runCLI(t, "hpa", "eval", "-f", state, "-o", "json")
	if code != 0 {
		t.Fatalf("hpa eval of the snapshot: exit %d %q\n%s", code, errOut, b)
	}
	var res struct {
		DesiredReplicas int32 `json:"desiredReplicas"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// usage 400m / request 200m = 200% against 50%: ceil(1 * 4) = 4,
	// what the controller computed (maxReplicas 5).
	if res.DesiredReplicas != 4 {
		t.Errorf("replayed desiredReplicas = %d, want 4\n%s", res.DesiredReplicas, b)
	}
	if got := c.DesiredReplicas("llm"); got != 4 {
		t.Errorf("the controller's desiredReplicas = %d, want 4", got)
	}
}

// `doctor scaledobject/NAME` in text and -A in JSON.
func TestCLIDoctorScaledObject(t *testing.T) {
	c := doctor.NewTestCluster(t)
	c.Workload("worker", corev1.PodSpec{Containers: []corev1.Container{{Name: "worker", Image: "worker"}}})
	c.ScaledObject("worker", "worker", "rabbitmq-auth")
	kc := c.Kubeconfig()
	code, out, errOut := runCLI(t, "doctor", "scaledobject/worker", "--kubeconfig", kc, "-n", c.Namespace())
	if code != cli.ExitFailure || !strings.Contains(out, "KEDA-006 ScaledObject/"+c.Namespace()+"/worker") || !strings.Contains(out, `"rabbitmq-auth"`) {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	code, out, _ = runCLI(t, "doctor", "-A", "--kubeconfig", kc, "-o", "json")
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != cli.ExitFailure {
		t.Fatalf("exit %d: %v", code, err)
	}
	if r.Cluster.Namespace != "" {
		t.Errorf("-A report namespace %q", r.Cluster.Namespace)
	}
	found := false
	for _, f := range r.Findings {
		found = found || (f.ID == "KEDA-006" && f.Object.Namespace == c.Namespace())
	}
	if !found {
		t.Error("-A misses the ScaledObject's finding")
	}
}
