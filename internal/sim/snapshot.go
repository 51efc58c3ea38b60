package sim

import (
	"github.com/mlscale/mlscale/internal/hpa"
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
