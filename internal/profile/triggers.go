package profile

import (
	"fmt"
	"strconv"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

// triggerRule lists what `generate` needs to know about a trigger type's
// metadata (names as in KEDA's scalers; see ../shared/spec/keda.md §3).
type triggerRule struct {
	required [][]string // each entry: one of these keys must be present
	numeric  []string   // keys that must parse as numbers when present
	enums    map[string][]string
}

var triggerRules = map[string]triggerRule{
	"rabbitmq": {
		required: [][]string{{"queueName"}, {"host", "hostFromEnv", "@auth:host"}},
		numeric:  []string{"value", "activationValue"},
		enums:    map[string][]string{"mode": {"QueueLength", "MessageRate"}, "protocol": {"auto", "amqp", "http"}},
	},
	"kafka": {
		required: [][]string{{"bootstrapServers", "bootstrapServersFromEnv", "@auth:bootstrapServers"}, {"consumerGroup", "consumerGroupFromEnv"}},
		numeric:  []string{"lagThreshold", "activationLagThreshold"},
		enums:    map[string][]string{"offsetResetPolicy": {"earliest", "latest"}, "allowIdleConsumers": {"true", "false"}, "limitToPartitionsWithLag": {"true", "false"}},
	},
	"prometheus": {
		required: [][]string{{"serverAddress"}, {"query"}, {"threshold"}},
		numeric:  []string{"threshold", "activationThreshold"},
		enums:    map[string][]string{"ignoreNullValues": {"true", "false"}},
	},
	"aws-sqs-queue": {
		required: [][]string{{"queueURL", "queueURLFromEnv"}, {"awsRegion"}},
		numeric:  []string{"queueLength", "activationQueueLength"},
		enums:    map[string][]string{"scaleOnInFlight": {"true", "false"}, "scaleOnDelayed": {"true", "false"}},
	},
	"cpu":         {required: [][]string{{"value"}}, numeric: []string{"value"}},
	"memory":      {required: [][]string{{"value"}}, numeric: []string{"value"}},
	"metrics-api": {required: [][]string{{"url"}, {"valueLocation"}, {"targetValue"}}, numeric: []string{"targetValue", "activationTargetValue"}},
}

// TriggerTypes lists the trigger types a profile accepts.
func TriggerTypes() []string { return sortedKeys(triggerRules) }

func (l *Loaded) validateTriggers(errs *strictyaml.Errors, path string, triggers []Trigger) {
	names := map[string]bool{}
	for i, t := range triggers {
		p := fmt.Sprintf("%s[%d]", path, i)
		rule, ok := triggerRules[t.Type]
		if !ok {
			l.errf(errs, p+".type", "unknown trigger type %q (known: %s)", t.Type, strings.Join(TriggerTypes(), ", "))
			continue
		}
		if t.Name != "" {
			if names[t.Name] {
				l.errf(errs, p+".name", "duplicate trigger name %q", t.Name)
			}
			names[t.Name] = true
		}
		switch t.MetricType {
		case "", "AverageValue", "Value":
		case "Utilization":
			if t.Type != "cpu" && t.Type != "memory" {
				l.errf(errs, p+".metricType", "Utilization is only for cpu and memory triggers")
			}
		default:
			l.errf(errs, p+".metricType", "%q is not one of AverageValue, Value, Utilization", t.MetricType)
		}
		auth := map[string]bool{}
		if a := t.Authentication; a != nil {
			if a.SecretName == "" && a.PodIdentity == "" {
				l.errf(errs, p+".authentication", "set secretName (with parameters) or podIdentity")
			}
			for param := range a.Parameters {
				auth[param] = true
			}
			if a.PodIdentity != "" {
				switch a.PodIdentity {
				case "aws", "azure-workload", "gcp":
				default:
					l.errf(errs, p+".authentication.podIdentity", "%q is not one of aws, azure-workload, gcp", a.PodIdentity)
				}
			}
		}
		for _, alts := range rule.required {
			if !hasAny(t.Metadata, auth, alts) {
				l.errf(errs, p+".metadata", "%s trigger needs %s", t.Type, describeAlternatives(alts))
			}
		}
		for _, k := range rule.numeric {
			if v, ok := t.Metadata[k]; ok {
				if f, err := strconv.ParseFloat(v, 64); err != nil {
					l.errf(errs, p+".metadata."+k, "%q is not a number", v)
				} else if f < 0 {
					l.errf(errs, p+".metadata."+k, "must not be negative, got %s", v)
				}
			}
		}
		for k, allowed := range rule.enums {
			if v, ok := t.Metadata[k]; ok && !contains(allowed, v) {
				l.errf(errs, p+".metadata."+k, "%q is not one of %s", v, strings.Join(allowed, ", "))
			}
		}
		// KEDA's own advice on the trigger (metadata it ignores, avg with
		// AverageValue), the rules generate and doctor apply too.
		for _, a := range keda.TriggerAdvice(kedav1alpha1.ScaleTriggers{Type: t.Type, Metadata: t.Metadata, MetricType: autoscalingv2.MetricTargetType(t.MetricType)}) {
			l.Warnings = append(l.Warnings, l.doc.Errorf(p+"."+a.Field, "%s", a.Message).Error())
		}
	}
}

func hasAny(meta map[string]string, auth map[string]bool, keys []string) bool {
	for _, k := range keys {
		if a, ok := strings.CutPrefix(k, "@auth:"); ok {
			if auth[a] {
				return true
			}
			continue
		}
		if meta[k] != "" {
			return true
		}
	}
	return false
}

func describeAlternatives(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		if a, ok := strings.CutPrefix(k, "@auth:"); ok {
			out[i] = "authentication parameter " + a
		} else {
			out[i] = "metadata." + k
		}
	}
	return strings.Join(out, " or ")
}

func intOrPercent(v intstr.IntOrString, total int32) (int, error) {
	return intstr.GetScaledValueFromIntOrPercent(&v, int(total), true)
}

func corev1ResourceName(s string) corev1.ResourceName { return corev1.ResourceName(s) }
