package scalers

import (
	"math"
	"strings"
	"testing"

	v2 "k8s.io/api/autoscaling/v2"
)

func mustNew(t *testing.T, c Config) Scaler {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatalf("New(%s): %v", c.Type, err)
	}
	return s
}

func i64(v int64) *int64 { return &v }

func TestRabbitMQ(t *testing.T) {
	http := map[string]string{"host": "http://guest:guest@rabbit:15672/"}
	amqp := map[string]string{"host": "amqp://rabbit:5672"}
	cases := []struct {
		name       string
		meta       map[string]string
		auth       map[string]string
		minor      int
		r          RabbitMQReading
		wantVal    float64
		wantActive bool
	}{
		{"worked example: QueueLength 20, 130 over http", map[string]string{"queueName": "q", "mode": "QueueLength", "value": "20"}, http, 20,
			RabbitMQReading{MessagesReady: 100, MessagesUnacknowledged: 30}, 130, true},
		{"amqp counts ready only", map[string]string{"queueName": "q", "mode": "QueueLength", "value": "5"}, amqp, 20,
			RabbitMQReading{MessagesReady: 5, MessagesUnacknowledged: 10}, 5, true},
		{"http excludeUnacknowledged", map[string]string{"queueName": "q", "mode": "QueueLength", "value": "5", "excludeUnacknowledged": "true"}, http, 20,
			RabbitMQReading{MessagesReady: 4, MessagesUnacknowledged: 10}, 4, true},
		{"activation is strict: equal is inactive", map[string]string{"queueName": "q", "mode": "QueueLength", "value": "5", "activationValue": "3"}, amqp, 20,
			RabbitMQReading{MessagesReady: 3}, 3, false},
		{"activation default 0: empty queue inactive", map[string]string{"queueName": "q"}, amqp, 20,
			RabbitMQReading{}, 0, false},
		{"MessageRate: rate or messages above activation", map[string]string{"queueName": "q", "mode": "MessageRate", "value": "10", "activationValue": "1"}, http, 20,
			RabbitMQReading{MessagesReady: 2, PublishRate: 0.5}, 0.5, true},
		{"DeliverGetRate", map[string]string{"queueName": "q", "mode": "DeliverGetRate", "value": "10"}, http, 20,
			RabbitMQReading{DeliverRate: 3}, 3, true},
		{"ratio with deliver 0 is activationValue and active", map[string]string{"queueName": "q", "mode": "PublishedToDeliveredRatio", "value": "2", "activationValue": "0.5"}, http, 20,
			RabbitMQReading{PublishRate: 4}, 0.5, true},
		{"ratio publish/deliver", map[string]string{"queueName": "q", "mode": "PublishedToDeliveredRatio", "value": "2"}, http, 20,
			RabbitMQReading{PublishRate: 4, DeliverRate: 2}, 2, true},
		{"ETA v2.20: idle empty queue counts as active", map[string]string{"queueName": "q", "mode": "ExpectedQueueConsumptionTime", "value": "60"}, http, 20,
			RabbitMQReading{}, 0, true},
		{"ETA v2.21: idle empty queue is inactive", map[string]string{"queueName": "q", "mode": "ExpectedQueueConsumptionTime", "value": "60"}, http, 21,
			RabbitMQReading{}, 0, false},
		{"ETA formula", map[string]string{"queueName": "q", "mode": "ExpectedQueueConsumptionTime", "value": "60"}, http, 20,
			RabbitMQReading{MessagesReady: 100, PublishRate: 3, DeliverRate: 2}, 0.5 + 50, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, Config{Type: "rabbitmq", Metadata: tc.meta, AuthParams: tc.auth, Minor: tc.minor})
			r := tc.r
			o := s.Get(&Reading{RabbitMQ: &r})
			if o.Err != "" || o.Value != tc.wantVal || o.Active != tc.wantActive {
				t.Fatalf("Get = %+v, want value %v active %v", o, tc.wantVal, tc.wantActive)
			}
		})
	}
}

func TestRabbitMQParse(t *testing.T) {
	amqp := map[string]string{"host": "amqp://rabbit:5672"}
	s := mustNew(t, Config{Type: "rabbitmq", Index: 0, Metadata: map[string]string{"queueName": "orders"}, AuthParams: amqp})
	if s.MetricName() != "s0-rabbitmq-orders" {
		t.Errorf("name %q", s.MetricName())
	}
	if s.TargetValue() != 20 {
		t.Errorf("default value: target %v, want 20", s.TargetValue())
	}
	s = mustNew(t, Config{Type: "rabbitmq", Index: 2, Metadata: map[string]string{"queueName": "a/b.c", "value": "100.5", "mode": "QueueLength"}, AuthParams: amqp})
	if s.MetricName() != "s2-rabbitmq-a-2Fb-c" {
		t.Errorf("name %q", s.MetricName())
	}
	if q := s.MetricSpec().External.Target.AverageValue.String(); q != "100500m" {
		t.Errorf("target quantity %q, want 100500m", q)
	}
	errs := []struct {
		meta map[string]string
		auth map[string]string
		want string
	}{
		{map[string]string{"queueName": "q", "mode": "QueueLength"}, amqp, "value must be specified"},
		{map[string]string{"queueName": "q", "mode": "MessageRate", "value": "1"}, amqp, "protocol amqp not supported; must be HTTP to use trigger mode MessageRate"},
		{map[string]string{"queueName": "q", "queueLength": "5", "mode": "QueueLength"}, amqp, "queueLength is deprecated; use mode and value"},
		{map[string]string{"queueName": "q"}, map[string]string{"host": "ftp://x"}, "unknown host URL scheme: `ftp`"},
		{map[string]string{"queueName": "q", "mode": "Bogus", "value": "1"}, amqp, "trigger mode Bogus must be one of"},
		{map[string]string{"queueName": "q", "useRegex": "true"}, amqp, "configure useRegex=true only with HTTP protocol"},
		{map[string]string{"queueName": "q"}, nil, `missing required parameter "host"`},
	}
	for _, e := range errs {
		_, err := New(Config{Type: "rabbitmq", Metadata: e.meta, AuthParams: e.auth})
		if err == nil || !strings.Contains(err.Error(), e.want) || !strings.HasPrefix(err.Error(), "error parsing RabbitMQ metadata") {
			t.Errorf("%v: err %v, want %q", e.meta, err, e.want)
		}
	}
	_, err := New(Config{Type: "rabbitmq", Metadata: map[string]string{"queueName": "q"}, AuthParams: amqp, MetricType: v2.UtilizationMetricType})
	if err == nil || err.Error() != "error getting scaler metric type: 'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'" {
		t.Errorf("Utilization: %v", err)
	}
}

func kafkaParts(lags ...int64) *KafkaReading {
	k := &KafkaReading{}
	for i, l := range lags {
		k.Partitions = append(k.Partitions, KafkaPartition{Partition: int32(i), Lag: l})
	}
	return k
}

func TestKafka(t *testing.T) {
	base := func(extra ...string) map[string]string {
		m := map[string]string{"bootstrapServers": "k:9092", "consumerGroup": "g", "topic": "t", "lagThreshold": "100"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	cases := []struct {
		name       string
		meta       map[string]string
		r          *KafkaReading
		wantVal    float64
		wantActive bool
	}{
		{"lag 950 over 6 partitions: 9 > 6 → capped at 600", base(), kafkaParts(200, 150, 150, 150, 150, 150), 600, true},
		{"lag 650: 650/100 = 6 (integer division) not > 6 → not capped", base(), kafkaParts(150, 100, 100, 100, 100, 100), 650, true},
		{"allowIdleConsumers: no cap", base("allowIdleConsumers", "true"), kafkaParts(200, 150, 150, 150, 150, 150), 950, true},
		{"ensureEven lag 150 → factor 2 → 200", base("ensureEvenDistributionOfPartitions", "true"), kafkaParts(150, 0, 0, 0, 0, 0), 200, true},
		{"ensureEven lag 350 → factor 6 → 600", base("ensureEvenDistributionOfPartitions", "true"), kafkaParts(350, 0, 0, 0, 0, 0), 600, true},
		{"limitToPartitionsWithLag: 2 lagging, lag 900 → 200", base("limitToPartitionsWithLag", "true"), kafkaParts(450, 450, 0, 0, 0, 0), 200, true},
		{"activation is strict", base("activationLagThreshold", "5"), kafkaParts(5), 5, false},
		{"partitionLimitation filters partitions", base("partitionLimitation", "0,2-3"), kafkaParts(10, 20, 30, 40), 80, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, Config{Type: "kafka", Metadata: tc.meta})
			o := s.Get(&Reading{Kafka: tc.r})
			if o.Err != "" || o.Value != tc.wantVal || o.Active != tc.wantActive {
				t.Fatalf("Get = %+v, want value %v active %v", o, tc.wantVal, tc.wantActive)
			}
		})
	}
	// No committed offsets, latest policy: lag 1 per partition.
	noOffsets := &KafkaReading{}
	for i := 0; i < 6; i++ {
		noOffsets.Partitions = append(noOffsets.Partitions, KafkaPartition{Partition: int32(i), ConsumerOffset: i64(-1), LatestOffset: i64(1000)})
	}
	s := mustNew(t, Config{Type: "kafka", Metadata: base()})
	if o := s.Get(&Reading{Kafka: noOffsets}); o.Value != 6 || !o.Active {
		t.Errorf("invalid offsets, latest: %+v, want 6 active", o)
	}
	s = mustNew(t, Config{Type: "kafka", Metadata: base("scaleToZeroOnInvalidOffset", "true")})
	if o := s.Get(&Reading{Kafka: noOffsets}); o.Value != 0 || o.Active {
		t.Errorf("scaleToZeroOnInvalidOffset: %+v, want 0 inactive", o)
	}
	s = mustNew(t, Config{Type: "kafka", Metadata: base("offsetResetPolicy", "earliest", "allowIdleConsumers", "true")})
	if o := s.Get(&Reading{Kafka: noOffsets}); o.Value != 6000 {
		t.Errorf("earliest: %+v, want 6000", o)
	}
	// excludePersistentLag: a stuck partition counts for activation only.
	stuck := &KafkaReading{Partitions: []KafkaPartition{
		{Partition: 0, ConsumerOffset: i64(100), LatestOffset: i64(400), PreviousConsumerOffset: i64(100)},
		{Partition: 1, ConsumerOffset: i64(50), LatestOffset: i64(70), PreviousConsumerOffset: i64(40)},
	}}
	s = mustNew(t, Config{Type: "kafka", Metadata: base("excludePersistentLag", "true", "activationLagThreshold", "30")})
	if o := s.Get(&Reading{Kafka: stuck}); o.Value != 20 || !o.Active {
		t.Errorf("excludePersistentLag: %+v, want 20 active (320 > 30)", o)
	}
	s = mustNew(t, Config{Type: "kafka", Metadata: base("activationLagThreshold", "30")})
	if o := s.Get(&Reading{Kafka: stuck}); o.Value != 200 { // 320/100 = 3 > 2 partitions → capped
		t.Errorf("without excludePersistentLag: %+v, want 200", o)
	}
	// Names and targets.
	s = mustNew(t, Config{Type: "kafka", Index: 1, Metadata: map[string]string{"bootstrapServers": "k", "consumerGroup": "g", "topic": "ml.jobs"}})
	if s.MetricName() != "s1-kafka-ml-jobs" || s.TargetValue() != 10 {
		t.Errorf("name %q target %v", s.MetricName(), s.TargetValue())
	}
	s = mustNew(t, Config{Type: "kafka", Index: 0, Metadata: map[string]string{"bootstrapServers": "k", "consumerGroup": "grp"}})
	if s.MetricName() != "s0-kafka-grp-topics" {
		t.Errorf("name %q", s.MetricName())
	}
	for meta, want := range map[string]string{
		"lagThreshold=0":                 `"lagThreshold" must be positive number`,
		"limitToPartitionsWithLag=true,": "topic must be specified when using limitToPartitionsWithLag",
	} {
		m := map[string]string{"bootstrapServers": "k", "consumerGroup": "g"}
		for _, kv := range strings.Split(strings.TrimSuffix(meta, ","), ",") {
			p := strings.SplitN(kv, "=", 2)
			m[p[0]] = p[1]
		}
		_, err := New(Config{Type: "kafka", Metadata: m})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", meta, err)
		}
	}
}

func TestNextFactor(t *testing.T) {
	for _, c := range []struct{ lag, p, th, want int64 }{
		{150, 6, 100, 2}, {350, 6, 100, 6}, {50, 6, 100, 1}, {301, 12, 100, 4}, {5000, 6, 100, 6}, {250, 7, 100, 7},
	} {
		if got := nextFactor(c.lag, c.p, c.th); got != c.want {
			t.Errorf("nextFactor(%d,%d,%d) = %d, want %d", c.lag, c.p, c.th, got, c.want)
		}
	}
}

func TestPrometheus(t *testing.T) {
	meta := map[string]string{"serverAddress": "http://p", "query": "up", "threshold": "100.5"}
	s := mustNew(t, Config{Type: "prometheus", Index: 3, Metadata: meta})
	if s.MetricName() != "s3-prometheus" || s.MetricSpec().External.Target.AverageValue.String() != "100500m" {
		t.Fatalf("name %q target %v", s.MetricName(), s.MetricSpec().External.Target.AverageValue)
	}
	if o := s.Get(&Reading{Prometheus: &PrometheusReading{Series: []float64{402}}}); o.Value != 402 || !o.Active {
		t.Errorf("402: %+v", o)
	}
	if o := s.Get(&Reading{Prometheus: &PrometheusReading{}}); o.Err != "" || o.Value != 0 || o.Active {
		t.Errorf("empty with ignoreNullValues: %+v", o)
	}
	if o := s.Get(&Reading{Prometheus: &PrometheusReading{Series: []float64{math.NaN()}}}); o.Err != "" || o.Value != 0 {
		t.Errorf("NaN with ignoreNullValues: %+v", o)
	}
	if o := s.Get(&Reading{Prometheus: &PrometheusReading{Series: []float64{1, 2}}}); o.Err != "prometheus query up returned multiple elements" {
		t.Errorf("multiple: %+v", o)
	}
	meta["ignoreNullValues"] = "false"
	s = mustNew(t, Config{Type: "prometheus", Metadata: meta})
	if o := s.Get(&Reading{Prometheus: &PrometheusReading{}}); o.Err != "prometheus metrics 'prometheus' target may be lost, the result is empty" {
		t.Errorf("empty without ignoreNullValues: %+v", o)
	}
	// Activation uses the raw (negative) value.
	s = mustNew(t, Config{Type: "prometheus", Metadata: map[string]string{"serverAddress": "x", "query": "q", "threshold": "1", "activationThreshold": "-10"}})
	if o := s.Get(&Reading{Prometheus: &PrometheusReading{Series: []float64{-5}}}); !o.Active || o.Value != -5 {
		t.Errorf("negative: %+v", o)
	}
	if o := s.Get(&Reading{Prometheus: &PrometheusReading{Series: []float64{-10}}}); o.Active {
		t.Errorf("equal to activationThreshold must be inactive: %+v", o)
	}
	_, err := New(Config{Type: "prometheus", Metadata: map[string]string{"serverAddress": "x", "query": "q"}})
	if err == nil || !strings.Contains(err.Error(), `error parsing prometheus metadata: missing required parameter "threshold"`) {
		t.Errorf("missing threshold: %v", err)
	}
	// The article's leftover metricName is ignored (removed in v2.12).
	s = mustNew(t, Config{Type: "prometheus", Index: 1, Metadata: map[string]string{"serverAddress": "x", "query": "q", "threshold": "70", "metricName": "gpu_utilization"}})
	if s.MetricName() != "s1-prometheus" {
		t.Errorf("metricName must not reach the name: %q", s.MetricName())
	}
}

func TestReportedValue(t *testing.T) {
	for _, c := range []struct {
		v     float64
		minor int
		want  float64
	}{
		{-5, 20, 0}, {-5, 19, -5}, {1.23456, 19, 1.234}, {-1.23456, 19, -1.234}, {math.NaN(), 20, 0}, {math.Inf(1), 20, 0}, {1.23456, 20, 1.235}, {402, 20, 402},
	} {
		if got := ReportedValue(c.v, c.minor); got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("ReportedValue(%v, %d) = %v, want %v", c.v, c.minor, got, c.want)
		}
	}
}

func TestSQS(t *testing.T) {
	meta := map[string]string{"queueURL": "https://sqs.us-east-1.amazonaws.com/123456789/ml-training-jobs", "awsRegion": "us-east-1"}
	s := mustNew(t, Config{Type: "aws-sqs-queue", Metadata: meta})
	if s.MetricName() != "s0-aws-sqs-ml-training-jobs" || s.TargetValue() != 5 {
		t.Fatalf("name %q target %v", s.MetricName(), s.TargetValue())
	}
	if o := s.Get(&Reading{SQS: &SQSReading{Visible: 37, InFlight: 8, Delayed: 3}}); o.Value != 45 || !o.Active {
		t.Errorf("worked example: %+v, want 45", o)
	}
	meta["scaleOnInFlight"] = "false"
	meta["scaleOnDelayed"] = "true"
	s = mustNew(t, Config{Type: "aws-sqs-queue", Metadata: meta})
	if o := s.Get(&Reading{SQS: &SQSReading{Visible: 37, InFlight: 8, Delayed: 3}}); o.Value != 40 {
		t.Errorf("no in-flight, delayed: %+v, want 40", o)
	}
	meta = map[string]string{"queueURL": "https://sqs.us-east-1.amazonaws.com/1/q", "awsRegion": "x", "activationQueueLength": "1"}
	s = mustNew(t, Config{Type: "aws-sqs-queue", Metadata: meta})
	if o := s.Get(&Reading{SQS: &SQSReading{Visible: 1}}); o.Active {
		t.Errorf("equal to activationQueueLength must be inactive: %+v", o)
	}
	if q := s.MetricSpec().External.Target.AverageValue.String(); q != "5" {
		t.Errorf("integer target %q", q)
	}
	_, err := New(Config{Type: "aws-sqs-queue", Metadata: map[string]string{"queueURL": "https://sqs/x/y/z", "awsRegion": "r"}})
	if err == nil || err.Error() != "cannot get queueName from queueURL" {
		t.Errorf("bad URL: %v", err)
	}
	s = mustNew(t, Config{Type: "aws-sqs-queue", Metadata: map[string]string{"queueURL": "plain-name", "awsRegion": "r"}})
	if s.MetricName() != "s0-aws-sqs-plain-name" {
		t.Errorf("name from a non-URL: %q", s.MetricName())
	}
}

func TestCPUMemoryAndGeneric(t *testing.T) {
	s := mustNew(t, Config{Type: "cpu", Metadata: map[string]string{"value": "60"}, MetricType: v2.UtilizationMetricType})
	spec := s.MetricSpec()
	if s.Kind() != Resource || spec.Resource == nil || *spec.Resource.Target.AverageUtilization != 60 {
		t.Fatalf("cpu spec %+v", spec)
	}
	s = mustNew(t, Config{Type: "memory", Metadata: map[string]string{"value": "1Gi", "containerName": "app"}, MetricType: v2.AverageValueMetricType})
	if spec := s.MetricSpec(); spec.ContainerResource == nil || spec.ContainerResource.Container != "app" {
		t.Fatalf("memory spec %+v", spec)
	}
	if _, err := New(Config{Type: "cpu", Metadata: map[string]string{"value": "60"}}); err == nil || !strings.Contains(err.Error(), "unknown metric type") {
		t.Errorf("cpu without metricType: %v", err)
	}
	s = mustNew(t, Config{Type: "metrics-api", Index: 1, Metadata: map[string]string{"url": "http://x", "valueLocation": "data.queue.len", "targetValue": "10", "activationTargetValue": "2"}})
	if s.MetricName() != "s1-metric-api-data-queue-len" {
		t.Errorf("metrics-api name %q", s.MetricName())
	}
	v := 2.0
	if o := s.Get(&Reading{Value: &v}); o.Active || o.Value != 2 {
		t.Errorf("metrics-api equal to activation: %+v", o)
	}
	s = mustNew(t, Config{Type: "redis", Metadata: map[string]string{"listLength": "7"}})
	if s.TargetValue() != 7 {
		t.Errorf("generic target %v", s.TargetValue())
	}
	if o := s.Get(&Reading{Failed: true, Err: "boom"}); o.Err != "boom" {
		t.Errorf("failed reading: %+v", o)
	}
}
