package doctor

import (
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func findings(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func pipelineSnapshot() *Snapshot {
	h := fixtureHPA("llm", "Deployment", "llm")
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{
		cond(autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)"),
	}
	p0 := fixturePod("llm-0", "llm", true, container("app", "1"))
	p0.Spec.NodeName = "gpu-a"
	p1 := fixturePod("llm-1", "llm", true, container("app", "1"))
	p1.Spec.NodeName = "gpu-b"
	return &Snapshot{
		Now: now,
		APIServices: map[string]*APIService{ResourceMetricsAPI: {Name: ResourceMetricsAPI, ServiceNamespace: "kube-system", ServiceName: "metrics-server",
			Conditions: []ConditionEvidence{{Type: "Available", Status: "True", Reason: "Passed"}}}},
		HPAs:        []*autoscalingv2.HorizontalPodAutoscaler{h},
		Targets:     map[string]*Target{TargetKey("ml", "Deployment", "llm"): target("Deployment", "llm", "app=llm", 2)},
		Pods:        map[string][]*corev1.Pod{"ml": {p0, p1}},
		PodMetrics:  map[string]map[string]*PodUsage{"ml": {"llm-0": {}}},
		Nodes:       map[string]bool{"cpu-1": true, "gpu-a": true, "gpu-b": true, "gpu-down": false},
		NodeMetrics: map[string]bool{"cpu-1": true, "gpu-a": true},
	}
}

func TestNodeMetricsMissing(t *testing.T) {
	fs := Check(pipelineSnapshot())
	got := findings(fs, "API-004")
	if len(got) != 1 {
		t.Fatalf("API-004 findings: %+v", got)
	}
	f := got[0]
	// gpu-down is NotReady: metrics-server cannot be blamed for it.
	if f.Severity != Error || f.Object.Name != ResourceMetricsAPI || !strings.Contains(f.Summary, "1 of 3 Ready node(s) (gpu-b)") {
		t.Errorf("API-004: %s %s %q", f.Severity, f.Object, f.Summary)
	}
	if !strings.Contains(f.Message, "did not receive metrics for targeted pods") {
		t.Errorf("API-004 does not quote the HPA: %q", f.Message)
	}
	if !strings.Contains(strings.Join(f.Evidence.Facts, "\n"), "HorizontalPodAutoscaler/ml/llm: 1 selected pod(s) on those nodes: llm-1 on gpu-b") {
		t.Errorf("API-004 facts: %q", f.Evidence.Facts)
	}
	res := findings(fs, "RES-005")
	if len(res) != 1 || !strings.Contains(strings.Join(res[0].Evidence.Facts, " "), "llm-1 on gpu-b") {
		t.Errorf("RES-005 does not point at the unscraped node: %+v", res)
	}
}

func TestNodeMetricsAllScraped(t *testing.T) {
	s := pipelineSnapshot()
	s.NodeMetrics["gpu-b"] = true
	if got := findings(Check(s), "API-004"); len(got) != 0 {
		t.Errorf("API-004 with every Ready node scraped: %+v", got)
	}
	s.NodeMetrics = nil // not probed
	delete(s.Nodes, "cpu-1")
	if got := findings(Check(s), "API-004"); len(got) != 0 {
		t.Errorf("API-004 without NodeMetrics collected: %+v", got)
	}
}

func TestControllerDenied(t *testing.T) {
	h := fixtureHPA("keda-hpa-worker", "Deployment", "worker", autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType,
		External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "s0-rabbitmq"}}})
	h.Labels = map[string]string{"app.kubernetes.io/managed-by": "keda-operator", "scaledobject.keda.sh/name": "worker"}
	msg := `the HPA was unable to compute the replica count: unable to get external metric ml/s0-rabbitmq/&LabelSelector{MatchLabels:map[string]string{scaledobject.keda.sh/name: worker,},MatchExpressions:[]LabelSelectorRequirement{},}: unable to fetch metrics from external metrics API: s0-rabbitmq.external.metrics.k8s.io is forbidden: User "system:serviceaccount:kube-system:horizontal-pod-autoscaler" cannot list resource "s0-rabbitmq" in API group "external.metrics.k8s.io" in the namespace "ml"`
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{cond(autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetExternalMetric", msg)}
	ok := fixtureHPA("queue", "Deployment", "queue", podsMetric("queue_depth"))
	s := &Snapshot{Now: now, HPAs: []*autoscalingv2.HorizontalPodAutoscaler{h, ok},
		HPAController: &ControllerAccess{User: "system:serviceaccount:kube-system:horizontal-pod-autoscaler", ServiceAccount: true,
			Denied: map[string]AccessDenial{ProbeKey("ml", "HorizontalPodAutoscaler", "keda-hpa-worker", 0): {
				Verb: "list", Group: "external.metrics.k8s.io", Resource: "s0-rabbitmq", Namespace: "ml"}}}}
	fs := Check(s)
	got := findings(fs, "CUS-006")
	if len(got) != 1 {
		t.Fatalf("CUS-006 findings: %+v", got)
	}
	f := got[0]
	if f.Severity != Error || f.Object.Name != "keda-hpa-worker" || f.Message != msg ||
		!strings.Contains(f.Summary, `may not list external.metrics.k8s.io/s0-rabbitmq in namespace ml`) {
		t.Errorf("CUS-006: %s %s %q %q", f.Severity, f.Object, f.Summary, f.Message)
	}
	if !strings.Contains(strings.Join(f.Evidence.Facts, "\n"), "kubectl auth can-i list s0-rabbitmq.external.metrics.k8s.io -n ml --as=system:serviceaccount:kube-system:horizontal-pod-autoscaler") {
		t.Errorf("CUS-006 facts: %q", f.Evidence.Facts)
	}
	// HPA-005 points at it as the cause of <unknown>.
	var unknown []string
	for _, f := range findings(fs, "HPA-005") {
		unknown = append(unknown, f.Object.Name+": "+f.Summary)
	}
	if len(unknown) == 0 || !strings.Contains(strings.Join(unknown, "\n"), "keda-hpa-worker: spec.metrics[0] (external \"s0-rabbitmq\") shows <unknown>: see CUS-006") {
		t.Errorf("HPA-005: %q", unknown)
	}
}

func TestRelistLag(t *testing.T) {
	h := fixtureHPA("llm", "Deployment", "llm", podsMetric("vllm_queue_depth"))
	young := fixturePod("llm-0", "llm", true, container("app", "1"))
	start := metav1.NewTime(now.Add(-3 * time.Minute))
	young.Status.StartTime = &start
	s := &Snapshot{Now: now, HPAs: []*autoscalingv2.HorizontalPodAutoscaler{h},
		Targets:       map[string]*Target{TargetKey("ml", "Deployment", "llm"): target("Deployment", "llm", "app=llm", 1)},
		Pods:          map[string][]*corev1.Pod{"ml": {young}},
		CustomMetrics: map[string]bool{"pods/other": true},
	}
	got := findings(Check(s), "CUS-004")
	if len(got) != 1 || got[0].Severity != Info || !strings.Contains(got[0].Summary, "started 3m0s ago, less than the adapter's relist interval (10m0s)") ||
		!strings.Contains(got[0].Summary, "by 2026-01-01T12:07:00Z") {
		t.Fatalf("CUS-004 with the default interval: %+v", got)
	}
	if cus := findings(Check(s), "CUS-001"); len(cus) != 1 || cus[0].Severity != Error {
		t.Errorf("CUS-001 must stay an error next to CUS-004: %+v", cus)
	}
	// A shorter interval read from the adapter's flag: 3 minutes is past it.
	s.CustomAdapter = &AdapterInfo{Deployment: "monitoring/prometheus-adapter", RelistInterval: metav1.Duration{Duration: time.Minute}, FromFlag: true}
	if got := findings(Check(s), "CUS-004"); len(got) != 0 {
		t.Errorf("CUS-004 past a 1m relist interval: %+v", got)
	}
	s.CustomAdapter.RelistInterval.Duration = 5 * time.Minute
	got = findings(Check(s), "CUS-004")
	if len(got) != 1 || !strings.Contains(got[0].Evidence.Facts[0], "--metrics-relist-interval of monitoring/prometheus-adapter") {
		t.Errorf("CUS-004 with the flag: %+v", got)
	}
}

func TestRelistFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
		ok   bool
	}{
		{[]string{"--metrics-relist-interval=1m", "--v=4"}, time.Minute, true},
		{[]string{"--metrics-relist-interval", "30s"}, 30 * time.Second, true},
		{[]string{"--metrics-relist-interval=banana"}, 0, false},
		{[]string{"--metrics-max-age=5m"}, 0, false},
	} {
		got, ok := relistFlag(corev1.Container{Args: tc.args})
		if got != tc.want || ok != tc.ok {
			t.Errorf("relistFlag(%q) = %v, %v; want %v, %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}

func TestVersionSkew(t *testing.T) {
	for _, tc := range []struct {
		server string
		warn   bool
	}{
		{"v1.37.2", false},
		{"v1.33.0", false},
		{"v1.38.1", false},
		{"v1.30.4-gke.1200", true},
		{"v1.40.0", true},
		{"", false},
	} {
		s := &Snapshot{Now: now, Cluster: ClusterInfo{Context: "prod", ServerVersion: tc.server}}
		got := findings(Check(s), "ACC-001")
		if (len(got) == 1) != tc.warn || len(got) > 1 {
			t.Errorf("%q: ACC-001 findings %+v, want warning %v", tc.server, got, tc.warn)
			continue
		}
		if tc.warn && (got[0].Severity != Warning || got[0].Object.Name != "prod" || !strings.Contains(got[0].Summary, tc.server)) {
			t.Errorf("%q: %+v", tc.server, got[0])
		}
	}
	if clientGoMinor != 37 {
		t.Errorf("client-go minor from the build info = %d, want 37 (go.mod pins v0.37.x)", clientGoMinor)
	}
}

func TestSecretRefsChecked(t *testing.T) {
	so := &kedav1alpha1.ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: "ml"},
		Spec: kedav1alpha1.ScaledObjectSpec{ScaleTargetRef: &kedav1alpha1.ScaleTarget{Name: "worker"},
			Triggers: []kedav1alpha1.ScaleTriggers{{Type: "rabbitmq", Metadata: map[string]string{"queueName": "jobs", "mode": "QueueLength", "value": "20"},
				AuthenticationRef: &kedav1alpha1.AuthenticationRef{Name: "rabbitmq-auth"}}}}}
	s := &Snapshot{Now: now, ScaledObjects: []*kedav1alpha1.ScaledObject{so},
		TriggerAuths:       map[string]bool{"ml/rabbitmq-auth": true},
		TriggerAuthSecrets: map[string][]SecretRef{"ml/rabbitmq-auth": {{Parameter: "host", Name: "rabbitmq", Key: "host", Namespace: "ml"}}},
	}
	if got := findings(Check(s), "KEDA-006"); len(got) != 0 {
		t.Errorf("KEDA-006 with Secrets not read: %+v", got)
	}
	s.Secrets = map[string]*SecretKeys{"ml/rabbitmq": {Found: true, Keys: []string{"host"}}}
	if got := findings(Check(s), "KEDA-006"); len(got) != 0 {
		t.Errorf("KEDA-006 with the key present: %+v", got)
	}
	s.Secrets["ml/rabbitmq"] = &SecretKeys{Found: true, Keys: []string{"password", "username"}}
	if got := findings(Check(s), "KEDA-006"); len(got) != 1 || !strings.Contains(got[0].Summary, "which has keys password, username") {
		t.Errorf("KEDA-006 for a missing key: %+v", got)
	}
	s.Secrets["ml/rabbitmq"] = &SecretKeys{}
	if got := findings(Check(s), "KEDA-006"); len(got) != 1 || !strings.Contains(got[0].Summary, "Secret ml/rabbitmq, which does not exist") {
		t.Errorf("KEDA-006 for a missing Secret: %+v", got)
	}
}

func TestAdapterPodsExplainMissingEndpoints(t *testing.T) {
	crash := fixturePod("metrics-server-7d9f-x2x", "metrics-server", false)
	crash.Namespace = "kube-system"
	crash.Spec.Containers = []corev1.Container{{Name: "metrics-server"}}
	crash.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "metrics-server", RestartCount: 7,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 5m0s restarting failed container"}}}}
	other := fixturePod("coredns-0", "coredns", true)
	other.Namespace = "kube-system"
	s := &Snapshot{Now: now,
		APIServices: map[string]*APIService{ResourceMetricsAPI: {Name: ResourceMetricsAPI, ServiceNamespace: "kube-system", ServiceName: "metrics-server",
			Conditions: []ConditionEvidence{{Type: "Available", Status: "False", Reason: "MissingEndpoints", Message: `endpoints for service/metrics-server in "kube-system" have no addresses with port name "https"`}}}},
		Services: map[string]*corev1.Service{"kube-system/metrics-server": {ObjectMeta: metav1.ObjectMeta{Name: "metrics-server", Namespace: "kube-system"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "metrics-server"}}}},
		AdapterPods: map[string][]*corev1.Pod{"kube-system": {crash, other}},
	}
	got := findings(Check(s), "API-003")
	if len(got) != 1 {
		t.Fatalf("API-003: %+v", got)
	}
	want := "Pod metrics-server-7d9f-x2x: Running, 0/1 ready, CrashLoopBackOff (back-off 5m0s restarting failed container), 7 restarts"
	if len(got[0].Evidence.Facts) != 1 || got[0].Evidence.Facts[0] != want {
		t.Errorf("API-003 facts %q, want [%q]", got[0].Evidence.Facts, want)
	}
	s.AdapterPods["kube-system"] = []*corev1.Pod{other}
	got = findings(Check(s), "API-003")
	if len(got) != 1 || !strings.Contains(strings.Join(got[0].Evidence.Facts, ""), "no pod in kube-system matches the Service's selector app=metrics-server") {
		t.Errorf("API-003 without pods: %+v", got)
	}
}

func TestLiveTriggerAdvice(t *testing.T) {
	so := &kedav1alpha1.ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: "batch", Namespace: "ml"},
		Spec: kedav1alpha1.ScaledObjectSpec{ScaleTargetRef: &kedav1alpha1.ScaleTarget{Name: "batch"},
			Triggers: []kedav1alpha1.ScaleTriggers{{Type: "prometheus", Metadata: map[string]string{
				"serverAddress": "http://prometheus:9090", "threshold": "70", "query": `avg(gpu_utilization{job="ml-inference"})`}}}}}
	got := findings(Check(&Snapshot{Now: now, ScaledObjects: []*kedav1alpha1.ScaledObject{so}}), "KEDA-015")
	if len(got) != 1 || got[0].Severity != Warning || !strings.Contains(got[0].Summary, "spec.triggers[0].metadata.query (prometheus): an avg(...) query") {
		t.Errorf("KEDA-015: %+v", got)
	}
}

func TestScalerFailedEvents(t *testing.T) {
	so := &kedav1alpha1.ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: "ml"},
		Spec: kedav1alpha1.ScaledObjectSpec{ScaleTargetRef: &kedav1alpha1.ScaleTarget{Name: "worker"},
			Triggers: []kedav1alpha1.ScaleTriggers{{Type: "prometheus", Metadata: map[string]string{"serverAddress": "http://prometheus:9090", "query": "sum(q)", "threshold": "5"}}}},
		Status: kedav1alpha1.ScaledObjectStatus{Conditions: kedav1alpha1.Conditions{{Type: kedav1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "ScaledObjectReady"}}}}
	msg := `Get "http://prometheus:9090/api/v1/query?query=sum%28q%29": dial tcp 10.0.0.9:9090: connect: connection refused`
	ev := func(ago time.Duration) *corev1.Event {
		return &corev1.Event{Type: corev1.EventTypeWarning, Reason: "KEDAScalerFailed", Message: msg, Count: 84, LastTimestamp: metav1.NewTime(now.Add(-ago))}
	}
	s := &Snapshot{Now: now, ScaledObjects: []*kedav1alpha1.ScaledObject{so},
		Events: map[string][]*corev1.Event{EventKey("ml", "ScaledObject", "worker"): {ev(10 * time.Second)}}}
	got := findings(Check(s), "KEDA-004")
	if len(got) != 1 || got[0].Message != msg || !strings.Contains(got[0].Summary, "(10s ago; Warning KEDAScalerFailed, 84 time(s))") {
		t.Fatalf("KEDA-004 from a recent KEDAScalerFailed while Ready=True: %+v", got)
	}
	s.Events[EventKey("ml", "ScaledObject", "worker")] = []*corev1.Event{ev(time.Hour)}
	if got := findings(Check(s), "KEDA-004"); len(got) != 0 {
		t.Errorf("KEDA-004 from an hour-old event: %+v", got)
	}
	// Ready=False already says it, with the event as evidence.
	s.Events[EventKey("ml", "ScaledObject", "worker")] = []*corev1.Event{ev(10 * time.Second)}
	so.Status.Conditions[0] = kedav1alpha1.Condition{Type: kedav1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "TriggerError", Message: "Triggers defined in ScaledObject are not working correctly"}
	if got := findings(Check(s), "KEDA-004"); len(got) != 0 {
		t.Errorf("KEDA-004 next to Ready=False TriggerError: %+v", got)
	}
}

func TestStaleGeneration(t *testing.T) {
	h := fixtureHPA("llm", "Deployment", "llm")
	h.Generation = 3
	og := int64(2)
	h.Status.ObservedGeneration = &og
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{cond(autoscalingv2.AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", "recommended size matches current size")}
	edited := metav1.NewTime(now.Add(-5 * time.Minute))
	statusWrite := metav1.NewTime(now.Add(-10 * time.Second))
	h.ManagedFields = []metav1.ManagedFieldsEntry{
		{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, Time: &edited},
		{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: &statusWrite},
	}
	s := &Snapshot{Now: now, HPAs: []*autoscalingv2.HorizontalPodAutoscaler{h}}
	got := findings(Check(s), "HPA-007")
	if len(got) != 1 || !strings.Contains(got[0].Summary, "the spec changed 5m0s ago (generation 3) and the controller still reports generation 2") {
		t.Fatalf("HPA-007 for a stale generation: %+v", got)
	}
	recent := metav1.NewTime(now.Add(-20 * time.Second))
	h.ManagedFields[0].Time = &recent
	if got := findings(Check(s), "HPA-007"); len(got) != 0 {
		t.Errorf("HPA-007 20 s after an edit (the controller syncs every 15 s): %+v", got)
	}
	og = 3
	h.ManagedFields[0].Time = &edited
	if got := findings(Check(s), "HPA-007"); len(got) != 0 {
		t.Errorf("HPA-007 with the generation observed: %+v", got)
	}
}
