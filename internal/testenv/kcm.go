package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// controllerManager is a kube-controller-manager subprocess running only the
// HPA controller against the shared kube-apiserver.
type controllerManager struct {
	cmd   *exec.Cmd
	extra []string
	log   string
	done  chan struct{}
	err   error // set before done is closed
}

// kube-controller-manager logs these, in this order, once the HPA controller
// runs and its informers have synced (k8s.io/kubernetes
// pkg/controller/podautoscaler/horizontal.go, Run).
var kcmReadyMarkers = [][]byte{[]byte("Starting HPA controller"), []byte("Caches are synced")}

// kcmReady reports whether the log shows the markers in order.
func kcmReady(log []byte) bool {
	for _, m := range kcmReadyMarkers {
		i := bytes.Index(log, m)
		if i < 0 {
			return false
		}
		log = log[i+len(m):]
	}
	return true
}

// kcmArgs are the flags of the HPA-only controller manager (doctor-tui.md
// §4.4): no leader election, no serving, fast HPA resyncs.
func kcmArgs(kubeconfig string, extra []string) []string {
	return append([]string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=horizontalpodautoscaling",
		"--leader-elect=false",
		"--secure-port=0",
		"--horizontal-pod-autoscaler-sync-period=1s",
		"--horizontal-pod-autoscaler-cpu-initialization-period=1s",
		"--horizontal-pod-autoscaler-initial-readiness-delay=1s",
	}, extra...)
}

// ensureControllerManager starts the shared controller manager once. A later
// call with different extra flags is an error: the process is shared.
func (cp *controlPlane) ensureControllerManager(extra []string) error {
	kcmMu.Lock()
	defer kcmMu.Unlock()
	if cp.kcm != nil {
		select {
		case <-cp.kcm.done:
			return fmt.Errorf("kube-controller-manager exited early: %v\n%s", cp.kcm.err, tails(filepath.Dir(cp.kcm.log), filepath.Base(cp.kcm.log)))
		default:
		}
		if !sameArgs(cp.kcm.extra, extra) {
			return fmt.Errorf("kube-controller-manager already runs with extra flags %q; this test asks for %q (it is shared per test binary)", cp.kcm.extra, extra)
		}
		return nil
	}
	kcm, err := startControllerManager(cp.base.AssetsDir, cp.base.Kubeconfig, cp.base.LogDir, extra)
	if err != nil {
		return err
	}
	cp.kcm = kcm
	return nil
}

func startControllerManager(assets, kubeconfig, logDir string, extra []string) (*controllerManager, error) {
	logPath := filepath.Join(logDir, "kube-controller-manager.log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(assets, "kube-controller-manager"), kcmArgs(kubeconfig, extra)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	kcm := &controllerManager{cmd: cmd, extra: extra, log: logPath, done: make(chan struct{})}
	go func() {
		kcm.err = cmd.Wait()
		_ = f.Close()
		close(kcm.done)
	}()

	const timeout = 60 * time.Second
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(logPath)
		if kcmReady(b) {
			return kcm, nil
		}
		select {
		case <-kcm.done:
			return nil, fmt.Errorf("kube-controller-manager exited during startup: %v\n%s", kcm.err, tails(logDir, filepath.Base(logPath)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = kcm.stop()
			return nil, fmt.Errorf("kube-controller-manager did not log %q within %s\n%s", kcmReadyMarkers, timeout, tails(logDir, filepath.Base(logPath)))
		}
	}
}

// stop sends SIGTERM, then SIGKILL after 10 s.
func (k *controllerManager) stop() error {
	select {
	case <-k.done:
		return nil
	default:
	}
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(10 * time.Second):
		_ = k.cmd.Process.Kill()
		<-k.done
	}
	var ee *exec.ExitError
	if k.err != nil && !(errors.As(k.err, &ee) && (strings.Contains(ee.String(), "terminated") || strings.Contains(ee.String(), "killed"))) {
		return fmt.Errorf("kube-controller-manager: %w", k.err)
	}
	return nil
}
