package keda

import (
	"errors"
	"strings"
	"testing"

	v2 "k8s.io/api/autoscaling/v2"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

func TestValidation(t *testing.T) {
	trig := `
  triggers:
  - type: metrics-api
    metadata: {url: "http://x", valueLocation: v, targetValue: "10"}
`
	cases := []struct {
		name      string
		minor     int
		spec      string
		wantLayer string
		wantMsg   string // exact message, or prefix when it ends with "…"
	}{
		{"min > max: CEL rule (v2.20)", 20, "spec:\n  scaleTargetRef: {name: w}\n  minReplicaCount: 5\n  maxReplicaCount: 3\n" + trig,
			"CRD", `Invalid value: "object": minReplicaCount must be less than or equal to maxReplicaCount`},
		{"min > max: webhook (v2.19)", 19, "spec:\n  scaleTargetRef: {name: w}\n  minReplicaCount: 5\n  maxReplicaCount: 3\n" + trig,
			"webhook", "MinReplicaCount=5 must be less than MaxReplicaCount=3"},
		{"min > default max 100", 20, "spec:\n  scaleTargetRef: {name: w}\n  minReplicaCount: 101\n" + trig,
			"CRD", `Invalid value: "object": minReplicaCount must be less than or equal to maxReplicaCount`},
		{"idle 0 with min unset is rejected (min read as 0)", 20, "spec:\n  scaleTargetRef: {name: w}\n  idleReplicaCount: 0\n" + trig,
			"webhook", "IdleReplicaCount=0 must be less than MinReplicaCount=0"},
		{"idle ≥ min", 20, "spec:\n  scaleTargetRef: {name: w}\n  idleReplicaCount: 2\n  minReplicaCount: 2\n" + trig,
			"webhook", "IdleReplicaCount=2 must be less than MinReplicaCount=2"},
		{"pollingInterval 0 (v2.20 minimum 1)", 20, "spec:\n  scaleTargetRef: {name: w}\n  pollingInterval: 0\n" + trig,
			"CRD", "Invalid value: 0: spec.pollingInterval in body should be greater than or equal to 1"},
		{"maxReplicaCount 0", 20, "spec:\n  scaleTargetRef: {name: w}\n  maxReplicaCount: 0\n" + trig,
			"CRD", "Invalid value: 0: spec.maxReplicaCount in body should be greater than or equal to 1"},
		{"no triggers", 20, "spec:\n  scaleTargetRef: {name: w}\n  triggers: []\n",
			"CRD", "Invalid value: 0: spec.triggers in body should have at least 1 items"},
		{"empty target name", 20, "spec:\n  scaleTargetRef: {name: \"\"}\n" + trig,
			"CRD", `Invalid value: "": spec.scaleTargetRef.name in body should be at least 1 chars long`},
		{"fallback on cpu-only", 20, `
spec:
  scaleTargetRef: {name: w}
  minReplicaCount: 1
  fallback: {failureThreshold: 3, replicas: 2}
  triggers:
  - type: cpu
    metricType: Utilization
    metadata: {value: "50"}
`, "webhook", "at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled"},
		{"fallback behavior scalingModifiers needs a formula", 20, "spec:\n  scaleTargetRef: {name: w}\n  fallback: {failureThreshold: 3, replicas: 2, behavior: scalingModifiers}\n" + trig,
			"webhook", "scalingModifiers fallback behavior requires scalingModifiers.formula to be defined"},
		{"fallback behavior scalingModifiers unknown before v2.20", 19, "spec:\n  scaleTargetRef: {name: w}\n  fallback: {failureThreshold: 3, replicas: 2, behavior: scalingModifiers}\n" + trig,
			"CRD", `Unsupported value: "scalingModifiers": supported values: "static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"`},
		{"formula without target", 20, "spec:\n  scaleTargetRef: {name: w}\n  advanced:\n    scalingModifiers: {formula: \"x\"}\n" + strings.Replace(trig, "- type", "- name: x\n    type", 1),
			"webhook", "error validating formula in ScalingModifiers\nformula is given but target is empty"},
		{"scalingModifiers without formula", 20, "spec:\n  scaleTargetRef: {name: w}\n  advanced:\n    scalingModifiers: {target: \"2\"}\n" + trig,
			"webhook", "error ScalingModifiers.Formula is mandatory"},
		{"duplicate trigger names", 20, `
spec:
  scaleTargetRef: {name: w}
  triggers:
  - {type: metrics-api, name: a, metadata: {url: "x", valueLocation: v, targetValue: "1"}}
  - {type: metrics-api, name: a, metadata: {url: "x", valueLocation: w, targetValue: "1"}}
`, "webhook", `triggerName "a" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique`},
		{"useCachedMetrics on cpu", 20, `
spec:
  scaleTargetRef: {name: w}
  minReplicaCount: 1
  triggers:
  - {type: cpu, metricType: Utilization, useCachedMetrics: true, metadata: {value: "50"}}
`, "webhook", `property "useCachedMetrics" is not supported for "cpu" scaler`},
		{"cpu-only with min 0", 20, `
spec:
  scaleTargetRef: {name: w}
  triggers:
  - {type: cpu, metricType: Utilization, metadata: {value: "50"}}
`, "webhook", "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)"},
		{"HPA name over 63 (v2.20)", 20, "metadata:\n  name: " + strings.Repeat("a", 55) + "\nspec:\n  scaleTargetRef: {name: w}\n" + trig,
			"webhook", `HPA name "keda-hpa-` + strings.Repeat("a", 55) + `" derived from scaledobject is 64 characters long; must be no more than 63 characters; set spec.advanced.horizontalPodAutoscalerConfig.name to a shorter name or shorten the scaledobject name`},
		{"duplicate metric names", 20, `
spec:
  scaleTargetRef: {name: w}
  triggers:
  - {type: metrics-api, metadata: {url: "x", valueLocation: v, targetValue: "1"}}
  - {type: prometheus, metadata: {serverAddress: "x", query: "q", threshold: "1"}}
  - {type: prometheus, metadata: {serverAddress: "x", query: "q", threshold: "1"}}
`, "", ""}, // different indexes: s1-prometheus and s2-prometheus do not clash
		{"scaler metadata error", 20, `
spec:
  scaleTargetRef: {name: w}
  triggers:
  - {type: prometheus, metadata: {serverAddress: "x", query: "q"}}
`, "controller", `failed to ensure HPA is correctly created for ScaledObject: error parsing prometheus metadata: missing required parameter "threshold" in [triggerMetadata]`},
		{"utilization on an external trigger", 20, `
spec:
  scaleTargetRef: {name: w}
  triggers:
  - {type: prometheus, metricType: Utilization, metadata: {serverAddress: "x", query: "q", threshold: "1"}}
`, "controller", "failed to ensure HPA is correctly created for ScaledObject: error getting scaler metric type: 'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"},
		{"bad paused-replicas", 20, "metadata:\n  annotations: {autoscaling.keda.sh/paused-replicas: \"two\"}\nspec:\n  scaleTargetRef: {name: w}\n" + trig,
			"controller", `failed to scale target to paused replica count: failed to parse paused replica count: strconv.ParseInt: parsing "two": invalid syntax`},
		{"idle 0 with min 0 written passes", 20, "spec:\n  scaleTargetRef: {name: w}\n  idleReplicaCount: 0\n  minReplicaCount: 0\n" + trig, "", ""},
		{"min == max passes", 20, "spec:\n  scaleTargetRef: {name: w}\n  minReplicaCount: 3\n  maxReplicaCount: 3\n" + trig, "", ""},
		{"long name passes before v2.20", 19, "metadata:\n  name: " + strings.Repeat("a", 60) + "\nspec:\n  scaleTargetRef: {name: w}\n" + trig, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(so(t, tc.spec), Options{Version: Version{Minor: tc.minor}})
			if tc.wantLayer == "" {
				if err != nil {
					t.Fatalf("unexpected rejection: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err %v, want a ValidationError", err)
			}
			if ve.Layer != tc.wantLayer || ve.Message != tc.wantMsg {
				t.Fatalf("got %s %q\nwant %s %q", ve.Layer, ve.Message, tc.wantLayer, tc.wantMsg)
			}
		})
	}
}

// TestFallbackValidationDeltas: which trigger metric types allow fallback,
// by version (keda.md §1.4 item 5).
func TestFallbackValidationDeltas(t *testing.T) {
	mk := func(metricType string) string {
		return `
spec:
  scaleTargetRef: {name: w}
  fallback: {failureThreshold: 3, replicas: 2}
  triggers:
  - type: metrics-api
    metricType: "` + metricType + `"
    metadata: {url: "x", valueLocation: v, targetValue: "1"}
`
	}
	cases := []struct {
		minor      int
		metricType string
		ok         bool
	}{
		{16, "", false}, {16, "AverageValue", true}, {16, "Value", false},
		{17, "", true}, {17, "AverageValue", true}, {17, "Value", false},
		{18, "", true}, {18, "Value", true}, {20, "Value", true},
	}
	for _, tc := range cases {
		_, err := Compile(so(t, mk(tc.metricType)), Options{Version: Version{Minor: tc.minor}})
		if (err == nil) != tc.ok {
			t.Errorf("v2.%d metricType %q: err %v, want ok=%v", tc.minor, tc.metricType, err, tc.ok)
		}
	}
}

func TestWarnings(t *testing.T) {
	c := compile(t, `
spec:
  scaleTargetRef: {name: w}
  minReplicaCount: 1
  pollingInterval: 10
  cooldownPeriod: 60
  triggers:
  - {type: metrics-api, metadata: {url: "x", valueLocation: v, targetValue: "1"}}
`)
	if len(c.Warnings) != 2 || !strings.HasPrefix(c.Warnings[0], "PollingInterval is configured but is not relevant.") ||
		!strings.HasPrefix(c.Warnings[1], "CooldownPeriod is configured but is not relevant.") {
		t.Errorf("warnings %q", c.Warnings)
	}
	c = compile(t, simple)
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestDefaults(t *testing.T) {
	c := compile(t, simple)
	if c.PollingInterval.Seconds() != 30 || c.Cooldown.Seconds() != 300 || c.InitialCooldown != 0 || c.Min != 0 || c.Max != 100 || c.HPAName != "keda-hpa-so" {
		t.Errorf("defaults: %+v", c)
	}
	o := so(t, simple)
	o.Spec.Fallback = nil
	if ver, err := ParseVersion("2.13"); err == nil {
		t.Errorf("2.13 accepted: %v", ver)
	}
	if ver, _ := ParseVersion(""); ver.Minor != 20 {
		t.Errorf("default version %v", ver)
	}
}

func TestGeneratedHPA(t *testing.T) {
	o := so(t, `
metadata:
  name: ml
  labels: {team: a, secret: b}
  annotations:
    autoscaling.keda.sh/paused-scale-in: "true"
    scaledobject.keda.sh/hpa-excluded-labels: secret
spec:
  scaleTargetRef: {name: web, kind: StatefulSet}
  minReplicaCount: 0
  maxReplicaCount: 20
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleUp: {stabilizationWindowSeconds: 0}
  triggers:
  - type: cpu
    metricType: Utilization
    metadata: {value: "60"}
  - type: rabbitmq
    metadata: {queueName: q, mode: QueueLength, value: "100.5", host: "amqp://r"}
  - type: kafka
    metricType: Value
    metadata: {bootstrapServers: k, consumerGroup: g, topic: t}
`)
	c, err := Compile(o, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := c.GenerateHPA()
	if h.Name != "keda-hpa-ml" || *h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 20 {
		t.Fatalf("bounds: %s %d %d", h.Name, *h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if h.Spec.ScaleTargetRef.Kind != "StatefulSet" || h.Spec.ScaleTargetRef.APIVersion != "apps/v1" {
		t.Errorf("target %+v", h.Spec.ScaleTargetRef)
	}
	want := []string{"External:s1-rabbitmq-q", "External:s2-kafka-t", "Resource:cpu"}
	for i, m := range h.Spec.Metrics {
		got := string(m.Type) + ":"
		if m.External != nil {
			got += m.External.Metric.Name
			if m.External.Metric.Selector.MatchLabels["scaledobject.keda.sh/name"] != "ml" {
				t.Errorf("selector %+v", m.External.Metric.Selector)
			}
		} else {
			got += string(m.Resource.Name)
		}
		if got != want[i] {
			t.Errorf("metric %d = %s, want %s", i, got, want[i])
		}
	}
	if q := h.Spec.Metrics[0].External.Target.AverageValue.String(); q != "100500m" {
		t.Errorf("rabbitmq target %s", q)
	}
	if m := h.Spec.Metrics[1].External.Target; m.Type != v2.ValueMetricType || m.Value.String() != "10" {
		t.Errorf("kafka target %+v", m)
	}
	if h.Spec.Behavior.ScaleDown == nil || *h.Spec.Behavior.ScaleDown.SelectPolicy != v2.DisabledPolicySelect || h.Spec.Behavior.ScaleUp.SelectPolicy != nil {
		t.Errorf("behavior %+v", h.Spec.Behavior)
	}
	if h.Labels["team"] != "a" || h.Labels["secret"] != "" || h.Labels["app.kubernetes.io/managed-by"] != "keda-operator" || h.Labels["app.kubernetes.io/version"] != "2.20.2" {
		t.Errorf("labels %v", h.Labels)
	}
	if o.Spec.Advanced.HorizontalPodAutoscalerConfig.Behavior.ScaleDown != nil {
		t.Error("GenerateHPA mutated the ScaledObject")
	}
	// A custom HPA name.
	o = so(t, simple)
	c, _ = Compile(o, Options{})
	if c.GenerateHPA().Name != "keda-hpa-so" {
		t.Error("default name")
	}
	o.Spec.Advanced = nil
	_ = scalers.Normalize
}
