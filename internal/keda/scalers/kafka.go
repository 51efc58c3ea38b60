package scalers

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	v2 "k8s.io/api/autoscaling/v2"
)

type kafkaMeta struct {
	TriggerIndex                       int
	BootstrapServers                   []string `keda:"name=bootstrapServers, order=triggerMetadata;resolvedEnv"`
	ConsumerGroup                      string   `keda:"name=consumerGroup, order=triggerMetadata;resolvedEnv"`
	Topic                              string   `keda:"name=topic, order=triggerMetadata;resolvedEnv, optional"`
	PartitionLimitationStr             string   `keda:"name=partitionLimitation, order=triggerMetadata, optional"`
	LagThreshold                       int64    `keda:"name=lagThreshold, order=triggerMetadata, default=10"`
	ActivationLagThreshold             int64    `keda:"name=activationLagThreshold, order=triggerMetadata, default=0"`
	OffsetResetPolicy                  string   `keda:"name=offsetResetPolicy, order=triggerMetadata, default=latest, enum=latest;earliest"`
	AllowIdleConsumers                 bool     `keda:"name=allowIdleConsumers, order=triggerMetadata, default=false"`
	ExcludePersistentLag               bool     `keda:"name=excludePersistentLag, order=triggerMetadata, default=false"`
	ScaleToZeroOnInvalidOffset         bool     `keda:"name=scaleToZeroOnInvalidOffset, order=triggerMetadata, default=false"`
	LimitToPartitionsWithLag           bool     `keda:"name=limitToPartitionsWithLag, order=triggerMetadata, default=false"`
	EnsureEvenDistributionOfPartitions bool     `keda:"name=ensureEvenDistributionOfPartitions, order=triggerMetadata, default=false"`
	TLS                                string   `keda:"name=tls, order=triggerMetadata;authParams, default=disable, enum=enable;disable"`
	Sasl                               string   `keda:"name=sasl, order=triggerMetadata;authParams, optional, enum=none;plaintext;scram_sha256;scram_sha512;oauthbearer;gssapi"`

	limit []int32
}

type kafka struct {
	m      kafkaMeta
	name   string
	spec   v2.MetricSpec
	target float64
}

func newKafka(c Config) (Scaler, error) {
	mt, err := c.externalTargetType()
	if err != nil {
		return nil, err
	}
	var m kafkaMeta
	if err := c.typed(&m); err != nil {
		return nil, fmt.Errorf("error parsing kafka metadata: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("error parsing kafka metadata: %w", err)
	}
	s := &kafka{m: m}
	if m.Topic != "" {
		s.name = metricName(c.Index, Normalize("kafka-"+m.Topic))
	} else {
		s.name = metricName(c.Index, Normalize("kafka-"+m.ConsumerGroup+"-topics"))
	}
	t := targetInt(mt, m.LagThreshold)
	s.spec = externalSpec(s.name, t)
	s.target = targetFloat(t)
	return s, nil
}

func (m *kafkaMeta) validate() error {
	if m.LagThreshold <= 0 {
		return fmt.Errorf("%q must be positive number", "lagThreshold")
	}
	if m.ActivationLagThreshold < 0 {
		return fmt.Errorf("%q must be a non-negative number", "activationLagThreshold")
	}
	if strings.TrimSpace(m.PartitionLimitationStr) != "" {
		for _, part := range strings.Split(m.PartitionLimitationStr, ",") {
			part = strings.TrimSpace(part)
			if strings.Contains(part, "-") {
				rp := strings.Split(part, "-")
				if len(rp) != 2 {
					return fmt.Errorf("invalid partition limitation range: %s", part)
				}
				a, err1 := strconv.ParseInt(strings.TrimSpace(rp[0]), 10, 32)
				b, err2 := strconv.ParseInt(strings.TrimSpace(rp[1]), 10, 32)
				if err1 != nil || err2 != nil {
					return fmt.Errorf("invalid partition limitation: %s", part)
				}
				for i := a; i <= b; i++ {
					m.limit = append(m.limit, int32(i))
				}
				continue
			}
			v, err := strconv.ParseInt(part, 10, 32)
			if err != nil {
				return fmt.Errorf("invalid partition limitation: %s", part)
			}
			m.limit = append(m.limit, int32(v))
		}
	}
	if m.Topic == "" {
		m.limit = nil
	}
	if m.AllowIdleConsumers && m.LimitToPartitionsWithLag {
		return fmt.Errorf("allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously")
	}
	if m.Topic == "" && m.LimitToPartitionsWithLag {
		return fmt.Errorf("topic must be specified when using limitToPartitionsWithLag")
	}
	if m.LimitToPartitionsWithLag && m.EnsureEvenDistributionOfPartitions {
		return fmt.Errorf("limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set simultaneously")
	}
	if m.Topic == "" && m.EnsureEvenDistributionOfPartitions {
		return fmt.Errorf("topic must be specified when using ensureEvenDistributionOfPartitions")
	}
	return nil
}

func (s *kafka) Type() string              { return "kafka" }
func (s *kafka) Kind() Kind                { return External }
func (s *kafka) MetricName() string        { return s.name }
func (s *kafka) MetricSpec() v2.MetricSpec { return s.spec }
func (s *kafka) TargetValue() float64      { return s.target }

func (s *kafka) included(p int32) bool {
	if len(s.m.limit) == 0 {
		return true
	}
	for _, l := range s.m.limit {
		if l == p {
			return true
		}
	}
	return false
}

// partitionLag is getLagForPartition: the lag for scaling and the lag for
// activation. excludePersistentLag needs the offset the scaler instance saw
// at its previous call (KafkaPartition.PreviousConsumerOffset): when the
// consumer has not moved, the partition's lag counts for activation only.
func (s *kafka) partitionLag(p *KafkaPartition) (int64, int64) {
	if p.ConsumerOffset == nil {
		return p.Lag, p.Lag
	}
	co := *p.ConsumerOffset
	if co == -1 {
		if s.m.OffsetResetPolicy == "latest" {
			if s.m.ScaleToZeroOnInvalidOffset {
				return 0, 0
			}
			return 1, 1
		}
		if s.m.ScaleToZeroOnInvalidOffset {
			return 0, 0
		}
	}
	if p.LatestOffset == nil {
		return 0, 0 // partition missing from the latest-offset response
	}
	latest := *p.LatestOffset
	if co == -1 {
		return latest, latest
	}
	if s.m.ExcludePersistentLag && p.PreviousConsumerOffset != nil && *p.PreviousConsumerOffset == co {
		return 0, latest - co
	}
	return latest - co, latest - co
}

type kafkaTotals struct {
	raw, total, withPersistent, partitions, withLag, factor, upper int64
	capped                                                         bool
}

func (s *kafka) totals(r *KafkaReading) kafkaTotals {
	var t kafkaTotals
	for i := range r.Partitions {
		p := &r.Partitions[i]
		if !s.included(p.Partition) {
			continue
		}
		lag, withPersistent := s.partitionLag(p)
		t.total += lag
		t.withPersistent += withPersistent
		if lag > 0 {
			t.withLag++
		}
		t.partitions++
	}
	t.raw = t.total
	m := &s.m
	if !m.AllowIdleConsumers || m.LimitToPartitionsWithLag || m.EnsureEvenDistributionOfPartitions {
		t.upper = t.partitions
		if m.EnsureEvenDistributionOfPartitions {
			t.factor = nextFactor(t.total, t.partitions, m.LagThreshold)
			t.total = t.factor * m.LagThreshold
		}
		if m.LimitToPartitionsWithLag {
			t.upper = t.withLag
		}
		if t.total/m.LagThreshold > t.upper { // integer division, as KEDA
			t.total = t.upper * m.LagThreshold
			t.capped = true
		}
	}
	return t
}

// nextFactor is the smallest factor f of partitions with f×threshold ≥ lag,
// or partitions when none is.
func nextFactor(lag, partitions, threshold int64) int64 {
	if partitions < 1 {
		return partitions
	}
	// factors in increasing order without building a slice
	r := int64(math.Sqrt(float64(partitions)))
	for i := int64(1); i <= r; i++ {
		if partitions%i == 0 && i*threshold >= lag {
			return i
		}
	}
	for i := r; i >= 1; i-- {
		if partitions%i == 0 {
			f := partitions / i
			if f != i && f*threshold >= lag {
				return f
			}
		}
	}
	return partitions
}

func (s *kafka) Get(r *Reading) Output {
	if r.Failed {
		return Output{Err: r.Err}
	}
	if r.Kafka == nil {
		return missing("kafka")
	}
	t := s.totals(r.Kafka)
	return Output{Value: float64(t.total), Active: t.withPersistent > s.m.ActivationLagThreshold}
}

func (s *kafka) Explain(r *Reading) string {
	if r.Failed || r.Kafka == nil {
		return ""
	}
	t := s.totals(r.Kafka)
	m := &s.m
	b := fmt.Sprintf("total lag %d over %d partitions (%d with lag)", t.raw, t.partitions, t.withLag)
	if t.withPersistent != t.raw {
		b += fmt.Sprintf("; excludePersistentLag: %d of it is on partitions whose consumer has not moved, counted for activation only", t.withPersistent-t.raw)
	}
	switch {
	case m.AllowIdleConsumers && !m.LimitToPartitionsWithLag && !m.EnsureEvenDistributionOfPartitions:
		b += "; allowIdleConsumers: no partition cap"
	default:
		if m.EnsureEvenDistributionOfPartitions {
			b += fmt.Sprintf("; ensureEvenDistributionOfPartitions: factor %d → lag %d", t.factor, t.factor*m.LagThreshold)
		}
		lag := t.raw
		if m.EnsureEvenDistributionOfPartitions {
			lag = t.factor * m.LagThreshold
		}
		if t.capped {
			b += fmt.Sprintf("; cap: %d/%d = %d (integer division) > %d → metric %d×%d = %d", lag, m.LagThreshold, lag/m.LagThreshold, t.upper, t.upper, m.LagThreshold, t.total)
		} else {
			b += fmt.Sprintf("; cap: %d/%d = %d (integer division) ≤ %d → not capped", lag, m.LagThreshold, lag/m.LagThreshold, t.upper)
		}
	}
	return b + fmt.Sprintf("; active = %d > activationLagThreshold %d → %t", t.withPersistent, m.ActivationLagThreshold, t.withPersistent > m.ActivationLagThreshold)
}
