package live

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/gpu"
)

func rabbitSO(minR, maxR int32, fallback bool) *kedav1alpha1.ScaledObject {
	so := &kedav1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: "batch", Namespace: "default"},
		Spec: kedav1alpha1.ScaledObjectSpec{
			ScaleTargetRef:  &kedav1alpha1.ScaleTarget{Name: "batch"},
			MinReplicaCount: ptr(minR), MaxReplicaCount: ptr(maxR),
			PollingInterval: ptr(int32(5)), CooldownPeriod: ptr(int32(30)),
			Triggers: []kedav1alpha1.ScaleTriggers{{Type: "rabbitmq", Metadata: map[string]string{
				"protocol": "http", "queueName": "batch-inference", "mode": "QueueLength", "value": "5", "activationValue": "1",
			}}},
		},
	}
	if fallback {
		so.Spec.Fallback = &kedav1alpha1.Fallback{FailureThreshold: 3, Replicas: 2}
	}
	return so
}

// KEDA on a RabbitMQ queue: activation from zero, the HPA on the queue
// length, and a failing broker handled by KEDA's fallback.
func TestKEDARabbitMQActivationAndFallback(t *testing.T) {
	ctx := context.Background()
	ready, fail := int64(0), false
	srv := rabbitServer(t, &ready, &fail)
	tgt := &fakeTarget{}
	var log strings.Builder
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	loop, err := NewLoop(Config{ScaledObject: rabbitSO(0, 10, true), Target: tgt, Log: &log,
		RabbitMQ: strings.Replace(srv.URL, "http://", "http://guest:secret@", 1), Fetcher: &Fetcher{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	step := func(s int) {
		t.Helper()
		if err := loop.Step(ctx, t0.Add(time.Duration(s)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	step(0)
	if tgt.spec != 0 {
		t.Fatalf("empty queue, min 0: spec %d", tgt.spec)
	}
	ready = 23
	step(5) // KEDA poll: activate to 1 ...
	if len(tgt.scales) == 0 || tgt.scales[0] != 1 {
		t.Fatalf("activation: scales %v", tgt.scales)
	}
	step(15) // ... then the HPA: ready 23 + unacked 2 wants ceil(25/5) = 5;
	// the generated HPA has no behavior: the legacy limit max(2*1, 4) = 4
	if tgt.spec != 4 {
		t.Fatalf("HPA on the queue, legacy scale-up limit: spec %d (scales %v)", tgt.spec, tgt.scales)
	}
	step(20)
	step(25)
	step(30)
	if tgt.spec != 5 {
		t.Fatalf("HPA on the queue: spec %d (scales %v)", tgt.spec, tgt.scales)
	}
	if st := loop.Status(); st.Queues["batch-inference"].MessagesReady != 23 {
		t.Errorf("queue status: %+v", st.Queues)
	}
	// the broker fails: after failureThreshold failures KEDA serves the
	// fallback (2 replicas' worth of the target) to the HPA, which scales to 2
	// once its 5-minute downscale stabilisation has passed
	fail = true
	for s := 35; s <= 330; s += 5 {
		step(s)
		if tgt.spec != 5 {
			t.Fatalf("changed to %d at +%ds, inside the HPA's downscale stabilisation", tgt.spec, s)
		}
	}
	for s := 335; s <= 360; s += 5 {
		step(s)
	}
	if tgt.spec != 2 {
		t.Errorf("fallback: spec %d, want fallback.replicas 2 (scales %v)", tgt.spec, tgt.scales)
	}
	st := loop.Status()
	var errs int
	for _, s := range st.Sources {
		if strings.HasPrefix(s.Name, "trigger/0/rabbitmq") {
			errs = s.Errors
		}
	}
	if errs == 0 {
		t.Error("the failing trigger was not reported")
	}
}

// HPA partial failure: one metric fails, the other asks for more replicas:
// the controller scales up on the working metric (and would not scale down).
func TestHPAPartialFailureScalesUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write(t, dir, "queue", "20")
	h := queueHPA(1, 10, 0)
	h.Spec.Metrics = append(h.Spec.Metrics, h.Spec.Metrics[0])
	h.Spec.Metrics[1].Pods = h.Spec.Metrics[0].Pods.DeepCopy()
	h.Spec.Metrics[1].Pods.Metric.Name = "missing_metric"
	srv := workerMetricsServer(t, 20)
	tgt := &fakeTarget{spec: 2, metrics: srv}
	loop, err := NewLoop(Config{HPA: h, Target: tgt, GPU: gpu.Null{}, Fetcher: &Fetcher{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Step(ctx, t0); err != nil {
		t.Fatal(err)
	}
	// 20 per pod / 4 = 5 per pod -> 10 on 2 pods; scale-up limit 4 pods / 15 s -> 6
	if tgt.spec != 6 {
		t.Errorf("spec %d, want 6 (scales %v)", tgt.spec, tgt.scales)
	}
	st := loop.Status()
	if len(st.Metrics) != 2 || st.Metrics[1].Err == "" || !st.Metrics[0].HasValue || st.Metrics[0].Value != 20 {
		t.Errorf("metrics: %+v", st.Metrics)
	}
}

// Dry run decides and logs without acting.
func TestDryRun(t *testing.T) {
	var log strings.Builder
	tgt := &fakeTarget{spec: 1, metrics: workerMetricsServer(t, 40)}
	loop, err := NewLoop(Config{HPA: queueHPA(1, 4, 0), Target: tgt, DryRun: true, Explain: true, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Step(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if len(tgt.scales) != 0 {
		t.Errorf("dry run acted: %v", tgt.scales)
	}
	if !strings.Contains(log.String(), "would scale 1 -> 4") || !strings.Contains(log.String(), "HPA default/llm on Kubernetes 1.37") {
		t.Errorf("log:\n%s", log.String())
	}
	if st := loop.Status(); st.Desired != 4 || st.Decisions != 1 {
		t.Errorf("status: desired %d decisions %d", st.Desired, st.Decisions)
	}
}

// At 0 replicas the HPA does not query (ScalingDisabled), so only KEDA's
// polls count a failing trigger's failures (v2.19+): with failureThreshold 3
// and a 30 s pollingInterval the fourth failing poll, at +90 s, falls back
// and activates; HPA reconciles at 0 replicas must not count (they did:
// activation came at +30 s).
func TestKEDAFallbackFromZeroCountsOnlyPolls(t *testing.T) {
	ready, fail := int64(0), true
	srv := rabbitServer(t, &ready, &fail)
	so := rabbitSO(0, 10, true)
	so.Spec.PollingInterval = ptr(int32(30))
	tgt := &fakeTarget{}
	var log strings.Builder
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	loop, err := NewLoop(Config{ScaledObject: so, Target: tgt, Log: &log, SyncPeriod: 15 * time.Second,
		RabbitMQ: strings.Replace(srv.URL, "http://", "http://guest:secret@", 1), Fetcher: &Fetcher{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s <= 90; s += 5 {
		if err := loop.Step(context.Background(), t0.Add(time.Duration(s)*time.Second)); err != nil {
			t.Fatal(err)
		}
		if s < 90 && tgt.spec != 0 {
			t.Fatalf("activated at +%ds, before the fourth failing poll (scales %v)", s, tgt.scales)
		}
	}
	// the poll activates to 1; the HPA, reconciling in the same tick, gets
	// the fallback metric and lands on fallback.replicas 2
	if fmt.Sprint(tgt.scales) != "[1 2]" || !strings.Contains(log.String(), "ScaledObjectFallbackActivated") {
		t.Errorf("fourth failing poll at +90s: scales %v, want [1 2] (fallback activates from 0, then the HPA lands on 2)", tgt.scales)
	}
}

// The ScaledObject is created when the scaler starts: initialCooldownPeriod
// counts from then, so an object that was never active is not scaled to
// zero before it ends (the explanation says so, with the start time).
func TestKEDAInitialCooldownFromStart(t *testing.T) {
	ready, fail := int64(0), false
	srv := rabbitServer(t, &ready, &fail)
	so := rabbitSO(0, 10, false)
	so.Spec.InitialCooldownPeriod = ptr(int32(60))
	tgt := &fakeTarget{spec: 1}
	var log strings.Builder
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	loop, err := NewLoop(Config{ScaledObject: so, Target: tgt, Log: &log, Explain: true,
		RabbitMQ: strings.Replace(srv.URL, "http://", "http://guest:secret@", 1), Fetcher: &Fetcher{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s <= 65; s += 5 {
		if err := loop.Step(context.Background(), t0.Add(time.Duration(s)*time.Second)); err != nil {
			t.Fatal(err)
		}
		if s <= 60 && tgt.spec != 1 {
			t.Fatalf("scaled to %d at +%ds, inside initialCooldownPeriod", tgt.spec, s)
		}
	}
	if tgt.spec != 0 {
		t.Errorf("after initialCooldownPeriod: spec %d, want 0", tgt.spec)
	}
	if want := "KEDA: inactive and the cooldown is over (never active; created 2026-03-01T12:00:00Z + initialCooldownPeriod 1m0s < now) → scales the target from 1 to 0."; !strings.Contains(log.String(), want) {
		t.Errorf("the scale-in explanation is missing %q", want)
	}
}
