package watch_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/mlscale/mlscale/internal/cli"
	"github.com/mlscale/mlscale/internal/iostreams"
	"github.com/mlscale/mlscale/internal/testenv"
	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/tui"
	"github.com/mlscale/mlscale/internal/watch/watchtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// within polls cond for up to 2 s (the bound) and reports how long
// it took.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 2*time.Second {
		if cond() {
			t.Logf("%s: seen after %s", what, time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not seen within 2s", what)
}

// tick advances the TUI and returns its screen.
func tick(m *tui.Model) string {
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 40})
	m.Update(tui.Tick())
	return ansi.Strip(m.View())
}

func TestLiveAgainstKubeAPIServer(t *testing.T) {
	env := testenv.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	store := watch.NewStore("testenv", ns, nil)
	src := &watch.Source{Client: env.Clientset, Dynamic: env.Dynamic, Namespace: ns, Store: store, SampleEvery: 100 * time.Millisecond}
	if err := src.Start(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if !store.Snapshot().KEDA {
		t.Error("the KEDA CRDs are installed in testenv but not detected")
	}
	m := tui.New(tui.Options{Feed: store})

	// 1. an HPA created
	h := watchtest.CPUHPA(ns, "web", 0, 0, nil)
	h.CreationTimestamp = metav1.Time{}
	hpas := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns)
	created, err := hpas.Create(ctx, h, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	within(t, "HPA created", func() bool {
		s := tick(m)
		return strings.Contains(s, "web") && strings.Contains(s, "Unknown: NoStatus")
	})

	// 2. its status updated (what the HPA controller writes)
	created.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: 2, DesiredReplicas: 4,
		CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](120)}}}},
		Conditions: watchtest.Healthy,
	}
	if _, err := hpas.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	within(t, "HPA status", func() bool {
		s := tick(m)
		return strings.Contains(s, "2/4") && strings.Contains(s, "cpu: 120%/60%")
	})

	// 3. an event posted: the detail view lists it
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: "web.scaled"},
		InvolvedObject: corev1.ObjectReference{Kind: "HorizontalPodAutoscaler", Name: "web", Namespace: ns, APIVersion: "autoscaling/v2"},
		Type:           "Normal", Reason: "SuccessfulRescale", Message: "New size: 4; reason: cpu resource utilization (percentage of request) above target",
		Source: corev1.EventSource{Component: "horizontal-pod-autoscaler"}, LastTimestamp: metav1.Now(), FirstTimestamp: metav1.Now(), Count: 1,
	}
	if _, err := env.Clientset.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	within(t, "event", func() bool {
		return strings.Contains(tick(m), "New size: 4; reason: cpu resource utilization")
	})
	m.Update(tea.KeyMsg{Type: tea.KeyEsc})

	// 4. a KEDA ScaledObject (dynamic informer)
	so := watchtest.ScaledObject(ns, "worker")
	unstructured.RemoveNestedField(so.Object, "status")
	if _, err := env.Dynamic.Resource(watch.ScaledObjectsGVR).Namespace(ns).Create(ctx, so, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	within(t, "ScaledObject", func() bool {
		s := tick(m)
		return strings.Contains(s, "worker") && strings.Contains(s, "ScaledObject")
	})

	// 5. deleted
	if err := hpas.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	within(t, "HPA deleted", func() bool { return !strings.Contains(tick(m), "cpu: 120%") })
	if store.Snapshot().Status != "" {
		t.Errorf("status line: %s", store.Snapshot().Status)
	}
}

// An unreachable API server: a status line, no crash, and Start gives up
// after its timeout while the informers keep retrying.
func TestUnreachableServerShowsStatus(t *testing.T) {
	cs := kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1", Timeout: 200 * time.Millisecond})
	store := watch.NewStore("gone", "default", nil)
	src := &watch.Source{Client: cs, Namespace: "default", Store: store, ProbeEvery: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := src.Start(ctx, 1500*time.Millisecond)
	if err != nil && !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Start's error does not carry the API error: %v", err)
	}
	if err == nil {
		t.Fatal("Start on a closed port succeeded")
	}
	s := store.Snapshot()
	if !strings.Contains(s.Status, "reconnecting") {
		t.Errorf("status = %q", s.Status)
	}
	m := tui.New(tui.Options{Feed: store})
	if v := tick(m); !strings.Contains(v, "API error watching") {
		t.Errorf("no status line on screen:\n%s", v)
	}
}

// `mlscale watch --once` against the real API server, table and JSON.
func TestWatchOnceCommand(t *testing.T) {
	env := testenv.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	h := watchtest.CPUHPA(ns, "embedder", 0, 0, nil)
	h.CreationTimestamp = metav1.Time{}
	created, err := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 2, Conditions: watchtest.Failing}
	if _, err := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clientset.AppsV1().Deployments(ns).Create(ctx, deploymentFor(ns, "embedder"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := iostreams.Test()
	if code := cli.Run(ctx, ios, []string{"watch", "--kubeconfig", env.Kubeconfig, "-n", ns, "--once"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"embedder", "cpu: <unknown>/60%", "Failing: FailedGetResourceMetric", "pods.metrics.k8s.io"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	ios, _, out, errOut = iostreams.Test()
	if code := cli.Run(ctx, ios, []string{"watch", "--kubeconfig", env.Kubeconfig, "-n", ns, "-o", "json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var snap watch.Snapshot
	if err := json.Unmarshal(out.Bytes(), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Rows) != 1 || snap.Rows[0].Reason != "FailedGetResourceMetric" || len(snap.Rows[0].Conditions) != 2 || snap.Namespace != ns {
		t.Errorf("json = %s", out)
	}
}
