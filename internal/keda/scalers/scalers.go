// Package scalers holds the math of KEDA 2.20's scalers: how each trigger's
// metadata is parsed (with KEDA's own typed-config parser, so defaults,
// trimming and error texts match), the External metric name and HPA target
// it produces, and how an upstream reading becomes a metric value and an
// activity flag.
//
// A Scaler is built once per trigger; Get is allocation-free and safe to call
// from many goroutines.
package scalers

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	v2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Reading is what one trigger's upstream returns at one instant. Exactly one
// of the typed fields is used, according to the trigger type; Failed makes
// the upstream call fail with Err as the text.
type Reading struct {
	Failed     bool
	Err        string
	RabbitMQ   *RabbitMQReading
	Kafka      *KafkaReading
	Prometheus *PrometheusReading
	SQS        *SQSReading
	// Value is the single metric value of any other scaler (metrics-api …).
	Value *float64
}

// RabbitMQReading is the queue as the broker reports it.
type RabbitMQReading struct {
	MessagesReady          int64
	MessagesUnacknowledged int64
	PublishRate            float64
	DeliverRate            float64
}

// KafkaPartition is one partition's offsets. Lag is latest − committed; set
// ConsumerOffset to -1 (with LatestOffset) for "no offset committed yet".
// PreviousConsumerOffset is the committed offset the scaler instance saw at
// its previous call (excludePersistentLag); nil when it has none (a fresh
// instance, e.g. after any trigger error rebuilt the scalers cache).
type KafkaPartition struct {
	Topic                  string
	Partition              int32
	Lag                    int64
	ConsumerOffset         *int64
	LatestOffset           *int64
	PreviousConsumerOffset *int64
}

// KafkaReading lists the partitions that returned offsets.
type KafkaReading struct {
	Partitions []KafkaPartition
}

// PrometheusReading is the instant-vector result: one value per series.
type PrometheusReading struct {
	Series []float64
}

// SQSReading holds the queue attributes.
type SQSReading struct {
	Visible  int64
	InFlight int64
	Delayed  int64
}

// Output is one scaler call's result: the metric value KEDA reports
// (before the metrics server's quantity conversion) and its activity, or the
// error text. Err is "" on success.
type Output struct {
	Value  float64
	Active bool
	Err    string
}

// Kind says how the HPA consumes a trigger.
type Kind int

const (
	// External triggers are served by KEDA's metrics server.
	External Kind = iota
	// Resource triggers (cpu, memory) go to the HPA as Resource or
	// ContainerResource metrics; KEDA never queries them.
	Resource
)

// Scaler is one built trigger.
type Scaler interface {
	// Type is the trigger type (rabbitmq, kafka, …).
	Type() string
	Kind() Kind
	// MetricName is the External metric name s<index>-…, "" for cpu/memory.
	MetricName() string
	// MetricSpec is the HPA metric entry KEDA generates (without selector).
	MetricSpec() v2.MetricSpec
	// TargetValue is the target as a float (averageValue or value), 0 for
	// Utilization targets.
	TargetValue() float64
	// Get turns a reading into the scaler's metric and activity.
	Get(r *Reading) Output
	// Explain describes, for a person, how Get arrived at its value.
	Explain(r *Reading) string
}

// Config is what KEDA hands a scaler factory.
type Config struct {
	Type       string
	Name       string
	Index      int
	Metadata   map[string]string
	AuthParams map[string]string
	// HasAuthRef: the trigger has an authenticationRef whose parameters
	// were not provided; required auth-sourced parameters are then assumed
	// to resolve (their values are unknown).
	HasAuthRef bool
	MetricType v2.MetricTargetType
	// Minor is the KEDA 2.x minor version (14..21).
	Minor int
	// ScaledJob: the trigger belongs to a ScaledJob.
	ScaledJob bool
}

func (c *Config) typed(meta any) error {
	sc := scalersconfig.ScalerConfig{
		TriggerType:     c.Type,
		TriggerName:     c.Name,
		TriggerIndex:    c.Index,
		TriggerMetadata: c.Metadata,
		AuthParams:      c.AuthParams,
		ResolvedEnv:     map[string]string{},
		MetricType:      c.MetricType,
	}
	if sc.TriggerMetadata == nil {
		sc.TriggerMetadata = map[string]string{}
	}
	if sc.AuthParams == nil {
		sc.AuthParams = map[string]string{}
	}
	return sc.TypedConfig(meta)
}

// ErrUtilization is KEDA's error for Utilization on an external scaler.
var ErrUtilization = errors.New("'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'")

func (c *Config) externalTargetType() (v2.MetricTargetType, error) {
	switch c.MetricType {
	case v2.UtilizationMetricType:
		return "", fmt.Errorf("error getting scaler metric type: %w", ErrUtilization)
	case "":
		return v2.AverageValueMetricType, nil
	default:
		return c.MetricType, nil
	}
}

// New builds the scaler for a trigger, returning KEDA's error text when
// KEDA's own factory would fail.
func New(c Config) (Scaler, error) {
	switch c.Type {
	case "rabbitmq":
		return newRabbitMQ(c)
	case "kafka":
		return newKafka(c)
	case "prometheus":
		return newPrometheus(c)
	case "aws-sqs-queue":
		return newSQS(c)
	case "cpu", "memory":
		return newCPUMemory(c)
	case "metrics-api":
		return newMetricsAPI(c)
	default:
		return newGeneric(c)
	}
}

// Normalize is KEDA's NormalizeString: / . : % ( ) become '-'.
func Normalize(s string) string {
	return strings.NewReplacer("/", "-", ".", "-", ":", "-", "%", "-", "(", "-", ")", "-").Replace(s)
}

func metricName(index int, name string) string {
	return "s" + strconv.Itoa(index) + "-" + name
}

// targetMilli builds KEDA's GetMetricTargetMili target: the float formatted
// with three decimals; NaN, Inf and negatives become 0.
func targetMilli(t v2.MetricTargetType, v float64) v2.MetricTarget {
	q := QuantityMilli(v)
	mt := v2.MetricTarget{Type: t}
	if t == v2.AverageValueMetricType {
		mt.AverageValue = &q
	} else {
		mt.Value = &q
	}
	return mt
}

// targetInt builds KEDA's GetMetricTarget target from an integer.
func targetInt(t v2.MetricTargetType, v int64) v2.MetricTarget {
	q := resource.NewQuantity(v, resource.DecimalSI)
	mt := v2.MetricTarget{Type: t}
	if t == v2.AverageValueMetricType {
		mt.AverageValue = q
	} else {
		mt.Value = q
	}
	return mt
}

// QuantityMilli is the quantity KEDA makes of a float metric or target
// (v2.20.2+): three decimals, NaN/Inf/negative → 0. It is returned in the
// canonical form the API server stores (100.5 → 100500m).
func QuantityMilli(v float64) resource.Quantity {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return *resource.NewQuantity(0, resource.DecimalSI)
	}
	q := resource.MustParse(strconv.FormatFloat(v, 'f', 3, 64))
	return *resource.NewMilliQuantity(q.MilliValue(), resource.DecimalSI)
}

// ReportedValue is the float the HPA reads back from the quantity KEDA
// sends for a metric value. Since v2.20.2 the value is formatted with three
// decimals (rounded) and NaN, Inf and negative values are sent as 0; before,
// it was truncated to milli-units and negatives went through. It does not
// allocate.
func ReportedValue(v float64, minor int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	if minor < 20 {
		return float64(int64(v*1000)) / 1000
	}
	if v < 0 {
		return 0
	}
	return math.Round(v*1000) / 1000
}

func externalSpec(name string, target v2.MetricTarget) v2.MetricSpec {
	return v2.MetricSpec{
		Type: v2.ExternalMetricSourceType,
		External: &v2.ExternalMetricSource{
			Metric: v2.MetricIdentifier{Name: name},
			Target: target,
		},
	}
}

func targetFloat(t v2.MetricTarget) float64 {
	switch {
	case t.AverageValue != nil:
		return t.AverageValue.AsApproximateFloat64()
	case t.Value != nil:
		return t.Value.AsApproximateFloat64()
	}
	return 0
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// errMissingReading is returned when the reading lacks the scaler's shape.
func missing(kind string) Output {
	return Output{Err: "no " + kind + " reading given for this trigger"}
}
