package doctor

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/mlscale/mlscale/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// cluster is one scenario's namespace on the shared control plane, with the
// real HPA controller running.
type cluster struct {
	t   *testing.T
	env *testenv.Env
	ns  string
	ctx context.Context
}

// The HPA controller runs as its own ServiceAccount (as kubeadm and most
// managed clusters run it), bound by the bootstrap RBAC policy, so RBAC
// scenarios (CUS-006) see what a real cluster sees.
func newCluster(t *testing.T) *cluster { return newClusterWith(t) }

// newClusterWith is newCluster with more of the control plane (the KEDA
// operator, KEDA's metrics server).
func newClusterWith(t *testing.T, opts ...testenv.Option) *cluster {
	env := testenv.Start(t, append([]testenv.Option{testenv.WithControllerManager("--use-service-account-credentials=true")}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &cluster{t: t, env: env, ns: env.Namespace(t), ctx: ctx}
}

func int32p(i int32) *int32 { return &i }

// workload creates a Deployment and one Running, Ready pod per container
// set, owned by a ReplicaSet of the Deployment (no controllers but the
// HPA's run, so the test writes what the kubelet and the ReplicaSet
// controller would).
func (c *cluster) workload(name string, spec corev1.PodSpec) {
	c.t.Helper()
	c.workloadStarted(name, spec, time.Now().Add(-10*time.Minute))
}

// workloadStarted is workload with the pod's start time.
func (c *cluster) workloadStarted(name string, spec corev1.PodSpec, started time.Time) {
	c.t.Helper()
	cs := c.env.Clientset
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: int32p(1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
	if _, err := cs.AppsV1().Deployments(c.ns).Create(c.ctx, d, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-0", Namespace: c.ns, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name + "-5d8f9", UID: types.UID("rs-" + name), Controller: ptrBool(true)}}},
		Spec: spec,
	}
	p, err := cs.CoreV1().Pods(c.ns).Create(c.ctx, pod, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	start := metav1.NewTime(started)
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}}}
	if _, err := cs.CoreV1().Pods(c.ns).UpdateStatus(c.ctx, p, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

func ptrBool(b bool) *bool { return &b }

func container(name string, cpu string) corev1.Container {
	ctr := corev1.Container{Name: name, Image: name}
	if cpu != "" {
		ctr.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	return ctr
}

func cpuHPA(name, target string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MinReplicas:    int32p(1), MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: int32p(50)}}}},
		},
	}
}

func (c *cluster) hpa(h *autoscalingv2.HorizontalPodAutoscaler) {
	c.t.Helper()
	h.Namespace = c.ns
	if _, err := c.env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(c.ns).Create(c.ctx, h, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// waitCondition waits until the real HPA controller has written a
// condition of type with reason whose message contains substr.
func (c *cluster) waitCondition(name string, typ autoscalingv2.HorizontalPodAutoscalerConditionType, reason, substr string) string {
	c.t.Helper()
	var last []autoscalingv2.HorizontalPodAutoscalerCondition
	var msg string
	err := wait.PollUntilContextTimeout(c.ctx, 200*time.Millisecond, 45*time.Second, true, func(ctx context.Context) (bool, error) {
		h, err := c.env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = h.Status.Conditions
		for _, cond := range h.Status.Conditions {
			if cond.Type == typ && cond.Reason == reason && strings.Contains(cond.Message, substr) {
				msg = cond.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		c.t.Fatalf("HPA %s: no %s condition %s containing %q; last conditions: %+v", name, typ, reason, substr, last)
	}
	return msg
}

// diagnose runs Collect and Check as the admin user (or cfg).
func (c *cluster) diagnose(cfg *rest.Config) *Report {
	c.t.Helper()
	return c.diagnoseScope(cfg, Scope{})
}

// diagnoseScope is diagnose with more Scope settings (the namespace and
// the probe timeout are set here).
func (c *cluster) diagnoseScope(cfg *rest.Config, sc Scope) *Report {
	c.t.Helper()
	if cfg == nil {
		cfg = c.env.Config
	}
	cl, err := NewClients(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	sc.Namespace, sc.ProbeTimeout = c.ns, 10*time.Second
	snap, err := Collect(c.ctx, cl, sc)
	if err != nil {
		c.t.Fatal(err)
	}
	r := Diagnose(snap)
	if testing.Verbose() {
		var b strings.Builder
		_ = Render(&b, "table", r, RenderOptions{})
		c.t.Log("\n" + b.String())
	}
	return r
}

// expect asserts a finding with id, severity and object name whose Message
// contains msg (the controller's words), and returns it.
func expect(t *testing.T, r *Report, id string, sev Severity, kind, name, msg string) Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.ID == id && f.Severity == sev && f.Object.Kind == kind && f.Object.Name == name && strings.Contains(f.Message, msg) {
			return f
		}
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, fmt.Sprintf("%s %s %s: %s | %q", f.ID, f.Severity, f.Object, f.Summary, f.Message))
	}
	t.Fatalf("no %s %s finding on %s/%s with message containing %q; findings:\n%s\nskipped: %+v", sev, id, kind, name, msg, strings.Join(got, "\n"), r.Skipped)
	return Finding{}
}

// --- fake aggregated adapters (doctor-tui.md §4.3) ---

// adapter is an in-process metrics adapter reached through a Service of
// type ExternalName (localhost) and an APIService.
type adapter struct {
	srv  *httptest.Server
	port int32
}

func newAdapter(t *testing.T, h http.Handler) *adapter {
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, ps, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(ps)
	return &adapter{srv: srv, port: int32(port)}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, msg string) {
	writeJSON(w, 404, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Message: msg, Reason: metav1.StatusReasonNotFound, Code: 404})
}

// resourceList serves an API group version's discovery document.
func resourceList(gv string, names ...string) *metav1.APIResourceList {
	rl := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv}
	for _, n := range names {
		rl.APIResources = append(rl.APIResources, metav1.APIResource{Name: n, Namespaced: true, Kind: "MetricValueList", Verbs: []string{"get"}})
	}
	return rl
}

// expose creates the ExternalName Service svc (in namespace ns) and the
// APIService name -> that Service; both are removed at cleanup. The
// APIService is shared cluster state, so scenarios run one at a time.
func (c *cluster) expose(a *adapter, apiService, ns, svc string, waitAvailable bool) {
	c.t.Helper()
	cs := c.env.Clientset
	if svc != "" && a != nil {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: ns},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
				Ports: []corev1.ServicePort{{Name: "https", Port: a.port}}}}
		if _, err := cs.CoreV1().Services(ns).Create(c.ctx, s, metav1.CreateOptions{}); err != nil {
			c.t.Fatal(err)
		}
		c.t.Cleanup(func() { _ = cs.CoreV1().Services(ns).Delete(context.Background(), svc, metav1.DeleteOptions{}) })
	}
	if apiService == "" {
		return
	}
	c.apiService(apiService, ns, svc, a)
	if waitAvailable {
		c.waitAPIService(apiService, "True")
	}
}

func (c *cluster) apiService(name, ns, svc string, a *adapter) {
	c.t.Helper()
	version, group, _ := strings.Cut(name, ".")
	port := int64(443)
	if a != nil {
		port = int64(a.port)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"group": group, "version": version, "insecureSkipTLSVerify": true,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"service": map[string]any{"namespace": ns, "name": svc, "port": port},
		},
	}}
	if _, err := c.env.Dynamic.Resource(gvrAPIService).Create(c.ctx, u, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		ctx := context.Background()
		_ = c.env.Dynamic.Resource(gvrAPIService).Delete(ctx, name, metav1.DeleteOptions{})
		_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := c.env.Dynamic.Resource(gvrAPIService).Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})
}

func (c *cluster) waitAPIService(name, status string) {
	c.t.Helper()
	var last any
	err := wait.PollUntilContextTimeout(c.ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := c.env.Dynamic.Resource(gvrAPIService).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		a := apiServiceFrom(u)
		last = a.Conditions
		av, ok := a.Available()
		return ok && av.Status == status, nil
	})
	if err != nil {
		c.t.Fatalf("APIService %s never Available=%s: %+v", name, status, last)
	}
}

// metricsServer serves metrics.k8s.io/v1beta1 PodMetrics for every pod in
// usage with the given per-container usage, and NodeMetrics for nodes.
func metricsServer(usage map[string]map[string]string, nodes ...string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/metrics.k8s.io/v1beta1/nodes", func(w http.ResponseWriter, r *http.Request) {
		items := []map[string]any{}
		for _, n := range nodes {
			items = append(items, map[string]any{"metadata": map[string]any{"name": n},
				"timestamp": time.Now().UTC().Format(time.RFC3339), "window": "20s", "usage": map[string]string{"cpu": "1", "memory": "1Gi"}})
		}
		writeJSON(w, 200, map[string]any{"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": map[string]any{}, "items": items})
	})
	mux.HandleFunc("/apis/metrics.k8s.io/v1beta1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, resourceList("metrics.k8s.io/v1beta1", "pods", "nodes"))
	})
	mux.HandleFunc("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods", func(w http.ResponseWriter, r *http.Request) {
		ns := r.PathValue("ns")
		var items []map[string]any
		for pod, ctrs := range usage {
			var cl []map[string]any
			for name, cpu := range ctrs {
				cl = append(cl, map[string]any{"name": name, "usage": map[string]string{"cpu": cpu, "memory": "100Mi"}})
			}
			items = append(items, map[string]any{
				"metadata":  map[string]any{"name": pod, "namespace": ns, "labels": map[string]string{}},
				"timestamp": time.Now().UTC().Format(time.RFC3339), "window": "30s", "containers": cl})
		}
		writeJSON(w, 200, map[string]any{"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": map[string]any{}, "items": items})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w, "not found") })
	return mux
}

// --- scenarios: one per broken cluster of issue 6 ---

// No metrics.k8s.io APIService: the HPA controller cannot fetch cpu.
func TestScenarioAPIServiceMissing(t *testing.T) {
	c := newCluster(t)
	c.workload("llm", corev1.PodSpec{Containers: []corev1.Container{container("app", "200m")}})
	c.hpa(cpuHPA("llm", "llm"))
	msg := c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "pods.metrics.k8s.io")
	r := c.diagnose(nil)
	f := expect(t, r, "API-001", Error, "APIService", ResourceMetricsAPI, "the server could not find the requested resource (get pods.metrics.k8s.io)")
	if f.Message != msg {
		t.Errorf("API-001 message %q is not the controller's %q", f.Message, msg)
	}
	expect(t, r, "HPA-005", Error, "HorizontalPodAutoscaler", "llm", msg)
	expect(t, r, "HPA-003", Error, "HorizontalPodAutoscaler", "llm", msg)
}

// The APIService points at a Service that does not exist (a typo of one
// that does): the aggregator's ServiceNotFound, and the HPA's "unable to
// handle the request".
func TestScenarioAPIServiceMissingService(t *testing.T) {
	c := newCluster(t)
	a := newAdapter(t, metricsServer(nil))
	// The real Service is "metrics-server"; the APIService says "metrics-servr".
	c.expose(a, "", c.ns, "metrics-server", false)
	c.apiService(ResourceMetricsAPI, c.ns, "metrics-servr", a)
	c.waitAPIService(ResourceMetricsAPI, "False")
	c.workload("llm", corev1.PodSpec{Containers: []corev1.Container{container("app", "200m")}})
	c.hpa(cpuHPA("llm", "llm"))
	c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "pods.metrics.k8s.io")
	r := c.diagnose(nil)
	f := expect(t, r, "API-002", Error, "APIService", ResourceMetricsAPI, `service/metrics-servr in "`+c.ns+`" is not present`)
	if len(f.Evidence.Conditions) != 1 || f.Evidence.Conditions[0].Reason != "ServiceNotFound" {
		t.Errorf("API-002 evidence: %+v", f.Evidence)
	}
	expect(t, r, "API-007", Error, "APIService", ResourceMetricsAPI, "is not present")
}

// external.metrics.k8s.io is served by prometheus-adapter while a
// ScaledObject needs KEDA's metrics server.
func TestScenarioExternalMetricsOwnedByOtherAdapter(t *testing.T) {
	c := newCluster(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/external.metrics.k8s.io/v1beta1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, resourceList("external.metrics.k8s.io/v1beta1", "http_requests"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		notFound(w, "the server could not find the requested resource")
	})
	a := newAdapter(t, mux)
	c.expose(a, ExternalMetricsAPI, c.ns, "prometheus-adapter", true)
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.scaledObject("worker", "worker", "")
	h := kedaHPA("worker", "worker")
	c.hpa(h)
	msg := c.waitCondition("keda-hpa-worker", autoscalingv2.ScalingActive, "FailedGetExternalMetric", "external metrics API")
	r := c.diagnose(nil)
	f := expect(t, r, "API-006", Error, "APIService", ExternalMetricsAPI, msg)
	if !strings.Contains(f.Summary, "prometheus-adapter") {
		t.Errorf("API-006 summary does not name the owner: %q", f.Summary)
	}
}

// Pods without a cpu request in a native sidecar (restartable init
// container): the controller's "missing request for cpu in container
// proxy of Pod llm-0".
func TestScenarioMissingRequestsSidecar(t *testing.T) {
	c := newCluster(t)
	a := newAdapter(t, metricsServer(map[string]map[string]string{"llm-0": {"app": "300m", "proxy": "10m"}}))
	c.expose(a, ResourceMetricsAPI, c.ns, "metrics-server", true)
	always := corev1.ContainerRestartPolicyAlways
	proxy := container("proxy", "")
	proxy.RestartPolicy = &always
	c.workload("llm", corev1.PodSpec{InitContainers: []corev1.Container{proxy}, Containers: []corev1.Container{container("app", "200m")}})
	c.hpa(cpuHPA("llm", "llm"))
	msg := c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "missing request for cpu")
	r := c.diagnose(nil)
	f := expect(t, r, "RES-001", Error, "HorizontalPodAutoscaler", "llm", "missing request for cpu in container proxy of Pod llm-0")
	if f.Message != msg {
		t.Errorf("RES-001 message %q, controller %q", f.Message, msg)
	}
	if !strings.Contains(f.Summary, "proxy") {
		t.Errorf("RES-001 summary does not name the sidecar: %q", f.Summary)
	}
	expect(t, r, "HPA-005", Error, "HorizontalPodAutoscaler", "llm", msg)
}

// A ContainerResource metric names a container the pods do not have.
func TestScenarioContainerResourceMissingContainer(t *testing.T) {
	c := newCluster(t)
	a := newAdapter(t, metricsServer(map[string]map[string]string{"llm-0": {"app": "300m"}}))
	c.expose(a, ResourceMetricsAPI, c.ns, "metrics-server", true)
	c.workload("llm", corev1.PodSpec{Containers: []corev1.Container{container("app", "200m")}})
	h := cpuHPA("llm", "llm")
	h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceCPU, Container: "vllm", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: int32p(50)}}}}
	c.hpa(h)
	msg := c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetContainerResourceMetric", "")
	r := c.diagnose(nil)
	f := expect(t, r, "RES-002", Error, "HorizontalPodAutoscaler", "llm", msg)
	if f.Message == "" {
		t.Error("RES-002 has no controller message")
	}
}

// A Pods metric the custom metrics adapter does not serve.
func TestScenarioCustomMetricNotServed(t *testing.T) {
	c := newCluster(t)
	c.customAdapter()
	c.workload("llm", corev1.PodSpec{Containers: []corev1.Container{container("app", "200m")}})
	c.hpa(queueHPA("llm"))
	msg := c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetPodsMetric", "vllm_queue_depth")
	r := c.diagnose(nil)
	f := expect(t, r, "CUS-001", Error, "HorizontalPodAutoscaler", "llm", "the server could not find the metric vllm_queue_depth for pods")
	if f.Message != msg {
		t.Errorf("CUS-001 message %q, controller %q", f.Message, msg)
	}
	// The pod started 10 minutes ago: not the adapter's relist lag.
	for _, f := range r.Findings {
		if f.ID == "CUS-004" {
			t.Errorf("CUS-004 for a pod older than the relist interval: %+v", f)
		}
	}
}

// queueHPA scales on the Pods metric vllm_queue_depth (average 5).
func queueHPA(name string) *autoscalingv2.HorizontalPodAutoscaler {
	h := cpuHPA(name, name)
	h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "vllm_queue_depth"},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(5, resource.DecimalSI)}}}}
	return h
}

// customAdapter serves custom.metrics.k8s.io listing only
// pods/vllm_num_requests_running, as Service prometheus-adapter.
func (c *cluster) customAdapter() {
	c.t.Helper()
	mux := http.NewServeMux()
	for _, v := range []string{"v1beta1", "v1beta2"} {
		mux.HandleFunc("/apis/custom.metrics.k8s.io/"+v, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, resourceList("custom.metrics.k8s.io/"+v, "pods/vllm_num_requests_running"))
		})
	}
	mux.HandleFunc("/apis/custom.metrics.k8s.io/{v}/namespaces/{ns}/pods/{pod}/{metric}", func(w http.ResponseWriter, r *http.Request) {
		notFound(w, "the server could not find the metric "+r.PathValue("metric")+" for pods")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w, "not found") })
	a := newAdapter(c.t, mux)
	c.expose(a, CustomMetricsAPI, c.ns, "prometheus-adapter", true)
}

// The same metric, but the pods started a minute ago and the adapter
// relists every 5 minutes: CUS-004 says when to look again.
func TestScenarioCustomMetricRelistLag(t *testing.T) {
	c := newCluster(t)
	c.customAdapter()
	adapterDeploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-adapter", Namespace: c.ns},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "prometheus-adapter"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "prometheus-adapter"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "adapter", Image: "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",
					Args: []string{"--prometheus-url=http://prometheus.monitoring:9090", "--metrics-relist-interval=5m"}}}}}}}
	if _, err := c.env.Clientset.AppsV1().Deployments(c.ns).Create(c.ctx, adapterDeploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.workloadStarted("llm", corev1.PodSpec{Containers: []corev1.Container{container("app", "200m")}}, time.Now().Add(-time.Minute))
	c.hpa(queueHPA("llm"))
	c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetPodsMetric", "vllm_queue_depth")
	r := c.diagnose(nil)
	expect(t, r, "CUS-001", Error, "HorizontalPodAutoscaler", "llm", "the server could not find the metric vllm_queue_depth for pods")
	f := expect(t, r, "CUS-004", Info, "HorizontalPodAutoscaler", "llm", "")
	if !strings.Contains(f.Summary, "relist interval (5m0s)") || len(f.Evidence.Facts) == 0 ||
		!strings.Contains(f.Evidence.Facts[0], "--metrics-relist-interval of "+c.ns+"/prometheus-adapter") {
		t.Errorf("CUS-004 did not read the adapter's flag: %q %q", f.Summary, f.Evidence.Facts)
	}
}

// A hand-written HPA on the Deployment KEDA scales: both HPAs stop
// (AmbiguousSelector), and the ScaledObject's ownership check fires.
func TestScenarioSecondHPAOnKEDATarget(t *testing.T) {
	c := newCluster(t)
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.scaledObject("worker", "worker", "")
	c.hpa(kedaHPA("worker", "worker"))
	c.hpa(cpuHPA("worker-extra", "worker"))
	msg := c.waitCondition("worker-extra", autoscalingv2.ScalingActive, "AmbiguousSelector", "controlled by")
	r := c.diagnose(nil)
	expect(t, r, "HPA-006", Error, "HorizontalPodAutoscaler", "worker-extra", msg)
	expect(t, r, "KEDA-005", Error, "ScaledObject", "worker", "already managed by the hpa 'worker-extra'")
}

// A ScaledObject whose TriggerAuthentication does not exist. (No KEDA
// operator runs here, so there is no KEDA condition to quote: doctor finds
// it from the reference.)
func TestScenarioMissingTriggerAuthentication(t *testing.T) {
	c := newCluster(t)
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.scaledObject("worker", "worker", "rabbitmq-auth")
	r := c.diagnose(nil)
	f := expect(t, r, "KEDA-006", Error, "ScaledObject", "worker", "")
	if !strings.Contains(f.Summary, `"rabbitmq-auth"`) {
		t.Errorf("KEDA-006 summary: %q", f.Summary)
	}
}

// TriggerAuthentications whose Secret is missing, or lacks the key: found
// only with --check-secrets (Scope.CheckSecrets), which reads key names.
func TestScenarioTriggerAuthenticationSecrets(t *testing.T) {
	c := newCluster(t)
	ta := func(name, secret, key string) {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
			"metadata": map[string]any{"name": name, "namespace": c.ns},
			"spec":     map[string]any{"secretTargetRef": []any{map[string]any{"parameter": "host", "name": secret, "key": key}}},
		}}
		if _, err := c.env.Dynamic.Resource(gvrTriggerAuth).Namespace(c.ns).Create(c.ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "rabbitmq", Namespace: c.ns}, Data: map[string][]byte{"amqp-url": []byte("amqp://user:hunter2@rabbitmq:5672/")}}
	if _, err := c.env.Clientset.CoreV1().Secrets(c.ns).Create(c.ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ta("no-secret", "rabbitmq-creds", "host")
	ta("wrong-key", "rabbitmq", "host")
	ta("good", "rabbitmq", "amqp-url")
	for _, w := range []string{"a", "b", "c"} {
		c.workload("worker-"+w, corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	}
	c.scaledObject("worker-a", "worker-a", "no-secret")
	c.scaledObject("worker-b", "worker-b", "wrong-key")
	c.scaledObject("worker-c", "worker-c", "good")

	// Without the opt-in, Secrets are not read.
	for _, f := range c.diagnose(nil).Findings {
		if f.ID == "KEDA-006" {
			t.Errorf("KEDA-006 without --check-secrets: %+v", f)
		}
	}
	r := c.diagnoseScope(nil, Scope{CheckSecrets: true})
	f := expect(t, r, "KEDA-006", Error, "ScaledObject", "worker-a", "")
	if !strings.Contains(f.Summary, `parameter "host" from Secret `+c.ns+`/rabbitmq-creds, which does not exist`) {
		t.Errorf("missing Secret: %q", f.Summary)
	}
	f = expect(t, r, "KEDA-006", Error, "ScaledObject", "worker-b", "")
	if !strings.Contains(f.Summary, `key "host" of Secret `+c.ns+`/rabbitmq, which has keys amqp-url`) {
		t.Errorf("missing key: %q", f.Summary)
	}
	var b strings.Builder
	_ = Render(&b, "json", r, RenderOptions{})
	if strings.Contains(b.String(), "hunter2") {
		t.Error("the report contains a Secret's value")
	}
	for _, f := range r.Findings {
		if f.ID == "KEDA-006" && f.Object.Name == "worker-c" {
			t.Errorf("KEDA-006 for a TriggerAuthentication whose Secret and key exist: %+v", f)
		}
	}
}

// RBAC that forbids doctor part of its probes: the dependent checks are
// skipped (forbidden), never failed, and the allowed ones still run.
func TestScenarioForbiddenProbesAreSkipped(t *testing.T) {
	c := newCluster(t)
	c.workload("llm", corev1.PodSpec{Containers: []corev1.Container{container("app", "")}})
	c.hpa(cpuHPA("llm", "llm"))
	c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "")
	cs := c.env.Clientset
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "doctor-partial", Namespace: c.ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list"}},
		}}
	if _, err := cs.RbacV1().Roles(c.ns).Create(c.ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "doctor-partial", Namespace: c.ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "doctor-partial"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "doctor"}}}
	if _, err := cs.RbacV1().RoleBindings(c.ns).Create(c.ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var r *Report
	// RBAC caches take a moment to see the new binding.
	err := wait.PollUntilContextTimeout(c.ctx, 200*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		r = c.diagnose(c.env.User(t, "doctor"))
		for _, f := range r.Findings {
			if f.Object.Name == "llm" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the restricted user never saw the HPA: %+v", r)
	}
	skipped := map[string]SkipReason{}
	for _, s := range r.Skipped {
		skipped[s.ID] = s.Reason
	}
	for _, id := range []string{"RES-001", "API-001", "HPA-004"} {
		if skipped[id] != SkipForbidden {
			t.Errorf("%s not skipped as forbidden: %+v", id, r.Skipped)
		}
	}
	for _, f := range r.Findings {
		if strings.HasPrefix(f.ID, "RES-") || strings.HasPrefix(f.ID, "API-") {
			t.Errorf("finding from a forbidden probe: %+v", f)
		}
	}
	// What it may read is still diagnosed, with the controller's words.
	expect(t, r, "HPA-003", Error, "HorizontalPodAutoscaler", "llm", "the HPA was unable to compute the replica count")
}

// scaledObject creates a ScaledObject targeting the Deployment with a
// Prometheus trigger (and an authenticationRef when auth is set), and
// writes the status KEDA would (hpaName, externalMetricNames).
func (c *cluster) scaledObject(name, target, auth string) {
	c.t.Helper()
	trig := map[string]any{"type": "prometheus", "metadata": map[string]any{
		"serverAddress": "http://prometheus.monitoring:9090", "query": "sum(rate(http_requests_total[1m]))", "threshold": "10"}}
	if auth != "" {
		trig["authenticationRef"] = map[string]any{"name": auth}
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": name, "namespace": c.ns},
		"spec": map[string]any{
			"scaleTargetRef":  map[string]any{"name": target},
			"minReplicaCount": int64(1), "maxReplicaCount": int64(5),
			"triggers": []any{trig},
		},
	}}
	ri := c.env.Dynamic.Resource(gvrScaledObject).Namespace(c.ns)
	got, err := ri.Create(c.ctx, u, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	got.Object["status"] = map[string]any{"hpaName": "keda-hpa-" + name, "externalMetricNames": []any{"s0-prometheus"}}
	if _, err := ri.UpdateStatus(c.ctx, got, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// kedaHPA is the HPA KEDA generates for a ScaledObject (external metric
// s0-prometheus selected by scaledobject.keda.sh/name).
func kedaHPA(so, target string) *autoscalingv2.HorizontalPodAutoscaler {
	h := cpuHPA("keda-hpa-"+so, target)
	h.Labels = map[string]string{"app.kubernetes.io/managed-by": "keda-operator", "scaledobject.keda.sh/name": so}
	h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "s0-prometheus", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"scaledobject.keda.sh/name": so}}},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(10, resource.DecimalSI)}}}}
	return h
}

// --- exported for the external test package (cli_integration_test.go) ---

// TestCluster is a scenario namespace for tests outside this package.
type TestCluster struct{ c *cluster }

// NewTestCluster starts (or reuses) the control plane with the HPA controller.
func NewTestCluster(t *testing.T) *TestCluster { return &TestCluster{c: newCluster(t)} }

func (tc *TestCluster) Namespace() string                      { return tc.c.ns }
func (tc *TestCluster) Kubeconfig() string                     { return tc.c.env.Kubeconfig }
func (tc *TestCluster) Workload(name string, s corev1.PodSpec) { tc.c.workload(name, s) }
func (tc *TestCluster) CPUHPA(name, target string)             { tc.c.hpa(cpuHPA(name, target)) }
func (tc *TestCluster) WaitCondition(name string, typ autoscalingv2.HorizontalPodAutoscalerConditionType, reason, substr string) string {
	return tc.c.waitCondition(name, typ, reason, substr)
}

// MetricsServer serves metrics.k8s.io with the given usage (pod -> container -> cpu).
func (tc *TestCluster) MetricsServer(usage map[string]map[string]string) {
	a := newAdapter(tc.c.t, metricsServer(usage))
	tc.c.expose(a, ResourceMetricsAPI, tc.c.ns, "metrics-server", true)
}

// DesiredReplicas is the HPA's status.desiredReplicas.
func (tc *TestCluster) DesiredReplicas(name string) int32 {
	h, err := tc.c.env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(tc.c.ns).Get(tc.c.ctx, name, metav1.GetOptions{})
	if err != nil {
		tc.c.t.Fatal(err)
	}
	return h.Status.DesiredReplicas
}

// A target that does not exist, of a kind resolved through /scale
// (StatefulSet): the controller's FailedGetScale, and HPA-001.
func TestScenarioTargetMissing(t *testing.T) {
	c := newCluster(t)
	h := cpuHPA("db", "db")
	h.Spec.ScaleTargetRef.Kind = "StatefulSet"
	c.hpa(h)
	msg := c.waitCondition("db", autoscalingv2.AbleToScale, "FailedGetScale", `"db" not found`)
	r := c.diagnose(nil)
	expect(t, r, "HPA-001", Error, "HorizontalPodAutoscaler", "db", msg)
}

// ScaledObject creates a ScaledObject (see cluster.scaledObject).
func (tc *TestCluster) ScaledObject(name, target, auth string) { tc.c.scaledObject(name, target, auth) }

// KEDA's admission webhook Service has no endpoints. (The test's webhook
// matches no real resource and ignores failures, so it cannot disturb the
// other tests on the shared API server.)
func TestScenarioKEDAWebhookUnreachable(t *testing.T) {
	c := newCluster(t)
	cs := c.env.Clientset
	ignore := admissionregistrationv1.Ignore
	none := admissionregistrationv1.SideEffectClassNone
	port := int32(443)
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "keda-admission"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "vscaledobject.kb.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: c.ns, Name: "keda-admission-webhooks", Port: &port}},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{"doctor.invalid"}, APIVersions: []string{"v1"}, Resources: []string{"nothing"}}}},
			FailurePolicy:           &ignore,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if _, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(c.ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), "keda-admission", metav1.DeleteOptions{})
	})
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.scaledObject("worker", "worker", "")
	r := c.diagnose(nil)
	f := expect(t, r, "KEDA-011", Warning, "ValidatingWebhookConfiguration", "keda-admission", "")
	if !strings.Contains(f.Summary, c.ns+"/keda-admission-webhooks") {
		t.Errorf("KEDA-011 summary: %q", f.Summary)
	}
}

// node creates a Node (cluster-scoped, removed at cleanup) with its Ready
// condition, as a kubelet would report it.
func (c *cluster) node(name string, ready bool) {
	c.t.Helper()
	cs := c.env.Clientset
	n, err := cs.CoreV1().Nodes().Create(c.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st, Reason: "KubeletReady",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(c.ctx, n, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// metrics-server scrapes one GPU node's kubelet but not the other's (the
// kubelet's serving certificate has no IP SAN): no NodeMetrics for it and
// no PodMetrics for the model server on it.
func TestScenarioKubeletNotScraped(t *testing.T) {
	c := newCluster(t)
	good, bad := c.ns+"-gpu-a", c.ns+"-gpu-b"
	c.node(good, true)
	c.node(bad, true)
	a := newAdapter(t, metricsServer(map[string]map[string]string{}, good))
	c.expose(a, ResourceMetricsAPI, c.ns, "metrics-server", true)
	c.workload("llm", corev1.PodSpec{NodeName: bad, Containers: []corev1.Container{container("app", "200m")}})
	c.hpa(cpuHPA("llm", "llm"))
	msg := c.waitCondition("llm", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "metrics")
	r := c.diagnose(nil)
	f := expect(t, r, "API-004", Error, "APIService", ResourceMetricsAPI, msg)
	if !strings.Contains(f.Summary, "1 of 2 Ready node(s) ("+bad+")") {
		t.Errorf("API-004 summary: %q", f.Summary)
	}
	if !strings.Contains(strings.Join(f.Evidence.Facts, "\n"), "llm-0 on "+bad) {
		t.Errorf("API-004 does not tie the HPA's pod to the node: %q", f.Evidence.Facts)
	}
}

// The HPA controller's ServiceAccount loses get/list on
// external.metrics.k8s.io (the GKE 1.16 external-metrics-reader case): the
// real controller gets 403 for KEDA's metric whatever serves the API.
func TestScenarioHPAControllerForbidden(t *testing.T) {
	c := newCluster(t)
	cs := c.env.Clientset
	const role = "system:controller:horizontal-pod-autoscaler"
	cr, err := cs.RbacV1().ClusterRoles().Get(c.ctx, role, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orig := cr.Rules
	var rules []rbacv1.PolicyRule
	for _, r := range cr.Rules {
		if !slices.Contains(r.APIGroups, "external.metrics.k8s.io") {
			rules = append(rules, r)
		}
	}
	if len(rules) == len(orig) {
		t.Fatalf("%s has no external.metrics.k8s.io rule to remove: %+v", role, orig)
	}
	cr.Rules = rules
	if _, err := cs.RbacV1().ClusterRoles().Update(c.ctx, cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			cr, err := cs.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			cr.Rules = orig
			_, err = cs.RbacV1().ClusterRoles().Update(ctx, cr, metav1.UpdateOptions{})
			return err == nil, nil
		})
	})
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.scaledObject("worker", "worker", "")
	c.hpa(kedaHPA("worker", "worker"))
	sa := "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
	msg := c.waitCondition("keda-hpa-worker", autoscalingv2.ScalingActive, "FailedGetExternalMetric", `User "`+sa+`" cannot list resource "s0-prometheus"`)
	r := c.diagnose(nil)
	f := expect(t, r, "CUS-006", Error, "HorizontalPodAutoscaler", "keda-hpa-worker", msg)
	if !strings.Contains(f.Summary, "may not list external.metrics.k8s.io/s0-prometheus in namespace "+c.ns) || !strings.Contains(f.Summary, sa) {
		t.Errorf("CUS-006 summary: %q", f.Summary)
	}
	// The same cluster with the rule back: no CUS-006 (the review is
	// answered by the real RBAC authorizer, not guessed).
	cr, err = cs.RbacV1().ClusterRoles().Get(c.ctx, role, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cr.Rules = orig
	if _, err := cs.RbacV1().ClusterRoles().Update(c.ctx, cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(c.ctx, 200*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		for _, f := range c.diagnose(nil).Findings {
			if f.ID == "CUS-006" {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Error("CUS-006 still reported after the rule was restored")
	}
}
