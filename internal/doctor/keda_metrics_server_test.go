package doctor

// Scenarios with KEDA's real metrics server (keda-operator-metrics-apiserver,
// testenv.WithKEDAMetricsServer) behind the real aggregator: the HPA
// controller reads KEDA's external metrics as in a cluster, and doctor's
// probes get KEDA's own answers.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/mlscale/mlscale/internal/testenv"
)

// newKEDAMetricsCluster is newKEDACluster with KEDA's metrics server serving
// external.metrics.k8s.io for the scenario's namespace.
func newKEDAMetricsCluster(t *testing.T) *cluster {
	return newClusterWith(t, testenv.WithKEDAMetricsServer())
}

// fakePrometheus answers Prometheus' /api/v1/query: a vector with one
// sample of values[query], or an empty vector for a query it does not know.
func fakePrometheus(t *testing.T, values map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		result := []any{}
		if v, ok := values[r.URL.Query().Get("query")]; ok {
			result = append(result, map[string]any{"metric": map[string]string{}, "value": []any{float64(time.Now().Unix()), v}})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Prometheus answers one ScaledObject's query with an empty vector (the
// target is lost; ignoreNullValues off) and another's with 7. For the first,
// KEDA's metrics server answers the HPA with KEDA's own error, which does
// not carry the scaler's ("prometheus metrics 'prometheus' target may be
// lost, the result is empty" is only in the KEDAScalerFailed events): doctor's
// KEDA-008 quotes it as the HPA controller shows it. The second scales. The
// APIService is KEDA's own, so no API-006.
func TestKEDAMetricsServerQueryFails(t *testing.T) {
	c := newKEDAMetricsCluster(t)
	prom := fakePrometheus(t, map[string]string{"sum(queue_ok)": "7"})
	trigger := func(query string) []any {
		return []any{map[string]any{"type": "prometheus", "metadata": map[string]any{
			"serverAddress": prom.URL, "query": query, "threshold": "5", "ignoreNullValues": "false"}}}
	}
	for _, n := range []string{"lost", "ok"} {
		c.workload(n, corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
		c.operatorScaledObject(n, n, map[string]any{"triggers": trigger("sum(queue_" + n + ")")}, nil)
	}
	// KEDA 2.20's words (pkg/metricsservice, pkg/scaling), through gRPC.
	const kedaErr = "error when getting metric values metric:s0-prometheus encountered error"
	hpaMsg := c.waitCondition("keda-hpa-lost", autoscalingv2.ScalingActive, "FailedGetExternalMetric", kedaErr)
	t.Logf("the HPA controller on keda-hpa-lost: %s", hpaMsg)

	// The healthy one scales to ceil(7/5) = 2.
	err := wait.PollUntilContextTimeout(c.ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		h, err := c.env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(c.ns).Get(ctx, "keda-hpa-ok", metav1.GetOptions{})
		return err == nil && h.Status.DesiredReplicas == 2, nil
	})
	if err != nil {
		t.Errorf("keda-hpa-ok never wanted 2 replicas (metric 7, threshold 5)")
	}

	r := c.diagnoseFor("KEDA-008", Error, "lost")
	f := expect(t, r, "KEDA-008", Error, "ScaledObject", "lost", kedaErr)
	if !strings.Contains(hpaMsg, f.Message) {
		t.Errorf("KEDA-008 quotes %q; the HPA controller got %q", f.Message, hpaMsg)
	}
	if p := f.Evidence.Probe; p == nil || p.HTTPStatus != 500 || !strings.Contains(p.Path, "/apis/external.metrics.k8s.io/v1beta1/namespaces/"+c.ns+"/s0-prometheus") ||
		!strings.Contains(p.Path, "labelSelector=scaledobject.keda.sh%2Fname%3Dlost") {
		t.Fatalf("KEDA-008 probe: %+v", f.Evidence.Probe)
	}
	t.Logf("KEDA's metrics server answered doctor's probe (HTTP %d): %s", f.Evidence.Probe.HTTPStatus, f.Message)
	for _, f := range r.Findings {
		if f.ID == "API-006" {
			t.Errorf("API-006 while KEDA's metrics server serves external.metrics.k8s.io: %s: %s", f.Object, f.Summary)
		}
		if f.Object.Name == "ok" && (f.ID == "KEDA-008" || f.ID == "KEDA-009") {
			t.Errorf("finding for the healthy ScaledObject: %s %s", f.ID, f.Summary)
		}
	}
}
