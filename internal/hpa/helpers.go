package hpa

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MergeConditions applies d's conditions to an HPA's status.conditions the
// way the controller's setCondition/removeCondition do: an existing
// condition of the same type is updated in place (its lastTransitionTime
// moves to now only when its status changes), a new one is appended, and
// ScaledToZero is removed when d says so. Conditions d does not touch are
// carried over. The input slice is not modified.
func MergeConditions(conds []autoscalingv2.HorizontalPodAutoscalerCondition, d *Decision, now time.Time) []autoscalingv2.HorizontalPodAutoscalerCondition {
	out := append([]autoscalingv2.HorizontalPodAutoscalerCondition(nil), conds...)
	for _, c := range d.Conditions {
		k := -1
		for i := range out {
			if out[i].Type == c.Type {
				k = i
				break
			}
		}
		if k < 0 {
			out = append(out, autoscalingv2.HorizontalPodAutoscalerCondition{Type: c.Type})
			k = len(out) - 1
		}
		if out[k].Status != c.Status {
			out[k].LastTransitionTime = metav1.NewTime(now)
		}
		out[k].Status = c.Status
		out[k].Reason = c.Reason
		out[k].Message = c.Message
	}
	if d.RemoveScaledToZero {
		filtered := out[:0]
		for _, c := range out {
			if c.Type != autoscalingv2.ScaledToZero {
				filtered = append(filtered, c)
			}
		}
		out = filtered
	}
	return out
}

// ContainerUsage is one container's usage in a metrics.k8s.io PodMetrics item.
type ContainerUsage struct {
	Name  string
	Usage corev1.ResourceList
}

// PodMetrics is one metrics.k8s.io PodMetrics item.
type PodMetrics struct {
	Pod        string
	Timestamp  time.Time
	Window     time.Duration
	Containers []ContainerUsage
}

// ResourceSamples converts a resource metrics API answer into the
// MetricInput the controller's metrics client derives for one resource
// (container "" for a Resource metric: the sum over the pod's containers,
// no sample when any container lacks the resource or the pod reports no
// container; otherwise the named container's value, no sample when the
// container or its resource is absent). pods gives the listed pods' order.
func ResourceSamples(items []PodMetrics, pods []Pod, res corev1.ResourceName, container string) MetricInput {
	mi := MetricInput{Items: len(items), Samples: make([]PodSample, len(pods))}
	index := make(map[string]int, len(pods))
	for i := range pods {
		if _, dup := index[pods[i].Name]; !dup {
			index[pods[i].Name] = i
		}
	}
	for _, it := range items {
		s := PodSample{Timestamp: it.Timestamp, Window: it.Window}
		ok := false
		if container == "" {
			ok = len(it.Containers) > 0
			for _, c := range it.Containers {
				q, found := c.Usage[res]
				if !found {
					ok = false
					break
				}
				s.Milli += q.MilliValue()
			}
		} else {
			for _, c := range it.Containers {
				if c.Name == container {
					if q, found := c.Usage[res]; found {
						s.Milli = q.MilliValue()
						ok = true
					}
					break
				}
			}
		}
		if !ok {
			continue
		}
		s.Present = true
		if i, listed := index[it.Pod]; listed {
			mi.Samples[i] = s
		} else {
			mi.Extra = append(mi.Extra, s)
		}
	}
	return mi
}

// Clone returns a deep copy of the controller state (history and events)
// without the scratch buffers, so that the copy can be reconciled
// independently (a plain struct copy would share them). A nil
// Recommendations list stays nil: the clone is still unseeded.
func (s *State) Clone() State {
	var c State
	if s.Recommendations != nil {
		c.Recommendations = append(make([]Recommendation, 0, len(s.Recommendations)+1), s.Recommendations...)
	}
	if s.ScaleUpEvents != nil {
		c.ScaleUpEvents = append(make([]ScaleEvent, 0, len(s.ScaleUpEvents)+1), s.ScaleUpEvents...)
	}
	if s.ScaleDownEvents != nil {
		c.ScaleDownEvents = append(make([]ScaleEvent, 0, len(s.ScaleDownEvents)+1), s.ScaleDownEvents...)
	}
	return c
}
