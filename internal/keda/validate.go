package keda

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	v2 "k8s.io/api/autoscaling/v2"
)

// validateCRD applies the schema of keda.sh_scaledobjects.yaml: required
// fields, enums and (since v2.20) the Minimum markers and the CEL min ≤ max
// rule. Messages follow the API server's wording.
func validateCRD(so *v1alpha1.ScaledObject, minor int) error {
	s := &so.Spec
	if s.ScaleTargetRef == nil {
		return crdErr("spec.scaleTargetRef", "Required value")
	}
	if s.Triggers == nil {
		return crdErr("spec.triggers", "Required value")
	}
	if minor >= 20 && s.ScaleTargetRef.Name == "" {
		return crdErr("spec.scaleTargetRef.name", `Invalid value: "": spec.scaleTargetRef.name in body should be at least 1 chars long`)
	}
	if len(s.Triggers) == 0 {
		return crdErr("spec.triggers", "Invalid value: 0: spec.triggers in body should have at least 1 items")
	}
	for i, t := range s.Triggers {
		if t.Type == "" {
			f := fmt.Sprintf("spec.triggers[%d].type", i)
			return crdErr(f, `Invalid value: "": `+f+" in body should be at least 1 chars long")
		}
		if t.AuthenticationRef != nil && t.AuthenticationRef.Kind != "" &&
			t.AuthenticationRef.Kind != "TriggerAuthentication" && t.AuthenticationRef.Kind != "ClusterTriggerAuthentication" {
			f := fmt.Sprintf("spec.triggers[%d].authenticationRef.kind", i)
			return crdErr(f, fmt.Sprintf(`Unsupported value: %q: supported values: "TriggerAuthentication", "ClusterTriggerAuthentication"`, t.AuthenticationRef.Kind))
		}
	}
	if minor >= 20 {
		mins := []struct {
			f   string
			v   *int32
			min int32
		}{
			{"spec.pollingInterval", s.PollingInterval, 1},
			{"spec.initialCooldownPeriod", s.InitialCooldownPeriod, 0},
			{"spec.cooldownPeriod", s.CooldownPeriod, 0},
			{"spec.idleReplicaCount", s.IdleReplicaCount, 0},
			{"spec.minReplicaCount", s.MinReplicaCount, 0},
			{"spec.maxReplicaCount", s.MaxReplicaCount, 1},
		}
		for _, m := range mins {
			if m.v != nil && *m.v < m.min {
				return crdErr(m.f, fmt.Sprintf("Invalid value: %d: %s in body should be greater than or equal to %d", *m.v, m.f, m.min))
			}
		}
		if f := s.Fallback; f != nil {
			if f.FailureThreshold < 0 {
				return crdErr("spec.fallback.failureThreshold", fmt.Sprintf("Invalid value: %d: spec.fallback.failureThreshold in body should be greater than or equal to 0", f.FailureThreshold))
			}
			if f.Replicas < 0 {
				return crdErr("spec.fallback.replicas", fmt.Sprintf("Invalid value: %d: spec.fallback.replicas in body should be greater than or equal to 0", f.Replicas))
			}
		}
	}
	if f := s.Fallback; f != nil && f.Behavior != "" && minor >= 17 {
		ok := false
		allowed := []string{"static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"}
		if minor >= 20 {
			allowed = append(allowed, "scalingModifiers")
		}
		for _, a := range allowed {
			ok = ok || f.Behavior == a
		}
		if !ok {
			msg := fmt.Sprintf("Unsupported value: %q: supported values: ", f.Behavior)
			for i, a := range allowed {
				if i > 0 {
					msg += ", "
				}
				msg += strconv.Quote(a)
			}
			return crdErr("spec.fallback.behavior", msg)
		}
	}
	if s.Advanced != nil {
		mt := s.Advanced.ScalingModifiers.MetricType
		if mt != "" && mt != v2.AverageValueMetricType && mt != v2.ValueMetricType {
			return crdErr("spec.advanced.scalingModifiers.metricType", fmt.Sprintf(`Unsupported value: %q: supported values: "AverageValue", "Value"`, mt))
		}
	}
	if minor >= 20 && s.MinReplicaCount != nil {
		max := int32(DefaultMaxReplicas)
		if s.MaxReplicaCount != nil {
			max = *s.MaxReplicaCount
		}
		if *s.MinReplicaCount > max {
			return crdErr("spec", `Invalid value: "object": minReplicaCount must be less than or equal to maxReplicaCount`)
		}
	}
	return nil
}

// validateWebhook runs the checks of the vscaledobject.kb.io webhook that
// need no other cluster object. KEDA runs its checks from a Go map, so
// their order varies from call to call; mlscale uses a fixed order: name,
// replica counts, fallback, scalingModifiers, cpu/memory, triggers.
func validateWebhook(so *v1alpha1.ScaledObject, minor int) ([]string, error) {
	var warnings []string
	if minor >= 20 {
		if len(so.Name) > 63 {
			return nil, webhookErr("metadata.name", fmt.Errorf("scaledobject name %q is %d characters long; must be no more than %d characters because it is used as the %q label value", so.Name, len(so.Name), 63, v1alpha1.ScaledObjectOwnerAnnotation))
		}
		if h := hpaName(so); len(h) > 63 {
			return nil, webhookErr("spec.advanced.horizontalPodAutoscalerConfig.name", fmt.Errorf("HPA name %q derived from scaledobject is %d characters long; must be no more than %d characters; set spec.advanced.horizontalPodAutoscalerConfig.name to a shorter name or shorten the scaledobject name", h, len(h), 63))
		}
	}
	if err := v1alpha1.CheckReplicaCountBoundsAreValid(so); err != nil {
		field := "spec.minReplicaCount"
		if strings.HasPrefix(err.Error(), "IdleReplicaCount") {
			field = "spec.idleReplicaCount"
		}
		return nil, webhookErr(field, err)
	}
	if err := checkFallback(so, minor); err != nil {
		return nil, webhookErr("spec.fallback", err)
	}
	// verifyScaledObjects: warnings (v2.20+), modifiers, fallback behavior.
	if minor >= 20 {
		min := int32(0)
		if so.Spec.MinReplicaCount != nil {
			min = *so.Spec.MinReplicaCount
		}
		cached := false
		for _, t := range so.Spec.Triggers {
			cached = cached || t.UseCachedMetrics
		}
		idleNotZero := so.Spec.IdleReplicaCount == nil || *so.Spec.IdleReplicaCount != 0
		if so.Spec.PollingInterval != nil && min > 0 && idleNotZero && !cached {
			warnings = append(warnings, "PollingInterval is configured but is not relevant. PollingInterval is only relevant when minReplicaCount = 0 or idleReplicaCount = 0 or useCachedMetrics is enabled")
		}
		if so.Spec.CooldownPeriod != nil && min > 0 && idleNotZero {
			warnings = append(warnings, "CooldownPeriod is configured but is not relevant. CooldownPeriod is only relevant when minReplicaCount = 0 or idleReplicaCount = 0")
		}
	}
	if so.IsUsingModifiers() {
		cp := so.DeepCopy()
		if _, err := v1alpha1.ValidateAndCompileScalingModifiers(cp); err != nil {
			return nil, webhookErr("spec.advanced.scalingModifiers", err)
		}
	}
	if so.FallbackScalingModifiers() && (!so.IsUsingModifiers() || so.Spec.Advanced.ScalingModifiers.Formula == "") {
		return nil, webhookErr("spec.fallback.behavior", fmt.Errorf("scalingModifiers fallback behavior requires scalingModifiers.formula to be defined"))
	}
	// verifyCPUMemoryScalers: container requests cannot be checked from a
	// snapshot; the scale-to-zero rule can (Deployment/StatefulSet only).
	kind := GVKString(so.Spec.ScaleTargetRef.APIVersion, so.Spec.ScaleTargetRef.Kind)
	if kind == "apps/v1.Deployment" || kind == "apps/v1.StatefulSet" {
		onlyCPUMem := true
		for _, t := range so.Spec.Triggers {
			if t.Type != "cpu" && t.Type != "memory" {
				onlyCPUMem = false
			}
		}
		if onlyCPUMem && (so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount == 0) {
			return nil, webhookErr("spec.minReplicaCount", fmt.Errorf("scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)"))
		}
	}
	if err := v1alpha1.ValidateTriggers(so.Spec.Triggers); err != nil {
		return nil, webhookErr("spec.triggers", err)
	}
	return warnings, nil
}

const fallbackTypeMsg = "at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled"

// checkFallback is CheckFallbackValid with the version deltas: v2.14–2.16
// need every trigger non-cpu/memory with metricType AverageValue written
// out; v2.17 (v2.17.1) needs one such trigger (an empty metricType counts,
// Value does not); v2.18+ needs one non-cpu/memory trigger.
func checkFallback(so *v1alpha1.ScaledObject, minor int) error {
	f := so.Spec.Fallback
	if f == nil {
		return nil
	}
	if f.FailureThreshold < 0 || f.Replicas < 0 {
		return fmt.Errorf("FailureThreshold=%d & Replicas=%d must both be greater than or equal to 0", f.FailureThreshold, f.Replicas)
	}
	if minor >= 18 {
		return v1alpha1.CheckFallbackValid(so)
	}
	if minor >= 17 {
		if so.IsUsingModifiers() {
			if so.Spec.Advanced.ScalingModifiers.MetricType == v2.ValueMetricType {
				return errors.New(fallbackTypeMsg)
			}
			return nil
		}
		for _, t := range so.Spec.Triggers {
			if t.Type != "cpu" && t.Type != "memory" && (t.MetricType == "" || t.MetricType == v2.AverageValueMetricType) {
				return nil
			}
		}
		return errors.New(fallbackTypeMsg)
	}
	// The v2.14–2.16 text is not verified against those tags; the rule is.
	for _, t := range so.Spec.Triggers {
		if t.Type == "cpu" || t.Type == "memory" || t.MetricType != v2.AverageValueMetricType {
			return errors.New(fallbackTypeMsg)
		}
	}
	return nil
}
