package keda

import (
	"sort"
	"strings"
	"unicode"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	v2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// GenerateHPA builds the HorizontalPodAutoscaler KEDA's reconciler creates
// for the ScaledObject (controllers/keda/hpa.go): name, labels, bounds,
// behavior with the pause annotations applied, and one External metric per
// trigger (or the composite metric with scalingModifiers). A paused
// ScaledObject has no HPA: GenerateHPA returns nil.
func (c *Compiled) GenerateHPA() *v2.HorizontalPodAutoscaler {
	so := c.SO
	if c.Paused {
		return nil
	}
	var behavior *v2.HorizontalPodAutoscalerBehavior
	if so.Spec.Advanced != nil && so.Spec.Advanced.HorizontalPodAutoscalerConfig != nil && so.Spec.Advanced.HorizontalPodAutoscalerConfig.Behavior != nil {
		behavior = so.Spec.Advanced.HorizontalPodAutoscalerConfig.Behavior.DeepCopy()
	}
	if c.PauseScaleIn {
		if behavior == nil {
			behavior = &v2.HorizontalPodAutoscalerBehavior{}
		}
		if behavior.ScaleDown == nil {
			behavior.ScaleDown = &v2.HPAScalingRules{}
		}
		behavior.ScaleDown.SelectPolicy = ptr.To(v2.DisabledPolicySelect)
	}
	if c.PauseScaleOut {
		if behavior == nil {
			behavior = &v2.HorizontalPodAutoscalerBehavior{}
		}
		if behavior.ScaleUp == nil {
			behavior.ScaleUp = &v2.HPAScalingRules{}
		}
		behavior.ScaleUp.SelectPolicy = ptr.To(v2.DisabledPolicySelect)
	}

	labelName := c.HPAName
	if len(labelName) > 63 {
		labelName = strings.TrimRightFunc(labelName[:63], func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	}
	labels := map[string]string{
		"app.kubernetes.io/name":       labelName,
		"app.kubernetes.io/version":    c.Version.Release(),
		"app.kubernetes.io/part-of":    so.Name,
		"app.kubernetes.io/managed-by": "keda-operator",
	}
	excluded := map[string]bool{}
	if l, ok := so.Annotations[v1alpha1.ScaledObjectExcludedLabelsAnnotation]; ok {
		for _, e := range strings.Split(l, ",") {
			excluded[e] = true
		}
	}
	for k, v := range so.Labels {
		if !excluded[k] {
			labels[k] = v
		}
	}
	gv, kind := "apps/v1", "Deployment"
	if so.Spec.ScaleTargetRef.APIVersion != "" {
		gv = so.Spec.ScaleTargetRef.APIVersion
	}
	if so.Spec.ScaleTargetRef.Kind != "" {
		kind = so.Spec.ScaleTargetRef.Kind
	}
	return &v2.HorizontalPodAutoscaler{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        c.HPAName,
			Namespace:   so.Namespace,
			Labels:      labels,
			Annotations: so.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: so.Name, UID: so.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: v2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: v2.CrossVersionObjectReference{Name: so.Spec.ScaleTargetRef.Name, Kind: kind, APIVersion: gv},
			MinReplicas:    so.GetHPAMinReplicas(),
			MaxReplicas:    so.GetHPAMaxReplicas(),
			Metrics:        c.metricSpecs(),
			Behavior:       behavior,
		},
	}
}

// metricSpecs is getScaledObjectMetricSpecs: the scalers' specs with the
// ScaledObject selector on External metrics, sorted by type name; with
// scalingModifiers the External entries become one composite-metric (and
// only plain Resource entries are kept, ContainerResource ones are dropped).
func (c *Compiled) metricSpecs() []v2.MetricSpec {
	specs := make([]v2.MetricSpec, 0, len(c.Triggers))
	for _, t := range c.Triggers {
		ms := t.Scaler.MetricSpec()
		s := *ms.DeepCopy()
		if s.External != nil {
			s.External.Metric.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.ScaledObjectOwnerAnnotation: c.Name}}
		}
		specs = append(specs, s)
	}
	sort.SliceStable(specs, func(i, j int) bool { return specs[i].Type < specs[j].Type })
	if m := c.Modifiers; m != nil && m.Target > 0 {
		q := resource.NewMilliQuantity(int64(m.Target*1000), resource.DecimalSI)
		t := v2.MetricTarget{Type: m.MetricType}
		if m.MetricType == v2.ValueMetricType {
			t.Value = q
		} else {
			t.AverageValue = q
		}
		var out []v2.MetricSpec
		for _, s := range specs {
			if s.Resource != nil {
				out = append(out, s)
			}
		}
		out = append(out, v2.MetricSpec{Type: v2.ExternalMetricSourceType, External: &v2.ExternalMetricSource{
			Metric: v2.MetricIdentifier{Name: CompositeMetricName, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.ScaledObjectOwnerAnnotation: c.Name}}},
			Target: t,
		}})
		return out
	}
	return specs
}
