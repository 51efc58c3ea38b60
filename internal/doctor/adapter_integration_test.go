package doctor

import (
	"net/http"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// metrics-server is installed but its pod crash-loops: the Service has no
// endpoints, the aggregator marks the APIService unavailable, and the HPA
// cannot read cpu. Doctor follows APIService -> Service -> pods and says
// why the pod is not an endpoint.
func TestScenarioAdapterPodCrashLooping(t *testing.T) {
	c := newCluster(t)
	cs := c.env.Clientset
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "metrics-server", Namespace: c.ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"k8s-app": "metrics-server"},
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromString("https")}}}}
	if _, err := cs.CoreV1().Services(c.ns).Create(c.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "metrics-server-6f8c-q7z", Namespace: c.ns, Labels: map[string]string{"k8s-app": "metrics-server"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "metrics-server", Image: "registry.k8s.io/metrics-server/metrics-server:v0.8.0"}}}}
	p, err := cs.CoreV1().Pods(c.ns).Create(c.ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := metav1.NewTime(time.Now().Add(-5 * time.Minute))
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: start}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "metrics-server", Image: pod.Spec.Containers[0].Image, RestartCount: 5,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 2m40s restarting failed container=metrics-server"}}}}}
	if _, err := cs.CoreV1().Pods(c.ns).UpdateStatus(c.ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.apiService(ResourceMetricsAPI, c.ns, "metrics-server", nil)
	c.waitAPIService(ResourceMetricsAPI, "False")
	c.workload("llm", corev1.PodSpec{Containers: []corev1.Container{container("app", "200m")}})
	c.hpa(cpuHPA("llm", "llm"))
	c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "pods.metrics.k8s.io")
	r := c.diagnose(nil)
	f := expect(t, r, "API-003", Error, "APIService", ResourceMetricsAPI, "")
	facts := strings.Join(f.Evidence.Facts, "\n")
	if !strings.Contains(facts, "Pod metrics-server-6f8c-q7z: Running, 0/1 ready, CrashLoopBackOff (back-off 2m40s restarting failed container=metrics-server), 5 restarts") {
		t.Errorf("API-003 does not follow the Service to its pod: %q", f.Evidence.Facts)
	}
	// The aggregator's own words are quoted on API-002.
	a := expect(t, r, "API-002", Error, "APIService", ResourceMetricsAPI, "metrics-server")
	if len(a.Evidence.Conditions) != 1 || (a.Evidence.Conditions[0].Reason != "MissingEndpoints" && a.Evidence.Conditions[0].Reason != "EndpointsNotFound") {
		t.Errorf("API-002 reason: %+v", a.Evidence.Conditions)
	}
}

// kedaMetricsServer is a stand-in for keda-operator-metrics-apiserver: it
// answers each external metric by ScaledObject name (the label selector
// KEDA's HPAs use) with a value, NaN, or the error KEDA 2.20's metrics
// server returns when the scaler fails (the scaler's own error is not in
// it: KEDA puts that in a KEDAScalerFailed event).
func kedaMetricsServer(values map[string]string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/external.metrics.k8s.io/v1beta1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, resourceList("external.metrics.k8s.io/v1beta1", "externalmetrics"))
	})
	mux.HandleFunc("/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}", func(w http.ResponseWriter, r *http.Request) {
		so := strings.TrimPrefix(r.URL.Query().Get("labelSelector"), "scaledobject.keda.sh/name=")
		v, ok := values[so]
		if !ok || v == "error" {
			msg := "rpc error: code = Unknown desc = error when getting metric values metric:" + r.PathValue("metric") + " encountered error"
			writeJSON(w, 500, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Message: msg, Reason: metav1.StatusReasonInternalError, Code: 500})
			return
		}
		writeJSON(w, 200, map[string]any{"kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1", "metadata": map[string]any{},
			"items": []any{map[string]any{"metricName": r.PathValue("metric"), "metricLabels": map[string]string{}, "timestamp": time.Now().UTC().Format(time.RFC3339), "value": v}}})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w, "not found") })
	return mux
}

// KEDA's metrics server answers the HPA with an error for one
// ScaledObject (its Prometheus target is lost; the operator's event says
// so) and with a NaN for another: doctor queries each external metric with
// KEDA's selector, as the HPA does, quotes the answer and the scaler's own
// error from the event (KEDA-008, KEDA-009).
func TestScenarioKEDAMetricErrorAndNaN(t *testing.T) {
	c := newCluster(t)
	a := newAdapter(t, kedaMetricsServer(map[string]string{"lost": "error", "nan": "NaN", "ok": "7"}))
	c.expose(a, ExternalMetricsAPI, c.ns, "keda-operator-metrics-apiserver", true)
	for _, n := range []string{"lost", "nan", "ok"} {
		c.workload(n, corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
		c.scaledObject(n, n, "")
		c.hpa(kedaHPA(n, n))
	}
	scalerErr := "prometheus metrics 'prometheus' target may be lost, the result is empty"
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "lost.keda", Namespace: c.ns},
		InvolvedObject: corev1.ObjectReference{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Namespace: c.ns, Name: "lost"},
		Type:           corev1.EventTypeWarning, Reason: "KEDAScalerFailed", Message: scalerErr, Count: 12,
		Source: corev1.EventSource{Component: "keda-operator"}, FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now()}
	if _, err := c.env.Clientset.CoreV1().Events(c.ns).Create(c.ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	msg := c.waitCondition("keda-hpa-lost", autoscalingv2.ScalingActive, "FailedGetExternalMetric", "encountered error")
	r := c.diagnose(nil)
	f := expect(t, r, "KEDA-008", Error, "ScaledObject", "lost", "error when getting metric values metric:s0-prometheus encountered error")
	if !strings.Contains(f.Summary, "the scaler's error: "+scalerErr) || len(f.Evidence.Events) != 1 || f.Evidence.Events[0].Reason != "KEDAScalerFailed" {
		t.Errorf("KEDA-008 does not bring in the scaler's error from KEDA's event: %q %+v", f.Summary, f.Evidence.Events)
	}
	if !strings.Contains(msg, f.Message) {
		t.Errorf("KEDA-008 quotes %q; the HPA controller got %q", f.Message, msg)
	}
	if f.Evidence.Probe == nil || f.Evidence.Probe.HTTPStatus != 500 || !strings.Contains(f.Evidence.Probe.Path, "labelSelector=scaledobject.keda.sh%2Fname%3Dlost") {
		t.Errorf("KEDA-008 probe: %+v", f.Evidence.Probe)
	}
	expect(t, r, "KEDA-009", Warning, "ScaledObject", "nan", "")
	for _, f := range r.Findings {
		if f.Object.Name == "ok" && (f.ID == "KEDA-008" || f.ID == "KEDA-009") {
			t.Errorf("finding for the healthy ScaledObject: %+v", f)
		}
	}
}
