package kedastate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/strictyaml"
)

const minimal = `apiVersion: mlscale.dev/v1alpha1
kind: KEDAState
now: "2026-01-01T12:00:00Z"
scaledObject:
  metadata: {name: so, namespace: ns, creationTimestamp: "2026-01-01T11:00:00Z"}
  spec:
    scaleTargetRef: {name: web}
    triggers:
      - type: metrics-api
        metadata: {url: "http://x", valueLocation: v, targetValue: "10"}
target: {specReplicas: 0, readyReplicas: 0}
readings:
  - value: 3
`

func TestLoadMinimal(t *testing.T) {
	in, err := Load("s.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if in.Step != StepPoll || in.Version.Minor != 20 || in.SO == nil || *in.Readings[0].Value != 3 {
		t.Fatalf("%+v", in)
	}
	r := Eval(in, false)
	if r.ScaleTo == nil || *r.ScaleTo != 1 || r.Decision != "activate" || r.ExternalMetricValues["s0-metric-api-v"] != 3 {
		t.Fatalf("report %+v", r)
	}
	if r.State.LastActiveTime == nil || *r.State.LastActiveTime != "2026-01-01T12:00:00Z" {
		t.Errorf("state %+v", r.State)
	}
}

// TestLoadErrors: every rejection names the file, the line and the field.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, edit, old string
		want            string
	}{
		{"unknown top-level field", "bogus: 1\n", "", "s.yaml:14:1: bogus: unknown field"},
		{"unknown field in the ScaledObject", "    pollingIntervall: 5\n", "    triggers:\n", "s.yaml:8:5: scaledObject.spec.pollingIntervall: unknown field"},
		{"wrong kind", "kind: HPAState\n", "kind: KEDAState\n", `s.yaml:2:7: kind: must be "KEDAState"`},
		{"bad now", "now: yesterday\n", "now: \"2026-01-01T12:00:00Z\"\n", `s.yaml:3:6: now: not an RFC 3339 time: "yesterday"`},
		{"bad step", "step: reconcile\n", "", `s.yaml:14:7: step: must be poll or hpaQuery, got "reconcile"`},
		{"hpaQuery without metric", "step: hpaQuery\n", "", "hpaQueryMetric: required with step: hpaQuery"},
		{"reading count", "", "readings:\n  - value: 3\n", "readings: 0 readings for 1 triggers"},
		{"reading of the wrong shape", "", "  - value: 3\n", ""},
		{"KEDA rejects min > max", "    minReplicaCount: 5\n    maxReplicaCount: 2\n", "    triggers:\n",
			`s.yaml:6:3: scaledObject.spec: rejected by KEDA's CRD schema: Invalid value: "object": minReplicaCount must be less than or equal to maxReplicaCount`},
		{"scaler error points at the trigger", "", `targetValue: "10"`, ""},
		{"unsupported version", "kedaVersion: \"2.9\"\n", "", `kedaVersion: unsupported KEDA version "2.9"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := minimal
			switch {
			case tc.name == "reading of the wrong shape":
				doc = strings.Replace(doc, "  - value: 3\n", "  - prometheus: {series: [1]}\n", 1)
				tc.want = "s.yaml:13:5: readings[0]: trigger 0 is metrics-api but the reading is for prometheus"
			case tc.name == "scaler error points at the trigger":
				doc = strings.Replace(doc, `valueLocation: v, targetValue: "10"`, `targetValue: "10"`, 1)
				tc.want = `s.yaml:9:9: scaledObject.spec.triggers[0]: rejected by KEDA's controller (Ready=False ScaledObjectCheckFailed): failed to ensure HPA is correctly created for ScaledObject: error parsing metric API metadata: missing required parameter "valueLocation" in [triggerMetadata]`
			case tc.old == "":
				doc += tc.edit
			default:
				doc = strings.Replace(doc, tc.old, tc.edit+strings.TrimPrefix(tc.old, tc.old), 1)
				if strings.HasPrefix(tc.old, "    triggers") {
					doc = strings.Replace(minimal, tc.old, tc.edit+tc.old, 1)
				}
			}
			_, err := Load("s.yaml", []byte(doc))
			if err == nil {
				t.Fatalf("accepted:\n%s", doc)
			}
			var se *strictyaml.Error
			var ses strictyaml.Errors
			if !errors.As(err, &se) && !errors.As(err, &ses) {
				t.Errorf("error type %T", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n  %v\nwant it to contain:\n  %s", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "s.yaml:") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

// TestExamples: every user-facing example under testdata/keda loads and
// evaluates; its state output feeds a next step.
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob("../../../testdata/keda/*.yaml")
	if len(files) < 8 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		in, err := LoadFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		r := Eval(in, true)
		if len(r.Conditions) != 4 {
			t.Errorf("%s: conditions %+v", f, r.Conditions)
		}
	}
}

func TestArticleExamples(t *testing.T) {
	load := func(name string) *Report {
		in, err := LoadFile("../../../testdata/keda/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return Eval(in, false)
	}
	r := load("article-rabbitmq-gpu-activate.yaml")
	if *r.ScaleTo != 1 || r.HPA.Name != "keda-hpa-ml-batch-processor-scaler" || r.HPA.MinReplicas != 1 || r.HPA.MaxReplicas != 20 ||
		r.Metrics[0].Name != "s0-rabbitmq-ml-inference-queue" || r.Metrics[1].Name != "s1-prometheus" || *r.Metrics[0].Value != 12 {
		t.Errorf("activate: %+v", r)
	}
	r = load("article-rabbitmq-gpu-keeps-active.yaml")
	if r.ScaleTo != nil || !r.Active || r.Metrics[0].Active || !r.Metrics[1].Active {
		t.Errorf("GPU keeps it active: %+v", r)
	}
	r = load("article-rabbitmq-gpu-cooldown.yaml")
	if r.Decision != "cooldown" || *r.CooldownEndsAt != "2026-01-01T12:03:00Z" {
		t.Errorf("cooldown: %+v", r)
	}
	r = load("article-sqs-scale-to-zero.yaml")
	if r.ScaleTo == nil || *r.ScaleTo != 0 || r.Metrics[0].Name != "s0-aws-sqs-ml-training-jobs" {
		t.Errorf("sqs: %+v", r)
	}
	r = load("article-sqs-activation.yaml")
	if r.Active || r.Decision != "cooldown" || *r.Metrics[0].Value != 1 {
		t.Errorf("sqs activation: %+v", r)
	}
	r = load("fallback-hpa-query.yaml")
	if r.QueryError != nil || r.ExternalMetricValues["s0-prometheus"] != 420 || *r.State.Health["s0-prometheus"].NumberOfFailures != 4 {
		t.Errorf("fallback: %+v", r)
	}
	r = load("scaledjob-accurate.yaml")
	if r.Jobs.Create != 8 {
		t.Errorf("scaledjob: %+v", r.Jobs)
	}
}

// FuzzDecodeKEDAState: the decoder never panics, and whatever it accepts
// evaluates without panicking.
func FuzzDecodeKEDAState(f *testing.F) {
	f.Add([]byte(minimal))
	files, _ := filepath.Glob("../../../testdata/keda/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("kind: KEDAState\n"))
	f.Add([]byte("{}"))
	f.Add([]byte("readings: [{kafka: {partitions: [{partition: 0, consumerOffset: -1}]}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := Load("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		_ = Eval(in, true)
	})
}

// TestAuthResolution: a RabbitMQ host from a TriggerAuthentication's Secret
// decides the protocol, hence whether unacked messages count.
func TestAuthResolution(t *testing.T) {
	src, err := os.ReadFile("../../../testdata/keda/article-rabbitmq-gpu-activate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]float64{
		"amqp://rabbitmq.messaging.svc.cluster.local:5672":    12, // ready only
		"http://guest:guest@rabbitmq.messaging.svc:15672/":    15, // ready + unacked
		"https://guest:guest@rabbitmq.messaging.svc:15671/":   15,
		"amqps://rabbitmq.messaging.svc.cluster.local:5671/x": 12,
	} {
		doc := strings.Replace(string(src), "amqp://rabbitmq.messaging.svc.cluster.local:5672", host, 1)
		in, err := Load("s.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		r := Eval(in, false)
		if *r.Metrics[0].Value != want {
			t.Errorf("%s: value %v, want %v", host, *r.Metrics[0].Value, want)
		}
	}
	// A missing Secret is an error at the reference.
	doc := strings.Replace(string(src), "      name: rabbitmq-auth\n      namespace: ml-workloads\n    stringData", "      name: other\n      namespace: ml-workloads\n    stringData", 1)
	if _, err := Load("s.yaml", []byte(doc)); err == nil || !strings.Contains(err.Error(), `secret "rabbitmq-auth" is not in secrets`) {
		t.Errorf("missing secret: %v", err)
	}
	// A bad scheme is KEDA's own error.
	doc = strings.Replace(string(src), "amqp://rabbitmq.messaging.svc.cluster.local:5672", "ftp://x", 1)
	if _, err := Load("s.yaml", []byte(doc)); err == nil || !strings.Contains(err.Error(), "unknown host URL scheme: `ftp`") {
		t.Errorf("bad scheme: %v", err)
	}
}

func TestHPAQueryAndVersions(t *testing.T) {
	src, err := os.ReadFile("../../../testdata/keda/fallback-hpa-query.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Under the threshold the HPA gets KEDA's error.
	doc := strings.Replace(string(src), "numberOfFailures: 3", "numberOfFailures: 1", 1)
	in, err := Load("s.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	r := Eval(in, false)
	if r.QueryError == nil || *r.QueryError != "metric:s0-prometheus encountered error" || len(r.ExternalMetricValues) != 0 {
		t.Errorf("under threshold: %+v", r)
	}
	if *r.State.Health["s0-prometheus"].NumberOfFailures != 2 {
		t.Errorf("the query counts: %+v", r.State.Health)
	}
	// Asking for a metric the object does not have.
	doc = strings.Replace(string(src), "hpaQueryMetric: s0-prometheus", "hpaQueryMetric: s1-kafka-x", 1)
	in, _ = Load("s.yaml", []byte(doc))
	if r = Eval(in, false); r.QueryError == nil || *r.QueryError != "no matching metrics found for s1-kafka-x" {
		t.Errorf("unknown metric: %+v", r.QueryError)
	}
}

// TestStatusSeedsState: status.lastActiveTime and status.health of a pasted
// ScaledObject are used when the state block does not give them.
func TestStatusSeedsState(t *testing.T) {
	doc := strings.Replace(minimal, "target: {", `  status:
    lastActiveTime: "2026-01-01T11:58:00Z"
    health:
      s0-metric-api-v: {numberOfFailures: 2, status: Failing}
target: {`, 1)
	doc = strings.Replace(doc, "  - value: 3\n", "  - value: 0\n", 1)
	doc = strings.Replace(doc, "specReplicas: 0", "specReplicas: 2", 1)
	in, err := Load("s.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if in.State.LastActiveTime.IsZero() || in.State.Health[0].Failures != 2 {
		t.Fatalf("state %+v", in.State)
	}
	r := Eval(in, false)
	if r.Decision != "cooldown" || *r.CooldownEndsAt != "2026-01-01T12:03:00Z" {
		t.Errorf("%+v", r)
	}
}

// StepInput, built from the engine's inputs as mlscale run holds them,
// explains a step byte for byte as `keda eval -o text` does for the
// equivalent snapshot file, and leaves the caller's state untouched.
func TestStepInputExplainsAsTheSnapshot(t *testing.T) {
	files, err := filepath.Glob("../../../testdata/keda/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		in, err := LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if in.SO == nil {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			var want, got strings.Builder
			if err := Eval(in, false).WriteText(&want); err != nil {
				t.Fatal(err)
			}
			st := in.State.Clone()
			before := st.Clone()
			step := StepInput(in.SO, in.Step, in.File.HPAQueryMetric, in.Now, in.Target, in.Readings, &st)
			if err := Eval(step, false).WriteText(&got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("StepInput explains differently:\n--- got\n%s--- want\n%s", got.String(), want.String())
			}
			if st.LastActiveTime != before.LastActiveTime || st.Conditions != before.Conditions ||
				fmt.Sprint(st.Health, st.Cached) != fmt.Sprint(before.Health, before.Cached) {
				t.Error("evaluating the StepInput changed the caller's state")
			}
		})
	}
}
