package scalers

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	v2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// ---- prometheus ----

type prometheusMeta struct {
	TriggerIndex        int
	ServerAddress       string  `keda:"name=serverAddress, order=triggerMetadata"`
	Query               string  `keda:"name=query, order=triggerMetadata"`
	Threshold           float64 `keda:"name=threshold, order=triggerMetadata"`
	ActivationThreshold float64 `keda:"name=activationThreshold, order=triggerMetadata, optional"`
	Namespace           string  `keda:"name=namespace, order=triggerMetadata, optional"`
	IgnoreNullValues    bool    `keda:"name=ignoreNullValues, order=triggerMetadata, default=true"`
}

type prometheus struct {
	m        prometheusMeta
	name     string
	spec     v2.MetricSpec
	target   float64
	multiErr string
	emptyErr string
}

func newPrometheus(c Config) (Scaler, error) {
	mt, err := c.externalTargetType()
	if err != nil {
		return nil, err
	}
	var m prometheusMeta
	if err := c.typed(&m); err != nil {
		return nil, fmt.Errorf("error parsing prometheus metadata: %w", err)
	}
	s := &prometheus{m: m, name: metricName(c.Index, "prometheus")}
	t := targetMilli(mt, m.Threshold)
	s.spec = externalSpec(s.name, t)
	s.target = targetFloat(t)
	s.multiErr = "prometheus query " + m.Query + " returned multiple elements"
	s.emptyErr = "prometheus metrics 'prometheus' target may be lost, the result is empty"
	return s, nil
}

func (s *prometheus) Type() string              { return "prometheus" }
func (s *prometheus) Kind() Kind                { return External }
func (s *prometheus) MetricName() string        { return s.name }
func (s *prometheus) MetricSpec() v2.MetricSpec { return s.spec }
func (s *prometheus) TargetValue() float64      { return s.target }

func (s *prometheus) value(r *PrometheusReading) (float64, string) {
	switch len(r.Series) {
	case 0:
		if s.m.IgnoreNullValues {
			return 0, ""
		}
		return 0, s.emptyErr
	case 1:
	default:
		return 0, s.multiErr
	}
	v := r.Series[0]
	if math.IsInf(v, 0) || math.IsNaN(v) {
		if s.m.IgnoreNullValues {
			return 0, ""
		}
		return 0, "prometheus query returns " + strconv.FormatFloat(v, 'f', 6, 64)
	}
	return v, ""
}

func (s *prometheus) Get(r *Reading) Output {
	if r.Failed {
		return Output{Err: r.Err}
	}
	if r.Prometheus == nil {
		return missing("prometheus")
	}
	v, e := s.value(r.Prometheus)
	if e != "" {
		return Output{Err: e}
	}
	return Output{Value: v, Active: v > s.m.ActivationThreshold}
}

func (s *prometheus) Explain(r *Reading) string {
	if r.Failed || r.Prometheus == nil {
		return ""
	}
	p := r.Prometheus
	v, e := s.value(p)
	var b string
	switch {
	case len(p.Series) == 0 && s.m.IgnoreNullValues:
		b = "empty result, ignoreNullValues=true → 0 (an outage reads as 0, never as an error)"
	case len(p.Series) == 1 && (math.IsNaN(p.Series[0]) || math.IsInf(p.Series[0], 0)) && s.m.IgnoreNullValues:
		b = "NaN/Inf, ignoreNullValues=true → 0"
	case e != "":
		return "error: " + e
	default:
		b = "query returned " + fmtF(v)
	}
	b += fmt.Sprintf("; active = %s > activationThreshold %s → %t", fmtF(v), fmtF(s.m.ActivationThreshold), v > s.m.ActivationThreshold)
	if v < 0 {
		b += "; the HPA is sent 0 (negative values are clamped since v2.20.2)"
	}
	return b
}

// ---- aws-sqs-queue ----

type sqsMeta struct {
	TriggerIndex                int
	TargetQueueLength           int64  `keda:"name=queueLength, order=triggerMetadata, default=5"`
	ActivationTargetQueueLength int64  `keda:"name=activationQueueLength, order=triggerMetadata, default=0"`
	QueueURL                    string `keda:"name=queueURL, order=triggerMetadata;resolvedEnv"`
	AwsRegion                   string `keda:"name=awsRegion, order=triggerMetadata;authParams, optional"`
	ScaleOnInFlight             bool   `keda:"name=scaleOnInFlight, order=triggerMetadata, default=true"`
	ScaleOnDelayed              bool   `keda:"name=scaleOnDelayed, order=triggerMetadata, default=false"`
}

type sqs struct {
	m      sqsMeta
	name   string
	spec   v2.MetricSpec
	target float64
}

func newSQS(c Config) (Scaler, error) {
	mt, err := c.externalTargetType()
	if err != nil {
		return nil, err
	}
	var m sqsMeta
	if err := c.typed(&m); err != nil {
		return nil, fmt.Errorf("error parsing SQS queue metadata: %w", err)
	}
	if m.AwsRegion == "" && !c.HasAuthRef {
		return nil, fmt.Errorf("error parsing SQS queue metadata: missing required parameter %q in %v", "awsRegion", []string{"triggerMetadata", "authParams"})
	}
	queueName := m.QueueURL
	if u, err := url.ParseRequestURI(m.QueueURL); err == nil {
		parts := strings.Split(u.Path, "/")
		if len(parts) != 3 || len(parts[2]) == 0 {
			return nil, fmt.Errorf("cannot get queueName from queueURL")
		}
		queueName = parts[2]
	}
	s := &sqs{m: m, name: metricName(c.Index, Normalize("aws-sqs-"+queueName))}
	t := targetInt(mt, m.TargetQueueLength)
	s.spec = externalSpec(s.name, t)
	s.target = targetFloat(t)
	return s, nil
}

func (s *sqs) Type() string              { return "aws-sqs-queue" }
func (s *sqs) Kind() Kind                { return External }
func (s *sqs) MetricName() string        { return s.name }
func (s *sqs) MetricSpec() v2.MetricSpec { return s.spec }
func (s *sqs) TargetValue() float64      { return s.target }

func (s *sqs) length(r *SQSReading) int64 {
	n := r.Visible
	if s.m.ScaleOnInFlight {
		n += r.InFlight
	}
	if s.m.ScaleOnDelayed {
		n += r.Delayed
	}
	return n
}

func (s *sqs) Get(r *Reading) Output {
	if r.Failed {
		return Output{Err: r.Err}
	}
	if r.SQS == nil {
		return missing("awsSqsQueue")
	}
	n := s.length(r.SQS)
	return Output{Value: float64(n), Active: n > s.m.ActivationTargetQueueLength}
}

func (s *sqs) Explain(r *Reading) string {
	if r.Failed || r.SQS == nil {
		return ""
	}
	q := r.SQS
	parts := []string{fmt.Sprintf("visible %d", q.Visible)}
	if s.m.ScaleOnInFlight {
		parts = append(parts, fmt.Sprintf("in-flight %d", q.InFlight))
	} else {
		parts = append(parts, fmt.Sprintf("(in-flight %d not counted: scaleOnInFlight=false)", q.InFlight))
	}
	if s.m.ScaleOnDelayed {
		parts = append(parts, fmt.Sprintf("delayed %d", q.Delayed))
	}
	n := s.length(q)
	return fmt.Sprintf("%s = %d; active = %d > activationQueueLength %d → %t", strings.Join(parts, " + "), n, n, s.m.ActivationTargetQueueLength, n > s.m.ActivationTargetQueueLength)
}

// ---- cpu / memory ----

type cpuMemMeta struct {
	TriggerIndex  int
	Type          string `keda:"name=type, order=triggerMetadata, enum=Utilization;AverageValue, optional, deprecated=The 'type' setting is DEPRECATED and is removed in v2.18 - Use 'metricType' instead."`
	Value         string `keda:"name=value, order=triggerMetadata"`
	ContainerName string `keda:"name=containerName, order=triggerMetadata, optional"`
}

type cpuMemory struct {
	typ  string
	spec v2.MetricSpec
	tv   float64
}

func newCPUMemory(c Config) (Scaler, error) {
	var m cpuMemMeta
	if err := c.typed(&m); err != nil {
		return nil, err
	}
	res := corev1.ResourceCPU
	if c.Type == "memory" {
		res = corev1.ResourceMemory
	}
	t := v2.MetricTarget{Type: c.MetricType}
	var tv float64
	switch c.MetricType {
	case v2.AverageValueMetricType:
		q, err := resource.ParseQuantity(m.Value)
		if err != nil {
			return nil, fmt.Errorf("unable to parse value %q: %w", m.Value, err)
		}
		t.AverageValue = &q
		tv = q.AsApproximateFloat64()
	case v2.UtilizationMetricType:
		n, err := strconv.ParseInt(m.Value, 10, 32)
		if err != nil {
			return nil, err
		}
		u := int32(n)
		t.AverageUtilization = &u
		tv = float64(n)
	default:
		return nil, fmt.Errorf("unknown metric type: %s, allowed values are 'Utilization' or 'AverageValue'", string(c.MetricType))
	}
	s := &cpuMemory{typ: c.Type, tv: tv}
	if m.ContainerName != "" {
		s.spec = v2.MetricSpec{Type: v2.ContainerResourceMetricSourceType, ContainerResource: &v2.ContainerResourceMetricSource{Name: res, Target: t, Container: m.ContainerName}}
	} else {
		s.spec = v2.MetricSpec{Type: v2.ResourceMetricSourceType, Resource: &v2.ResourceMetricSource{Name: res, Target: t}}
	}
	return s, nil
}

func (s *cpuMemory) Type() string              { return s.typ }
func (s *cpuMemory) Kind() Kind                { return Resource }
func (s *cpuMemory) MetricName() string        { return "" }
func (s *cpuMemory) MetricSpec() v2.MetricSpec { return s.spec }
func (s *cpuMemory) TargetValue() float64      { return s.tv }
func (s *cpuMemory) Get(*Reading) Output       { return Output{Active: true} }
func (s *cpuMemory) Explain(*Reading) string {
	return "served to the HPA by metrics-server as a Resource metric; KEDA never reads it"
}

// ---- metrics-api and any other single-value scaler ----

type metricsAPIMeta struct {
	TriggerIndex          int
	TargetValue           float64 `keda:"name=targetValue, order=triggerMetadata, optional"`
	ActivationTargetValue float64 `keda:"name=activationTargetValue, order=triggerMetadata, default=0"`
	ValueLocation         string  `keda:"name=valueLocation, order=triggerMetadata"`
	URL                   string  `keda:"name=url, order=triggerMetadata"`
}

// single is a scaler whose upstream returns one number: metric = value,
// active = value > activation.
type single struct {
	typ        string
	name       string
	spec       v2.MetricSpec
	target     float64
	activation float64
	note       string
}

func newMetricsAPI(c Config) (Scaler, error) {
	mt, err := c.externalTargetType()
	if err != nil {
		return nil, err
	}
	var m metricsAPIMeta
	if err := c.typed(&m); err != nil {
		return nil, fmt.Errorf("error parsing metric API metadata: %w", err)
	}
	s := &single{typ: c.Type, activation: m.ActivationTargetValue,
		name: metricName(c.Index, Normalize("metric-api-"+m.ValueLocation))}
	t := targetMilli(mt, m.TargetValue)
	s.spec = externalSpec(s.name, t)
	s.target = targetFloat(t)
	return s, nil
}

// Target and activation keys tried, in order, for scalers mlscale does not
// model one by one.
var (
	genericTargetKeys     = []string{"targetValue", "value", "threshold", "queueLength", "lagThreshold", "targetQueueLength", "desiredReplicas", "listLength", "targetMetricValue"}
	genericActivationKeys = []string{"activationTargetValue", "activationValue", "activationThreshold", "activationQueueLength", "activationLagThreshold", "activationListLength", "activationTargetMetricValue"}
)

func newGeneric(c Config) (Scaler, error) {
	mt, err := c.externalTargetType()
	if err != nil {
		return nil, err
	}
	s := &single{typ: c.Type, name: metricName(c.Index, Normalize(c.Type)),
		note: "generic single-value model: the metric name is approximated as s<index>-<type>"}
	found := false
	for _, k := range genericTargetKeys {
		if v, ok := c.Metadata[k]; ok && strings.TrimSpace(v) != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("unable to set param %q value %q: %w", k, v, err)
			}
			s.target = f
			found = true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("no scaler found for type: %s (mlscale models it as a single value and needs one of %s in metadata)", c.Type, strings.Join(genericTargetKeys, ", "))
	}
	for _, k := range genericActivationKeys {
		if v, ok := c.Metadata[k]; ok && strings.TrimSpace(v) != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("unable to set param %q value %q: %w", k, v, err)
			}
			s.activation = f
			break
		}
	}
	t := targetMilli(mt, s.target)
	s.spec = externalSpec(s.name, t)
	s.target = targetFloat(t)
	return s, nil
}

func (s *single) Type() string              { return s.typ }
func (s *single) Kind() Kind                { return External }
func (s *single) MetricName() string        { return s.name }
func (s *single) MetricSpec() v2.MetricSpec { return s.spec }
func (s *single) TargetValue() float64      { return s.target }

func (s *single) Get(r *Reading) Output {
	if r.Failed {
		return Output{Err: r.Err}
	}
	if r.Value == nil {
		return missing("value")
	}
	v := *r.Value
	return Output{Value: v, Active: v > s.activation}
}

func (s *single) Explain(r *Reading) string {
	if r.Failed || r.Value == nil {
		return ""
	}
	v := *r.Value
	b := fmt.Sprintf("value %s; active = %s > activation %s → %t", fmtF(v), fmtF(v), fmtF(s.activation), v > s.activation)
	if s.note != "" {
		b += " (" + s.note + ")"
	}
	return b
}
