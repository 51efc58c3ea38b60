package doctor

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/mlscale/mlscale/internal/testutil/golden"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func fixturePod(name, app string, ready bool, ctrs ...corev1.Container) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml", Labels: map[string]string{"app": app},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: app + "-5d8f9", Controller: ptrBool(true)}}},
		Spec:   corev1.PodSpec{Containers: ctrs},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func fixtureHPA(name, kind, target string, ms ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	h := cpuHPA(name, target)
	h.Namespace = "ml"
	h.CreationTimestamp = metav1.NewTime(now.Add(-10 * time.Minute))
	h.Spec.ScaleTargetRef.Kind = kind
	if len(ms) > 0 {
		h.Spec.Metrics = ms
	}
	return h
}

func cond(t autoscalingv2.HorizontalPodAutoscalerConditionType, s corev1.ConditionStatus, reason, msg string) autoscalingv2.HorizontalPodAutoscalerCondition {
	return autoscalingv2.HorizontalPodAutoscalerCondition{Type: t, Status: s, Reason: reason, Message: msg}
}

func podsMetric(name string) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(5, resource.DecimalSI)}}}
}

func target(kind, name, sel string, replicas int32) *Target {
	return &Target{Kind: kind, Name: name, Found: true, Selector: sel, SpecReplicas: replicas}
}

// fixtureSnapshot exercises most live checks at once; the values are the
// ones the controllers write (hpa.md §3, keda.md §5).
func fixtureSnapshot() *Snapshot {
	s := &Snapshot{
		Cluster: ClusterInfo{Context: "prod", ServerVersion: "v1.37.2", Namespace: "ml"},
		Now:     now,
		StaleDiscovery: map[string]string{
			"custom.metrics.k8s.io/v1beta2": "stale GroupVersion discovery: custom.metrics.k8s.io/v1beta2",
		},
		HasKEDA: true, HasOldKEDAGroup: true,
		APIServices: map[string]*APIService{
			ResourceMetricsAPI: {Name: ResourceMetricsAPI, ServiceNamespace: "kube-system", ServiceName: "metrics-server",
				Conditions: []ConditionEvidence{{Type: "Available", Status: "True", Reason: "Passed", Message: "all checks passed"}}},
			CustomMetricsAPI: {Name: CustomMetricsAPI, ServiceNamespace: "monitoring", ServiceName: "prometheus-adapter",
				Conditions: []ConditionEvidence{{Type: "Available", Status: "False", Reason: "FailedDiscoveryCheck",
					Message: `failing or missing response from https://10.0.0.7:443/apis/custom.metrics.k8s.io/v1beta2: Get "https://10.0.0.7:443/apis/custom.metrics.k8s.io/v1beta2": tls: failed to verify certificate: x509: certificate is valid for prometheus-adapter.monitoring.svc, not prometheus-adapter.monitoring`}}},
			ExternalMetricsAPI: {Name: ExternalMetricsAPI, ServiceNamespace: "keda", ServiceName: "keda-operator-metrics-apiserver",
				Conditions: []ConditionEvidence{{Type: "Available", Status: "False", Reason: "FailedDiscoveryCheck",
					Message: `failing or missing response from https://10.0.0.9:6443/apis/external.metrics.k8s.io/v1beta1: Get "https://10.0.0.9:6443/apis/external.metrics.k8s.io/v1beta1": dial tcp 10.0.0.9:6443: i/o timeout`}}},
		},
		Targets:       map[string]*Target{},
		Pods:          map[string][]*corev1.Pod{},
		Events:        map[string][]*corev1.Event{},
		PodMetrics:    map[string]map[string]*PodUsage{"ml": {}},
		TriggerAuths:  map[string]bool{"ml/rabbitmq-auth": true},
		Probes:        map[string]*MetricProbe{},
		CustomMetrics: map[string]bool{"pods/DCGM_FI_DEV_GPU_UTIL": true, "pods/requests_in_flight": true},
		Skipped:       []Skipped{{ID: "CUS-006", Reason: SkipForbidden, Detail: "create subjectaccessreviews: forbidden"}},
	}
	add := func(h *autoscalingv2.HorizontalPodAutoscaler, t *Target, pods ...*corev1.Pod) {
		s.HPAs = append(s.HPAs, h)
		s.Targets[TargetKey("ml", t.Kind, t.Name)] = t
		s.Pods["ml"] = append(s.Pods["ml"], pods...)
	}
	cpu := func(name string, req string) corev1.Container { return container(name, req) }
	gpuUtil := podsMetric("DCGM_FI_DEV_GPU_UTIL")

	// GPU metric on pods that request no GPU, whose value is NaN.
	gpu := fixtureHPA("gpu", "Deployment", "gpu", gpuUtil)
	add(gpu, target("Deployment", "gpu", "app=gpu", 1), fixturePod("gpu-0", "gpu", true, cpu("server", "1")))
	s.Probes[ProbeKey("ml", "HorizontalPodAutoscaler", "gpu", 0)] = &MetricProbe{Path: "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ml/pods/%2A/DCGM_FI_DEV_GPU_UTIL?labelSelector=app%3Dgpu", HTTPStatus: 200, Items: 1, NaN: true}

	// All pods unready (a model still loading), one of them foreign.
	web := fixtureHPA("web", "Deployment", "web")
	foreign := fixturePod("migrate-x", "web", false, cpu("job", "100m"))
	foreign.OwnerReferences = []metav1.OwnerReference{{Kind: "Job", Name: "migrate", Controller: ptrBool(true)}}
	web.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{
		cond(autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
		cond(autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)"),
	}
	s.Events[EventKey("ml", "HorizontalPodAutoscaler", "web")] = []*corev1.Event{
		{Type: "Warning", Reason: "FailedGetResourceMetric", Message: "failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)", Count: 12},
	}
	add(web, target("Deployment", "web", "app=web", 2), fixturePod("web-0", "web", false, cpu("server", "500m")), foreign)

	// Ready pods without PodMetrics.
	add(fixtureHPA("api", "Deployment", "api"), target("Deployment", "api", "app=api", 1), fixturePod("api-0", "api", true, cpu("server", "500m")))

	// Target at zero.
	zero := fixtureHPA("batch", "Deployment", "batch")
	zero.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{
		cond(autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"),
	}
	add(zero, target("Deployment", "batch", "app=batch", 0))

	// A CRD target whose /scale has no selector.
	crd := fixtureHPA("llm", "InferenceService", "llm")
	crd.Spec.ScaleTargetRef.APIVersion = "serving.example.com/v1"
	crd.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{
		cond(autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector"),
	}
	add(crd, target("InferenceService", "llm", "", 1))

	// Never processed; minReplicas == maxReplicas.
	idle := fixtureHPA("idle", "Deployment", "idle")
	idle.Spec.MinReplicas, idle.Spec.MaxReplicas = int32p(3), 3
	add(idle, target("Deployment", "idle", "app=idle", 3))

	// Saturated.
	sat := fixtureHPA("hot", "Deployment", "hot")
	sat.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: "cpu", Current: autoscalingv2.MetricValueStatus{AverageUtilization: int32p(180)}}}}
	sat.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{
		cond(autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"),
		cond(autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooManyReplicas", "the desired replica count is more than the maximum replica count"),
	}
	hotPod := fixturePod("hot-0", "hot", true, cpu("server", "1"))
	s.PodMetrics["ml"]["hot-0"] = &PodUsage{}
	add(sat, target("Deployment", "hot", "app=hot", 5), hotPod)

	// Listed by the adapter, but the query with the HPA's selector fails.
	rq := fixtureHPA("queue", "Deployment", "queue", podsMetric("requests_in_flight"))
	add(rq, target("Deployment", "queue", "app=queue", 1), fixturePod("queue-0", "queue", true, cpu("server", "1")))
	s.Probes[ProbeKey("ml", "HorizontalPodAutoscaler", "queue", 0)] = &MetricProbe{Path: "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ml/pods/%2A/requests_in_flight?labelSelector=app%3Dqueue", HTTPStatus: 404, Err: "the server could not find the metric requests_in_flight for pods"}

	// ScaledObjects.
	so := &kedav1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: "ml"},
		Spec: kedav1alpha1.ScaledObjectSpec{ScaleTargetRef: &kedav1alpha1.ScaleTarget{Name: "worker"},
			Triggers: []kedav1alpha1.ScaleTriggers{{Type: "rabbitmq", Metadata: map[string]string{"queueName": "jobs", "mode": "QueueLength", "value": "20"},
				AuthenticationRef: &kedav1alpha1.AuthenticationRef{Name: "rabbitmq-auth"}}}},
		Status: kedav1alpha1.ScaledObjectStatus{
			ExternalMetricNames: []string{"s0-rabbitmq-jobs"},
			Conditions: kedav1alpha1.Conditions{
				{Type: kedav1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "TriggerError", Message: "Triggers defined in ScaledObject are not working correctly"},
				{Type: kedav1alpha1.ConditionActive, Status: metav1.ConditionFalse, Reason: "ScalerNotActive", Message: "Scaling is not performed because triggers are not active"},
				{Type: kedav1alpha1.ConditionFallback, Status: metav1.ConditionTrue, Reason: "FallbackExists", Message: "At least one trigger is falling back on this scaled object"},
			},
			Health: map[string]kedav1alpha1.HealthStatus{"s0-rabbitmq-jobs": {NumberOfFailures: int32p(7), Status: kedav1alpha1.HealthStatusFailing}},
		},
	}
	s.Probes[ProbeKey("ml", "ScaledObject", "worker", 0)] = &MetricProbe{Path: "/apis/external.metrics.k8s.io/v1beta1/namespaces/ml/s0-rabbitmq-jobs?labelSelector=scaledobject.keda.sh%2Fname%3Dworker", HTTPStatus: 500,
		Err: `error getting queue info: dial tcp 10.0.3.4:5672: connect: connection refused`}
	s.Targets[TargetKey("ml", "Deployment", "worker")] = &Target{Kind: "Deployment", Name: "worker", Found: true, Selector: "app=worker", SpecReplicas: 1,
		Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{cpu("worker", "")}}}}
	cpuSO := &kedav1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: "worker-cpu", Namespace: "ml"},
		Spec: kedav1alpha1.ScaledObjectSpec{ScaleTargetRef: &kedav1alpha1.ScaleTarget{Name: "worker"}, MinReplicaCount: int32p(0),
			Triggers: []kedav1alpha1.ScaleTriggers{{Type: "cpu", MetricType: autoscalingv2.UtilizationMetricType, Metadata: map[string]string{"value": "60"}}}},
		Status: kedav1alpha1.ScaledObjectStatus{Conditions: kedav1alpha1.Conditions{
			{Type: kedav1alpha1.ConditionPaused, Status: metav1.ConditionTrue, Reason: "ScaledObjectPaused", Message: "ScaledObject is paused"}}},
	}
	missingAuth := &kedav1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: "ingest", Namespace: "ml"},
		Spec: kedav1alpha1.ScaledObjectSpec{ScaleTargetRef: &kedav1alpha1.ScaleTarget{Name: "ingest"},
			Triggers: []kedav1alpha1.ScaleTriggers{{Type: "kafka", Metadata: map[string]string{"topic": "t", "consumerGroup": "g", "lagThreshold": "10"},
				AuthenticationRef: &kedav1alpha1.AuthenticationRef{Name: "kafka-auth"}}}},
	}
	s.Targets[TargetKey("ml", "Deployment", "ingest")] = &Target{Kind: "Deployment", Name: "ingest"}
	s.ScaledObjects = []*kedav1alpha1.ScaledObject{missingAuth, so, cpuSO}
	s.KEDAWebhook = &Webhook{Configuration: "keda-admission", Webhook: "vscaledobject.kb.io", ServiceNamespace: "keda", ServiceName: "keda-admission-webhooks", FailurePolicy: "Ignore"}
	s.KEDADeployments = map[string]*appsv1.Deployment{
		"keda-operator": {ObjectMeta: metav1.ObjectMeta{Name: "keda-operator", Namespace: "keda"}, Status: appsv1.DeploymentStatus{ReadyReplicas: 1}},
		"keda-operator-metrics-apiserver": {ObjectMeta: metav1.ObjectMeta{Name: "keda-operator-metrics-apiserver", Namespace: "keda"},
			Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse, Reason: "MinimumReplicasUnavailable", Message: "Deployment does not have minimum availability."}}}},
	}
	return s
}

func TestCheckFixtureGolden(t *testing.T) {
	r := Diagnose(fixtureSnapshot())
	for _, f := range []string{"table", "json", "junit", "markdown"} {
		var b bytes.Buffer
		if err := Render(&b, f, r, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, "live/fixture."+f, b.Bytes())
	}
}

func TestCheckFixtureFindings(t *testing.T) {
	r := Diagnose(fixtureSnapshot())
	want := []struct {
		id, object string
		sev        Severity
		msg        string
	}{
		{"ACC-003", "APIService/v1beta2.custom.metrics.k8s.io", Error, "stale GroupVersion discovery"},
		{"API-002", "APIService/v1beta2.custom.metrics.k8s.io", Error, "x509"},
		{"API-005", "APIService/v1beta2.custom.metrics.k8s.io", Error, "x509"},
		{"API-002", "APIService/v1beta1.external.metrics.k8s.io", Error, "i/o timeout"},
		{"API-008", "APIService/v1beta1.external.metrics.k8s.io", Error, "i/o timeout"},
		{"CUS-003", "HorizontalPodAutoscaler/ml/gpu", Warning, ""},
		{"CUS-005", "HorizontalPodAutoscaler/ml/gpu", Warning, ""},
		{"RES-003", "HorizontalPodAutoscaler/ml/web", Warning, ""},
		{"RES-004", "HorizontalPodAutoscaler/ml/web", Warning, "did not receive metrics"},
		{"HPA-004", "HorizontalPodAutoscaler/ml/web", Warning, "did not receive metrics"},
		{"RES-005", "HorizontalPodAutoscaler/ml/api", Error, ""},
		{"HPA-008", "HorizontalPodAutoscaler/ml/batch", Warning, "replica count of the target is zero"},
		{"HPA-002", "HorizontalPodAutoscaler/ml/llm", Error, "missing a selector"},
		{"HPA-007", "HorizontalPodAutoscaler/ml/idle", Warning, ""},
		{"HPA-009", "HorizontalPodAutoscaler/ml/idle", Warning, ""},
		{"HPA-003", "HorizontalPodAutoscaler/ml/hot", Warning, "more than the maximum"},
		{"CUS-002", "HorizontalPodAutoscaler/ml/queue", Error, ""},
		{"KEDA-003", "ScaledObject/ml/worker", Error, "not working correctly"},
		{"KEDA-003", "ScaledObject/ml/worker", Warning, "falling back"},
		{"KEDA-004", "ScaledObject/ml/worker", Error, ""},
		{"KEDA-008", "ScaledObject/ml/worker", Error, "connection refused"},
		{"KEDA-007", "ScaledObject/ml/worker-cpu", Error, "doesn't have the cpu request defined"},
		{"KEDA-010", "ScaledObject/ml/worker-cpu", Error, "minReplica is 0"},
		{"KEDA-003", "ScaledObject/ml/worker-cpu", Info, "paused"},
		{"KEDA-006", "ScaledObject/ml/ingest", Error, ""},
		{"KEDA-005", "ScaledObject/ml/ingest", Error, ""},
		{"KEDA-012", "APIGroup/keda.k8s.io", Warning, ""},
		{"KEDA-001", "Deployment/keda/keda-operator-metrics-apiserver", Error, ""},
		{"KEDA-011", "ValidatingWebhookConfiguration/keda-admission", Warning, ""},
	}
	for _, w := range want {
		ok := false
		for _, f := range r.Findings {
			if f.ID == w.id && f.Object.String() == w.object && f.Severity == w.sev && strings.Contains(f.Message, w.msg) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("missing %s %s on %s (message ~ %q)", w.sev, w.id, w.object, w.msg)
		}
	}
	// Not reported: the idle ScaledObject (Active=False is normal), healthy APIServices.
	for _, f := range r.Findings {
		if f.Object.Name == ResourceMetricsAPI {
			t.Errorf("finding on a healthy APIService: %+v", f)
		}
	}
}

// Check is deterministic whatever the order of the snapshot's lists.
func TestCheckDeterministic(t *testing.T) {
	a := fixtureSnapshot()
	b := fixtureSnapshot()
	slices.Reverse(b.HPAs)
	slices.Reverse(b.ScaledObjects)
	slices.Reverse(b.Pods["ml"])
	var ba, bb bytes.Buffer
	_ = Render(&ba, "json", Diagnose(a), RenderOptions{})
	_ = Render(&bb, "json", Diagnose(b), RenderOptions{})
	if ba.String() != bb.String() {
		t.Fatal("output depends on list order")
	}
}

// T1: client-go fakes for the collector's error paths. Lists the API
// server forbids mark their checks skipped (forbidden), a missing KEDA
// marks KEDA's checks notInstalled, and the checks that can run still do.
func TestCollectForbiddenWithFakes(t *testing.T) {
	cs := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: "ml"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "llm"}}}},
		func() *autoscalingv2.HorizontalPodAutoscaler { h := cpuHPA("llm", "llm"); h.Namespace = "ml"; return h }(),
	)
	forbid := func(resource string) {
		cs.PrependReactor("list", resource, func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New(`User "doctor" cannot list resource "`+resource+`"`))
		})
	}
	forbid("pods")
	forbid("events")
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		gvrAPIService: "APIServiceList", gvrScaledObject: "ScaledObjectList", gvrTriggerAuth: "TriggerAuthenticationList", gvrClusterTA: "ClusterTriggerAuthenticationList",
	})
	snap, err := Collect(context.Background(), &Clients{Kube: cs, Dynamic: dyn}, Scope{Namespace: "ml", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]SkipReason{}
	for _, s := range snap.Skipped {
		reasons[s.ID] = s.Reason
	}
	for id, want := range map[string]SkipReason{"RES-001": SkipForbidden, "HPA-004": SkipForbidden, "KEDA-003": SkipNotInstalled} {
		if reasons[id] != want {
			t.Errorf("%s skipped as %q, want %q (%+v)", id, reasons[id], want, snap.Skipped)
		}
	}
	if len(snap.HPAs) != 1 || snap.Targets[TargetKey("ml", "Deployment", "llm")] == nil {
		t.Fatalf("allowed lists not collected: %+v", snap)
	}
	// The metrics.k8s.io APIService is absent: API-001 (no controller message yet).
	r := Diagnose(snap)
	found := false
	for _, f := range r.Findings {
		found = found || f.ID == "API-001"
		if strings.HasPrefix(f.ID, "RES-") {
			t.Errorf("RES finding although pods were forbidden: %+v", f)
		}
	}
	if !found {
		t.Errorf("no API-001: %+v", r.Findings)
	}
}

// FindingsFor selects one object's findings; a ScaledObject's include
// those of the HPA KEDA generated for it.
func TestFindingsFor(t *testing.T) {
	fs := []Finding{
		{ID: "HPA-003", Object: Object{Kind: "HorizontalPodAutoscaler", Namespace: "ml", Name: "keda-hpa-worker"}},
		{ID: "KEDA-006", Object: Object{Kind: "ScaledObject", Namespace: "ml", Name: "worker"}},
		{ID: "KEDA-006", Object: Object{Kind: "ScaledObject", Namespace: "other", Name: "worker"}},
		{ID: "HPA-003", Object: Object{Kind: "HorizontalPodAutoscaler", Namespace: "ml", Name: "web"}},
	}
	got := FindingsFor(fs, Object{Kind: "ScaledObject", Namespace: "ml", Name: "worker"}, "keda-hpa-worker")
	if len(got) != 2 || got[0].Object.Name != "keda-hpa-worker" || got[1].Object.Namespace != "ml" {
		t.Fatalf("%+v", got)
	}
	if got := FindingsFor(fs, Object{Kind: "HorizontalPodAutoscaler", Namespace: "ml", Name: "web"}, ""); len(got) != 1 {
		t.Fatalf("%+v", got)
	}
}

// KEDA-010 is not reported when the missing parameter may come from where
// doctor cannot look (container env, a TriggerAuthentication of unknown
// parameters), and is when KEDA would not look there.
func TestUncertainKEDARejection(t *testing.T) {
	so := func(meta map[string]string, auth string) *kedav1alpha1.ScaledObject {
		s := &kedav1alpha1.ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "ml"},
			Spec: kedav1alpha1.ScaledObjectSpec{ScaleTargetRef: &kedav1alpha1.ScaleTarget{Name: "w"},
				Triggers: []kedav1alpha1.ScaleTriggers{{Type: "rabbitmq", Metadata: meta}}}}
		if auth != "" {
			s.Spec.Triggers[0].AuthenticationRef = &kedav1alpha1.AuthenticationRef{Name: auth}
		}
		return s
	}
	count := func(s *Snapshot) int {
		n := 0
		for _, f := range Check(s) {
			if f.ID == "KEDA-010" {
				n++
			}
		}
		return n
	}
	base := func(o *kedav1alpha1.ScaledObject) *Snapshot {
		return &Snapshot{Now: now, ScaledObjects: []*kedav1alpha1.ScaledObject{o}, TriggerAuths: map[string]bool{"ml/known": true},
			TriggerAuthParams: map[string][]string{"ml/known": {"host"}}}
	}
	queue := map[string]string{"queueName": "q", "mode": "QueueLength", "value": "5"}
	if n := count(base(so(queue, ""))); n != 1 {
		t.Errorf("no host anywhere: %d KEDA-010, want 1", n)
	}
	withEnv := map[string]string{"queueName": "q", "mode": "QueueLength", "value": "5", "hostFromEnv": "RABBIT_URL"}
	if n := count(base(so(withEnv, ""))); n != 0 {
		t.Errorf("hostFromEnv: %d KEDA-010, want 0", n)
	}
	if n := count(base(so(queue, "unknown"))); n != 0 {
		t.Errorf("unknown TriggerAuthentication: %d KEDA-010, want 0", n)
	}
	if n := count(base(so(queue, "known"))); n != 0 {
		t.Errorf("TriggerAuthentication providing host: %d KEDA-010, want 0", n)
	}
}
