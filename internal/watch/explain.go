package watch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/hpa/hpastate"
)

// ExplainNote heads every explanation: what the reconstruction can and
// cannot know.
const ExplainNote = "Reconstructed from the observed objects: metric values are the HPA's status.currentMetrics spread over the ready pods, and the controller's in-memory history (stabilisation window, scale events) is not observable, so this is the decision of a first reconcile on what the controller last reported."

// Explain runs the HPA engine once on the observed state of an HPA, its
// Deployment and its pods, and returns the engine's text explanation (the
// same text as `mlscale hpa eval -o text`).
func Explain(h *autoscalingv2.HorizontalPodAutoscaler, d *appsv1.Deployment, pods []*corev1.Pod, now time.Time) (string, error) {
	st, err := ObservedState(h, d, pods, now)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	snap, err := hpastate.Decode("observed "+h.Namespace+"/"+h.Name, data)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := snap.Run().WriteText(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// ObservedState builds the HPAState document (`mlscale hpa eval` input) of
// an observed HPA.
func ObservedState(h *autoscalingv2.HorizontalPodAutoscaler, d *appsv1.Deployment, pods []*corev1.Pod, now time.Time) (*hpastate.State, error) {
	if h == nil {
		return nil, fmt.Errorf("no HPA to explain")
	}
	if d == nil {
		return nil, fmt.Errorf("the scale target %s/%s does not exist or is not a Deployment; the engine needs its /scale and pods", h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
	}
	obj := h.DeepCopy()
	obj.APIVersion, obj.Kind = "autoscaling/v2", "HorizontalPodAutoscaler"
	obj.ManagedFields = nil
	spec := int32(1)
	if d.Spec.Replicas != nil {
		spec = *d.Spec.Replicas
	}
	status := d.Status.Replicas
	sel := ""
	if d.Spec.Selector != nil {
		sel = metav1.FormatLabelSelector(d.Spec.Selector)
	}
	st := &hpastate.State{
		APIVersion: hpastate.APIVersion, Kind: hpastate.Kind,
		Now: &metav1.Time{Time: now.UTC().Truncate(time.Second)}, HPA: obj,
		Scale: &hpastate.Scale{SpecReplicas: &spec, StatusReplicas: &status, Selector: sel},
	}
	var ready []string
	reqs := map[string]map[string]corev1.ResourceList{} // pod -> container -> requests
	for _, p := range pods {
		hp := hpastate.Pod{Name: p.Name, Phase: p.Status.Phase, Labels: p.Labels, StartTime: p.Status.StartTime, DeletionTimestamp: p.DeletionTimestamp}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				hp.Ready = hpastate.ConditionStatus(c.Status)
				t := c.LastTransitionTime
				hp.ReadyTransitionTime = &t
				if c.Status == corev1.ConditionTrue && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
					ready = append(ready, p.Name)
				}
			}
		}
		reqs[p.Name] = map[string]corev1.ResourceList{}
		for _, c := range p.Spec.Containers {
			hp.Containers = append(hp.Containers, hpastate.Container{Name: c.Name, Requests: c.Resources.Requests})
			reqs[p.Name][c.Name] = c.Resources.Requests
		}
		for _, c := range p.Spec.InitContainers {
			hp.InitContainers = append(hp.InitContainers, hpastate.Container{Name: c.Name, RestartPolicy: c.RestartPolicy, Requests: c.Resources.Requests})
		}
		st.Pods = append(st.Pods, hp)
	}
	m := &st.Metrics
	failing := ""
	for _, c := range h.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason != "ScalingDisabled" {
			failing = c.Message
		}
	}
	setErr := func(name string) {
		if failing == "" {
			return
		}
		if m.Errors == nil {
			m.Errors = map[string]string{}
		}
		// the engine wraps the API's error as the controller does: give
		// it the innermost text
		msg := failing
		if i := strings.LastIndex(msg, "metrics API: "); i >= 0 {
			msg = msg[i+len("metrics API: "):]
		} else if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "the HPA was unable to compute the replica count") {
			msg = rest
		}
		m.Errors[name] = msg
	}
	nready := int64(len(ready))
	for i, ms := range h.Spec.Metrics {
		var cur *autoscalingv2.MetricStatus
		if i < len(h.Status.CurrentMetrics) && h.Status.CurrentMetrics[i].Type == ms.Type {
			cur = &h.Status.CurrentMetrics[i]
		}
		switch ms.Type {
		case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
			var res corev1.ResourceName
			container := ""
			var v *autoscalingv2.MetricValueStatus
			if ms.Resource != nil {
				res = ms.Resource.Name
				if cur != nil && cur.Resource != nil {
					v = &cur.Resource.Current
				}
			} else if ms.ContainerResource != nil {
				res, container = ms.ContainerResource.Name, ms.ContainerResource.Container
				if cur != nil && cur.ContainerResource != nil {
					v = &cur.ContainerResource.Current
				}
			} else {
				continue
			}
			if v == nil {
				setErr(string(res))
				continue
			}
			if m.Resource == nil {
				m.Resource = map[string]hpastate.PodMetrics{}
			}
			for _, pn := range ready {
				pm, ok := m.Resource[pn]
				if !ok {
					pm = hpastate.PodMetrics{Containers: map[string]corev1.ResourceList{}}
				}
				first := true
				for cn, rl := range reqs[pn] {
					if container != "" && cn != container {
						continue
					}
					var usage int64
					switch {
					case v.AverageUtilization != nil:
						r := rl[res]
						usage = r.MilliValue() * int64(*v.AverageUtilization) / 100
					case v.AverageValue != nil && first:
						usage = v.AverageValue.MilliValue()
					}
					first = false
					if pm.Containers[cn] == nil {
						pm.Containers[cn] = corev1.ResourceList{}
					}
					pm.Containers[cn][res] = *resource.NewMilliQuantity(usage, resource.DecimalSI)
				}
				t := metav1.NewTime(st.Now.Time)
				pm.Timestamp = &t
				m.Resource[pn] = pm
			}
		case autoscalingv2.PodsMetricSourceType:
			if ms.Pods == nil {
				continue
			}
			if cur == nil || cur.Pods == nil || cur.Pods.Current.AverageValue == nil {
				setErr(ms.Pods.Metric.Name)
				continue
			}
			if m.Pods == nil {
				m.Pods = map[string]map[string]resource.Quantity{}
			}
			vals := map[string]resource.Quantity{}
			for _, pn := range ready {
				vals[pn] = *cur.Pods.Current.AverageValue
			}
			m.Pods[ms.Pods.Metric.Name] = vals
		case autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType:
			var (
				name string
				v    *autoscalingv2.MetricValueStatus
			)
			if ms.Object != nil {
				name = ms.Object.Metric.Name
				if cur != nil && cur.Object != nil {
					v = &cur.Object.Current
				}
			} else if ms.External != nil {
				name = ms.External.Metric.Name
				if cur != nil && cur.External != nil {
					v = &cur.External.Current
				}
			} else {
				continue
			}
			var total *resource.Quantity
			switch {
			case v == nil:
			case v.Value != nil:
				total = v.Value
			case v.AverageValue != nil:
				n := nready
				if ms.Type == autoscalingv2.ExternalMetricSourceType || n == 0 {
					n = int64(max(h.Status.CurrentReplicas, 1))
				}
				total = resource.NewMilliQuantity(v.AverageValue.MilliValue()*n, resource.DecimalSI)
			}
			if total == nil {
				setErr(name)
				continue
			}
			if ms.Type == autoscalingv2.ObjectMetricSourceType {
				if m.Object == nil {
					m.Object = map[string]resource.Quantity{}
				}
				m.Object[name] = *total
			} else {
				if m.External == nil {
					m.External = map[string][]resource.Quantity{}
				}
				m.External[name] = []resource.Quantity{*total}
			}
		}
	}
	return st, nil
}
