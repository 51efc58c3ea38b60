package testenv

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// kedaOperator is a KEDA operator subprocess watching one namespace.
type kedaOperator struct {
	*process
	ns       string
	grpcAddr string // its gRPC metrics service; port 0 unless a metrics server connects to it
}

// The operator logs this (controller-runtime, JSON) once the ScaledObject
// controller's informers have synced and its workers run.
var kedaReadyMarker = []byte(`"msg":"Starting workers","controller":"scaledobject"`)

// kedaArgs are the operator's flags (github.com/kedacore/keda/v2
// cmd/operator/main.go): no leader election, no metrics or probe listeners,
// no cert rotation (which would patch webhooks and APIServices); the gRPC
// metrics service, which always starts and needs ca.crt/tls.crt/tls.key in
// --cert-dir, listens on grpcAddr (127.0.0.1:0, any free loopback port,
// unless KEDA's metrics server must know the port).
func kedaArgs(certDir, caDir, grpcAddr string) []string {
	return []string{
		"--leader-elect=false",
		"--enable-prometheus-metrics=false",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
		"--metrics-service-bind-address=" + grpcAddr,
		"--enable-cert-rotation=false",
		"--enable-webhook-patching=false",
		"--enable-apiservice-patching=false",
		"--cert-dir=" + certDir,
		"--ca-dir=" + caDir,
	}
}

// kedaEnv is the operator's environment: it watches (and reads its cluster
// objects' Secrets from) one namespace only.
func kedaEnv(kubeconfig, ns string) []string {
	return append(os.Environ(),
		"KUBECONFIG="+kubeconfig,
		"WATCH_NAMESPACE="+ns,
		"KEDA_CLUSTER_OBJECT_NAMESPACE="+ns,
		"POD_NAMESPACE="+ns,
	)
}

// kedaCertDirs writes, once per control plane, a self-signed certificate for
// the operator's gRPC metrics service and an empty directory for --ca-dir.
func (cp *controlPlane) kedaCertDirs() (certDir, caDir string, err error) {
	cp.kedaCertOnce.Do(func() {
		cp.kedaCertDir = filepath.Join(cp.base.LogDir, "keda-certs")
		cp.kedaCADir = filepath.Join(cp.base.LogDir, "keda-ca")
		cp.kedaCertErr = writeSelfSigned(cp.kedaCertDir)
		if cp.kedaCertErr == nil {
			cp.kedaCertErr = os.MkdirAll(cp.kedaCADir, 0o700)
		}
	})
	return cp.kedaCertDir, cp.kedaCADir, cp.kedaCertErr
}

func writeSelfSigned(dir string) error {
	_, der, key, err := issue(&x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "keda-operator"},
		IsCA:         true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}, nil, nil)
	if err != nil {
		return err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	return writeFiles(dir, map[string][]byte{"ca.crt": certPEM(der), "tls.crt": certPEM(der), "tls.key": kp})
}

// startKEDAOperator starts an operator watching ns, its gRPC metrics
// service on grpcAddr, waits until its ScaledObject controller runs, and
// stops it at t's cleanup.
func (cp *controlPlane) startKEDAOperator(t testing.TB, ns, grpcAddr string) (*kedaOperator, error) {
	t.Helper()
	certDir, caDir, err := cp.kedaCertDirs()
	if err != nil {
		return nil, fmt.Errorf("KEDA operator certificates: %w", err)
	}
	start := time.Now()
	op, err := startKEDAOperator(filepath.Join(KEDAAssetsDir(), kedaOperatorBinary), cp.base.Kubeconfig, cp.base.LogDir, ns, certDir, caDir, grpcAddr)
	if err != nil {
		return nil, err
	}
	cp.trackKEDA(op.process)
	t.Logf("testenv: KEDA operator %s watching namespace %s ready in %s (log %s)", KEDAVersion, ns, time.Since(start).Round(time.Millisecond), op.log)
	t.Cleanup(func() {
		cp.untrackKEDA(op.process)
		if op.exited() {
			t.Errorf("testenv: the KEDA operator watching namespace %s exited before the test ended: %v\n%s", ns, op.err, op.tail())
			return
		}
		if err := op.stop(); err != nil {
			t.Errorf("testenv: stopping %v\n%s", err, op.tail())
		}
	})
	return op, nil
}

func startKEDAOperator(bin, kubeconfig, logDir, ns, certDir, caDir, grpcAddr string) (*kedaOperator, error) {
	cmd := exec.Command(bin, kedaArgs(certDir, caDir, grpcAddr)...)
	cmd.Env = kedaEnv(kubeconfig, ns)
	// Its own process group, like etcd and kube-apiserver: a ^C reaches the
	// test binary, whose Main stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ready := func(log []byte) bool { return bytes.Contains(log, kedaReadyMarker) }
	p, err := startProcess("KEDA operator (namespace "+ns+")", cmd, filepath.Join(logDir, "keda-operator-"+ns+".log"), ready, string(kedaReadyMarker))
	if err != nil {
		return nil, err
	}
	return &kedaOperator{process: p, ns: ns, grpcAddr: grpcAddr}, nil
}

// trackKEDA and untrackKEDA maintain the set of running KEDA processes that
// stopKEDA stops.
func (cp *controlPlane) trackKEDA(p *process) {
	cp.kedaMu.Lock()
	defer cp.kedaMu.Unlock()
	if cp.kedaProcs == nil {
		cp.kedaProcs = map[*process]bool{}
	}
	cp.kedaProcs[p] = true
}

func (cp *controlPlane) untrackKEDA(p *process) {
	cp.kedaMu.Lock()
	defer cp.kedaMu.Unlock()
	delete(cp.kedaProcs, p)
}

// stopKEDA stops the KEDA operators and metrics servers whose tests did not
// clean up (a signal or -test.timeout).
func (cp *controlPlane) stopKEDA() error {
	cp.kedaMu.Lock()
	defer cp.kedaMu.Unlock()
	var errs []error
	for p := range cp.kedaProcs {
		errs = append(errs, p.stop())
		delete(cp.kedaProcs, p)
	}
	return errors.Join(errs...)
}
