package live

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/testenv"
)

// The deployment target against a real kube-apiserver: the loop reads the
// scale subresource and the pods by its selector, scrapes the pod's metrics
// at its IP and writes the HPA's decision through the scale subresource.
func TestDeploymentTargetScalesThroughSubresource(t *testing.T) {
	env := testenv.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	labels := map[string]string{"app": "llm"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "w", Image: "worker:v1"}}},
			},
		},
	}
	if _, err := env.Clientset.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// no controllers run: create the two pods by hand, running and ready,
	// with the loopback address so that the scrape reaches a test server
	murl, _ := url.Parse(workerMetricsServer(t, 20))
	_, portStr, _ := net.SplitHostPort(murl.Host)
	port, _ := strconv.Atoi(portStr)
	for _, name := range []string{"llm-a", "llm-b"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: dep.Spec.Template.Spec}
		created, err := env.Clientset.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := metav1.NewTime(t0)
		created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1", StartTime: &now,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}}
		if _, err := env.Clientset.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// the scale subresource reports status.replicas from the Deployment status
	got, _ := env.Clientset.AppsV1().Deployments(ns).Get(ctx, "llm", metav1.GetOptions{})
	got.Status.Replicas, got.Status.ReadyReplicas = 2, 2
	if _, err := env.Clientset.AppsV1().Deployments(ns).UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	tgt := NewDeployment(DeploymentConfig{Client: env.Clientset, Namespace: ns, Name: "llm", MetricsPort: int32(port), MetricsPath: "/metrics"})
	o, err := tgt.Observe(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if o.Spec != 2 || o.Status != 2 || len(o.Pods) != 2 || o.Ready() != 2 || o.Pods[0].MetricsURL != "http://127.0.0.1:"+portStr+"/metrics" {
		t.Fatalf("observed: %+v", o)
	}
	loop, err := NewLoop(Config{HPA: queueHPA(1, 8, 0), Target: tgt})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Step(ctx, t0); err != nil {
		t.Fatal(err)
	}
	// 20 per pod / 4 -> 10; scale-up limit 4 pods per 15 s from 2 -> 6
	s, err := env.Clientset.AppsV1().Deployments(ns).GetScale(ctx, "llm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec.Replicas != 6 {
		t.Errorf("scale.spec.replicas = %d, want 6", s.Spec.Replicas)
	}
	if err := tgt.Scale(ctx, t0, 0); err != nil {
		t.Fatal(err)
	}
	if d, _ := env.Clientset.AppsV1().Deployments(ns).Get(ctx, "llm", metav1.GetOptions{}); *d.Spec.Replicas != 0 {
		t.Errorf("scale to 0: %d", *d.Spec.Replicas)
	}
	// no metrics-server in this cluster: the resource metrics API (through
	// the clientset's own REST client) answers 404, the HPA's fetch error
	if _, err := tgt.PodMetrics(ctx, t0, false); err == nil || !strings.Contains(err.Error(), "could not find the requested resource") {
		t.Errorf("PodMetrics without metrics.k8s.io: %v", err)
	}
	missing := NewDeployment(DeploymentConfig{Client: env.Clientset, Namespace: ns, Name: "nope"})
	if _, err := missing.Observe(ctx, t0); err == nil {
		t.Error("a missing Deployment must fail")
	}
}
