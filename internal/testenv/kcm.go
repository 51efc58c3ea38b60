package testenv

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
)

// controllerManager is a kube-controller-manager subprocess running only the
// HPA controller against the shared kube-apiserver.
type controllerManager struct {
	*process
	extra []string
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
		if cp.kcm.exited() {
			return fmt.Errorf("kube-controller-manager exited early: %v\n%s", cp.kcm.err, cp.kcm.tail())
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
	cmd := exec.Command(filepath.Join(assets, "kube-controller-manager"), kcmArgs(kubeconfig, extra)...)
	p, err := startProcess("kube-controller-manager", cmd, filepath.Join(logDir, "kube-controller-manager.log"), kcmReady, fmt.Sprintf("%q", kcmReadyMarkers))
	if err != nil {
		return nil, err
	}
	return &controllerManager{process: p, extra: extra}, nil
}
