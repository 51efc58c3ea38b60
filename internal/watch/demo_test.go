package watch_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mlscale/mlscale/internal/testenv"
	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/watchtest"
)

// TestDemoScreenshot records the screens of docs/watch.md from a real run:
// kube-apiserver with the real HPA controller (testenv), the binary in
// tmux. It runs only with MLSCALE_WATCH_DEMO=DIR (where the captures go)
// and MLSCALE_BIN=path/to/mlscale.
func TestDemoScreenshot(t *testing.T) {
	dir, bin := os.Getenv("MLSCALE_WATCH_DEMO"), os.Getenv("MLSCALE_BIN")
	if dir == "" || bin == "" {
		t.Skip("records docs/watch.md's screens: set MLSCALE_WATCH_DEMO=DIR and MLSCALE_BIN=path/to/mlscale")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	env := testenv.Start(t, testenv.WithControllerManager())
	ns := env.Namespace(t)
	ctx := context.Background()
	cs := env.Clientset

	// llm-inference: a cpu HPA on a cluster without metrics-server
	d := deploymentFor(ns, "llm-inference")
	d.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		p := watchtest.Pod(ns, "llm-inference", i, false)
		p.CreationTimestamp = metav1.Time{}
		p.Status = corev1.PodStatus{}
		p.Spec.NodeName = ""
		p.Spec.Containers[0].Image = "registry.k8s.io/pause:3.10"
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h := watchtest.CPUHPA(ns, "llm-inference", 0, 0, nil)
	h.CreationTimestamp = metav1.Time{}
	h.Spec.MinReplicas = ptr.To[int32](2)
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// queue-worker: an External metric with no external metrics API
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deploymentFor(ns, "queue-worker"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ext := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "queue-worker"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "queue-worker"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 8,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "rabbitmq_queue_messages_ready"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("30"))}}}},
		},
	}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, ext, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// embedder: the HPA names a Deployment that does not exist
	miss := watchtest.CPUHPA(ns, "embedder", 0, 0, nil)
	miss.CreationTimestamp = metav1.Time{}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, miss, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// batch-scorer: a ScaledObject, but no KEDA operator runs
	so := watchtest.ScaledObject(ns, "batch-scorer")
	delete(so.Object, "status")
	if _, err := env.Dynamic.Resource(watch.ScaledObjectsGVR).Namespace(ns).Create(ctx, so, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	tmux("-f", "/dev/null", "new-session", "-d", "-s", "demo", "-x", "150", "-y", "45",
		"env TERM=xterm-256color "+bin+" watch --kubeconfig "+env.Kubeconfig+" -n "+ns+" --sample 1s; sleep 30")
	defer exec.Command("tmux", "-S", sock, "kill-server").Run()
	wait := func(what string) string {
		for range 300 {
			p := tmux("capture-pane", "-p", "-t", "demo")
			if strings.Contains(p, what) {
				return p
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%q not on screen:\n%s", what, tmux("capture-pane", "-p", "-t", "demo"))
		return ""
	}
	wait("FailedGetExternalMetric")
	wait("FailedGetScale")
	time.Sleep(12 * time.Second) // a few sparkline samples
	table := tmux("capture-pane", "-p", "-t", "demo")
	tmux("send-keys", "-t", "demo", "j")
	tmux("send-keys", "-t", "demo", "j")
	tmux("send-keys", "-t", "demo", "Enter")
	wait("Last decision explained")
	top := tmux("capture-pane", "-p", "-t", "demo")
	tmux("send-keys", "-t", "demo", "d")
	tmux("send-keys", "-t", "demo", "G")
	time.Sleep(5 * time.Second) // doctor collects
	tmux("send-keys", "-t", "demo", "G")
	detail := wait("Doctor")
	tmux("send-keys", "-t", "demo", "q")
	once, err := exec.Command(bin, "watch", "--kubeconfig", env.Kubeconfig, "-n", ns, "--once").CombinedOutput()
	if err != nil {
		t.Fatalf("watch --once: %v: %s", err, once)
	}
	clean := func(s string) string { return strings.ReplaceAll(s, ns, "ml-serving") }
	for name, s := range map[string]string{"table.txt": table, "detail.txt": top, "detail-end.txt": detail, "once.txt": string(once)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(clean(s)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
