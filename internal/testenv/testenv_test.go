package testenv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return u
}

const scaledObject = `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: llm
spec:
  scaleTargetRef:
    name: llm
  minReplicaCount: 1
  maxReplicaCount: 4
  triggers:
  - type: prometheus
    metadata:
      serverAddress: http://prometheus.monitoring:9090
      query: sum(vllm:num_requests_waiting)
      threshold: "10"
`

func TestServerVersion(t *testing.T) {
	env := testenv.Start(t)
	t.Logf("control plane started in %s (assets %s)", env.Startup.Round(time.Millisecond), env.AssetsDir)
	v, err := env.Clientset.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != testenv.KubernetesVersion {
		t.Errorf("server version = %q, want %q", v.GitVersion, testenv.KubernetesVersion)
	}
}

func TestCRDsInstalled(t *testing.T) {
	env := testenv.Start(t)
	for _, gvr := range []schema.GroupVersionResource{
		{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"},
		{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledjobs"},
		{Group: "keda.sh", Version: "v1alpha1", Resource: "triggerauthentications"},
		{Group: "keda.sh", Version: "v1alpha1", Resource: "clustertriggerauthentications"},
		{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"},
	} {
		if _, err := env.Dynamic.Resource(gvr).List(context.Background(), metav1.ListOptions{}); err != nil {
			t.Errorf("list %s: %v", gvr, err)
		}
	}
}

func TestScaledObjectServerSideDryRun(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	soGVR := schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}

	t.Run("valid", func(t *testing.T) {
		so := obj(t, scaledObject)
		so.SetNamespace(ns)
		if err := env.ServerSideDryRun(ctx, so); err != nil {
			t.Fatalf("dry-run of a valid ScaledObject: %v", err)
		}
		// Dry-run must not persist anything.
		_, err := env.Dynamic.Resource(soGVR).Namespace(ns).Get(ctx, "llm", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("after dry-run, get = %v, want NotFound", err)
		}
	})

	t.Run("wrong type", func(t *testing.T) {
		so := obj(t, scaledObject)
		so.SetNamespace(ns)
		if err := unstructured.SetNestedField(so.Object, "one", "spec", "minReplicaCount"); err != nil {
			t.Fatal(err)
		}
		err := env.ServerSideDryRun(ctx, so)
		if !apierrors.IsInvalid(err) {
			t.Fatalf("dry-run with spec.minReplicaCount=\"one\": err = %v, want Invalid", err)
		}
		if !strings.Contains(err.Error(), "spec.minReplicaCount") || !strings.Contains(err.Error(), "integer") {
			t.Errorf("error does not name the field and type: %v", err)
		}
		t.Log(err)
	})

	t.Run("missing required", func(t *testing.T) {
		so := obj(t, scaledObject)
		so.SetNamespace(ns)
		unstructured.RemoveNestedField(so.Object, "spec", "triggers")
		err := env.ServerSideDryRun(ctx, so)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.triggers") {
			t.Fatalf("dry-run without spec.triggers: err = %v, want Invalid naming spec.triggers", err)
		}
		t.Log(err)
	})

	t.Run("unknown field", func(t *testing.T) {
		so := obj(t, scaledObject)
		so.SetNamespace(ns)
		if err := unstructured.SetNestedField(so.Object, int64(2), "spec", "minReplicas"); err != nil {
			t.Fatal(err)
		}
		err := env.ServerSideDryRun(ctx, so)
		if err == nil || !strings.Contains(err.Error(), `unknown field "spec.minReplicas"`) {
			t.Fatalf("dry-run with spec.minReplicas: err = %v, want strict-validation error naming it", err)
		}
		t.Log(err)
	})
}

const hpa = `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: llm
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: llm
  minReplicas: 1
  maxReplicas: 4
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 60
  behavior:
    scaleUp:
      policies:
      - type: Pods
        value: 2
        periodSeconds: 60
`

func TestHPABehaviorValidation(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()

	if err := env.ServerSideDryRun(ctx, obj(t, hpa)); err != nil {
		t.Fatalf("dry-run of a valid HPA: %v", err)
	}

	bad := obj(t, hpa)
	policies, _, _ := unstructured.NestedSlice(bad.Object, "spec", "behavior", "scaleUp", "policies")
	policies[0].(map[string]any)["periodSeconds"] = int64(0)
	if err := unstructured.SetNestedSlice(bad.Object, policies, "spec", "behavior", "scaleUp", "policies"); err != nil {
		t.Fatal(err)
	}
	err := env.ServerSideDryRun(ctx, bad)
	if !apierrors.IsInvalid(err) {
		t.Fatalf("dry-run with periodSeconds: 0: err = %v, want Invalid", err)
	}
	if !strings.Contains(err.Error(), "spec.behavior.scaleUp.policies[0].periodSeconds") {
		t.Errorf("error does not name the field: %v", err)
	}
	t.Log(err)
}

// TestControllerManagerHPA checks that WithControllerManager runs the real HPA
// controller: with no metrics API it reports FailedGetResourceMetric.
func TestControllerManagerHPA(t *testing.T) {
	env := testenv.Start(t, testenv.WithControllerManager())
	ctx := context.Background()
	ns := env.Namespace(t)
	labels := map[string]string{"app": "llm"}

	_, err := env.Clientset.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "llm"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/llm:1"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var h autoscalingv2.HorizontalPodAutoscaler
	if err := yaml.Unmarshal([]byte(hpa), &h); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &h, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	deadline := start.Add(60 * time.Second)
	var last *autoscalingv2.HorizontalPodAutoscaler
	for time.Now().Before(deadline) {
		last, err = env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "llm", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range last.Status.Conditions {
			if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason == "FailedGetResourceMetric" {
				if !strings.Contains(c.Message, "cpu") {
					t.Errorf("ScalingActive message does not mention cpu: %q", c.Message)
				}
				t.Logf("real HPA status after %s: ScalingActive=False %s: %s", time.Since(start).Round(time.Millisecond), c.Reason, c.Message)
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no ScalingActive=False FailedGetResourceMetric condition within 60s; conditions: %+v", last.Status.Conditions)
}

func TestUserWithoutRBACIsForbidden(t *testing.T) {
	env := testenv.Start(t)
	ns := env.Namespace(t)
	cs, err := kubernetes.NewForConfig(env.User(t, "doctor"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.AutoscalingV2().HorizontalPodAutoscalers(ns).List(context.Background(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list HPAs as a user without RBAC: err = %v, want Forbidden", err)
	}
	t.Log(err)
}
