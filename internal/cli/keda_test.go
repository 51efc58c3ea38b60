package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/iostreams"
	"github.com/mlscale/mlscale/internal/testutil/golden"
)

// The user-facing examples live at the repository root.
const kedaExamples = "../../testdata/keda/"

func TestKEDAEvalGolden(t *testing.T) {
	cases := []struct{ file, format string }{
		{"article-rabbitmq-gpu-activate", "json"},
		{"article-rabbitmq-gpu-activate", "text"},
		{"article-rabbitmq-gpu-cooldown", "text"},
		{"article-rabbitmq-gpu-keeps-active", "text"},
		{"article-sqs-scale-to-zero", "json"},
		{"article-sqs-scale-to-zero", "text"},
		{"article-sqs-activation", "text"},
		{"fallback-hpa-query", "json"},
		{"fallback-hpa-query", "text"},
		{"idle-replica-flap", "text"},
		{"kafka-partition-cap", "text"},
		{"scaledjob-accurate", "json"},
		{"scaledjob-accurate", "text"},
		{"scaling-modifiers", "json"},
		{"scaling-modifiers", "text"},
		{"article-rabbitmq-gpu-activate", "table"},
		{"fallback-poll-from-zero", "text"},
		{"fallback-poll-from-zero", "json"},
	}
	for _, tc := range cases {
		t.Run(tc.file+"."+tc.format, func(t *testing.T) {
			code, out, errOut := run(t, "keda", "eval", "-f", kedaExamples+tc.file+".yaml", "-o", tc.format)
			if code != 0 || errOut != "" {
				t.Fatalf("code=%d stderr=%q", code, errOut)
			}
			golden.Assert(t, "keda/"+tc.file+"."+tc.format, []byte(out))
		})
	}
}

func TestKEDAEvalJSONShape(t *testing.T) {
	code, out, _ := run(t, "keda", "eval", "-f", kedaExamples+"article-rabbitmq-gpu-activate.yaml", "-o", "json")
	if code != 0 {
		t.Fatal(code)
	}
	var got struct {
		Active  bool   `json:"active"`
		ScaleTo *int32 `json:"scaleTo"`
		Metrics []struct {
			Name       string   `json:"name"`
			Value      *float64 `json:"value"`
			TargetType string   `json:"targetType"`
			Target     float64  `json:"target"`
		} `json:"metrics"`
		HPA struct {
			Name        string `json:"name"`
			MinReplicas int32  `json:"minReplicas"`
		} `json:"hpa"`
		External map[string]float64 `json:"externalMetricValues"`
		State    struct {
			LastActiveTime string         `json:"lastActiveTime"`
			Health         map[string]any `json:"health"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Active || got.ScaleTo == nil || *got.ScaleTo != 1 || got.Metrics[0].Name != "s0-rabbitmq-ml-inference-queue" ||
		*got.Metrics[0].Value != 12 || got.Metrics[0].Target != 5 || got.HPA.Name != "keda-hpa-ml-batch-processor-scaler" ||
		got.External["s0-rabbitmq-ml-inference-queue"] != 12 || got.State.LastActiveTime != "2026-01-01T12:00:00Z" || got.State.Health == nil {
		t.Errorf("%s", out)
	}
}

// TestKEDAEvalChain feeds a step's state into the next step: the output is
// valid input.
func TestKEDAEvalChain(t *testing.T) {
	src, err := os.ReadFile(kedaExamples + "article-sqs-activation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "keda", "eval", "-f", kedaExamples+"article-sqs-activation.yaml", "-o", "yaml")
	if code != 0 {
		t.Fatal(code)
	}
	i := strings.Index(out, "\nstate:\n")
	if i < 0 {
		t.Fatalf("no state in %s", out)
	}
	rest := out[i+1:]
	doc := string(src)
	doc = doc[:strings.Index(doc, "state:\n")] + stateBlock(rest)
	doc = strings.Replace(doc, `now: "2026-01-01T12:00:00Z"`, `now: "2026-01-01T12:05:30Z"`, 1)
	doc = strings.Replace(doc, "inFlight: 1", "inFlight: 0", 1)
	ios, in, stdout, stderr := iostreams.Test()
	in.WriteString(doc)
	code = Run(context.Background(), ios, []string{"keda", "eval", "-f", "-", "-o", "json"})
	if code != 0 {
		t.Fatalf("code %d: %s\n%s", code, stderr, doc)
	}
	if !strings.Contains(stdout.String(), `"scaleTo": 0`) || !strings.Contains(stdout.String(), `"reason": "KEDAScaleTargetDeactivated"`) {
		t.Errorf("second step: %s", stdout)
	}
}

// stateBlock cuts the top-level "state:" block out of YAML output.
func stateBlock(s string) string {
	lines := strings.Split(s, "\n")
	var b bytes.Buffer
	for i, l := range lines {
		if i > 0 && l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") {
			break
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

func TestKEDAEvalErrors(t *testing.T) {
	code, _, errOut := run(t, "keda", "eval")
	if code != ExitUsage || !strings.Contains(errOut, "keda eval needs -f") {
		t.Errorf("no -f: %d %q", code, errOut)
	}
	code, _, errOut = run(t, "keda", "eval", "-f", kedaExamples+"scaling-modifiers.yaml", "-o", "sarif")
	if code != ExitUsage || !strings.Contains(errOut, `unknown output format "sarif"`) {
		t.Errorf("bad -o: %d %q", code, errOut)
	}
	dir := t.TempDir()
	bad := dir + "/bad.yaml"
	src, _ := os.ReadFile(kedaExamples + "article-sqs-scale-to-zero.yaml")
	_ = os.WriteFile(bad, bytes.Replace(src, []byte("    minReplicaCount: 0\n"), []byte("    idleReplicaCount: 0\n"), 1), 0o644)
	code, out, errOut := run(t, "keda", "eval", "-f", bad)
	want := bad + `:19:23: scaledObject.spec.idleReplicaCount: rejected by KEDA's admission webhook: IdleReplicaCount=0 must be less than MinReplicaCount=0`
	if code != ExitFailure || out != "" || !strings.Contains(errOut, want) {
		t.Errorf("rejected object: %d\nstderr %q\nwant   %q", code, errOut, want)
	}
	code, _, errOut = run(t, "keda", "eval", "-f", dir+"/missing.yaml")
	if code != ExitFailure || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("missing file: %d %q", code, errOut)
	}
}
