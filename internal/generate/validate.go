package generate

import (
	"errors"
	"fmt"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

// Limits the API server enforces on HPA behavior (pkg/apis/autoscaling/validation).
const (
	MaxPeriodSeconds              = 1800
	MaxStabilizationWindowSeconds = 3600
)

// validateAll applies the API server's, the HPA's and KEDA's rules to each
// object, and the rules that span objects (one autoscaler per target, PDB
// and ServiceMonitor selectors, authentication references, requests that
// utilisation metrics divide by).
func validateAll(objs []*Object) error {
	var errs strictyaml.Errors
	report := func(o *Object, list field.ErrorList) {
		if len(list) == 0 {
			return
		}
		doc, _ := strictyaml.Parse("templates/"+o.Template+" (rendered "+o.Kind+" "+o.Name+")", o.YAML)
		for _, e := range list {
			msg := e.ErrorBody()
			if doc == nil {
				errs = append(errs, &strictyaml.Error{File: o.Template, Field: e.Field, Message: msg})
				continue
			}
			errs = append(errs, doc.Errorf(e.Field, "%s", msg))
		}
	}
	deployments := map[string]*appsv1.Deployment{}
	services := map[string]*corev1.Service{}
	auths := map[string]*kedav1alpha1.TriggerAuthentication{}
	for _, o := range objs {
		switch t := o.Typed.(type) {
		case *appsv1.Deployment:
			deployments[t.Name] = t
			report(o, ValidateDeployment(t))
		case *corev1.Service:
			services[t.Name] = t
		case *kedav1alpha1.TriggerAuthentication:
			auths[t.Name] = t
		}
	}
	owners := map[string]string{} // Deployment name -> the autoscaler that owns it
	own := func(o *Object, target string, path string) {
		if prev, ok := owners[target]; ok {
			report(o, field.ErrorList{field.Forbidden(field.NewPath(path), fmt.Sprintf("Deployment %s is already scaled by %s; two autoscalers on one target fight (KEDA's webhook rejects a ScaledObject whose target has another HPA)", target, prev))})
			return
		}
		owners[target] = o.Kind + " " + o.Name
	}
	for _, o := range objs {
		switch t := o.Typed.(type) {
		case *autoscalingv2.HorizontalPodAutoscaler:
			list := ValidateHPA(t)
			d := deployments[t.Spec.ScaleTargetRef.Name]
			if d == nil {
				list = append(list, field.NotFound(field.NewPath("spec", "scaleTargetRef", "name"), t.Spec.ScaleTargetRef.Name))
			} else {
				list = append(list, requestsForUtilization(t.Spec.Metrics, d)...)
			}
			report(o, list)
			own(o, t.Spec.ScaleTargetRef.Name, "spec.scaleTargetRef.name")
		case *kedav1alpha1.ScaledObject:
			list := validateScaledObject(t, auths)
			if deployments[t.Spec.ScaleTargetRef.Name] == nil {
				list = append(list, field.NotFound(field.NewPath("spec", "scaleTargetRef", "name"), t.Spec.ScaleTargetRef.Name))
			}
			for i, tr := range t.Spec.Triggers {
				if tr.AuthenticationRef != nil && auths[tr.AuthenticationRef.Name] == nil {
					list = append(list, field.NotFound(field.NewPath("spec", "triggers").Index(i).Child("authenticationRef", "name"), tr.AuthenticationRef.Name))
				}
			}
			report(o, list)
			own(o, t.Spec.ScaleTargetRef.Name, "spec.scaleTargetRef.name")
		case *policyv1.PodDisruptionBudget:
			report(o, validatePDB(t, deployments))
		case *monitoringv1.ServiceMonitor:
			report(o, validateServiceMonitor(t, services))
		}
	}
	return errs.Err()
}

// ValidateDeployment checks the pod template the way the API server does for
// what mlscale renders: the selector matches the template, limits are not
// below requests, and extended resources (GPUs) are requested and limited equally.
func ValidateDeployment(d *appsv1.Deployment) field.ErrorList {
	var list field.ErrorList
	sel, err := metav1LabelSelector(d)
	if err != nil {
		list = append(list, field.Invalid(field.NewPath("spec", "selector"), d.Spec.Selector, err.Error()))
	} else if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		list = append(list, field.Invalid(field.NewPath("spec", "template", "metadata", "labels"), d.Spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	for i, c := range d.Spec.Template.Spec.Containers {
		p := field.NewPath("spec", "template", "spec", "containers").Index(i).Child("resources")
		for name, req := range c.Resources.Requests {
			lim, hasLim := c.Resources.Limits[name]
			if hasLim && lim.Cmp(req) < 0 {
				list = append(list, field.Invalid(p.Child("requests").Key(string(name)), req.String(), "must be less than or equal to "+string(name)+" limit of "+lim.String()))
			}
			if isExtended(name) && (!hasLim || lim.Cmp(req) != 0) {
				list = append(list, field.Invalid(p.Child("requests").Key(string(name)), req.String(), "must be equal to "+string(name)+" limit"))
			}
		}
	}
	return list
}

func isExtended(name corev1.ResourceName) bool {
	s := string(name)
	return strings.Contains(s, "/") && !strings.HasPrefix(s, "kubernetes.io/") && !strings.HasPrefix(s, corev1.ResourceHugePagesPrefix)
}

// ValidateHPA applies autoscaling/v2 validation.
func ValidateHPA(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	var list field.ErrorList
	spec := field.NewPath("spec")
	if h.Spec.ScaleTargetRef.Kind == "" {
		list = append(list, field.Required(spec.Child("scaleTargetRef", "kind"), ""))
	}
	if h.Spec.ScaleTargetRef.Name == "" {
		list = append(list, field.Required(spec.Child("scaleTargetRef", "name"), ""))
	}
	if h.Spec.MaxReplicas < 1 {
		list = append(list, field.Invalid(spec.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than or equal to 1"))
	}
	if m := h.Spec.MinReplicas; m != nil {
		if *m > h.Spec.MaxReplicas {
			list = append(list, field.Invalid(spec.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
		}
		if *m == 0 && !hasObjectOrExternal(h.Spec.Metrics) {
			list = append(list, field.Invalid(spec.Child("minReplicas"), *m, "must be greater than or equal to 1 (0 is allowed only with the HPAScaleToZero feature gate and at least one Object or External metric)"))
		} else if *m < 0 {
			list = append(list, field.Invalid(spec.Child("minReplicas"), *m, "must be greater than or equal to 0"))
		}
	}
	for i, m := range h.Spec.Metrics {
		list = append(list, validateMetric(m, spec.Child("metrics").Index(i))...)
	}
	if b := h.Spec.Behavior; b != nil {
		list = append(list, validateRules(b.ScaleUp, spec.Child("behavior", "scaleUp"))...)
		list = append(list, validateRules(b.ScaleDown, spec.Child("behavior", "scaleDown"))...)
	}
	return list
}

func hasObjectOrExternal(ms []autoscalingv2.MetricSpec) bool {
	for _, m := range ms {
		if m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType {
			return true
		}
	}
	return false
}

func validateMetric(m autoscalingv2.MetricSpec, p *field.Path) field.ErrorList {
	var list field.ErrorList
	var target *autoscalingv2.MetricTarget
	var tp *field.Path
	switch m.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if m.Resource == nil {
			return append(list, field.Required(p.Child("resource"), "must populate information for the given metric source"))
		}
		target, tp = &m.Resource.Target, p.Child("resource", "target")
	case autoscalingv2.ContainerResourceMetricSourceType:
		if m.ContainerResource == nil {
			return append(list, field.Required(p.Child("containerResource"), "must populate information for the given metric source"))
		}
		target, tp = &m.ContainerResource.Target, p.Child("containerResource", "target")
	case autoscalingv2.PodsMetricSourceType:
		if m.Pods == nil {
			return append(list, field.Required(p.Child("pods"), "must populate information for the given metric source"))
		}
		if m.Pods.Metric.Name == "" {
			list = append(list, field.Required(p.Child("pods", "metric", "name"), "must specify a metric name"))
		}
		if m.Pods.Target.Type != autoscalingv2.AverageValueMetricType {
			list = append(list, field.Invalid(p.Child("pods", "target", "type"), m.Pods.Target.Type, "must be AverageValue for a Pods metric"))
		}
		target, tp = &m.Pods.Target, p.Child("pods", "target")
	case autoscalingv2.ObjectMetricSourceType:
		if m.Object == nil {
			return append(list, field.Required(p.Child("object"), "must populate information for the given metric source"))
		}
		target, tp = &m.Object.Target, p.Child("object", "target")
	case autoscalingv2.ExternalMetricSourceType:
		if m.External == nil {
			return append(list, field.Required(p.Child("external"), "must populate information for the given metric source"))
		}
		if m.External.Metric.Name == "" {
			list = append(list, field.Required(p.Child("external", "metric", "name"), "must specify a metric name"))
		}
		target, tp = &m.External.Target, p.Child("external", "target")
	default:
		return append(list, field.NotSupported(p.Child("type"), m.Type, []string{"ContainerResource", "External", "Object", "Pods", "Resource"}))
	}
	switch target.Type {
	case autoscalingv2.UtilizationMetricType:
		if target.AverageUtilization == nil || *target.AverageUtilization <= 0 {
			list = append(list, field.Invalid(tp.Child("averageUtilization"), target.AverageUtilization, "must be greater than 0"))
		}
	case autoscalingv2.AverageValueMetricType:
		if target.AverageValue == nil || target.AverageValue.Sign() <= 0 {
			list = append(list, field.Invalid(tp.Child("averageValue"), target.AverageValue, "must be positive"))
		}
	case autoscalingv2.ValueMetricType:
		if target.Value == nil || target.Value.Sign() <= 0 {
			list = append(list, field.Invalid(tp.Child("value"), target.Value, "must be positive"))
		}
	default:
		list = append(list, field.NotSupported(tp.Child("type"), target.Type, []string{"AverageValue", "Utilization", "Value"}))
	}
	return list
}

func validateRules(r *autoscalingv2.HPAScalingRules, p *field.Path) field.ErrorList {
	var list field.ErrorList
	if r == nil {
		return nil
	}
	if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > MaxStabilizationWindowSeconds) {
		list = append(list, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, fmt.Sprintf("must be between 0 and %d", MaxStabilizationWindowSeconds)))
	}
	if sp := r.SelectPolicy; sp != nil {
		switch *sp {
		case autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect:
		default:
			list = append(list, field.NotSupported(p.Child("selectPolicy"), *sp, []string{"Disabled", "Max", "Min"}))
		}
	}
	if len(r.Policies) == 0 {
		list = append(list, field.Required(p.Child("policies"), "must specify at least one Policy"))
	}
	for i, pol := range r.Policies {
		pp := p.Child("policies").Index(i)
		if pol.Type != autoscalingv2.PodsScalingPolicy && pol.Type != autoscalingv2.PercentScalingPolicy {
			list = append(list, field.NotSupported(pp.Child("type"), pol.Type, []string{"Percent", "Pods"}))
		}
		if pol.Value <= 0 {
			list = append(list, field.Invalid(pp.Child("value"), pol.Value, "must be greater than zero"))
		}
		if pol.PeriodSeconds <= 0 || pol.PeriodSeconds > MaxPeriodSeconds {
			list = append(list, field.Invalid(pp.Child("periodSeconds"), pol.PeriodSeconds, fmt.Sprintf("must be between 1 and %d", MaxPeriodSeconds)))
		}
	}
	if t := r.Tolerance; t != nil && t.Sign() < 0 {
		list = append(list, field.Invalid(p.Child("tolerance"), t.String(), "must be greater than or equal to 0"))
	}
	return list
}

// requestsForUtilization: a Utilization target divides usage by the
// containers' requests; without them the HPA reports <unknown>. The rule
// is the HPA engine's (hpa.MissingRequests: native sidecars, pod-level
// requests, ContainerResource's named container), the one doctor applies.
func requestsForUtilization(ms []autoscalingv2.MetricSpec, d *appsv1.Deployment) field.ErrorList {
	var list field.ErrorList
	for i, m := range ms {
		var res corev1.ResourceName
		var container string
		var path *field.Path
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType:
			res, path = m.Resource.Name, field.NewPath("spec", "metrics").Index(i).Child("resource", "name")
		case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil && m.ContainerResource.Target.Type == autoscalingv2.UtilizationMetricType:
			res, container, path = m.ContainerResource.Name, m.ContainerResource.Container, field.NewPath("spec", "metrics").Index(i).Child("containerResource", "name")
		default:
			continue
		}
		for _, c := range hpa.MissingRequests(&d.Spec.Template.Spec, res, container) {
			list = append(list, field.Invalid(path, res,
				fmt.Sprintf("container %q of Deployment %s has no %s request: the HPA would show <unknown> (missing request for %s)", c, d.Name, res, res)))
		}
	}
	return list
}

// validateScaledObject runs KEDA's own validation layers (CRD schema, the
// admission webhook, the reconciler's scaler builders) through the KEDA
// engine, with each TriggerAuthentication parameter standing in for the
// Secret value it will resolve to.
func validateScaledObject(so *kedav1alpha1.ScaledObject, auths map[string]*kedav1alpha1.TriggerAuthentication) field.ErrorList {
	params := make([]map[string]string, len(so.Spec.Triggers))
	for i, t := range so.Spec.Triggers {
		if t.AuthenticationRef == nil {
			continue
		}
		if ta := auths[t.AuthenticationRef.Name]; ta != nil {
			params[i] = map[string]string{}
			for _, ref := range ta.Spec.SecretTargetRef {
				params[i][ref.Parameter] = authPlaceholder(t.Type, ref.Parameter)
			}
		}
	}
	_, err := keda.Compile(so, keda.Options{AuthParams: params})
	if err == nil {
		return nil
	}
	var ve *keda.ValidationError
	if errors.As(err, &ve) {
		path := field.NewPath("spec")
		if ve.Field != "" {
			path = field.NewPath(ve.Field)
		}
		return field.ErrorList{{Type: field.ErrorTypeInvalid, Field: path.String(), BadValue: field.OmitValueType{}, Detail: "KEDA's " + ve.Layer + " rejects it: " + ve.Message}}
	}
	return field.ErrorList{field.InternalError(field.NewPath("spec"), err)}
}

// authPlaceholder is a well-formed stand-in for a secret parameter's value.
func authPlaceholder(triggerType, param string) string {
	switch {
	case triggerType == "rabbitmq" && param == "host":
		return "amqp://user:password@rabbitmq.example:5672/vhost"
	case param == "bootstrapServers":
		return "kafka.example:9092"
	}
	return "secret-value"
}

func validatePDB(p *policyv1.PodDisruptionBudget, deployments map[string]*appsv1.Deployment) field.ErrorList {
	var list field.ErrorList
	spec := field.NewPath("spec")
	if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
		list = append(list, field.Invalid(spec, "", "minAvailable and maxUnavailable cannot be both set (and one is needed)"))
	}
	if p.Spec.Selector == nil {
		return append(list, field.Required(spec.Child("selector"), ""))
	}
	sel, err := metav1LabelSelectorFrom(p.Spec.Selector)
	if err != nil {
		return append(list, field.Invalid(spec.Child("selector"), p.Spec.Selector, err.Error()))
	}
	for _, d := range deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			return list
		}
	}
	return append(list, field.Invalid(spec.Child("selector"), p.Spec.Selector.MatchLabels, "selects no pod of any generated Deployment"))
}

func validateServiceMonitor(sm *monitoringv1.ServiceMonitor, services map[string]*corev1.Service) field.ErrorList {
	sel, err := metav1LabelSelectorFrom(&sm.Spec.Selector)
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), sm.Spec.Selector, err.Error())}
	}
	for _, svc := range services {
		if !sel.Matches(labels.Set(svc.Labels)) {
			continue
		}
		var list field.ErrorList
		for i, ep := range sm.Spec.Endpoints {
			found := false
			for _, p := range svc.Spec.Ports {
				if p.Name == ep.Port {
					found = true
				}
			}
			if !found {
				list = append(list, field.Invalid(field.NewPath("spec", "endpoints").Index(i).Child("port"), ep.Port, "Service "+svc.Name+" has no port of that name"))
			}
		}
		return list
	}
	return field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), sm.Spec.Selector.MatchLabels, "selects no generated Service")}
}
