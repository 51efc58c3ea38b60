package doctor

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/hpa/hpastate"
)

// SnapshotHPA turns the live state of one HPA into an HPAState document
// (shared/spec/hpa-eval.md) that `mlscale hpa eval -f` replays: the HPA,
// its target's /scale, the pods its selector lists (requests and
// readiness), and what the metrics APIs returned to doctor's probes (errors
// included). The controller's in-memory history is not observable from
// outside kube-controller-manager, so the document has none (a first
// reconcile).
func SnapshotHPA(s *Snapshot, namespace, name string) (*hpastate.State, error) {
	var h *autoscalingv2.HorizontalPodAutoscaler
	for _, x := range s.HPAs {
		if x.Namespace == namespace && x.Name == name {
			h = x
		}
	}
	if h == nil {
		return nil, fmt.Errorf("horizontalpodautoscaler %q not found in namespace %q", name, namespace)
	}
	ref := h.Spec.ScaleTargetRef
	t := s.Targets[TargetKey(namespace, ref.Kind, ref.Name)]
	if t == nil || !t.Found {
		return nil, fmt.Errorf("the HPA's target %s/%s cannot be read; an HPAState needs its /scale", ref.Kind, ref.Name)
	}
	hc := h.DeepCopy()
	hc.ManagedFields = nil
	hc.APIVersion, hc.Kind = hpaAPIVersion, "HorizontalPodAutoscaler"
	now := metav1.NewTime(s.Now.UTC().Truncate(1e9))
	st := &hpastate.State{
		APIVersion: hpastate.APIVersion,
		Kind:       hpastate.Kind,
		Now:        &now,
		HPA:        hc,
		Scale:      &hpastate.Scale{SpecReplicas: &t.SpecReplicas, Selector: t.Selector},
	}
	if v := minorOf(s.Cluster.ServerVersion); v != "" {
		st.KubernetesVersion = v
	}
	c := &checker{s: s}
	c.hpaSelections()
	pods := c.sel[key(namespace, name)]
	statusReplicas := int32(len(pods))
	st.Scale.StatusReplicas = &statusReplicas
	for _, p := range pods {
		st.Pods = append(st.Pods, podState(p))
	}
	// Metrics, as the probes saw them.
	m := &st.Metrics
	errs := map[string]string{}
	if pm, ok := s.PodMetrics[namespace]; ok {
		for _, p := range pods {
			if u := pm[p.Name]; u != nil {
				if m.Resource == nil {
					m.Resource = map[string]hpastate.PodMetrics{}
				}
				ts, w := u.Timestamp, u.Window
				m.Resource[p.Name] = hpastate.PodMetrics{Timestamp: &ts, Window: &w, Containers: u.Containers}
			}
		}
	}
	fail, isFailing := failing(h)
	for i, ms := range h.Spec.Metrics {
		p := s.Probes[ProbeKey(namespace, "HorizontalPodAutoscaler", name, i)]
		switch {
		case ms.Resource != nil || ms.ContainerResource != nil:
			res := ""
			if ms.Resource != nil {
				res = string(ms.Resource.Name)
			} else {
				res = string(ms.ContainerResource.Name)
			}
			if _, ok := s.PodMetrics[namespace]; !ok && isFailing && strings.Contains(fail.Message, "resource metrics API") {
				errs[res] = apiErrorOf(fail.Message)
			}
		case ms.Pods != nil && p != nil:
			if p.Err != "" {
				errs[ms.Pods.Metric.Name] = p.Err
				continue
			}
			if m.Pods == nil {
				m.Pods = map[string]map[string]resource.Quantity{}
			}
			m.Pods[ms.Pods.Metric.Name] = p.PerObject
		case ms.Object != nil && p != nil:
			if p.Err != "" || len(p.Values) == 0 {
				errs[ms.Object.Metric.Name] = orDefault(p.Err, "no value")
				continue
			}
			if m.Object == nil {
				m.Object = map[string]resource.Quantity{}
			}
			m.Object[ms.Object.Metric.Name] = p.Values[0]
		case ms.External != nil && p != nil:
			if p.Err != "" {
				errs[ms.External.Metric.Name] = p.Err
				continue
			}
			if m.External == nil {
				m.External = map[string][]resource.Quantity{}
			}
			m.External[ms.External.Metric.Name] = p.Values
		}
	}
	if len(errs) > 0 {
		m.Errors = errs
	}
	return st, nil
}

// apiErrorOf extracts the API error from an HPA condition message
// ("... unable to fetch metrics from resource metrics API: <error>").
func apiErrorOf(msg string) string {
	if i := strings.LastIndex(msg, "API: "); i >= 0 {
		return msg[i+len("API: "):]
	}
	return msg
}

// minorOf turns "v1.37.2" into "1.37".
func minorOf(v string) string {
	v = strings.TrimPrefix(v, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	minor := parts[1]
	for i, r := range minor {
		if r < '0' || r > '9' {
			minor = minor[:i]
			break
		}
	}
	return parts[0] + "." + minor
}

func podState(p *corev1.Pod) hpastate.Pod {
	q := hpastate.Pod{Name: p.Name, Phase: p.Status.Phase, StartTime: p.Status.StartTime, DeletionTimestamp: p.DeletionTimestamp, Labels: p.Labels}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			q.Ready = hpastate.ConditionStatus(c.Status)
			t := c.LastTransitionTime
			if !t.IsZero() {
				q.ReadyTransitionTime = &t
			}
		}
	}
	for _, c := range p.Spec.Containers {
		q.Containers = append(q.Containers, hpastate.Container{Name: c.Name, Requests: c.Resources.Requests})
	}
	for _, c := range p.Spec.InitContainers {
		q.InitContainers = append(q.InitContainers, hpastate.Container{Name: c.Name, RestartPolicy: c.RestartPolicy, Requests: c.Resources.Requests})
	}
	if p.Spec.Resources != nil && len(p.Spec.Resources.Requests) > 0 {
		q.PodRequests = p.Spec.Resources.Requests
	}
	return q
}
