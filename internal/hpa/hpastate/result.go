package hpastate

import (
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/hpa"
)

// Result is the `hpa eval` output document (hpa-eval.md, "Output").
type Result struct {
	DesiredReplicas int32          `json:"desiredReplicas"`
	Rescale         bool           `json:"rescale"`
	Metrics         []MetricResult `json:"metrics"`
	Conditions      []Condition    `json:"conditions"`
	Events          []Event        `json:"events"`
	History         History        `json:"history"`

	decision hpa.Decision
	snap     *Snapshot
}

// MetricResult is one metric's outcome.
type MetricResult struct {
	Index      int            `json:"index"`
	Name       string         `json:"name"`
	Proposal   int32          `json:"proposal"`
	UsageRatio *float64       `json:"usageRatio,omitempty"`
	Current    *CurrentMetric `json:"current,omitempty"`
	Error      string         `json:"error"`
}

// CurrentMetric is the value written to status.currentMetrics.
type CurrentMetric struct {
	AverageUtilization *int32 `json:"averageUtilization,omitempty"`
	AverageValue       string `json:"averageValue,omitempty"`
	Value              string `json:"value,omitempty"`
}

// Condition is one status condition.
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Event is one recorded event.
type Event struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Decision returns the engine's decision behind the result.
func (r *Result) Decision() *hpa.Decision { return &r.decision }

// Run reconciles the snapshot once.
func (s *Snapshot) Run() *Result {
	st := s.Engine.Clone() // the snapshot can be run again
	d := hpa.Reconcile(&s.Input, &st)
	// Copy out of the State's scratch buffers.
	d.Metrics = append([]hpa.MetricResult(nil), d.Metrics...)
	d.Conditions = append([]hpa.Condition(nil), d.Conditions...)
	d.Events = append([]hpa.Event(nil), d.Events...)

	r := &Result{DesiredReplicas: d.DesiredReplicas, Rescale: d.Rescale, decision: d, snap: s,
		Metrics: []MetricResult{}, Conditions: []Condition{}, Events: []Event{}}
	for i, m := range d.Metrics {
		mr := MetricResult{Index: i, Name: m.Name, Proposal: m.Proposal, Error: m.Error}
		if m.Error == "" {
			if ratio := m.UsageRatio; !math.IsInf(ratio, 0) && !math.IsNaN(ratio) {
				mr.UsageRatio = &ratio // JSON has no infinity: omitted then
			}
			c := &CurrentMetric{}
			format := resource.DecimalSI
			if resourceName(s.Input.HPA, i) == corev1.ResourceMemory && s.Minor >= 34 {
				format = resource.BinarySI
			}
			if m.HasUtilization {
				u := m.AverageUtilization
				c.AverageUtilization = &u
			}
			if m.HasAverageValue {
				c.AverageValue = resource.NewMilliQuantity(m.AverageValueMilli, format).String()
			}
			if m.HasValue {
				c.Value = resource.NewMilliQuantity(m.ValueMilli, resource.DecimalSI).String()
			}
			mr.Current = c
		} else {
			mr.Proposal = -1
		}
		r.Metrics = append(r.Metrics, mr)
	}
	for _, c := range hpa.MergeConditions(s.Conditions, &d, s.Input.Now) {
		r.Conditions = append(r.Conditions, Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message})
	}
	for _, e := range d.Events {
		r.Events = append(r.Events, Event(e))
	}
	r.History = History{Recommendations: []Recommendation{}, ScaleUpEvents: []ScaleEvent{}, ScaleDownEvents: []ScaleEvent{}}
	for _, rec := range st.Recommendations {
		r.History.Recommendations = append(r.History.Recommendations, Recommendation{Timestamp: metav1.NewTime(rec.Timestamp), Replicas: rec.Replicas})
	}
	r.History.ScaleUpEvents = fromEvents(st.ScaleUpEvents)
	r.History.ScaleDownEvents = fromEvents(st.ScaleDownEvents)
	return r
}

func fromEvents(in []hpa.ScaleEvent) []ScaleEvent {
	out := []ScaleEvent{}
	for _, e := range in {
		out = append(out, ScaleEvent{Timestamp: metav1.NewTime(e.Timestamp), ReplicaChange: e.ReplicaChange, Outdated: e.Outdated})
	}
	return out
}

func resourceName(h *autoscalingv2.HorizontalPodAutoscaler, i int) corev1.ResourceName {
	m := h.Spec.Metrics[i]
	switch {
	case m.Resource != nil && m.Type == autoscalingv2.ResourceMetricSourceType:
		return m.Resource.Name
	case m.ContainerResource != nil && m.Type == autoscalingv2.ContainerResourceMetricSourceType:
		return m.ContainerResource.Name
	}
	return ""
}
