package doctor

// Scenarios where the real KEDA operator (github.com/kedacore/keda/v2
// cmd/operator, testenv.WithKEDAOperator) wrote what doctor reads: the
// ScaledObject's conditions and health, the HPA keda-hpa-<name> and the
// events. The other KEDA scenarios in integration_test.go write KEDA's
// status by hand; these check doctor against KEDA's own words.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/mlscale/mlscale/internal/testenv"
)

// newKEDACluster is newCluster with a KEDA operator watching the scenario's
// namespace (and only it, so the hand-written ScaledObjects of the other
// scenarios keep their fixtures).
func newKEDACluster(t *testing.T) *cluster { return newClusterWith(t, testenv.WithKEDAOperator()) }

// unreachablePrometheus is a prometheus trigger whose server is a closed
// loopback port: every poll fails with "connection refused".
func unreachablePrometheus() map[string]any {
	return map[string]any{"type": "prometheus", "metadata": map[string]any{
		"serverAddress": "http://127.0.0.1:1", "query": "sum(rate(http_requests_total[1m]))", "threshold": "10"}}
}

// operatorScaledObject creates a ScaledObject for the operator to reconcile
// (polled every second); spec and annotations are merged in. Unlike
// c.scaledObject it writes no status.
func (c *cluster) operatorScaledObject(name, target string, spec map[string]any, annotations map[string]string) {
	c.t.Helper()
	s := map[string]any{
		"scaleTargetRef":  map[string]any{"name": target},
		"pollingInterval": int64(1),
		"minReplicaCount": int64(1), "maxReplicaCount": int64(5),
		"triggers": []any{unreachablePrometheus()},
	}
	for k, v := range spec {
		s[k] = v
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": name, "namespace": c.ns},
		"spec":     s,
	}}
	u.SetAnnotations(annotations)
	if _, err := c.env.Dynamic.Resource(gvrScaledObject).Namespace(c.ns).Create(c.ctx, u, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// waitSO polls the ScaledObject until ok holds and returns it.
func (c *cluster) waitSO(name, what string, ok func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	c.t.Helper()
	var last *unstructured.Unstructured
	err := wait.PollUntilContextTimeout(c.ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := c.env.Dynamic.Resource(gvrScaledObject).Namespace(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = u
		return ok(u), nil
	})
	if err != nil {
		var st any
		if last != nil {
			st = last.Object["status"]
		}
		c.t.Fatalf("ScaledObject %s: KEDA did not write %s; last status: %v", name, what, st)
	}
	return last
}

// waitSOCondition waits until KEDA's condition typ has had status and
// reason for 2 s in a row, and returns KEDA's message. (Ready flaps while
// things settle: each reconcile, e.g. after the HPA controller updates the
// HPA's status, sets Ready=True, and the next failing poll sets it back to
// False TriggerError.)
func (c *cluster) waitSOCondition(name, typ, status, reason string) string {
	c.t.Helper()
	var msg string
	var since time.Time
	c.waitSO(name, fmt.Sprintf("condition %s=%s %s (for 2s)", typ, status, reason), func(u *unstructured.Unstructured) bool {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, x := range conds {
			m, _ := x.(map[string]any)
			if m["type"] == typ && m["status"] == status && m["reason"] == reason {
				if m, _ := m["message"].(string); m != msg || since.IsZero() {
					msg, since = m, time.Now()
				}
				return time.Since(since) >= 2*time.Second
			}
		}
		since = time.Time{}
		return false
	})
	return msg
}

// diagnoseFor runs diagnose until the report has a finding with id,
// severity and object name (at most 5 times, 1 s apart: KEDA may have
// flipped a condition in between), and returns the last report.
func (c *cluster) diagnoseFor(id string, sev Severity, name string) *Report {
	c.t.Helper()
	var r *Report
	for i := 0; i < 5; i++ {
		if i > 0 {
			c.t.Logf("no %s %s on %s yet; diagnosing again", sev, id, name)
			time.Sleep(time.Second)
		}
		r = c.diagnose(nil)
		for _, f := range r.Findings {
			if f.ID == id && f.Severity == sev && f.Object.Name == name {
				return r
			}
		}
	}
	return r
}

// expectQuoted is expect with KEDA's condition message quoted verbatim
// (not merely contained) and as the finding's condition evidence.
func expectQuoted(t *testing.T, r *Report, id string, sev Severity, name, typ, status, reason, msg string) Finding {
	t.Helper()
	if msg == "" {
		t.Fatalf("KEDA wrote no message for %s=%s %s", typ, status, reason)
	}
	f := expect(t, r, id, sev, "ScaledObject", name, msg)
	if f.Message != msg {
		t.Errorf("%s message = %q, want KEDA's %q verbatim", id, f.Message, msg)
	}
	want := ConditionEvidence{Type: typ, Status: status, Reason: reason, Message: msg}
	if len(f.Evidence.Conditions) != 1 || f.Evidence.Conditions[0] != want {
		t.Errorf("%s condition evidence = %+v, want %+v", id, f.Evidence.Conditions, want)
	}
	return f
}

// A trigger whose scaler fails: KEDA sets Ready=False TriggerError (without
// a fallback it records no status.health) and emits KEDAScalerFailed events
// with the scaler's error; doctor quotes both.
func TestKEDAOperatorTriggerError(t *testing.T) {
	c := newKEDACluster(t)
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.operatorScaledObject("worker", "worker", nil, nil)
	// The HPA controller's verdict on KEDA's HPA (no external metrics
	// adapter runs), which KEDA copies into HPAActive.
	c.waitCondition("keda-hpa-worker", autoscalingv2.ScalingActive, "FailedGetExternalMetric", "s0-prometheus")
	hpaMsg := c.waitSOCondition("worker", "HPAActive", "False", "FailedGetExternalMetric")
	msg := c.waitSOCondition("worker", "Ready", "False", "TriggerError")
	if msg != "Triggers defined in ScaledObject are not working correctly" {
		t.Logf("KEDA's Ready=False TriggerError message changed: %q", msg)
	}
	r := c.diagnoseFor("KEDA-003", Error, "worker")
	f := expectQuoted(t, r, "KEDA-003", Error, "worker", "Ready", "False", "TriggerError", msg)
	if !strings.Contains(f.Summary, "Ready=False TriggerError") {
		t.Errorf("KEDA-003 summary: %q", f.Summary)
	}
	var quoted bool
	for _, e := range f.Evidence.Events {
		if e.Type == corev1.EventTypeWarning && e.Reason == "KEDAScalerFailed" && strings.Contains(e.Message, "dial tcp 127.0.0.1:1: connect: connection refused") {
			quoted = true
		}
	}
	if !quoted {
		t.Errorf("KEDA-003 evidence lacks KEDA's KEDAScalerFailed event with the scaler error: %+v", f.Evidence.Events)
	}
	if !strings.HasPrefix(hpaMsg, "HPA is not actively scaling: the HPA was unable to compute the replica count: unable to get external metric") {
		t.Errorf("KEDA's HPAActive message: %q", hpaMsg)
	}
	expectQuoted(t, r, "KEDA-003", Warning, "worker", "HPAActive", "False", "FailedGetExternalMetric", hpaMsg)
	for _, f := range r.Findings {
		if f.ID == "KEDA-004" && f.Object.Name == "worker" {
			t.Errorf("KEDA-004 without a fallback (KEDA writes no status.health then): %+v", f)
		}
	}
}

// The same trigger with a fallback: KEDA counts the failures in
// status.health (KEDA-004) and, past failureThreshold, sets Fallback=True
// (KEDA-003 warning).
func TestKEDAOperatorFallbackHealth(t *testing.T) {
	c := newKEDACluster(t)
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.operatorScaledObject("worker", "worker", map[string]any{"fallback": map[string]any{"failureThreshold": int64(3), "replicas": int64(2)}}, nil)
	msg := c.waitSOCondition("worker", "Fallback", "True", "FallbackExists")
	so := c.waitSO("worker", "status.health s0-prometheus Failing", func(u *unstructured.Unstructured) bool {
		st, _, _ := unstructured.NestedString(u.Object, "status", "health", "s0-prometheus", "status")
		return st == "Failing"
	})
	n, _, _ := unstructured.NestedInt64(so.Object, "status", "health", "s0-prometheus", "numberOfFailures")
	if n < 3 {
		t.Errorf("Fallback=True after %d failures, threshold 3", n)
	}
	r := c.diagnoseFor("KEDA-004", Error, "worker")
	expectQuoted(t, r, "KEDA-003", Warning, "worker", "Fallback", "True", "FallbackExists", msg)
	f := expect(t, r, "KEDA-004", Error, "ScaledObject", "worker", "")
	if !strings.HasPrefix(f.Summary, "trigger metric s0-prometheus is Failing (") {
		t.Errorf("KEDA-004 summary: %q", f.Summary)
	}
}

// A hand-written HPA on the Deployment before the ScaledObject: the
// operator (unlike KEDA's admission webhook, not run here) accepts it and
// generates keda-hpa-worker anyway; the HPA controller then stops the
// hand-written HPA (AmbiguousSelector). Doctor recognises KEDA's real HPA
// as KEDA's and flags the other one (KEDA-005, HPA-006).
func TestKEDAOperatorSecondHPA(t *testing.T) {
	c := newKEDACluster(t)
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.hpa(cpuHPA("worker-extra", "worker"))
	c.operatorScaledObject("worker", "worker", nil, nil)
	c.waitSO("worker", "status.hpaName", func(u *unstructured.Unstructured) bool {
		n, _, _ := unstructured.NestedString(u.Object, "status", "hpaName")
		return n == "keda-hpa-worker"
	})
	h, err := c.env.Clientset.AutoscalingV2().HorizontalPodAutoscalers(c.ns).Get(c.ctx, "keda-hpa-worker", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("KEDA's HPA: %v", err)
	}
	if o := metav1.GetControllerOf(h); o == nil || o.Kind != "ScaledObject" || o.Name != "worker" {
		t.Fatalf("keda-hpa-worker controller = %+v", o)
	}
	msg := c.waitCondition("worker-extra", autoscalingv2.ScalingActive, "AmbiguousSelector", "controlled by")
	r := c.diagnose(nil)
	expect(t, r, "KEDA-005", Error, "ScaledObject", "worker", "already managed by the hpa 'worker-extra'")
	expect(t, r, "HPA-006", Error, "HorizontalPodAutoscaler", "worker-extra", msg)
	for _, f := range r.Findings {
		if f.ID == "KEDA-005" && strings.Contains(f.Summary, "keda-hpa-worker") {
			t.Errorf("KEDA-005 took KEDA's own HPA for a second one: %+v", f)
		}
	}
}

// A ScaledObject whose target does not exist, and a paused one: KEDA's
// Ready=False ScaledObjectCheckFailed and Paused=True, quoted.
func TestKEDAOperatorMissingTargetAndPaused(t *testing.T) {
	c := newKEDACluster(t)
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.operatorScaledObject("ghost", "nosuch", nil, nil)
	c.operatorScaledObject("worker", "worker", nil, map[string]string{"autoscaling.keda.sh/paused": "true"})
	missing := c.waitSOCondition("ghost", "Ready", "False", "ScaledObjectCheckFailed")
	if !strings.Contains(missing, `deployments.apps "nosuch" not found`) {
		t.Errorf("KEDA's message for a missing target: %q", missing)
	}
	paused := c.waitSOCondition("worker", "Paused", "True", "ScaledObjectPaused")
	r := c.diagnose(nil)
	expectQuoted(t, r, "KEDA-003", Error, "ghost", "Ready", "False", "ScaledObjectCheckFailed", missing)
	expect(t, r, "KEDA-005", Error, "ScaledObject", "ghost", "")
	expectQuoted(t, r, "KEDA-003", Info, "worker", "Paused", "True", "ScaledObjectPaused", paused)
}

// KEDA's Ready flaps (each reconcile sets True, the next failing poll
// False), and without a fallback it writes no status.health: whenever
// doctor looks, the failing scaler is an error, from Ready=False or, while
// Ready reads True, from KEDA's latest KEDAScalerFailed event (KEDA-004).
func TestKEDAOperatorScalerFailingWhateverReady(t *testing.T) {
	c := newKEDACluster(t)
	c.workload("worker", corev1.PodSpec{Containers: []corev1.Container{container("worker", "100m")}})
	c.operatorScaledObject("worker", "worker", nil, nil)
	c.waitSOCondition("worker", "Ready", "False", "TriggerError")
	seen := map[string]int{}
	for i := 0; i < 8; i++ {
		r := c.diagnose(nil)
		found := false
		for _, f := range r.Findings {
			if f.Object.Kind != "ScaledObject" || f.Object.Name != "worker" || f.Severity != Error {
				continue
			}
			switch {
			case f.ID == "KEDA-003" && strings.Contains(f.Summary, "Ready=False TriggerError"):
				found = true
				seen["Ready=False"]++
			case f.ID == "KEDA-004" && strings.Contains(f.Message, "dial tcp 127.0.0.1:1: connect: connection refused"):
				found = true
				seen["KEDAScalerFailed"]++
			}
		}
		if !found {
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.ID+" "+f.Severity.String()+" "+f.Object.String()+": "+f.Summary)
			}
			t.Fatalf("diagnosis %d: the failing scaler is not an error:\n%s", i, strings.Join(got, "\n"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("reported through: %v", seen)
}
