package live

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/testenv"
)

// TestMain doubles as the test worker: with MLSCALE_TEST_WORKER set, the
// test binary serves /ready (503 while DIR/notready-NAME exists), /metrics
// (inference_queue_depth read from DIR/queue) and /env, and exits on SIGTERM
// unless DIR/ignoreterm exists. While DIR/burn-NAME exists it keeps a core
// busy; while DIR/child-NAME exists it runs a child process (the test binary
// again, with MLSCALE_TEST_CHILD) that burns or holds memory as that file
// says.
func TestMain(m *testing.M) {
	if f := os.Getenv("MLSCALE_TEST_CHILD"); f != "" {
		os.Exit(childLoad(f))
	}
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
	go workerLoad(dir, os.Getenv("MLSCALE_WORKER"))
	for range term {
		if _, err := os.Stat(filepath.Join(dir, "ignoreterm")); err == nil {
			continue
		}
		return 0
	}
	return 0
}

var held []byte

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// burn keeps a core busy for d.
func burn(d time.Duration) {
	end := time.Now().Add(d)
	x := 1.0
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			x = x*1.0000001 + 1e-9
		}
	}
	_ = x
}

// hold keeps mib MiB allocated and touched.
func hold(mib int) {
	if mib<<20 == len(held) {
		return
	}
	held = nil
	debug.FreeOSMemory()
	if mib > 0 {
		held = make([]byte, mib<<20)
		for i := 0; i < len(held); i += 4096 {
			held[i] = 1
		}
	}
}

// workerLoad burns while DIR/burn-NAME exists, and runs a child process
// while DIR/child-NAME exists (see childLoad).
func workerLoad(dir, name string) {
	childFile := filepath.Join(dir, "child-"+name)
	var child chan struct{}
	for {
		if exists(filepath.Join(dir, "burn-"+name)) {
			burn(20 * time.Millisecond)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
		if child != nil {
			select {
			case <-child:
				child = nil
			default:
			}
		}
		if child == nil && exists(childFile) {
			exe, _ := os.Executable()
			c := exec.Command(exe)
			c.Env = append(os.Environ(), "MLSCALE_TEST_CHILD="+childFile)
			if c.Start() == nil {
				done := make(chan struct{})
				go func() { _ = c.Wait(); close(done) }()
				child = done
			}
		}
	}
}

// childLoad is a worker's child process: it reads its file ("burn": keep a
// core busy; "alloc N": hold N MiB) and exits once the file is gone.
func childLoad(file string) int {
	for {
		b, err := os.ReadFile(file)
		if err != nil {
			return 0
		}
		cmd := strings.Fields(string(b))
		switch {
		case len(cmd) == 1 && cmd[0] == "burn":
			burn(20 * time.Millisecond)
			continue
		case len(cmd) == 2 && cmd[0] == "alloc":
			n, _ := strconv.Atoi(cmd[1])
			hold(n)
		}
		time.Sleep(50 * time.Millisecond)
	}
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

func ptr[T any](v T) *T { return &v }

// queueHPA scales on the workers' inference_queue_depth, 4 per worker.
func queueHPA(minR, maxR, downWindow int32) *autoscalingv2.HorizontalPodAutoscaler {
	avg := resource.MustParse("4")
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "llm"},
			MinReplicas:    ptr(minR), MaxReplicas: maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "inference_queue_depth"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &avg},
			}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(0)), SelectPolicy: ptr(autoscalingv2.MaxChangePolicySelect),
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}}},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(downWindow), SelectPolicy: ptr(autoscalingv2.MaxChangePolicySelect),
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}},
			},
		},
	}
}

func write(t *testing.T, dir, name, v string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}
