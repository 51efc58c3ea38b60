package testenv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/mlscale/mlscale/internal/testenv"
)

var gvrScaledObject = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}

// failingScaledObject is a ScaledObject on Deployment name whose prometheus
// trigger points at a closed loopback port, polled every second.
func failingScaledObject(t *testing.T, name string) *unstructured.Unstructured {
	return obj(t, fmt.Sprintf(`
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: %[1]s
spec:
  scaleTargetRef:
    name: %[1]s
  pollingInterval: 1
  triggers:
  - type: prometheus
    metadata:
      serverAddress: http://127.0.0.1:1
      query: sum(vllm:num_requests_waiting)
      threshold: "10"
`, name))
}

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}},
		},
	}
}

// soConditions returns the ScaledObject's status.conditions as type ->
// [status, reason, message].
func soConditions(so *unstructured.Unstructured) map[string][3]string {
	out := map[string][3]string{}
	conds, _, _ := unstructured.NestedSlice(so.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		s := func(k string) string { v, _ := m[k].(string); return v }
		out[s("type")] = [3]string{s("status"), s("reason"), s("message")}
	}
	return out
}

// TestKEDAOperatorScaledObject checks that WithKEDAOperator runs the real
// KEDA operator: a ScaledObject whose scaler fails gets KEDA's own
// conditions, the HPA keda-hpa-<name> and KEDAScalerFailed events, and a
// ScaledObject in a namespace without an operator is left alone.
func TestKEDAOperatorScaledObject(t *testing.T) {
	env := testenv.Start(t, testenv.WithKEDAOperator())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := env.Namespace(t)
	other := testenv.Start(t).Namespace(t) // no operator watches it

	for _, n := range []string{ns, other} {
		if _, err := env.Clientset.AppsV1().Deployments(n).Create(ctx, deployment("llm"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Dynamic.Resource(gvrScaledObject).Namespace(n).Create(ctx, failingScaledObject(t, "llm"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// KEDA's conditions once all are set (Fallback is Unknown until the
	// first poll has been counted).
	want := map[string][3]string{
		"Ready":    {"False", "TriggerError", "Triggers defined in ScaledObject are not working correctly"},
		"Active":   {"False", "ScalerNotActive", "Scaling is not performed because triggers are not active"},
		"Fallback": {"False", "NoFallbackFound", "No fallbacks are active on this scaled object"},
		"Paused":   {"False", "", ""},
	}
	start := time.Now()
	var so *unstructured.Unstructured
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := env.Dynamic.Resource(gvrScaledObject).Namespace(ns).Get(ctx, "llm", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		so = got
		conds := soConditions(got)
		for typ, w := range want {
			if conds[typ] != w {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		conds := soConditions(so)
		for typ, w := range want {
			if conds[typ] != w {
				t.Errorf("condition %s = %q, want %q", typ, conds[typ], w)
			}
		}
		t.Fatalf("KEDA did not write the expected conditions; status: %v", so.Object["status"])
	}
	t.Logf("KEDA wrote its conditions %s after the ScaledObject was created", time.Since(start).Round(time.Millisecond))
	if got, _, _ := unstructured.NestedString(so.Object, "status", "hpaName"); got != "keda-hpa-llm" {
		t.Errorf("status.hpaName = %q, want keda-hpa-llm", got)
	}
	if got, _, _ := unstructured.NestedStringSlice(so.Object, "status", "externalMetricNames"); len(got) != 1 || got[0] != "s0-prometheus" {
		t.Errorf("status.externalMetricNames = %q, want [s0-prometheus]", got)
	}
	if fin := so.GetFinalizers(); len(fin) != 1 || fin[0] != "finalizer.keda.sh" {
		t.Errorf("finalizers = %q, want [finalizer.keda.sh]", fin)
	}

	// The HPA KEDA generated.
	h, err := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "keda-hpa-llm", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the HPA KEDA generates: %v", err)
	}
	if o := metav1.GetControllerOf(h); o == nil || o.Kind != "ScaledObject" || o.Name != "llm" || o.UID != so.GetUID() {
		t.Errorf("HPA controller reference = %+v, want ScaledObject llm", o)
	}
	for k, v := range map[string]string{
		"app.kubernetes.io/managed-by": "keda-operator",
		"app.kubernetes.io/version":    strings.TrimPrefix(testenv.KEDAVersion, "v"),
		"scaledobject.keda.sh/name":    "llm",
	} {
		if h.Labels[k] != v {
			t.Errorf("HPA label %s = %q, want %q", k, h.Labels[k], v)
		}
	}
	if ref := h.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != "llm" || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA scaleTargetRef = %+v", ref)
	}
	if m := h.Spec.Metrics; len(m) != 1 || m[0].Type != autoscalingv2.ExternalMetricSourceType || m[0].External.Metric.Name != "s0-prometheus" ||
		m[0].External.Metric.Selector.MatchLabels["scaledobject.keda.sh/name"] != "llm" || m[0].External.Target.AverageValue.String() != "10" {
		t.Errorf("HPA metrics = %+v", m)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 100 {
		t.Errorf("HPA replicas = %v..%d, want KEDA's defaults 1..100", h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}

	// KEDA's events (events.k8s.io, read here through core/v1).
	var events []string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := env.Clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		events = events[:0]
		for _, e := range l.Items {
			events = append(events, e.Type+" "+e.Reason+" "+e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+": "+e.Message)
			if e.Type == corev1.EventTypeWarning && e.Reason == "KEDAScalerFailed" && e.InvolvedObject.Kind == "ScaledObject" &&
				strings.Contains(e.Message, "127.0.0.1:1") && strings.Contains(e.Message, "connection refused") {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("no Warning KEDAScalerFailed event quoting the scaler's error; events:\n%s", strings.Join(events, "\n"))
	}

	// No operator watches the other namespace.
	u, err := env.Dynamic.Resource(gvrScaledObject).Namespace(other).Get(ctx, "llm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := u.Object["status"]; ok || len(u.GetFinalizers()) > 0 {
		t.Errorf("ScaledObject in namespace %s (no operator) was reconciled: status %v, finalizers %q", other, st, u.GetFinalizers())
	}
	if _, err := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(other).Get(ctx, "keda-hpa-llm", metav1.GetOptions{}); err == nil {
		t.Errorf("an HPA was generated in namespace %s, which no operator watches", other)
	}
}
