package generate

import (
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/templates"
)

func load(t testing.TB, preset string) *profile.Loaded {
	t.Helper()
	src, err := profile.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	l, err := profile.Load(preset, src)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRenderedObjectsAreTyped(t *testing.T) {
	r, err := NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Render(load(t, "batch-queue"))
	if err != nil {
		t.Fatal(err)
	}
	var so *kedav1alpha1.ScaledObject
	for _, o := range res.Objects {
		if s, ok := o.Typed.(*kedav1alpha1.ScaledObject); ok {
			so = s
		}
		if _, ok := o.Typed.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			t.Error("a KEDA workload got an HPA of its own")
		}
	}
	if so == nil || *so.Spec.MinReplicaCount != 0 || *so.Spec.PollingInterval != 15 || so.Spec.Triggers[0].AuthenticationRef.Name != "batch-queue-rabbitmq-auth" {
		t.Fatalf("scaled object: %+v", so)
	}
	// The cooldown is at least twice the cold start's p99 (30s + 100s).
	if *so.Spec.CooldownPeriod != 300 {
		t.Errorf("cooldown %d", *so.Spec.CooldownPeriod)
	}
}

// A template that renders an invalid object fails naming the template and field.
func TestInvalidTemplateNamesTemplateAndField(t *testing.T) {
	fsys := overlay(t, "30-hpa.yaml.tmpl", strings.Replace(readTemplate(t, "30-hpa.yaml.tmpl"), "maxReplicas: {{ .MaxReplicas }}", "maxReplica: {{ .MaxReplicas }}", 1))
	r, err := NewRenderer(fsys)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Render(load(t, "embedding"))
	if err == nil || !strings.Contains(err.Error(), "templates/30-hpa.yaml.tmpl (rendered)") || !strings.Contains(err.Error(), `spec.maxReplica: unknown field "maxReplica"`) {
		t.Fatalf("error: %v", err)
	}
	fsys = overlay(t, "30-hpa.yaml.tmpl", strings.Replace(readTemplate(t, "30-hpa.yaml.tmpl"), "minReplicas: {{ .MinReplicas }}", "minReplicas: 0", 1))
	r, _ = NewRenderer(fsys)
	_, err = r.Render(load(t, "embedding"))
	if err == nil || !strings.Contains(err.Error(), "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1") {
		t.Fatalf("error: %v", err)
	}
}

func TestSecondAutoscalerOnOneTargetIsRejected(t *testing.T) {
	extra := `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ .Name }}-extra
  namespace: {{ .Namespace }}
spec:
  scaleTargetRef: {name: {{ .Name }}}
  triggers: [{type: cpu, metricType: Utilization, metadata: {value: "50"}}]
`
	fsys := overlay(t, "99-extra.yaml.tmpl", extra)
	r, _ := NewRenderer(fsys)
	_, err := r.Render(load(t, "embedding"))
	if err == nil || !strings.Contains(err.Error(), "is already scaled by HorizontalPodAutoscaler embedding") {
		t.Fatalf("error: %v", err)
	}
}

func TestValidateHPARules(t *testing.T) {
	one := int32(1)
	bad := int32(4000)
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "d"},
		MinReplicas:    &one, MaxReplicas: 3,
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: &bad,
			Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: "Pods", Value: 0, PeriodSeconds: 0}},
		}},
	}}
	got := ValidateHPA(h).ToAggregate().Error()
	for _, want := range []string{"stabilizationWindowSeconds: Invalid value: 4000: must be between 0 and 3600", "policies[0].value: Invalid value: 0", "policies[0].periodSeconds: Invalid value: 0: must be between 1 and 1800"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	r, err := NewRenderer(templates.FS)
	if err != nil {
		b.Fatal(err)
	}
	src, _ := profile.Preset("llm-inference")
	b.ReportAllocs()
	for b.Loop() {
		l, err := profile.Load("p", src)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Render(l); err != nil {
			b.Fatal(err)
		}
	}
}

// ScaledObjects are checked by the KEDA engine's own validation (webhook wording).
func TestScaledObjectValidatedByKEDAEngine(t *testing.T) {
	fsys := overlay(t, "40-scaledobject.yaml.tmpl", strings.Replace(readTemplate(t, "40-scaledobject.yaml.tmpl"), "maxReplicaCount: {{ .MaxReplicaCount }}", "maxReplicaCount: 0", 1))
	r, _ := NewRenderer(fsys)
	_, err := r.Render(load(t, "batch-queue"))
	if err == nil || !strings.Contains(err.Error(), "spec.maxReplicaCount") || !strings.Contains(err.Error(), "KEDA") {
		t.Fatalf("error: %v", err)
	}
	fsys = overlay(t, "40-scaledobject.yaml.tmpl", strings.Replace(readTemplate(t, "40-scaledobject.yaml.tmpl"), "  triggers:", "  idleReplicaCount: 1\n  triggers:", 1))
	r, _ = NewRenderer(fsys)
	_, err = r.Render(load(t, "batch-queue"))
	if err == nil || !strings.Contains(err.Error(), "IdleReplicaCount=1 must be less than MinReplicaCount=") {
		t.Fatalf("error: %v", err)
	}
}

// A native sidecar without a cpu request breaks a cpu Utilization target
// exactly as the HPA controller computes it (hpa.MissingRequests), and a
// ContainerResource target only looks at its own container.
func TestRequestsForUtilizationFollowsTheController(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "llm"}}
	d.Spec.Template.Spec = corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "proxy", RestartPolicy: &always}},
		Containers: []corev1.Container{{Name: "vllm", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}}},
	}
	util := autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(70))}
	errs := requestsForUtilization([]autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: util}}}, d)
	if len(errs) != 1 || errs[0].Field != "spec.metrics[0].resource.name" || !strings.Contains(errs[0].Detail, `container "proxy" of Deployment llm has no cpu request`) {
		t.Errorf("Resource cpu with a sidecar lacking a request: %v", errs)
	}
	errs = requestsForUtilization([]autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType,
		ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceCPU, Container: "vllm", Target: util}}}, d)
	if len(errs) != 0 {
		t.Errorf("ContainerResource on the requested container: %v", errs)
	}
}
