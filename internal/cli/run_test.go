package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlscale/mlscale/internal/gpu/nvmlsource"
	"github.com/mlscale/mlscale/internal/iostreams"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	ios.Now = time.Now
	code := Run(context.Background(), ios, args)
	return code, out.String(), errOut.String()
}

func TestRunUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-f", "testdata/run/queue.yaml"}, "needs a worker command"},
		{[]string{"run", "-f", "testdata/run/queue.yaml", "sleep", "1"}, "put the worker command after --"},
		{[]string{"run", "-f", "testdata/run/queue.yaml", "--target", "vm", "--", "x"}, "--target must be"},
		{[]string{"run", "-f", "testdata/run/queue.yaml", "--metrics-compat", "nvidia", "--", "x"}, "--metrics-compat"},
		{[]string{"run", "-f", "testdata/run/queue.yaml", "--gpu", "fake:x", "--", "x"}, "--gpu fake:N"},
		{[]string{"run", "-f", "testdata/run/queue.yaml", "--external", "noequals", "--", "x"}, "NAME=PROMQL"},
		{[]string{"run", "--target", "deployment", "-f", "testdata/run/queue.yaml", "--", "x"}, "takes no worker command"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
	}
}

// A policy on GPU utilisation cannot run without NVML: a plain message and
// exit code 4 (this machine has no libnvidia-ml.so).
func TestRunGPUPolicyWithoutNVML(t *testing.T) {
	if _, err := nvmlsource.Open(); err == nil {
		t.Skip("NVML is present on this machine")
	}
	code, _, errOut := runCLI(t, "run", "-f", "testdata/run/gpu.yaml", "--listen", "", "--", "sleep", "30")
	if code != ExitNoGPU || !strings.Contains(errOut, "gpu telemetry unavailable") || !strings.Contains(errOut, "the policy reads GPU utilisation") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, "run", "-f", "testdata/run/queue.yaml", "--gpu", "nvml", "--listen", "", "--", "sleep", "30")
	if code != ExitNoGPU || !strings.Contains(errOut, "--gpu nvml requires it") {
		t.Errorf("--gpu nvml: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestRunManifestsPickPolicy(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "generate", "-f", "testdata/run/queue.yaml")
	if code != 0 {
		t.Fatal(errOut)
	}
	f := filepath.Join(dir, "all.yaml")
	if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &runOptions{manifests: f}
	ios, _, _, _ := iostreams.Test()
	pol, err := loadRunPolicy(&Options{IO: ios}, r)
	if err != nil {
		t.Fatal(err)
	}
	if pol.hpa == nil || pol.name != "local-llm" || pol.hpa.Spec.Metrics[0].Pods.Metric.Name != "inference_queue_depth" {
		t.Errorf("policy from manifests: %+v", pol)
	}
	r.workload = "other"
	if _, err := loadRunPolicy(&Options{IO: ios}, r); err == nil || !strings.Contains(err.Error(), "matches none") {
		t.Errorf("--workload other: %v", err)
	}
}

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }

// The pod template generate renders (or the Deployment of --manifests)
// gives the workers' requests for cpu and memory utilisation: its first
// container, which the workers stand for.
func TestRunPolicyPodTemplate(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	pol, err := loadRunPolicy(&Options{IO: ios}, &runOptions{file: "testdata/run/resources.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	spec, container := workerPodSpec(pol.podSpec)
	if spec == nil || container != "inference" || len(spec.Containers) != 1 {
		t.Fatalf("pod spec %+v, container %q", spec, container)
	}
	if q := spec.Containers[0].Resources.Requests.Cpu(); q.MilliValue() != 500 {
		t.Errorf("cpu request %v", q)
	}
	// from rendered manifests, with a native sidecar added to the
	// Deployment: the workers do not run it, its request is not theirs
	code, out, errOut := runCLI(t, "generate", "-f", "testdata/run/resources.yaml")
	if code != 0 {
		t.Fatal(errOut)
	}
	out = strings.Replace(out, "      containers:\n", "      initContainers:\n        - name: sidecar\n          image: proxy:v1\n          restartPolicy: Always\n          resources: {requests: {cpu: 100m}}\n      containers:\n", 1)
	f := filepath.Join(t.TempDir(), "all.yaml")
	if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err = loadRunPolicy(&Options{IO: ios}, &runOptions{manifests: f})
	if err != nil {
		t.Fatal(err)
	}
	if pol.podSpec == nil || len(pol.podSpec.InitContainers) != 1 {
		t.Fatalf("manifests: pod spec %+v", pol.podSpec)
	}
	spec, container = workerPodSpec(pol.podSpec)
	if container != "inference" || len(spec.Containers) != 1 || len(spec.InitContainers) != 0 || spec.Containers[0].Resources.Requests.Cpu().MilliValue() != 500 {
		t.Errorf("worker container %q, spec %+v", container, spec)
	}
	if s, c := workerPodSpec(nil); s != nil || c != "" {
		t.Errorf("no template: %v %q", s, c)
	}
}
