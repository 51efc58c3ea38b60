package live

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

// fakeMetricsAPI serves metrics.k8s.io/v1beta1 PodMetrics for namespace ns
// (cpu per pod, as set), and records the label selectors asked for.
type fakeMetricsAPI struct {
	mu        sync.Mutex
	cpu       map[string]string
	at        time.Time
	selectors []string
	status    int
}

func (f *fakeMetricsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/apis/metrics.k8s.io/v1beta1/namespaces/ml/pods" {
		http.NotFound(w, r)
		return
	}
	f.selectors = append(f.selectors, r.URL.Query().Get("labelSelector"))
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server is currently unable to handle the request","reason":"ServiceUnavailable","code":%d}`, f.status)
		return
	}
	var items []string
	for pod, cpu := range f.cpu {
		items = append(items, fmt.Sprintf(`{"metadata":{"name":%q,"namespace":"ml"},"timestamp":%q,"window":"15s","containers":[{"name":"inference","usage":{"cpu":%q,"memory":"1Gi"}},{"name":"sidecar","usage":{"cpu":"10m","memory":"64Mi"}}]}`,
			pod, f.at.Format(time.RFC3339), cpu))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[%s]}`, strings.Join(items, ","))
}

// deploymentClient is a fake clientset with a Deployment's scale
// subresource and n running, ready pods whose requests are those of spec.
func deploymentClient(t *testing.T, n int, spec corev1.PodSpec) (*fake.Clientset, *int32) {
	t.Helper()
	var objs []runtime.Object
	start := metav1.NewTime(t0.Add(-time.Hour))
	for i := 0; i < n; i++ {
		objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("llm-%d", i), Namespace: "ml", Labels: map[string]string{"app": "llm"}},
			Spec: spec, Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}}}})
	}
	c := fake.NewClientset(objs...)
	replicas := int32(n)
	c.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: "ml"},
			Spec: autoscalingv1.ScaleSpec{Replicas: replicas}, Status: autoscalingv1.ScaleStatus{Replicas: replicas, Selector: "app=llm"}}, nil
	})
	c.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		s := a.(k8stesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		replicas = s.Spec.Replicas
		return true, s, nil
	})
	return c, &replicas
}

func metricsRESTClient(t *testing.T, url string) rest.Interface {
	t.Helper()
	rc, err := rest.RESTClientFor(&rest.Config{Host: url, ContentConfig: rest.ContentConfig{
		GroupVersion: &schema.GroupVersion{Group: "metrics.k8s.io", Version: "v1beta1"}, NegotiatedSerializer: scheme.Codecs.WithoutConversion()}})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// The deployment target reads PodMetrics from metrics.k8s.io by the scale's
// selector, and the requests from the live pods (two containers: the
// Resource metric sums them, a ContainerResource reads one): the HPA
// engine computes the utilisation; a failing metrics API is the HPA's
// FailedGetResourceMetric; stale PodMetrics are no samples.
func TestDeploymentResourceMetrics(t *testing.T) {
	ctx := context.Background()
	spec := *podSpec("inference", "1", "2Gi")
	spec.Containers = append(spec.Containers, *podSpec("sidecar", "100m", "128Mi").Containers[0].DeepCopy())
	client, replicas := deploymentClient(t, 2, spec)
	api := &fakeMetricsAPI{cpu: map[string]string{"llm-0": "1900m", "llm-1": "1700m"}, at: t0}
	srv := httptest.NewServer(api)
	defer srv.Close()
	tgt := NewDeployment(DeploymentConfig{Client: client, Namespace: "ml", Name: "llm", Metrics: metricsRESTClient(t, srv.URL)})
	var log strings.Builder
	h := resourceHPA(corev1.ResourceCPU, 60, 1, 10, 0, false)
	h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2MetricContainer(corev1.ResourceCPU, "inference", 60))
	loop, err := NewLoop(Config{HPA: h, Target: tgt, Fetcher: &Fetcher{Timeout: time.Second}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Step(ctx, t0); err != nil {
		t.Fatal(err)
	}
	st := loop.Status()
	// Resource: (1910+1710) / (2 x 1100) = 164 %; ContainerResource
	// (inference): 3600 / 2000 = 180 % -> 2 x 180/60 = 6
	if st.Metrics[0].Value != 164 || st.Metrics[1].Value != 180 || *replicas != 6 {
		t.Fatalf("replicas %d, metrics %+v, log:\n%s", *replicas, st.Metrics, log.String())
	}
	if len(api.selectors) != 1 || api.selectors[0] != "app=llm" {
		t.Errorf("selectors asked: %q (one read per reconcile, by the scale's selector)", api.selectors)
	}
	// the metrics API fails: the HPA's error, no scale-down although the
	// usage is low now
	*replicas = 2
	api.cpu = map[string]string{"llm-0": "10m", "llm-1": "10m"}
	api.status = http.StatusServiceUnavailable
	if err := loop.Step(ctx, t0.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	st = loop.Status()
	if *replicas != 2 || !strings.Contains(st.Metrics[0].Err, "unable to fetch metrics from resource metrics API: the server is currently unable to handle the request") {
		t.Fatalf("replicas %d, metrics %+v", *replicas, st.Metrics)
	}
	if src := sourceNamed(st, "resource/metrics.k8s.io"); src == nil || src.Errors != 1 {
		t.Errorf("sources %+v", st.Sources)
	}
	// stale PodMetrics (older than MaxAge) are no samples
	api.status = 0
	if err := loop.Step(ctx, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st = loop.Status(); !strings.Contains(st.Metrics[0].Err, "no metrics returned from resource metrics API") || *replicas != 2 {
		t.Errorf("stale: replicas %d, metrics %+v", *replicas, st.Metrics)
	}
	api.at = t0.Add(5 * time.Minute)
	if err := loop.Step(ctx, t0.Add(5*time.Minute+15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st = loop.Status(); *replicas != 1 {
		t.Errorf("fresh and low: replicas %d, metrics %+v", *replicas, st.Metrics)
	}
}
