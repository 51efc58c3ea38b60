package live

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/keda/kedastate"
)

// promQueueServer is a Prometheus query API answering every instant query
// with one series: the queue depth in *depth, at the query's time.
func promQueueServer(t *testing.T, depth *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		ts := r.URL.Query().Get("time")
		if ts == "" {
			ts = fmt.Sprint(time.Now().Unix())
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"queue":"batch"},"value":[%s,"%d"]}]}}`, ts, depth.Load())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// promQueueSO scales on a Prometheus queue-depth query: 5 messages per
// replica, active above 1.
func promQueueSO(server string) *kedav1alpha1.ScaledObject {
	so := rabbitSO(0, 10, false)
	so.Spec.Triggers[0] = kedav1alpha1.ScaleTriggers{Type: "prometheus", Metadata: map[string]string{
		"serverAddress": server, "query": `sum(queue_depth{queue="batch"})`, "threshold": "5", "activationThreshold": "1",
	}}
	return so
}

// keda eval -o text of the equivalent snapshot: a fresh object (created
// at created) whose trigger's query returns depth, polled at now.
func kedaEvalText(t *testing.T, so *kedav1alpha1.ScaledObject, created, now time.Time, spec int32, depth float64) string {
	t.Helper()
	so = so.DeepCopy()
	so.CreationTimestamp.Time = created
	f := kedastate.File{APIVersion: kedastate.APIVersion, Kind: kedastate.Kind, Now: now.UTC().Format(time.RFC3339), ScaledObject: so,
		Target:   &kedastate.TargetIn{SpecReplicas: &spec, ReadyReplicas: spec},
		Readings: []kedastate.ReadingIn{{Prometheus: &kedastate.PrometheusIn{Series: []float64{depth}}}}}
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	in, err := kedastate.Load("snapshot.yaml", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	var b strings.Builder
	if err := kedastate.Eval(in, false).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// --explain on a KEDA policy: the activating poll is logged with the
// explanation `keda eval -o text` gives for the same snapshot, and the
// HPA's rescale with KEDA's answer to its query and the HPA's own
// explanation, all with the numbers of this step.
func TestKEDAExplainLogsKEDAEval(t *testing.T) {
	var depth atomic.Int64
	server := promQueueServer(t, &depth)
	so := promQueueSO(server)
	tgt := &fakeTarget{}
	var log strings.Builder
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	loop, err := NewLoop(Config{ScaledObject: so, Target: tgt, Log: &log, Explain: true, Fetcher: &Fetcher{Timeout: time.Second, MaxAge: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	step := func(s int) {
		t.Helper()
		if err := loop.Step(context.Background(), t0.Add(time.Duration(s)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	step(0) // empty queue at 0 replicas: no change, no explanation with --explain
	if strings.Contains(log.String(), "ScaledObject default/batch") {
		t.Fatalf("--explain explained a poll that did not scale")
	}
	depth.Store(23)
	step(5) // the poll activates: 23 > activationThreshold 1
	want := kedaEvalText(t, so, t0, t0.Add(5*time.Second), 0, 23)
	if !strings.Contains(log.String(), want+"2026-03-01T12:00:05Z scale 0 -> 1 (keda activate)\n") {
		t.Fatalf("the activation is not logged with keda eval's explanation of the same snapshot:\n%s", want)
	}
	for _, line := range []string{
		"ScaledObject default/batch (KEDA 2.20) poll at 2026-03-01T12:00:05Z\n",
		"target apps/v1.Deployment batch: replicas 0, ready 0; min 0, max 10; pollingInterval 5s, cooldownPeriod 30s\n",
		"  [0] prometheus s0-prometheus (target 5 AverageValue)\n",
		"      HPA (AverageValue): this metric asks for ceil(23 / 5) = 5 replicas (before tolerance, min/max and behavior)\n",
		"activity: active=true error=false\n",
		"KEDA: active at 0 replicas → scales the target to 1 (max(min,1)) and sets lastActiveTime; the HPA takes it from there.\n",
		"scaleTo: 1\n",
	} {
		if !strings.Contains(want, line) {
			t.Errorf("keda eval's explanation lacks %q", line)
		}
	}
	step(15) // the HPA: ceil(23/5) = 5, legacy scale-up limit max(2×1, 4) = 4
	if tgt.spec != 4 {
		t.Fatalf("spec %d, want 4", tgt.spec)
	}
	for _, line := range []string{
		"ScaledObject default/batch (KEDA 2.20): the HPA asks for s0-prometheus at 2026-03-01T12:00:15Z\n",
		"answer: s0-prometheus = 23\n",
		"HPA default/keda-hpa-batch on Kubernetes 1.37 at 2026-03-01T12:00:15Z\n",
		"      current 23 per pod, target 5 per pod, usage ratio 4.6 -> proposes 5\n",
		"Decision: scale 1 -> 4",
	} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("the HPA's rescale explanation lacks %q", line)
		}
	}
}

// -v explains every poll, also those that change nothing: here the
// cooldown after the queue drained, with its remaining time.
func TestKEDAVerboseExplainsCooldown(t *testing.T) {
	var depth atomic.Int64
	depth.Store(3)
	so := promQueueSO(promQueueServer(t, &depth))
	tgt := &fakeTarget{}
	var log strings.Builder
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	loop, err := NewLoop(Config{ScaledObject: so, Target: tgt, Log: &log, Verbose: true, Fetcher: &Fetcher{Timeout: time.Second, MaxAge: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{0, 5, 10} { // active at 0 and 5, then drained
		if s == 10 {
			depth.Store(0)
		}
		if err := loop.Step(context.Background(), t0.Add(time.Duration(s)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range []string{
		"ScaledObject default/batch (KEDA 2.20) poll at 2026-03-01T12:00:10Z\n",
		"target apps/v1.Deployment batch: replicas 1, ready 1; min 0, max 10; pollingInterval 5s, cooldownPeriod 30s\n",
		"activity: active=false error=false\n",
		"KEDA: inactive, cooling down: 25s remaining (scale-in at the first poll after 2026-03-01T12:00:35Z). Meanwhile the HPA keeps ≥ 1.\n",
		"condition Active=False ScalerCooldown: Scaler cooling down because triggers are not active\n",
		"2026-03-01T12:00:10Z keda poll: cooldown (active false, error false), replicas 1\n",
	} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("-v: the log lacks %q", line)
		}
	}
}

// Without --explain or -v a KEDA poll is one summary line, as before.
func TestKEDASummaryWithoutExplain(t *testing.T) {
	var depth atomic.Int64
	so := promQueueSO(promQueueServer(t, &depth))
	tgt := &fakeTarget{}
	var log strings.Builder
	loop, err := NewLoop(Config{ScaledObject: so, Target: tgt, Log: &log, Fetcher: &Fetcher{Timeout: time.Second, MaxAge: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{0, 5, 10, 15} {
		if s == 5 {
			depth.Store(23)
		}
		if err := loop.Step(context.Background(), t0.Add(time.Duration(s)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	want := `2026-03-01T12:00:00Z keda poll: no-change (active false, error false), replicas 0
2026-03-01T12:00:00Z hpa: keeps 0 (ScalingDisabled: scaling is disabled since the replica count of the target is zero)
2026-03-01T12:00:05Z keda event Normal KEDAScaleTargetActivated: Scaled apps/v1.Deployment default/batch from 0 to 1, triggered by s0-prometheus
2026-03-01T12:00:05Z scale 0 -> 1 (keda activate)
2026-03-01T12:00:10Z keda poll: active-hpa (active true, error false), replicas 1
2026-03-01T12:00:15Z keda poll: active-hpa (active true, error false), replicas 1
2026-03-01T12:00:15Z hpa event Normal SuccessfulRescale: New size: 4; reason: external metric s0-prometheus(&LabelSelector{MatchLabels:map[string]string{scaledobject.keda.sh/name: batch,},MatchExpressions:[]LabelSelectorRequirement{},}) above target
2026-03-01T12:00:15Z scale 1 -> 4 (hpa external metric s0-prometheus(&LabelSelector{MatchLabels:map[string]string{scaledobject.keda.sh/name: batch,},MatchExpressions:[]LabelSelectorRequirement{},}) above target)
`
	if log.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", log.String(), want)
	}
}
