package keda

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// TestTimelineKEDAWithHPA composes the two controllers the way a cluster
// does: KEDA's scale loop polls every pollingInterval (30 s) and owns 0↔1
// and the scale to zero; the HPA KEDA generates syncs every 15 s, asks
// KEDA's metrics server for the External metric and owns 1..N. At equal
// instants KEDA's poll runs first.
//
// The queue: empty until t=60 s, 40 messages until t=300 s, empty after.
// Expected (target 5 per replica, cooldown 300 s, legacy HPA behavior):
//
//	t=60   KEDA activates 0→1; the HPA, same instant, 1→4 (scale-up limit max(2×1, 4))
//	t=75   HPA 4→8 (ceil(40/5) = 8)
//	t=270  last active poll: lastActiveTime = 270
//	t=300… the queue is empty; KEDA cools down, the HPA keeps 8 inside its
//	       5-minute scale-down stabilisation window
//	t=570  lastActiveTime + 300 = 570 is not before 570: still cooling down
//	t=600  first poll strictly after 570: KEDA scales 8→0; the HPA then
//	       sees 0 replicas and disables itself (ScalingDisabled)
func TestTimelineKEDAWithHPA(t *testing.T) {
	c := compile(t, `
metadata: {name: worker, namespace: ml}
spec:
  scaleTargetRef: {name: worker}
  minReplicaCount: 0
  maxReplicaCount: 10
  pollingInterval: 30
  cooldownPeriod: 300
  triggers:
  - type: rabbitmq
    metadata: {queueName: jobs, mode: QueueLength, value: "5", host: "http://rabbit:15672"}
`)
	start := t0
	c.Created = start.Add(-time.Hour)
	queue := func(s int) int64 {
		if s >= 60 && s < 300 {
			return 40
		}
		return 0
	}
	h := c.GenerateHPA()
	hpa.SetDefaults(h)
	var (
		ks       = c.NewState()
		hs       hpa.State
		replicas int32
		kres     PollResult
		q        QueryResult
		log      []string
		podSpec  = &corev1.PodSpec{Containers: []corev1.Container{{Name: "w"}}}
	)
	type change struct {
		at       int
		who      string
		from, to int32
	}
	var changes []change
	hpaDisabledAt := -1
	for s := 0; s <= 720; s += 15 {
		now := start.Add(time.Duration(s) * time.Second)
		readings := []scalers.Reading{{RabbitMQ: &scalers.RabbitMQReading{MessagesReady: queue(s)}}}
		if s%30 == 0 {
			c.Poll(now, Target{SpecReplicas: &replicas, ReadyReplicas: replicas}, readings, &ks, &kres)
			if kres.HasScaleTo && kres.ScaleTo != replicas {
				changes = append(changes, change{s, "keda", replicas, kres.ScaleTo})
				replicas = kres.ScaleTo
			}
			log = append(log, fmt.Sprintf("t=%d keda %s active=%v replicas=%d", s, kres.Branch, kres.Active, replicas))
		}
		pods := make([]hpa.Pod, replicas)
		for i := range pods {
			pods[i] = hpa.Pod{Name: fmt.Sprint("p", i), Phase: corev1.PodRunning, Ready: corev1.ConditionTrue,
				StartTime: start.Add(-time.Hour), ReadyTransitionTime: start.Add(-time.Hour), Spec: podSpec}
		}
		c.HPAQuery(h.Spec.Metrics[0].External.Metric.Name, Target{SpecReplicas: &replicas, ReadyReplicas: replicas}, readings, &ks, &q)
		mi := hpa.MetricInput{Items: 1}
		if q.Err != "" {
			mi.FetchErr = fmt.Errorf("%s", q.Err)
		} else {
			mi.Values = []int64{int64(q.Value * 1000)}
		}
		d := hpa.Reconcile(&hpa.Input{
			HPA:     h,
			Scale:   hpa.Scale{SpecReplicas: replicas, StatusReplicas: replicas, Selector: "app=worker"},
			Pods:    pods,
			Metrics: []hpa.MetricInput{mi},
			Config:  hpa.DefaultConfig(0),
			Now:     now,
		}, &hs)
		h.Status.Conditions = hpa.MergeConditions(h.Status.Conditions, &d, now)
		if d.Rescale && d.DesiredReplicas != replicas {
			changes = append(changes, change{s, "hpa", replicas, d.DesiredReplicas})
			replicas = d.DesiredReplicas
		}
		if replicas == 0 && hpaDisabledAt < 0 && s > 60 {
			for _, cd := range d.Conditions {
				if cd.Reason == "ScalingDisabled" {
					hpaDisabledAt = s
				}
			}
		}
		log = append(log, fmt.Sprintf("t=%d hpa desired=%d replicas=%d", s, d.DesiredReplicas, replicas))
		if s > 60 && s < 600 && replicas == 0 {
			t.Fatalf("scaled to zero early at t=%d\n%s", s, strings.Join(log, "\n"))
		}
	}
	want := []change{
		{60, "keda", 0, 1},
		{60, "hpa", 1, 4},
		{75, "hpa", 4, 8},
		{600, "keda", 8, 0},
	}
	if fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Fatalf("changes %v\nwant    %v\n%s", changes, want, strings.Join(log, "\n"))
	}
	if !ks.LastActiveTime.Equal(start.Add(270 * time.Second)) {
		t.Errorf("lastActiveTime %v, want t=270", ks.LastActiveTime.Sub(start))
	}
	if hpaDisabledAt != 600 {
		t.Errorf("HPA ScalingDisabled at t=%d, want 600\n%s", hpaDisabledAt, strings.Join(log, "\n"))
	}
}
