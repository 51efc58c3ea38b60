package live

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/mlscale/mlscale/internal/testenv"
)

// TestMain doubles as the test worker: with MLSCALE_TEST_WORKER set, the
// test binary serves /ready (503 while DIR/notready-NAME exists), /metrics
// (inference_queue_depth read from DIR/queue) and /env, and exits on SIGTERM
// unless DIR/ignoreterm exists.
func TestMain(m *testing.M) {
	if dir := os.Getenv("MLSCALE_TEST_WORKER"); dir != "" {
		os.Exit(testWorker(dir))
	}
	testenv.Main(m)
}

func testWorker(dir string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if _, err := os.Stat(filepath.Join(dir, "notready-"+os.Getenv("MLSCALE_WORKER"))); err == nil {
			http.Error(w, "loading", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		q, _ := os.ReadFile(filepath.Join(dir, "queue"))
		v := strings.TrimSpace(string(q))
		if v == "" {
			v = "0"
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE inference_queue_depth gauge\ninference_queue_depth %s\n", v)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, os.Getenv("CUDA_VISIBLE_DEVICES"))
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: mux}
	go func() { _ = srv.ListenAndServe() }()
	for range term {
		if _, err := os.Stat(filepath.Join(dir, "ignoreterm")); err == nil {
			continue
		}
		return 0
	}
	return 0
}

// fakeTarget is an in-memory scale target: every pod exists and is ready.
type fakeTarget struct {
	spec       int32
	scales     []int32
	metrics    string
	closed     bool
	observeErr error
}

func (f *fakeTarget) Observe(context.Context, time.Time) (Observed, error) {
	o := Observed{Spec: f.spec, Status: f.spec}
	for i := int32(0); i < f.spec; i++ {
		o.Pods = append(o.Pods, Pod{Name: fmt.Sprintf("p-%d", i), Phase: corev1.PodRunning, Ready: true, MetricsURL: f.metrics,
			Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ReadySince: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	return o, f.observeErr
}

func (f *fakeTarget) Scale(_ context.Context, _ time.Time, n int32) error {
	f.spec = n
	f.scales = append(f.scales, n)
	return nil
}

func (f *fakeTarget) Close(context.Context) error { f.closed = true; return nil }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// eventually polls cond in real time (the workers are real processes).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func workerMetricsServer(t *testing.T, queue float64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE inference_queue_depth gauge\ninference_queue_depth %g\n", queue)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}
