package keda

import (
	"testing"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

const threeTriggers = `
spec:
  scaleTargetRef: {name: w}
  maxReplicaCount: 50
  fallback: {failureThreshold: 3, replicas: 4}
  triggers:
  - type: rabbitmq
    metadata: {queueName: q, mode: QueueLength, value: "5", activationValue: "1", host: "http://r:15672"}
  - type: kafka
    metadata: {bootstrapServers: k, consumerGroup: g, topic: t, lagThreshold: "100"}
  - type: prometheus
    metadata: {serverAddress: "http://p", query: "q", threshold: "70"}
`

func threeReadings() []scalers.Reading {
	return []scalers.Reading{
		{RabbitMQ: &scalers.RabbitMQReading{MessagesReady: 40, MessagesUnacknowledged: 5}},
		{Kafka: kafkaReading([]int64{100, 250, 0, 90, 10, 300})},
		{Prometheus: &scalers.PrometheusReading{Series: []float64{55.5}}},
	}
}

// BenchmarkPoll3Triggers is one poll of a 3-trigger ScaledObject in its
// steady state (active, replicas > 0, fallback configured).
func BenchmarkPoll3Triggers(b *testing.B) {
	c := compile(b, threeTriggers)
	st := c.NewState()
	rd := threeReadings()
	var res PollResult
	tgt := Target{SpecReplicas: repl(3), ReadyReplicas: 3}
	b.ReportAllocs()
	for b.Loop() {
		c.Poll(t0, tgt, rd, &st, &res)
	}
	if !res.Active || res.Branch != BranchActiveHPA {
		b.Fatalf("unexpected %+v", res)
	}
}

// BenchmarkPoll3TriggersCooldown alternates active and inactive polls.
func BenchmarkPoll3TriggersCooldown(b *testing.B) {
	c := compile(b, threeTriggers)
	st := c.NewState()
	idle := []scalers.Reading{
		{RabbitMQ: &scalers.RabbitMQReading{}},
		{Kafka: kafkaReading([]int64{0, 0, 0})},
		{Prometheus: &scalers.PrometheusReading{Series: []float64{0}}},
	}
	var res PollResult
	tgt := Target{SpecReplicas: repl(3), ReadyReplicas: 3}
	st.LastActiveTime = t0
	b.ReportAllocs()
	for b.Loop() {
		c.Poll(t0, tgt, idle, &st, &res)
	}
	if res.Branch != BranchCooldown {
		b.Fatalf("unexpected %v", res.Branch)
	}
}

func BenchmarkHPAQuery(b *testing.B) {
	c := compile(b, threeTriggers)
	st := c.NewState()
	rd := threeReadings()
	var q QueryResult
	tgt := Target{SpecReplicas: repl(3), ReadyReplicas: 3}
	b.ReportAllocs()
	for b.Loop() {
		c.HPAQuery("s1-kafka-t", tgt, rd, &st, &q)
	}
	if q.Err != "" || q.Value != 600 {
		b.Fatalf("unexpected %+v", q)
	}
}

// TestPollDoesNotAllocate pins the hot path at zero allocations.
func TestPollDoesNotAllocate(t *testing.T) {
	c := compile(t, threeTriggers)
	st := c.NewState()
	rd := threeReadings()
	var res PollResult
	tgt := Target{SpecReplicas: repl(3), ReadyReplicas: 3}
	c.Poll(t0, tgt, rd, &st, &res)
	if n := testing.AllocsPerRun(100, func() { c.Poll(t0, tgt, rd, &st, &res) }); n != 0 {
		t.Errorf("Poll allocates %v times per run", n)
	}
}
