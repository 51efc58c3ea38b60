package keda

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// Activation never fires at a value equal to the threshold, for every
// modelled scaler: the comparison is strictly greater.
func TestPropActivationStrict(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		act := rapid.Int64Range(0, 1_000_000).Draw(t, "activation")
		kind := rapid.SampledFrom([]string{"rabbitmq", "kafka", "prometheus", "aws-sqs-queue", "metrics-api"}).Draw(t, "type")
		a := fmt.Sprint(act)
		var meta map[string]string
		var r scalers.Reading
		switch kind {
		case "rabbitmq":
			meta = map[string]string{"queueName": "q", "mode": "QueueLength", "value": "5", "activationValue": a, "host": "amqp://r"}
			r.RabbitMQ = &scalers.RabbitMQReading{MessagesReady: act, MessagesUnacknowledged: rapid.Int64Range(0, 100).Draw(t, "unacked")}
		case "kafka":
			meta = map[string]string{"bootstrapServers": "k", "consumerGroup": "g", "topic": "t", "activationLagThreshold": a}
			n := rapid.IntRange(1, 8).Draw(t, "partitions")
			parts := make([]int64, n)
			rest := act
			for i := 0; i < n-1; i++ {
				parts[i] = rapid.Int64Range(0, rest).Draw(t, "lag")
				rest -= parts[i]
			}
			parts[n-1] = rest
			r.Kafka = kafkaReading(parts)
		case "prometheus":
			meta = map[string]string{"serverAddress": "x", "query": "q", "threshold": "1", "activationThreshold": a}
			r.Prometheus = &scalers.PrometheusReading{Series: []float64{float64(act)}}
		case "aws-sqs-queue":
			meta = map[string]string{"queueURL": "https://sqs/1/q", "awsRegion": "r", "activationQueueLength": a}
			vis := rapid.Int64Range(0, act).Draw(t, "visible")
			r.SQS = &scalers.SQSReading{Visible: vis, InFlight: act - vis}
		default:
			meta = map[string]string{"url": "x", "valueLocation": "v", "targetValue": "1", "activationTargetValue": a}
			v := float64(act)
			r.Value = &v
		}
		s, err := scalers.New(scalers.Config{Type: kind, Metadata: meta})
		if err != nil {
			t.Fatal(err)
		}
		if o := s.Get(&r); o.Active {
			t.Fatalf("%s active at value == activation %d: %+v", kind, act, o)
		}
		// and one above is active
		switch {
		case r.RabbitMQ != nil:
			r.RabbitMQ.MessagesReady++
		case r.Kafka != nil:
			r.Kafka.Partitions[0].Lag++
		case r.Prometheus != nil:
			r.Prometheus.Series[0]++
		case r.SQS != nil:
			r.SQS.Visible++
		default:
			*r.Value++
		}
		if o := s.Get(&r); !o.Active {
			t.Fatalf("%s inactive one above activation %d: %+v", kind, act, o)
		}
	})
}

func kafkaReading(lags []int64) *scalers.KafkaReading {
	k := &scalers.KafkaReading{}
	for i, l := range lags {
		k.Partitions = append(k.Partitions, scalers.KafkaPartition{Partition: int32(i), Lag: l})
	}
	return k
}

// Scale-to-zero (or to idle) never happens before lastActiveTime +
// cooldownPeriod, whatever the sequence of polls, readings and replica
// counts.
func TestPropNoScaleInBeforeCooldown(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cooldown := rapid.IntRange(0, 900).Draw(t, "cooldown")
		interval := rapid.IntRange(1, 60).Draw(t, "interval")
		initial := rapid.IntRange(0, 600).Draw(t, "initialCooldown")
		idle := rapid.Bool().Draw(t, "idleMode")
		spec := fmt.Sprintf(`
spec:
  scaleTargetRef: {name: w}
  cooldownPeriod: %d
  pollingInterval: %d
  initialCooldownPeriod: %d
  triggers:
  - type: metrics-api
    metadata: {url: "x", valueLocation: v, targetValue: "10", activationTargetValue: "5"}
`, cooldown, interval, initial)
		if idle {
			spec = "spec:\n  idleReplicaCount: 0\n  minReplicaCount: 2\n" + spec[len("\nspec:\n"):]
		}
		c := compile(t, spec)
		created := c.Created
		st := c.NewState()
		replicas := int32(rapid.IntRange(0, 5).Draw(t, "replicas"))
		now := t0
		var res PollResult
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			var rd scalers.Reading
			if rapid.IntRange(0, 9).Draw(t, "fails") == 0 {
				rd = fail("x")
			} else {
				rd = val(float64(rapid.IntRange(0, 12).Draw(t, "value")))
			}
			last := st.LastActiveTime
			c.Poll(now, Target{SpecReplicas: &replicas, ReadyReplicas: replicas}, []scalers.Reading{rd}, &st, &res)
			if res.Branch == BranchScaleIn {
				if !last.IsZero() && !now.After(last.Add(time.Duration(cooldown)*time.Second)) {
					t.Fatalf("scaled in at %v, lastActiveTime %v + cooldown %ds", now, last, cooldown)
				}
				if last.IsZero() && !now.After(created.Add(time.Duration(initial)*time.Second)) {
					t.Fatalf("scaled in at %v before created %v + initialCooldown %ds", now, created, initial)
				}
			}
			if res.HasScaleTo {
				replicas = res.ScaleTo
			}
			// the HPA moves replicas around between polls
			if replicas > 0 && rapid.Bool().Draw(t, "hpa") {
				replicas = int32(rapid.IntRange(1, 10).Draw(t, "hpaReplicas"))
			}
			now = now.Add(time.Duration(interval) * time.Second)
		}
	})
}
