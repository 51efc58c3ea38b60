package doctor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mlscale/mlscale/internal/testenv"
)

// BenchmarkDiagnoseNamespace: the namespace (500 HPAs, 50 of them
// generated for ScaledObjects, 50 ScaledObjects, 5,000 pods, 500
// Deployments) diagnosed against the test API server: Collect + Check per
// iteration. Reports API calls per HPA.
//
//	go test ./internal/doctor -run '^$' -bench DiagnoseNamespace -benchtime 5x
func BenchmarkDiagnoseNamespace(b *testing.B) {
	env := testenv.Start(b)
	ns := env.Namespace(b)
	ctx := context.Background()
	const deployments, podsPer, scaledObjects = 500, 10, 50
	work := make(chan func() error)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if err := f(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	cs := env.Clientset
	for i := range deployments {
		name := fmt.Sprintf("svc-%03d", i)
		labels := map[string]string{"app": name}
		spec := corev1.PodSpec{Containers: []corev1.Container{container("app", "100m")}}
		work <- func() error {
			_, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: appsv1.DeploymentSpec{Replicas: int32p(podsPer), Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}},
			}, metav1.CreateOptions{})
			return err
		}
		for j := range podsPer {
			work <- func() error {
				_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, j), Labels: labels,
						OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name + "-5d8f9", UID: types.UID("rs-" + name), Controller: ptrBool(true)}}},
					Spec: spec,
				}, metav1.CreateOptions{})
				return err
			}
		}
		work <- func() error {
			var h = cpuHPA(name, name)
			if i < scaledObjects {
				h = kedaHPA(name, name)
			}
			_, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{})
			return err
		}
		if i < scaledObjects {
			work <- func() error {
				u := &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
					"metadata": map[string]any{"name": name, "namespace": ns},
					"spec": map[string]any{"scaleTargetRef": map[string]any{"name": name}, "minReplicaCount": int64(1), "maxReplicaCount": int64(20),
						"triggers": []any{map[string]any{"type": "prometheus", "metadata": map[string]any{"serverAddress": "http://prometheus:9090", "query": "sum(x)", "threshold": "10"}}}},
				}}
				_, err := env.Dynamic.Resource(gvrScaledObject).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
				return err
			}
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	cl, err := NewClients(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	var calls int64
	var findings int
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		snap, st, err := CollectStats(ctx, cl, Scope{Namespace: ns})
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.HPAs) != deployments || len(snap.ScaledObjects) != scaledObjects || len(snap.Pods[ns]) != deployments*podsPer {
			b.Fatalf("collected %d HPAs, %d ScaledObjects, %d pods", len(snap.HPAs), len(snap.ScaledObjects), len(snap.Pods[ns]))
		}
		findings = len(Check(snap))
		calls = st.Calls
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(calls)/deployments, "calls/HPA")
	b.ReportMetric(float64(calls), "calls/op")
	b.ReportMetric(float64(findings), "findings")
	if per > 3*time.Second {
		b.Errorf("diagnosis took %s per run, the budget is 3 s", per)
	}
}
