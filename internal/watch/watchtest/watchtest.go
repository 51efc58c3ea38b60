// Package watchtest holds the fixtures of the watch and tui tests: a small
// cluster of HPAs and ScaledObjects in every health state.
package watchtest

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/mlscale/mlscale/internal/watch"
)

var T0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func CPUHPA(ns, name string, cur, desired int32, util *int32, conds ...autoscalingv2.HorizontalPodAutoscalerCondition) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(T0.Add(-time.Hour))},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)}}}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: cur, DesiredReplicas: desired, Conditions: conds},
	}
	if util != nil {
		h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: util, AverageValue: resource.NewMilliQuantity(int64(*util)*5, resource.DecimalSI)}}}}
	}
	return h
}

func Cond(t autoscalingv2.HorizontalPodAutoscalerConditionType, s corev1.ConditionStatus, reason, msg string) autoscalingv2.HorizontalPodAutoscalerCondition {
	return autoscalingv2.HorizontalPodAutoscalerCondition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(T0.Add(-10 * time.Minute))}
}

var Healthy = []autoscalingv2.HorizontalPodAutoscalerCondition{
	Cond(autoscalingv2.AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", "recommended size matches current size"),
	Cond(autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"),
	Cond(autoscalingv2.ScalingLimited, corev1.ConditionFalse, "DesiredWithinRange", "the desired count is within the acceptable range"),
}

var Failing = []autoscalingv2.HorizontalPodAutoscalerCondition{
	Cond(autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
	Cond(autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"),
}

func Deployment(ns, name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}},
		Status:     appsv1.DeploymentStatus{Replicas: replicas, ReadyReplicas: replicas},
	}
}

func Pod(ns, app string, i int, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	start := metav1.NewTime(T0.Add(-30 * time.Minute))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-%d", app, i), Labels: map[string]string{"app": app}, CreationTimestamp: start},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "main", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: start}}},
	}
}

func ScaledObject(ns, name string, conds ...map[string]any) *unstructured.Unstructured {
	cs := make([]any, len(conds))
	for i, c := range conds {
		cs[i] = c
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec": map[string]any{
			"scaleTargetRef":  map[string]any{"name": name},
			"minReplicaCount": int64(0), "maxReplicaCount": int64(20),
			"triggers": []any{map[string]any{"type": "prometheus", "metadata": map[string]any{"threshold": "10"}}},
		},
		"status": map[string]any{"hpaName": "keda-hpa-" + name, "conditions": cs},
	}}
	return u
}

func KCond(t, s, reason, msg string) map[string]any {
	return map[string]any{"type": t, "status": s, "reason": reason, "message": msg}
}

func KEDAHPA(ns, so string, cur, desired int32, value *resource.Quantity) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keda-hpa-" + so, OwnerReferences: []metav1.OwnerReference{{Kind: "ScaledObject", Name: so, APIVersion: "keda.sh/v1alpha1"}}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: so}, MinReplicas: ptr.To[int32](1), MaxReplicas: 20,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "s0-prometheus"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("10"))}}}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: cur, DesiredReplicas: desired, Conditions: Healthy},
	}
	if value != nil {
		h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
			Metric: autoscalingv2.MetricIdentifier{Name: "s0-prometheus"}, Current: autoscalingv2.MetricValueStatus{AverageValue: value}}}}
	}
	return h
}

func Event(ns, kind, name, typ, reason, msg string, at time.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%s.%d", name, reason, at.Unix())},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: ns},
		Type:           typ, Reason: reason, Message: msg, Count: 1, LastTimestamp: metav1.NewTime(at),
	}
}

// DemoStore is the cluster the tests and goldens show.
func DemoStore() *watch.Store {
	s := watch.NewStore("kind-demo", "", func() time.Time { return T0 })
	s.SetKEDA(true)
	s.Upsert(CPUHPA("ml", "web", 3, 3, ptr.To[int32](45), Healthy...))
	s.Upsert(Deployment("ml", "web", 3))
	for i := range 3 {
		s.Upsert(Pod("ml", "web", i, true))
	}
	s.Upsert(CPUHPA("ml", "embedder", 2, 2, nil, Failing...))
	s.Upsert(Deployment("ml", "embedder", 2))
	s.Upsert(Pod("ml", "embedder", 0, true))
	s.Upsert(Pod("ml", "embedder", 1, false))
	s.Upsert(Event("ml", "HorizontalPodAutoscaler", "embedder", "Warning", "FailedGetResourceMetric", "failed to get cpu utilization: unable to get metrics for resource cpu", T0.Add(-time.Minute)))
	s.Upsert(Event("ml", "Deployment", "web", "Normal", "ScalingReplicaSet", "Scaled up replica set web-5d9 to 3", T0.Add(-5*time.Minute)))
	lim := append([]autoscalingv2.HorizontalPodAutoscalerCondition{}, Healthy[:2]...)
	lim = append(lim, Cond(autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooManyReplicas", "the desired replica count is more than the maximum replica count"))
	s.Upsert(CPUHPA("batch", "trainer", 10, 10, ptr.To[int32](180), lim...))
	s.Upsert(ScaledObject("queue", "worker", KCond("Ready", "True", "ScaledObjectReady", "ScaledObject is defined correctly and is ready for scaling"), KCond("Active", "True", "ScalerActive", "Scaling is performed because triggers are active")))
	s.Upsert(KEDAHPA("queue", "worker", 4, 6, ptr.To(resource.MustParse("15"))))
	s.Upsert(Deployment("queue", "worker", 4))
	s.Upsert(ScaledObject("queue", "idle", KCond("Ready", "True", "ScaledObjectReady", "ready"), KCond("Active", "False", "ScalerNotActive", "Scaling is not performed because triggers are not active")))
	s.Upsert(Deployment("queue", "idle", 0))
	// history for the sparklines: web scaled 1 -> 3 as cpu rose
	for i := range 24 {
		r := int32(1 + min(i/8, 2))
		s.Upsert(CPUHPA("ml", "web", r, r, ptr.To(int32(20+3*i)), Healthy...))
		s.Upsert(KEDAHPA("queue", "worker", int32(2+i/6), int32(2+i/6), ptr.To(resource.MustParse(fmt.Sprint(5+i%7)))))
		s.Sample()
	}
	s.Upsert(CPUHPA("ml", "web", 3, 3, ptr.To[int32](45), Healthy...))
	s.Upsert(KEDAHPA("queue", "worker", 4, 6, ptr.To(resource.MustParse("15"))))
	return s
}
