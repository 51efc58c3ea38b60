package profile

import (
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mlscale/mlscale/internal/strictyaml"
)

var update = flag.Bool("update", false, "rewrite the shipped JSON Schema")

const schemaPath = "../../docs/schema/workloadprofile.schema.json"

func TestShippedSchemaIsCurrent(t *testing.T) {
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/profile -update)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s is stale: run go test ./internal/profile -update", schemaPath)
	}
	var s map[string]any
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `"coldStart"`) || !strings.Contains(string(got), `"additionalProperties": false`) {
		t.Error("schema lacks coldStart or strictness")
	}
}

func TestPresetsLoad(t *testing.T) {
	if len(Presets()) < 4 {
		t.Fatalf("presets: %v", Presets())
	}
	for _, name := range []string{"llm-inference", "vision-inference", "embedding", "batch-queue"} {
		src, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(name, src); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
}

const minimal = `apiVersion: mlscale.dev/v1alpha1
kind: WorkloadProfile
metadata: {name: m}
spec:
  container: {image: x}
  resources: {requests: {cpu: "1"}, gpu: {count: 1}}
  coldStart:
    imagePull: 30s
    modelLoad: {dist: lognormal, median: 60s, p99: 120s}
  scaling:
    mode: hpa
    replicas: {max: 4}
    metrics: {cpu: {utilization: 60}}
`

func TestDefaults(t *testing.T) {
	l, err := Load("m.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	s := l.Spec
	if l.Metadata.Namespace != "default" || l.Metadata.Labels["app"] != "m" || s.Names.HPA != "m" {
		t.Errorf("metadata defaults: %+v %+v", l.Metadata, s.Names)
	}
	if *s.Scaling.Replicas.Min != 1 || *s.Scaling.Replicas.Initial != 1 {
		t.Errorf("replicas: %+v", s.Scaling.Replicas)
	}
	if s.Resources.GPU.ResourceName != "nvidia.com/gpu" || len(s.Resources.GPU.Tolerations) != 1 {
		t.Errorf("gpu defaults: %+v", s.Resources.GPU)
	}
	if s.Disruption.MaxUnavailable == nil || s.Disruption.MaxUnavailable.IntValue() != 1 {
		t.Errorf("pdb default for min 1: %+v", s.Disruption)
	}
	// cold start p99 = 30s + 120s = 150s: window 3x = 450s, period 150s.
	if got := l.ColdStartP99(); got != 150*time.Second {
		t.Errorf("cold start p99 = %v", got)
	}
	b := s.Scaling.Behavior
	if *b.ScaleDown.StabilizationWindowSeconds != 450 || b.ScaleDown.Policies[0].PeriodSeconds != 150 || *b.ScaleUp.StabilizationWindowSeconds != 0 {
		t.Errorf("derived behavior: down window %d period %d up window %d", *b.ScaleDown.StabilizationWindowSeconds, b.ScaleDown.Policies[0].PeriodSeconds, *b.ScaleUp.StabilizationWindowSeconds)
	}
	startup, _, _ := l.Probes()
	// load p99 = 120s, budget 180s at 10s periods.
	if startup.FailureThreshold != 18 || startup.PeriodSeconds != 10 {
		t.Errorf("startup probe: %+v", startup)
	}
}

func TestDefaultDisruptionNeverBlocksDrains(t *testing.T) {
	for min := int32(0); min < 10; min++ {
		d := DefaultDisruption(min)
		if d.MinAvailable != nil && int32(d.MinAvailable.IntValue()) >= max(min, 1) {
			t.Errorf("min %d: minAvailable %v blocks drains", min, d.MinAvailable)
		}
	}
}

func TestUserBehaviorOverridesDerivedFieldByField(t *testing.T) {
	src := strings.Replace(minimal, "    metrics: {cpu: {utilization: 60}}\n",
		"    metrics: {cpu: {utilization: 60}}\n    behavior: {scaleDown: {stabilizationWindowSeconds: 120}}\n", 1)
	l, err := Load("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	b := l.Spec.Scaling.Behavior
	if *b.ScaleDown.StabilizationWindowSeconds != 120 || len(b.ScaleDown.Policies) != 1 || b.ScaleUp == nil {
		t.Errorf("merge: %+v", b)
	}
}

func TestDistributions(t *testing.T) {
	cases := []struct {
		src      string
		mean     time.Duration
		p99      time.Duration
		tolerate time.Duration
	}{
		{`"45s"`, 45 * time.Second, 45 * time.Second, 0},
		{`{"dist":"uniform","min":"10s","max":"30s"}`, 20 * time.Second, 29800 * time.Millisecond, time.Millisecond},
		{`{"dist":"exponential","mean":"1s"}`, time.Second, 4605170 * time.Microsecond, time.Millisecond},
		{`{"dist":"lognormal","median":"40s","p99":"120s"}`, 0, 120 * time.Second, time.Millisecond},
	}
	for _, c := range cases {
		var d Distribution
		if err := d.UnmarshalJSON([]byte(c.src)); err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if c.mean != 0 && d.MeanDuration() != c.mean {
			t.Errorf("%s: mean %v", c.src, d.MeanDuration())
		}
		if diff := d.Quantile(0.99) - c.p99; diff > c.tolerate || diff < -c.tolerate {
			t.Errorf("%s: p99 %v, want %v", c.src, d.Quantile(0.99), c.p99)
		}
		if q := d.Quantile(0.5); d.Dist == DistLogNormal && (q < 39999*time.Millisecond || q > 40001*time.Millisecond) {
			t.Errorf("lognormal median %v", q)
		}
	}
	for _, bad := range []string{`"soon"`, `"-1s"`, `{"dist":"gamma"}`, `{"dist":"lognormal","median":"40s"}`, `{"dist":"uniform","min":"9s","max":"3s"}`, `{"dist":"constant","value":"1s","mean":"2s"}`, `{"dist":"constant","vale":"1s"}`} {
		var d Distribution
		if err := d.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestContradictionsAreErrorsWithLines(t *testing.T) {
	cases := []struct{ name, old, new, want string }{
		{"mode", "mode: hpa", "mode: autoscale", `m.yaml:11:11: spec.scaling.mode: "autoscale" is not one of hpa, keda, hybrid`},
		{"triggers in hpa mode", "    metrics: {cpu: {utilization: 60}}", "    metrics: {cpu: {utilization: 60}}\n    triggers: [{type: cpu, metadata: {value: \"50\"}}]", "spec.scaling.triggers: triggers are KEDA's"},
		{"utilization without request", `requests: {cpu: "1"}`, `requests: {memory: 1Gi}`, "a cpu utilization target needs a cpu request"},
		{"gpu util without gpu", `, gpu: {count: 1}}`, `}`, "(no error)"},
		{"keda zero on cpu", "mode: hpa\n    replicas: {max: 4}\n    metrics: {cpu: {utilization: 60}}", "mode: keda\n    replicas: {max: 4, scaleToZero: true}\n    triggers: [{type: cpu, metricType: Utilization, metadata: {value: \"50\"}}]", "KEDA cannot scale to zero on cpu/memory triggers alone"},
		{"idle not below min", "mode: hpa\n    replicas: {max: 4}\n    metrics: {cpu: {utilization: 60}}", "mode: keda\n    replicas: {min: 1, max: 4}\n    keda: {idleReplicaCount: 1}\n    triggers: [{type: rabbitmq, metadata: {queueName: q, host: h}}]", "KEDA requires idleReplicaCount (1) < minReplicaCount (1)"},
		{"hybrid without worker", "mode: hpa", "mode: hybrid", "spec.worker: mode hybrid needs a worker"},
		{"limit below request", `requests: {cpu: "1"}`, `requests: {cpu: "1"}, limits: {cpu: 500m}`, "spec.resources.limits.cpu: limit 500m is below the request 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(minimal, c.old, c.new, 1)
			if src == minimal {
				t.Fatalf("replacement %q not found", c.old)
			}
			_, err := Load("m.yaml", []byte(src))
			if c.want == "(no error)" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant %q", err, c.want)
			}
			var se *strictyaml.Error
			var ses strictyaml.Errors
			if !(asErr(err, &se) || asErrs(err, &ses)) {
				t.Errorf("error type %T carries no location", err)
			}
		})
	}
}

func asErr(err error, target **strictyaml.Error) bool {
	e, ok := err.(*strictyaml.Error)
	*target = e
	return ok && e.Line > 0
}

func asErrs(err error, target *strictyaml.Errors) bool {
	e, ok := err.(strictyaml.Errors)
	*target = e
	return ok && len(e) > 0 && e[0].Line > 0
}

func TestArticleWarnings(t *testing.T) {
	src := strings.Replace(minimal, "mode: hpa\n    replicas: {max: 4}\n    metrics: {cpu: {utilization: 60}}",
		"mode: keda\n    replicas: {max: 4}\n    triggers: [{type: prometheus, metadata: {serverAddress: http://p:9090, metricName: gpu, threshold: \"70\", query: avg(gpu)}}]", 1)
	l, err := Load("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(l.Warnings, "\n")
	if !strings.Contains(joined, "metricName: dropped") || !strings.Contains(joined, "avg(...)") {
		t.Errorf("warnings: %v", l.Warnings)
	}
}
