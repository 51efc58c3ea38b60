package testenv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/mlscale/mlscale/internal/testenv"
)

// prometheus answers Prometheus' /api/v1/query with one sample of value (a
// vector), or an empty vector when value is "", and counts the queries.
func prometheus(t *testing.T, value string) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		n.Add(1)
		result := []any{}
		if value != "" {
			result = append(result, map[string]any{"metric": map[string]string{}, "value": []any{float64(time.Now().Unix()), value}})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestKEDAMetricsServerScales checks that WithKEDAMetricsServer runs KEDA's
// real metrics server behind the real aggregator: a ScaledObject whose
// prometheus trigger reads 25 against a threshold of 5 gets its metric
// through external.metrics.k8s.io, and the real HPA controller scales the
// Deployment from 1 to ceil(25/5) = 5 replicas (an External AverageValue
// metric needs no pods: the HPA divides the value by the target). At
// cleanup the APIService is removed.
func TestKEDAMetricsServerScales(t *testing.T) {
	env := testenv.Start(t, testenv.WithControllerManager(), testenv.WithKEDAMetricsServer())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prom, queries := prometheus(t, "25")

	t.Run("scale", func(t *testing.T) {
		ns := env.Namespace(t)
		d, err := env.Clientset.AppsV1().Deployments(ns).Create(ctx, deployment("llm"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// No Deployment controller runs: write the status.replicas it
		// would, which /scale reports and the HPA divides the external
		// metric by for its status (with 0 it shows an overflowed
		// averageValue; the desired count is the same).
		d.Status.Replicas = 1
		if _, err := env.Clientset.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		so := obj(t, fmt.Sprintf(`
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: llm
spec:
  scaleTargetRef:
    name: llm
  pollingInterval: 1
  minReplicaCount: 1
  maxReplicaCount: 10
  triggers:
  - type: prometheus
    metadata:
      serverAddress: %s
      query: sum(vllm:num_requests_waiting)
      threshold: "5"
`, prom.URL))
		if _, err := env.Dynamic.Resource(gvrScaledObject).Namespace(ns).Create(ctx, so, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()

		// KEDA's metrics server answers directly (through the aggregator).
		path := "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + ns + "/s0-prometheus"
		var raw []byte
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			b, err := env.Clientset.Discovery().RESTClient().Get().AbsPath(path).Param("labelSelector", "scaledobject.keda.sh/name=llm").DoRaw(ctx)
			raw = b
			if err != nil {
				raw = []byte(err.Error())
			}
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("GET %s: %s", path, raw)
		}
		var list struct {
			Items []struct {
				MetricName string `json:"metricName"`
				Value      string `json:"value"`
			} `json:"items"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if len(list.Items) != 1 || list.Items[0].MetricName != "s0-prometheus" || list.Items[0].Value != "25" {
			t.Errorf("KEDA's metrics server answered %s, want one s0-prometheus item of value 25", raw)
		}
		t.Logf("KEDA's metrics server answered %s after %s", strings.TrimSpace(string(raw)), time.Since(start).Round(time.Millisecond))

		// The HPA controller reads it and scales /scale to 5.
		var h *autoscalingv2.HorizontalPodAutoscaler
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "keda-hpa-llm", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			h = got
			return got.Status.DesiredReplicas == 5, nil
		})
		if err != nil {
			var st any
			if h != nil {
				st = h.Status
			}
			t.Fatalf("keda-hpa-llm never wanted 5 replicas; status %+v", st)
		}
		if m := h.Status.CurrentMetrics; len(m) != 1 || m[0].External == nil || m[0].External.Current.AverageValue == nil || m[0].External.Current.AverageValue.String() != "25" {
			t.Errorf("HPA current metrics = %+v, want s0-prometheus averageValue 25 (1 replica)", m)
		}
		for _, c := range h.Status.Conditions {
			if c.Type == autoscalingv2.ScalingActive && (c.Status != "True" || c.Reason != "ValidMetricFound") {
				t.Errorf("HPA ScalingActive = %s %s: %s", c.Status, c.Reason, c.Message)
			}
		}
		sc, err := env.Clientset.AppsV1().Deployments(ns).GetScale(ctx, "llm", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Spec.Replicas != 5 {
			t.Errorf("Deployment llm /scale spec.replicas = %d, want 5", sc.Spec.Replicas)
		}
		t.Logf("HPA scaled llm 1 -> %d %s after the ScaledObject was created (%d Prometheus queries)", sc.Spec.Replicas, time.Since(start).Round(time.Millisecond), queries.Load())
	})

	// After the subtest's cleanup the APIService is gone.
	gvr := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	if _, err := env.Dynamic.Resource(gvr).Get(ctx, testenv.ExternalMetricsAPIService, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("APIService %s after cleanup: err = %v, want NotFound", testenv.ExternalMetricsAPIService, err)
	}
}
