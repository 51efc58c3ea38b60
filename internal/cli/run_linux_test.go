//go:build linux

package cli

import (
	"strings"
	"testing"
)

// cpu and memory of the local worker are read from /proc against the
// profile's requests: after the first reconcile (one reading, no CPU rate
// yet, as metrics-server) memory always has a value, and only the queue
// (the worker exports none) and, within the CPU readiness rule, cpu fail.
func TestRunResourceMetricsFromProc(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "-f", "testdata/run/resources.yaml", "--gpu", "off", "--listen", "",
		"--duration", "2500ms", "--tick", "100ms", "--sync-period", "500ms", "--ready-path", "none",
		"--", "sh", "-c", "exec sleep 60")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if n := strings.Count(errOut, "failed to get memory utilization"); n != 1 {
		t.Errorf("memory failed %d times, want once (the first reconcile):\n%s", n, errOut)
	}
	if !strings.Contains(errOut, "invalid metrics (1 invalid out of 3)") && !strings.Contains(errOut, "invalid metrics (2 invalid out of 3)") {
		t.Errorf("no reconcile read cpu or memory:\n%s", errOut)
	}
	if strings.Contains(errOut, "not read by mlscale run") || !strings.Contains(out, "replicas 1 (ready 1)") {
		t.Errorf("stdout %q, stderr:\n%s", out, errOut)
	}
}
