package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
)

const (
	// kedaMetricsServerBinary is the file name of KEDA's metrics server
	// (cmd/adapter, keda-operator-metrics-apiserver) in KEDAAssetsDir.
	kedaMetricsServerBinary = "keda-adapter"

	// ExternalMetricsAPIService is the APIService that WithKEDAMetricsServer
	// registers (and removes at cleanup).
	ExternalMetricsAPIService = "v1beta1.external.metrics.k8s.io"

	// KEDAMetricsServerService is the name of the Service (type
	// ExternalName, localhost) in the test's namespace that the APIService
	// points at: KEDA's own name for it.
	KEDAMetricsServerService = "keda-operator-metrics-apiserver"
)

var gvrAPIService = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// metricsServerMu is held from the Namespace call of a WithKEDAMetricsServer
// test to its cleanup: there is one external.metrics.k8s.io APIService per
// cluster, so those tests run one at a time.
var (
	metricsServerMu       sync.Mutex
	metricsServerHolder   testing.TB // guarded by metricsServerHolderMu
	metricsServerHolderMu sync.Mutex
)

// The metrics server (k8s.io/apiserver) logs this once its secure port
// listens.
var kedaMetricsServerReadyMarker = []byte("Serving securely on ")

// kedaMetricsServerArgs are the flags of KEDA's metrics server
// (github.com/kedacore/keda/v2 cmd/adapter/main.go and
// sigs.k8s.io/custom-metrics-apiserver): HTTPS on securePort with the
// throwaway certificate (the APIService skips TLS verification); --cert-dir
// is where it also finds ca.crt/tls.crt/tls.key for its gRPC client of the
// operator's metrics service at grpcAddr. It delegates authentication and
// authorization to kube-apiserver as in a cluster: the aggregator presents
// the front-proxy client certificate (configureFrontProxy) with the caller's
// identity, and a SubjectAccessReview checks that caller (e.g. the HPA
// controller) may get the external metric.
func kedaMetricsServerArgs(kubeconfig, certDir, grpcAddr string, securePort int) []string {
	return []string{
		"--secure-port=" + strconv.Itoa(securePort),
		"--bind-address=127.0.0.1",
		"--cert-dir=" + certDir,
		"--tls-cert-file=" + filepath.Join(certDir, "tls.crt"),
		"--tls-private-key-file=" + filepath.Join(certDir, "tls.key"),
		"--metrics-service-address=" + grpcAddr,
		"--lister-kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--port=0", // its Prometheus /metrics listener: any free port
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startKEDAWithMetricsServer starts, for namespace ns, a KEDA operator and
// KEDA's metrics server connected to its gRPC metrics service, registers
// the metrics server as external.metrics.k8s.io (Service ns/
// keda-operator-metrics-apiserver, APIService v1beta1.external.metrics.k8s.io)
// and waits until the aggregator reports the APIService Available. At t's
// cleanup, in reverse order: the APIService is deleted (and gone), then the
// metrics server and the operator stop.
func (cp *controlPlane) startKEDAWithMetricsServer(t testing.TB, ns string) error {
	t.Helper()
	metricsServerHolderMu.Lock()
	held := metricsServerHolder == t
	metricsServerHolderMu.Unlock()
	if held {
		return fmt.Errorf("WithKEDAMetricsServer: this test already has a namespace with KEDA's metrics server (one external.metrics.k8s.io APIService per cluster)")
	}
	metricsServerMu.Lock()
	metricsServerHolderMu.Lock()
	metricsServerHolder = t
	metricsServerHolderMu.Unlock()
	t.Cleanup(func() {
		metricsServerHolderMu.Lock()
		metricsServerHolder = nil
		metricsServerHolderMu.Unlock()
		metricsServerMu.Unlock()
	})

	grpcPort, err := freePort()
	if err != nil {
		return err
	}
	op, err := cp.startKEDAOperator(t, ns, "127.0.0.1:"+strconv.Itoa(grpcPort))
	if err != nil {
		return err
	}
	certDir, _, err := cp.kedaCertDirs()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	start := time.Now()
	cmd := exec.Command(filepath.Join(KEDAAssetsDir(), kedaMetricsServerBinary), kedaMetricsServerArgs(cp.base.Kubeconfig, certDir, op.grpcAddr, port)...)
	cmd.Env = kedaEnv(cp.base.Kubeconfig, ns)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ready := func(log []byte) bool { return bytes.Contains(log, kedaMetricsServerReadyMarker) }
	p, err := startProcess("KEDA metrics server (namespace "+ns+")", cmd, filepath.Join(cp.base.LogDir, "keda-metrics-server-"+ns+".log"), ready, string(kedaMetricsServerReadyMarker))
	if err != nil {
		return err
	}
	cp.trackKEDA(p)
	t.Cleanup(func() {
		cp.untrackKEDA(p)
		if p.exited() {
			t.Errorf("testenv: KEDA's metrics server for namespace %s exited before the test ended: %v\n%s", ns, p.err, p.tail())
			return
		}
		if err := p.stop(); err != nil {
			t.Errorf("testenv: stopping %v\n%s", err, p.tail())
		}
	})
	if err := cp.registerExternalMetrics(t, ns, port); err != nil {
		return fmt.Errorf("%w\n%s", err, p.tail())
	}
	t.Logf("testenv: KEDA metrics server %s for namespace %s (operator gRPC %s) serving %s in %s (log %s)",
		KEDAVersion, ns, op.grpcAddr, ExternalMetricsAPIService, time.Since(start).Round(time.Millisecond), p.log)
	return nil
}

// registerExternalMetrics creates the ExternalName Service and the
// APIService for a metrics server on localhost:port, waits until the
// APIService is Available, and removes both at t's cleanup.
func (cp *controlPlane) registerExternalMetrics(t testing.TB, ns string, port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, dyn := cp.base.Clientset, cp.base.Dynamic
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: KEDAMetricsServerService, Namespace: ns},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(port)}}},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating Service %s/%s: %w", ns, KEDAMetricsServerService, err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Services(ns).Delete(context.Background(), KEDAMetricsServerService, metav1.DeleteOptions{})
	})
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": ExternalMetricsAPIService, "labels": map[string]any{
			"app.kubernetes.io/name": KEDAMetricsServerService, "app.kubernetes.io/part-of": "keda-operator"}},
		"spec": map[string]any{
			"group": "external.metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": true,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"service": map[string]any{"namespace": ns, "name": KEDAMetricsServerService, "port": int64(port)},
		},
	}}
	if _, err := dyn.Resource(gvrAPIService).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating APIService %s (another test's left over?): %w", ExternalMetricsAPIService, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dyn.Resource(gvrAPIService).Delete(ctx, ExternalMetricsAPIService, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("testenv: deleting APIService %s: %v", ExternalMetricsAPIService, err)
			return
		}
		err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(gvrAPIService).Get(ctx, ExternalMetricsAPIService, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Errorf("testenv: APIService %s still exists after deletion", ExternalMetricsAPIService)
		}
	})
	var last any
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		a, err := dyn.Resource(gvrAPIService).Get(ctx, ExternalMetricsAPIService, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(a.Object, "status", "conditions")
		last = conds
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Available" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("APIService %s never became Available: %v", ExternalMetricsAPIService, last)
	}
	return nil
}
