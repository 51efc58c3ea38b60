package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// KubernetesVersion must match what hack/controlplane.sh builds.
func TestKubernetesVersionMatchesToolsModule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "k8sbin", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/kubernetes (v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("hack/k8sbin/go.mod does not require k8s.io/kubernetes")
	}
	if got := string(m[1]); got != KubernetesVersion {
		t.Errorf("hack/k8sbin/go.mod has k8s.io/kubernetes %s, testenv.KubernetesVersion = %s", got, KubernetesVersion)
	}
	// Every staging module is pinned to the matching v0.x tag.
	want := "v0" + strings.TrimPrefix(KubernetesVersion, "v1")
	reps := regexp.MustCompile(`(?m)^\s*(k8s\.io/\S+) => (k8s\.io/\S+) (v\S+)$`).FindAllSubmatch(b, -1)
	if len(reps) != 33 {
		t.Errorf("hack/k8sbin/go.mod has %d staging replaces, want 33", len(reps))
	}
	for _, r := range reps {
		if string(r[1]) != string(r[2]) || string(r[3]) != want {
			t.Errorf("replace %s => %s %s, want => %s %s", r[1], r[2], r[3], r[1], want)
		}
	}
}

func TestAssetsDir(t *testing.T) {
	t.Setenv(EnvAssets, "/x/assets")
	if got := AssetsDir(); got != "/x/assets" {
		t.Errorf("with %s: AssetsDir() = %q", EnvAssets, got)
	}
	t.Setenv(EnvAssets, "")
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if got, want := AssetsDir(), "/x/cache/mlscale/k8s-"+KubernetesVersion; got != want {
		t.Errorf("with XDG_CACHE_HOME: AssetsDir() = %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/x/home")
	if got, want := AssetsDir(), "/x/home/.cache/mlscale/k8s-"+KubernetesVersion; got != want {
		t.Errorf("with HOME: AssetsDir() = %q, want %q", got, want)
	}
}

func TestCheckAssetsMissing(t *testing.T) {
	dir := t.TempDir()
	err := checkAssets(dir, true)
	if err == nil {
		t.Fatal("checkAssets on an empty dir: nil error")
	}
	for _, want := range []string{
		filepath.Join(dir, "etcd"), filepath.Join(dir, "kube-apiserver"),
		filepath.Join(dir, "kube-controller-manager"), filepath.Join(dir, kedaCRDDir),
		"make controlplane", "hack/controlplane.sh", "MLSCALE_SKIP_INTEGRATION=1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}

	for _, b := range []string{"etcd", "kube-apiserver"} {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kube-controller-manager"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, kedaCRDDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkAssets(dir, false); err != nil {
		t.Errorf("complete assets without kube-controller-manager: %v", err)
	}
	err = checkAssets(dir, true)
	if err == nil || !strings.Contains(err.Error(), "kube-controller-manager (not an executable file)") {
		t.Errorf("non-executable kube-controller-manager: err = %v", err)
	}
}

func TestKCMArgs(t *testing.T) {
	got := strings.Join(kcmArgs("/k", []string{"--v=2"}), " ")
	for _, want := range []string{"--kubeconfig=/k", "--controllers=horizontalpodautoscaling", "--leader-elect=false", "--secure-port=0", "--horizontal-pod-autoscaler-sync-period=1s", "--v=2"} {
		if !strings.Contains(got, want) {
			t.Errorf("kcm args %q lack %q", got, want)
		}
	}
}

// KEDAVersion must match the operator hack/controlplane.sh builds and the
// KEDA whose CRDs it stages (the main go.mod's).
func TestKEDAVersionMatchesModules(t *testing.T) {
	re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/kedacore/keda/v2 (v\S+)`)
	for _, f := range []string{filepath.Join("..", "..", "hack", "kedabin", "go.mod"), filepath.Join("..", "..", "go.mod")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(b)
		if m == nil {
			t.Errorf("%s does not require github.com/kedacore/keda/v2", f)
			continue
		}
		if got := string(m[1]); got != KEDAVersion {
			t.Errorf("%s has github.com/kedacore/keda/v2 %s, testenv.KEDAVersion = %s", f, got, KEDAVersion)
		}
	}
	// KEDA's own replaces are copied: its go.mod pins k8s.io/* below the
	// control plane's version, and dependents do not inherit replaces.
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "kedabin", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"k8s.io/client-go => k8s.io/client-go v0.", "sigs.k8s.io/controller-runtime => sigs.k8s.io/controller-runtime v0."} {
		if !strings.Contains(string(b), want) {
			t.Errorf("hack/kedabin/go.mod lacks %q", want)
		}
	}
	// The operator and the metrics server are tools of the module (a tool
	// block), so go.sum covers both.
	tools := regexp.MustCompile(`(?s)\ntool \((.*?)\n\)`).FindSubmatch(b)
	for _, pkg := range []string{"github.com/kedacore/keda/v2/cmd/operator", "github.com/kedacore/keda/v2/cmd/adapter"} {
		if tools == nil || !regexp.MustCompile(`(?m)^\s*`+regexp.QuoteMeta(pkg)+`$`).Match(tools[1]) {
			t.Errorf("hack/kedabin/go.mod's tool block lacks %s", pkg)
		}
	}
}

func TestKEDAAssetsDir(t *testing.T) {
	t.Setenv(EnvKEDAAssets, "/x/keda")
	if got := KEDAAssetsDir(); got != "/x/keda" {
		t.Errorf("with %s: KEDAAssetsDir() = %q", EnvKEDAAssets, got)
	}
	t.Setenv(EnvKEDAAssets, "")
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if got, want := KEDAAssetsDir(), "/x/cache/mlscale/keda-"+KEDAVersion; got != want {
		t.Errorf("with XDG_CACHE_HOME: KEDAAssetsDir() = %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/x/home")
	if got, want := KEDAAssetsDir(), "/x/home/.cache/mlscale/keda-"+KEDAVersion; got != want {
		t.Errorf("with HOME: KEDAAssetsDir() = %q, want %q", got, want)
	}
}

func TestCheckKEDAAssetsMissing(t *testing.T) {
	kedaDir, dir := t.TempDir(), t.TempDir()
	err := checkKEDAAssets(kedaDir, dir, true)
	if err == nil {
		t.Fatal("checkKEDAAssets on empty dirs: nil error")
	}
	for _, want := range []string{
		filepath.Join(kedaDir, "keda-operator"), filepath.Join(kedaDir, "keda-adapter"), filepath.Join(dir, kedaEventingCRDDir),
		"make controlplane", "hack/controlplane.sh", "MLSCALE_SKIP_INTEGRATION=1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, kedaEventingCRDDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kedaDir, "keda-operator"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkKEDAAssets(kedaDir, dir, false); err == nil || !strings.Contains(err.Error(), "keda-operator (not an executable file)") {
		t.Errorf("non-executable keda-operator: err = %v", err)
	}
	if err := os.Chmod(filepath.Join(kedaDir, "keda-operator"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkKEDAAssets(kedaDir, dir, false); err != nil {
		t.Errorf("complete KEDA operator assets: %v", err)
	}
	// The metrics server only when asked for.
	err = checkKEDAAssets(kedaDir, dir, true)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(kedaDir, "keda-adapter")) || strings.Contains(err.Error(), "keda-operator") {
		t.Errorf("without keda-adapter, with the metrics server: err = %v", err)
	}
	if err := os.WriteFile(filepath.Join(kedaDir, "keda-adapter"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkKEDAAssets(kedaDir, dir, true); err != nil {
		t.Errorf("complete KEDA assets: %v", err)
	}
}

func TestKEDAArgsAndEnv(t *testing.T) {
	got := strings.Join(kedaArgs("/certs", "/ca", "127.0.0.1:0"), " ")
	for _, want := range []string{"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--metrics-service-bind-address=127.0.0.1:0", "--enable-cert-rotation=false", "--cert-dir=/certs", "--ca-dir=/ca"} {
		if !strings.Contains(got, want) {
			t.Errorf("keda args %q lack %q", got, want)
		}
	}
	t.Setenv("KUBECONFIG", "/elsewhere")
	env := kedaEnv("/k", "ns1")
	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v // os/exec uses the last of duplicate keys
	}
	for k, v := range map[string]string{"KUBECONFIG": "/k", "WATCH_NAMESPACE": "ns1", "KEDA_CLUSTER_OBJECT_NAMESPACE": "ns1", "POD_NAMESPACE": "ns1"} {
		if last[k] != v {
			t.Errorf("keda env %s = %q, want %q", k, last[k], v)
		}
	}
}

func TestKEDAMetricsServerArgs(t *testing.T) {
	got := strings.Join(kedaMetricsServerArgs("/k", "/certs", "127.0.0.1:9666", 6443), " ")
	for _, want := range []string{"--secure-port=6443", "--bind-address=127.0.0.1", "--cert-dir=/certs",
		"--tls-cert-file=/certs/tls.crt", "--tls-private-key-file=/certs/tls.key", "--metrics-service-address=127.0.0.1:9666",
		"--authentication-kubeconfig=/k", "--authorization-kubeconfig=/k", "--lister-kubeconfig=/k", "--port=0"} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics server args %q lack %q", got, want)
		}
	}
}

// The aggregator's client certificate must verify against the CA that
// kube-apiserver publishes as requestheader-client-ca-file, for client auth.
func TestFrontProxyCerts(t *testing.T) {
	dir := t.TempDir()
	if err := writeFrontProxyCerts(dir); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("front-proxy client certificate: %v", err)
	}
	if leaf.Subject.CommonName != frontProxyUser {
		t.Errorf("CN = %q, want %q", leaf.Subject.CommonName, frontProxyUser)
	}
}
