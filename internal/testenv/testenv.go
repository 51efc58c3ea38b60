// Package testenv runs a real control plane (etcd + kube-apiserver, optionally
// kube-controller-manager with only the HPA controller, the KEDA operator and
// KEDA's metrics server) for mlscale's integration tests. Only tests import
// it. kube-apiserver has a front-proxy client certificate, so aggregated API
// servers see the real caller.
//
// The binaries are built from Go modules by hack/controlplane.sh (`make
// controlplane`, a dependency of `make test`) into AssetsDir() and
// KEDAAssetsDir(). The KEDA CRDs (ScaledObject, ScaledJob,
// TriggerAuthentication, ClusterTriggerAuthentication, and the eventing.keda.sh
// ones the operator watches) and the prometheus-operator ServiceMonitor CRD
// are installed at start.
//
// One control plane is shared by all tests of a test binary. It is started by
// the first Start call and stopped by Main when the tests are done:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		env := testenv.Start(t) // or testenv.Start(t, testenv.WithControllerManager())
//		ns := env.Namespace(t)  // a fresh namespace, deleted at cleanup
//		                        // (with WithKEDAOperator: watched by its own KEDA operator)
//		err := env.ServerSideDryRun(ctx, manifest) // *unstructured.Unstructured
//		hpas, err := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
//		restricted := env.User(t, "doctor") // *rest.Config with no RBAC grants
//		...
//	}
//
// The tests never skip silently: MLSCALE_SKIP_INTEGRATION=1 (or its alias
// MLSCALE_SKIP_CLUSTER_TESTS=1) skips them with a message; without it, missing binaries fail the test with the command that
// builds them.
package testenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Env is a handle on the shared control plane. Its clients act as the admin
// user (system:masters). All fields are safe for concurrent use; Config is a
// copy that the caller may modify.
type Env struct {
	// Config talks to kube-apiserver as admin.
	Config *rest.Config
	// Clientset is a typed client built from Config.
	Clientset kubernetes.Interface
	// Dynamic is a dynamic client built from Config.
	Dynamic dynamic.Interface
	// Mapper maps kinds to resources through discovery (CRDs included).
	Mapper meta.RESTMapper
	// Kubeconfig is the path of an admin kubeconfig file for this control
	// plane, e.g. for running the mlscale CLI against it.
	Kubeconfig string
	// AssetsDir holds the binaries and CRDs that were used.
	AssetsDir string
	// LogDir holds the logs of etcd, kube-apiserver,
	// kube-controller-manager and the KEDA operators and metrics servers
	// (removed at exit unless a test failed).
	LogDir string
	// Startup is how long the control plane took to start (etcd and
	// kube-apiserver up, CRDs installed and established).
	Startup time.Duration

	cp          *controlPlane
	keda        bool // WithKEDAOperator: Namespace starts an operator
	kedaMetrics bool // WithKEDAMetricsServer: and KEDA's metrics server
}

// Option configures Start.
type Option func(*options)

type options struct {
	kcm         bool
	kcmArgs     []string
	keda        bool
	kedaMetrics bool
}

// WithControllerManager also runs kube-controller-manager with only the
// horizontalpodautoscaling controller (1 s sync period, 1 s CPU
// initialization period and readiness delay), so HPAs get real statuses,
// conditions and events. extraArgs are appended to its flags
// ("--name=value").
//
// The controller manager is shared like the rest of the control plane: the
// first Start that asks for it starts it and it runs until Main returns. It
// acts on every HPA in the cluster, so tests should use their own namespaces.
func WithControllerManager(extraArgs ...string) Option {
	return func(o *options) {
		o.kcm = true
		o.kcmArgs = append(o.kcmArgs, extraArgs...)
	}
}

// WithKEDAOperator makes every namespace that Env.Namespace creates for the
// test come with its own KEDA operator (github.com/kedacore/keda/v2
// cmd/operator at KEDAVersion, built by hack/controlplane.sh), watching only
// that namespace (WATCH_NAMESPACE) and stopped at the test's cleanup. So
// ScaledObjects get KEDA's real status (conditions, health, hpaName), HPA
// keda-hpa-<name> and events, while the hand-written ScaledObject fixtures
// of other tests in the same binary are left alone.
//
// The operator runs without leader election, metrics or probe endpoints and
// without cert rotation (its gRPC metrics service listens on a loopback port
// with a throwaway certificate); no KEDA metrics server runs (see
// WithKEDAMetricsServer), so the HPAs it generates cannot read their
// external metrics. Start fails the test when the binary is missing (unless
// the integration tests are skipped).
func WithKEDAOperator() Option {
	return func(o *options) { o.keda = true }
}

// WithKEDAMetricsServer is WithKEDAOperator plus KEDA's metrics server
// (keda-operator-metrics-apiserver, github.com/kedacore/keda/v2 cmd/adapter
// at KEDAVersion) for the test's namespace: it reads the namespace's
// ScaledObjects, asks that namespace's operator for the metric values over
// its gRPC metrics service, and serves them as external.metrics.k8s.io,
// registered with the real aggregator as the APIService
// v1beta1.external.metrics.k8s.io (insecureSkipTLSVerify) -> Service
// <ns>/keda-operator-metrics-apiserver (type ExternalName, localhost). So,
// with WithControllerManager, KEDA's HPAs read their metrics and scale.
//
// There is one such APIService per cluster: a test with this option may
// create one namespace (Namespace fails the second), and those tests run
// one at a time (Namespace waits for the previous one's cleanup). Other
// tests of the binary that register their own external.metrics.k8s.io
// APIService must not run in parallel with them. At cleanup the APIService
// is deleted (and waited for) before the metrics server and the operator
// stop.
func WithKEDAMetricsServer() Option {
	return func(o *options) { o.keda, o.kedaMetrics = true, true }
}

var (
	mainCalled atomic.Bool
	failed     atomic.Bool

	startMu  sync.Mutex // guards shared, startErr, stopped
	shared   *controlPlane
	startErr error
	stopped  bool

	kcmMu sync.Mutex
)

type controlPlane struct {
	env   *envtest.Environment
	base  Env
	logs  []*os.File
	kcm   *controllerManager
	start time.Time

	kedaMu       sync.Mutex
	kedaProcs    map[*process]bool // running KEDA operators and metrics servers
	kedaCertOnce sync.Once
	kedaCertDir  string
	kedaCADir    string
	kedaCertErr  error
}

// Main runs the tests of a package that uses Start, then stops the shared
// control plane and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// It silences controller-runtime's logger (envtest logs through it).
//
// etcd and kube-apiserver run in their own process groups, so they would
// outlive a test binary that dies abruptly. Main therefore also stops them
// on SIGINT/SIGTERM and shortly before the -test.timeout panic.
func Main(m *testing.M) {
	mainCalled.Store(true)
	ctrllog.SetLogger(logr.Discard())
	if v := skipRequested(); v != "" {
		fmt.Fprintf(os.Stderr, "testenv: %s=1: the tests that need a control plane are skipped\n", v)
	}
	if !flag.Parsed() {
		flag.Parse()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "testenv: %v: stopping the control plane\n", s)
		failed.Store(true)
		_ = stop()
		os.Exit(1)
	}()
	if d := testTimeout(); d > 0 {
		margin := min(d/10, 15*time.Second)
		t := time.AfterFunc(d-margin, func() {
			fmt.Fprintf(os.Stderr, "testenv: -test.timeout %s nearly reached: stopping the control plane\n", d)
			failed.Store(true)
			_ = stop()
		})
		defer t.Stop()
	}
	code := m.Run()
	if code != 0 {
		failed.Store(true)
	}
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Start returns the shared control plane, starting it on first use. It skips
// the test when MLSCALE_SKIP_INTEGRATION=1 or MLSCALE_SKIP_CLUSTER_TESTS=1, and fails it when the binaries are
// missing or the control plane does not come up.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	if v := skipRequested(); v != "" {
		t.Skip("integration tests skipped: " + v + "=1")
	}
	if !mainCalled.Load() {
		t.Fatal("testenv.Start needs `func TestMain(m *testing.M) { testenv.Main(m) }` in this package; Main stops the shared control plane at exit")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir := AssetsDir()
	if err := checkAssets(dir, o.kcm); err != nil {
		t.Fatal(err)
	}
	if o.keda {
		if err := checkKEDAAssets(KEDAAssetsDir(), dir, o.kedaMetrics); err != nil {
			t.Fatal(err)
		}
	}
	startMu.Lock()
	if stopped {
		startMu.Unlock()
		t.Fatal("testenv: the control plane has been stopped (signal or -test.timeout)")
	}
	if shared == nil && startErr == nil {
		shared, startErr = startControlPlane(dir)
	}
	startMu.Unlock()
	if startErr != nil {
		t.Fatalf("testenv: starting the control plane from %s: %v", dir, startErr)
	}
	if o.kcm {
		if err := shared.ensureControllerManager(o.kcmArgs); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			failed.Store(true)
		}
	})
	e := shared.base
	e.Config = rest.CopyConfig(shared.base.Config)
	e.cp = shared
	e.keda, e.kedaMetrics = o.keda, o.kedaMetrics
	return &e
}

// User returns a config that authenticates as a new user (client
// certificate) with the given name and groups. RBAC is enabled and nothing is
// granted, so until the test creates (Cluster)RoleBindings every request is
// forbidden: use it to test behaviour under restricted permissions.
func (e *Env) User(t testing.TB, name string, groups ...string) *rest.Config {
	t.Helper()
	u, err := e.cp.env.AddUser(envtest.User{Name: name, Groups: groups}, &rest.Config{QPS: 1000, Burst: 2000})
	if err != nil {
		t.Fatalf("testenv: adding user %q: %v", name, err)
	}
	return u.Config()
}

func startControlPlane(dir string) (*controlPlane, error) {
	logDir, err := os.MkdirTemp("", "mlscale-testenv-")
	if err != nil {
		return nil, err
	}
	cp := &controlPlane{start: time.Now()}
	logFile := func(name string) io.Writer {
		f, err := os.Create(filepath.Join(logDir, name))
		if err != nil {
			return io.Discard
		}
		cp.logs = append(cp.logs, f)
		return f
	}
	apiLog, etcdLog := logFile("kube-apiserver.log"), logFile("etcd.log")

	crdDirs := []string{filepath.Join(dir, kedaCRDDir)}
	for _, d := range []string{kedaEventingCRDDir, promOperatorCRDs} {
		if st, err := os.Stat(filepath.Join(dir, d)); err == nil && st.IsDir() {
			crdDirs = append(crdDirs, filepath.Join(dir, d))
		}
	}
	apiServer := &envtest.APIServer{Path: filepath.Join(dir, "kube-apiserver"), Out: apiLog, Err: apiLog}
	if err := configureFrontProxy(apiServer, filepath.Join(logDir, "front-proxy")); err != nil {
		cp.closeLogs()
		return nil, fmt.Errorf("front-proxy certificates: %w", err)
	}
	cp.env = &envtest.Environment{
		// Explicit paths, so KUBEBUILDER_ASSETS / TEST_ASSET_* in the
		// environment cannot swap in other binaries.
		ControlPlane: envtest.ControlPlane{
			APIServer: apiServer,
			Etcd:      &envtest.Etcd{Path: filepath.Join(dir, "etcd"), Out: etcdLog, Err: etcdLog},
		},
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
		// Generous: the CI machines are small and shared.
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	cfg, err := cp.env.Start()
	if err != nil {
		_ = cp.env.Stop()
		cp.closeLogs()
		return nil, fmt.Errorf("%w\n%s", err, tails(logDir, "kube-apiserver.log", "etcd.log"))
	}
	startup := time.Since(cp.start)

	kubeconfig := filepath.Join(logDir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, cp.env.KubeConfig, 0o600); err != nil {
		_ = cp.stop()
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		_ = cp.stop()
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		_ = cp.stop()
		return nil, err
	}
	cp.base = Env{
		Config:     cfg,
		Clientset:  cs,
		Dynamic:    dyn,
		Mapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery())),
		Kubeconfig: kubeconfig,
		AssetsDir:  dir,
		LogDir:     logDir,
		Startup:    startup,
	}
	return cp, nil
}

func (cp *controlPlane) closeLogs() {
	for _, f := range cp.logs {
		_ = f.Close()
	}
}

func (cp *controlPlane) stop() error {
	var errs []error
	kcmMu.Lock()
	if cp.kcm != nil {
		errs = append(errs, cp.kcm.stop())
	}
	kcmMu.Unlock()
	errs = append(errs, cp.stopKEDA())
	if err := cp.env.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stopping etcd/kube-apiserver: %w", err))
	}
	cp.closeLogs()
	return errors.Join(errs...)
}

// testTimeout returns the value of -test.timeout (0: none).
func testTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return 0
	}
	d, _ := g.Get().(time.Duration)
	return d
}

var (
	stopOnce sync.Once
	stopErr  error
)

// stop stops the shared control plane, if one was started, once. The logs
// are kept (and their directory printed) when a test failed.
func stop() error {
	stopOnce.Do(func() { stopErr = doStop() })
	return stopErr
}

func doStop() error {
	startMu.Lock()
	defer startMu.Unlock()
	stopped = true
	if shared == nil {
		return nil
	}
	err := shared.stop()
	if dir := shared.base.LogDir; dir != "" {
		if failed.Load() || err != nil {
			fmt.Fprintf(os.Stderr, "testenv: control plane logs kept in %s\n", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}
	return err
}

// Namespace creates a namespace with a generated name for the test and
// deletes it at cleanup (no namespace controller runs, so its objects stay in
// etcd until the shared control plane stops; that is harmless). When Start
// had WithKEDAOperator, a KEDA operator watching the namespace runs until the
// test's cleanup; Namespace returns once it has started its controllers.
// With WithKEDAMetricsServer, KEDA's metrics server runs too and Namespace
// returns once the aggregator reports it Available.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns, err := e.Clientset.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "mlscale-test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testenv: creating namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = e.Clientset.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	// Registered after the deletion, so they run before it.
	switch {
	case e.kedaMetrics:
		if err := e.cp.startKEDAWithMetricsServer(t, ns.Name); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	case e.keda:
		if _, err := e.cp.startKEDAOperator(t, ns.Name, "127.0.0.1:0"); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	return ns.Name
}

// ServerSideDryRun creates obj with dryRun=All and strict field validation,
// so kube-apiserver runs defaulting, schema (CRD) and API validation and
// admission without persisting anything. Unknown or duplicate fields are
// errors too. A namespaced object without a namespace goes to "default".
// The returned error wraps the API status error (use apierrors.IsInvalid
// etc.); its message names the offending fields.
func (e *Env) ServerSideDryRun(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return fmt.Errorf("dry-run: object %q has no apiVersion/kind", obj.GetName())
	}
	m, err := e.mapping(obj)
	if err != nil {
		return fmt.Errorf("dry-run %s %q: %w", gvk.Kind, obj.GetName(), err)
	}
	var ri dynamic.ResourceInterface = e.Dynamic.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		ri = e.Dynamic.Resource(m.Resource).Namespace(ns)
	}
	_, err = ri.Create(ctx, obj, metav1.CreateOptions{
		DryRun:          []string{metav1.DryRunAll},
		FieldValidation: metav1.FieldValidationStrict,
	})
	if err != nil {
		return fmt.Errorf("dry-run %s %q: %w", gvk.Kind, obj.GetName(), err)
	}
	return nil
}

func (e *Env) mapping(obj *unstructured.Unstructured) (*meta.RESTMapping, error) {
	gvk := obj.GroupVersionKind()
	m, err := e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		// A CRD created after the first lookup: refresh discovery once.
		if r, ok := e.Mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
			m, err = e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
	}
	return m, err
}

// tails returns the last lines of the named logs in dir, for error messages.
func tails(dir string, names ...string) string {
	var out []byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		const max = 3000
		if len(b) > max {
			b = b[len(b)-max:]
		}
		out = fmt.Appendf(out, "--- %s (tail) ---\n%s\n", n, b)
	}
	return string(out)
}

// sameArgs reports whether two flag lists are equal.
func sameArgs(a, b []string) bool { return slices.Equal(a, b) }
