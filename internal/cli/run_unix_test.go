//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Without GPUs a queue policy runs: the worker starts, the loop decides,
// and at the end the worker is stopped (no orphan).
func TestRunQueuePolicyWithoutGPU(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	code, out, errOut := runCLI(t, "run", "-f", "testdata/run/queue.yaml", "--gpu", "off", "--listen", "127.0.0.1:0",
		"--duration", "1500ms", "--tick", "100ms", "--ready-path", "none",
		"--", "sh", "-c", "echo $$ > "+pidFile+"; exec sleep 60")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"Warning: GPU telemetry off", "workers start without CUDA_VISIBLE_DEVICES", "worker local-llm-1 started", "FailedGetPodsMetric", "stopping"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "replicas 1 (ready 1)") {
		t.Errorf("stdout: %q", out)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmtSscan(strings.TrimSpace(string(b)), &pid); err != nil || pid <= 0 {
		t.Fatalf("pid file %q", b)
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("worker %d still running after mlscale run ended: %v", pid, err)
	}
}

// SIGTERM stops deciding, stops the workers and exits 130.
func TestRunSIGTERMStopsWorkers(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
				time.Sleep(200 * time.Millisecond) // a tick or two
				_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	code, out, errOut := runCLI(t, "run", "-f", "testdata/run/queue.yaml", "--gpu", "off", "--listen", "",
		"--duration", "30s", "--tick", "100ms", "--ready-path", "none", "--grace", "5s",
		"--", "sh", "-c", "echo $$ > "+pidFile+"; exec sleep 60")
	<-done
	if code != ExitInterrupt || !strings.Contains(errOut, "stopping") || !strings.Contains(out, "replicas 1") {
		t.Fatalf("exit %d\nstdout %q\nstderr:\n%s", code, out, errOut)
	}
	b, _ := os.ReadFile(pidFile)
	var pid int
	if _, err := fmtSscan(strings.TrimSpace(string(b)), &pid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("worker %d still running after SIGTERM: %v", pid, err)
	}
}
