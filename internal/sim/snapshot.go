package sim

import (
	"time"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// HPASnapshot is the input of one HPA reconcile taken during a simulation,
// with the controller state before it and the decision that followed.
// Replaying Input through hpa.Reconcile with a State holding the same
// history must give the same decision.
type HPASnapshot struct {
	Input           hpa.Input
	Recommendations []hpa.Recommendation
	ScaleUpEvents   []hpa.ScaleEvent
	ScaleDownEvents []hpa.ScaleEvent

	Desired int32
	Rescale bool
	Reason  string
}

func newSnapshot(in *hpa.Input, st *hpa.State) *HPASnapshot {
	s := &HPASnapshot{Input: *in}
	s.Input.HPA = in.HPA.DeepCopy()
	s.Input.Pods = append([]hpa.Pod(nil), in.Pods...)
	s.Input.Metrics = make([]hpa.MetricInput, len(in.Metrics))
	for i, m := range in.Metrics {
		m.Samples = append([]hpa.PodSample(nil), m.Samples...)
		m.Values = append([]int64(nil), m.Values...)
		m.Extra = append([]hpa.PodSample(nil), m.Extra...)
		s.Input.Metrics[i] = m
	}
	if st.Recommendations != nil {
		s.Recommendations = append([]hpa.Recommendation{}, st.Recommendations...)
	}
	s.ScaleUpEvents = append([]hpa.ScaleEvent(nil), st.ScaleUpEvents...)
	s.ScaleDownEvents = append([]hpa.ScaleEvent(nil), st.ScaleDownEvents...)
	return s
}

// State returns a fresh controller state holding the snapshot's history.
func (s *HPASnapshot) State() *hpa.State {
	st := &hpa.State{}
	if s.Recommendations != nil {
		st.Recommendations = append([]hpa.Recommendation{}, s.Recommendations...)
	}
	st.ScaleUpEvents = append([]hpa.ScaleEvent(nil), s.ScaleUpEvents...)
	st.ScaleDownEvents = append([]hpa.ScaleEvent(nil), s.ScaleDownEvents...)
	return st
}

// KEDASnapshot is one KEDA poll taken during a simulation: the compiled
// ScaledObject, the clock, the target, every trigger's reading and KEDA's
// state before the poll, and the branch and scale the poll produced.
type KEDASnapshot struct {
	Compiled *keda.Compiled
	Now      time.Time
	Target   keda.Target
	Readings []scalers.Reading
	State    keda.State

	Branch     keda.Branch
	ScaleTo    int32
	HasScaleTo bool
}

func newKEDASnapshot(c *control, now time.Time, tgt keda.Target) *KEDASnapshot {
	s := &KEDASnapshot{Compiled: c.kc, Now: now, State: c.kst.Clone()}
	spec := *tgt.SpecReplicas
	s.Target = keda.Target{SpecReplicas: &spec, ReadyReplicas: tgt.ReadyReplicas}
	s.Readings = make([]scalers.Reading, len(c.readings))
	for i, r := range c.readings {
		cp := r
		if r.RabbitMQ != nil {
			v := *r.RabbitMQ
			cp.RabbitMQ = &v
		}
		if r.SQS != nil {
			v := *r.SQS
			cp.SQS = &v
		}
		if r.Kafka != nil {
			v := scalers.KafkaReading{Partitions: append([]scalers.KafkaPartition(nil), r.Kafka.Partitions...)}
			cp.Kafka = &v
		}
		if r.Prometheus != nil {
			v := scalers.PrometheusReading{Series: append([]float64(nil), r.Prometheus.Series...)}
			cp.Prometheus = &v
		}
		if r.Value != nil {
			v := *r.Value
			cp.Value = &v
		}
		s.Readings[i] = cp
	}
	return s
}
