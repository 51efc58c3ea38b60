package report

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/hpa/hpastate"
	"github.com/mlscale/mlscale/internal/sim"
)

// HPAState writes a simulated HPA reconcile as a `kind: HPAState` snapshot,
// the input of `mlscale hpa eval`: the HPA, /scale, the pods, what the
// metrics APIs returned and the controller's history before the reconcile.
func HPAState(s *sim.HPASnapshot) *hpastate.State {
	in := &s.Input
	minor := in.Config.KubernetesMinor
	if minor == 0 {
		minor = hpa.DefaultMinor
	}
	now := metav1.NewTime(in.Now)
	spec, status := in.Scale.SpecReplicas, in.Scale.StatusReplicas
	st := &hpastate.State{
		APIVersion: hpastate.APIVersion, Kind: hpastate.Kind,
		KubernetesVersion: "1." + strconv.Itoa(minor),
		Now:               &now,
		HPA:               in.HPA.DeepCopy(),
		Scale:             &hpastate.Scale{SpecReplicas: &spec, StatusReplicas: &status, Selector: in.Scale.Selector},
	}
	t := func(v metav1.Time) *metav1.Time { return &v }
	for _, p := range in.Pods {
		q := hpastate.Pod{Name: p.Name, Phase: p.Phase, Ready: hpastate.ConditionStatus(p.Ready), Labels: p.Labels}
		if !p.ReadyTransitionTime.IsZero() {
			q.ReadyTransitionTime = t(metav1.NewTime(p.ReadyTransitionTime))
		}
		if !p.StartTime.IsZero() {
			q.StartTime = t(metav1.NewTime(p.StartTime))
		}
		if p.Deleting {
			q.DeletionTimestamp = &now
		}
		if p.Spec != nil {
			for _, c := range p.Spec.Containers {
				q.Containers = append(q.Containers, hpastate.Container{Name: c.Name, Requests: c.Resources.Requests})
			}
		}
		st.Pods = append(st.Pods, q)
	}
	m := &st.Metrics
	for k, ms := range in.HPA.Spec.Metrics {
		mi := in.Metrics[k]
		var name string
		switch {
		case ms.Resource != nil:
			name = string(ms.Resource.Name)
		case ms.ContainerResource != nil:
			name = string(ms.ContainerResource.Name)
		case ms.Pods != nil:
			name = ms.Pods.Metric.Name
		case ms.Object != nil:
			name = ms.Object.Metric.Name
		case ms.External != nil:
			name = ms.External.Metric.Name
		}
		if mi.FetchErr != nil {
			if m.Errors == nil {
				m.Errors = map[string]string{}
			}
			m.Errors[name] = mi.FetchErr.Error()
			continue
		}
		switch {
		case ms.Resource != nil || ms.ContainerResource != nil:
			res := corev1.ResourceName(name)
			if m.Resource == nil {
				m.Resource = map[string]hpastate.PodMetrics{}
			}
			for j, smp := range mi.Samples {
				if !smp.Present || j >= len(in.Pods) {
					continue
				}
				p := in.Pods[j]
				pm, ok := m.Resource[p.Name]
				if !ok {
					ts := metav1.NewTime(smp.Timestamp)
					pm = hpastate.PodMetrics{Timestamp: &ts, Window: &metav1.Duration{Duration: smp.Window}, Containers: map[string]corev1.ResourceList{}}
				}
				cname := "main"
				if p.Spec != nil && len(p.Spec.Containers) > 0 {
					cname = p.Spec.Containers[0].Name
				}
				if pm.Containers[cname] == nil {
					pm.Containers[cname] = corev1.ResourceList{}
				}
				pm.Containers[cname][res] = *resource.NewMilliQuantity(smp.Milli, resource.DecimalSI)
				m.Resource[p.Name] = pm
			}
		case ms.Pods != nil:
			if m.Pods == nil {
				m.Pods = map[string]map[string]resource.Quantity{}
			}
			vals := map[string]resource.Quantity{}
			for j, smp := range mi.Samples {
				if smp.Present && j < len(in.Pods) {
					vals[in.Pods[j].Name] = *resource.NewMilliQuantity(smp.Milli, resource.DecimalSI)
				}
			}
			m.Pods[name] = vals
		case ms.Object != nil:
			if len(mi.Values) > 0 {
				if m.Object == nil {
					m.Object = map[string]resource.Quantity{}
				}
				m.Object[name] = *resource.NewMilliQuantity(mi.Values[0], resource.DecimalSI)
			}
		case ms.External != nil:
			if m.External == nil {
				m.External = map[string][]resource.Quantity{}
			}
			vs := []resource.Quantity{}
			for _, v := range mi.Values {
				vs = append(vs, *resource.NewMilliQuantity(v, resource.DecimalSI))
			}
			m.External[name] = vs
		}
	}
	h := &hpastate.History{Recommendations: []hpastate.Recommendation{}, ScaleUpEvents: []hpastate.ScaleEvent{}, ScaleDownEvents: []hpastate.ScaleEvent{}}
	for _, r := range s.Recommendations {
		h.Recommendations = append(h.Recommendations, hpastate.Recommendation{Timestamp: metav1.NewTime(r.Timestamp), Replicas: r.Replicas})
	}
	for _, e := range s.ScaleUpEvents {
		h.ScaleUpEvents = append(h.ScaleUpEvents, hpastate.ScaleEvent{Timestamp: metav1.NewTime(e.Timestamp), ReplicaChange: e.ReplicaChange, Outdated: e.Outdated})
	}
	for _, e := range s.ScaleDownEvents {
		h.ScaleDownEvents = append(h.ScaleDownEvents, hpastate.ScaleEvent{Timestamp: metav1.NewTime(e.Timestamp), ReplicaChange: e.ReplicaChange, Outdated: e.Outdated})
	}
	if s.Recommendations != nil || len(h.ScaleUpEvents)+len(h.ScaleDownEvents) > 0 {
		st.History = h
	}
	return st
}
