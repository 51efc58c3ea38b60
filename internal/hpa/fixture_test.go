package hpa

import (
	"fmt"
	"strconv"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Test fixtures modelled on the controller's own unit tests: pods
// test-pod-N with two containers, CPU init period 2m, readiness delay 10s,
// "hot" pods started now and "cool" pods 3 minutes ago.

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func testConfig() Config {
	c := DefaultConfig(37)
	c.CPUInitializationPeriod = 2 * time.Minute
	c.InitialReadinessDelay = 10 * time.Second
	return c
}

func i32(v int32) *int32 { return &v }

func q(s string) *resource.Quantity { v := resource.MustParse(s); return &v }

func milli(v int64) *resource.Quantity { return resource.NewMilliQuantity(v, resource.DecimalSI) }

type fixture struct {
	replicas  int32
	readiness []corev1.ConditionStatus
	hot       []bool
	phase     []corev1.PodPhase
	deleting  []bool
	requests  []string  // per pod, each of the two containers
	levels    [][]int64 // per metric item, per container
	podNames  []string  // metric item names when they differ
	container string
	custom    []int64 // Pods metric values per pod (nil: no Pods metric input)
}

func (f *fixture) podCount() int {
	n := int(f.replicas)
	if len(f.phase) > n {
		n = len(f.phase)
	}
	return n
}

func (f *fixture) pods() []Pod {
	var pods []Pod
	for i := 0; i < f.podCount(); i++ {
		p := Pod{
			Name:      fmt.Sprintf("test-pod-%d", i),
			Phase:     corev1.PodRunning,
			Ready:     corev1.ConditionTrue,
			StartTime: t0.Add(-3 * time.Minute),
			Labels:    map[string]string{"name": "test-pod"},
		}
		if i < len(f.readiness) {
			p.Ready = f.readiness[i]
		}
		if i < len(f.hot) && f.hot[i] {
			p.StartTime = t0
		}
		if i < len(f.phase) {
			p.Phase = f.phase[i]
		}
		if i < len(f.deleting) {
			p.Deleting = f.deleting[i]
		}
		spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "container1"}, {Name: "container2"}}}
		if i < len(f.requests) {
			rl := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(f.requests[i])}
			spec.Containers[0].Resources.Requests = rl
			spec.Containers[1].Resources.Requests = rl
		}
		p.Spec = spec
		pods = append(pods, p)
	}
	return pods
}

func (f *fixture) resourceInput(pods []Pod, res corev1.ResourceName) MetricInput {
	var items []PodMetrics
	for i, lv := range f.levels {
		name := fmt.Sprintf("test-pod-%d", i)
		if i < len(f.podNames) {
			name = f.podNames[i]
		}
		it := PodMetrics{Pod: name, Window: time.Minute, Containers: make([]ContainerUsage, 2)}
		for j, m := range lv {
			it.Containers[j] = ContainerUsage{Name: "container" + strconv.Itoa(j+1),
				Usage: corev1.ResourceList{corev1.ResourceCPU: *milli(m)}}
		}
		items = append(items, it)
	}
	return ResourceSamples(items, pods, res, f.container)
}

func (f *fixture) podsInput(pods []Pod) MetricInput {
	mi := MetricInput{Items: len(f.custom), Samples: make([]PodSample, len(pods))}
	for i, v := range f.custom {
		s := PodSample{Present: true, Milli: v, Window: time.Minute}
		if i < len(pods) {
			mi.Samples[i] = s
		} else {
			mi.Extra = append(mi.Extra, s)
		}
	}
	return mi
}

func newHPA(metrics ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "test-hpa", Namespace: "test-namespace"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "test", APIVersion: "apps/v1"},
			MinReplicas:    i32(1),
			MaxReplicas:    1 << 30,
			Metrics:        metrics,
		},
	}
}

func cpuUtil(target int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}
}

func containerCPUUtil(container string, target int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceCPU, Container: container, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}
}

func podsMetric(name string, targetMilli int64) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: milli(targetMilli)}}}
}

var testExternalSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"label": "value"}}

func externalValue(name string, targetMilli int64) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name, Selector: testExternalSelector},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: milli(targetMilli)}}}
}

func externalAverage(name string, targetMilli int64) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name, Selector: testExternalSelector},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: milli(targetMilli)}}}
}

var testDeploymentRef = autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Name: "some-deployment"}

func objectValue(name string, targetMilli int64) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
		DescribedObject: testDeploymentRef, Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: milli(targetMilli)}}}
}

func objectAverage(name string, targetMilli int64) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
		DescribedObject: testDeploymentRef, Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: milli(targetMilli)}}}
}

// withTolerances sets the KEP-4951 per-HPA tolerances (down, up).
func withTolerances(h *autoscalingv2.HorizontalPodAutoscaler, down, up string) {
	h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp:   &autoscalingv2.HPAScalingRules{Tolerance: q(up)},
		ScaleDown: &autoscalingv2.HPAScalingRules{Tolerance: q(down)},
	}
}
