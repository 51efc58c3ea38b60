package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// simulate with spec.metrics.outages: the outage in the table, the JSON,
// the timeline and the HTML report; an outage that matches no metric of
// a policy is an input error at its line.
func TestSimulateOutage(t *testing.T) {
	dir := t.TempDir()
	tl, rep := filepath.Join(dir, "t.csv"), filepath.Join(dir, "r.html")
	code, out, errOut := run(t, "simulate", "-f", "../../scenarios/outage-fallback.yaml", "--timeline", tl, "--report", rep)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "outages        10m0s in all (batch-inference error 00:30:00-00:40:00 on keda:rabbitmq0); 20 KEDA polls with a failing scaler, fallback active 9m30s") {
		t.Errorf("no outage line:\n%s", out)
	}
	csv, err := os.ReadFile(tl)
	if err != nil || !strings.HasSuffix(strings.SplitN(string(csv), "\n", 2)[0], ",outages,kedaFallback,hpaScalingInactive") {
		t.Errorf("timeline header: %.300s (%v)", csv, err)
	}
	if html, err := os.ReadFile(rep); err != nil || !strings.Contains(string(html), "Metric outages") {
		t.Errorf("no outages in the HTML report (%v)", err)
	}

	code, out, errOut = run(t, "simulate", "-f", "../../scenarios/outage-fallback.yaml", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Outages []struct {
			Metric string   `json:"metric"`
			Hit    []string `json:"hit"`
		} `json:"outages"`
		Summary struct {
			Outage struct {
				FallbackSeconds float64 `json:"fallbackSeconds"`
				KEDAFailedPolls int     `json:"kedaFailedPolls"`
			} `json:"outage"`
			Replicas struct {
				Max int `json:"max"`
			} `json:"replicas"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Outages) != 1 || doc.Outages[0].Hit[0] != "keda:rabbitmq0" || doc.Summary.Outage.FallbackSeconds != 570 ||
		doc.Summary.Outage.KEDAFailedPolls != 20 || doc.Summary.Replicas.Max != 8 {
		t.Errorf("JSON %+v", doc)
	}

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"simulate", "-f", "testdata/simulate/bad-outage.yaml"},
			`bad-outage.yaml:10:18: spec.metrics.outages[0].metric: "dcgm_gpu_util" matches no metric or trigger of policy llm-inference (vllm_num_requests_running, vllm_num_requests_waiting)`},
		{[]string{"simulate", "-f", "../../scenarios/outage-fallback.yaml", "--policy", "preset:llm-inference"},
			`outage-fallback.yaml:26:18: spec.metrics.outages[0].metric: "batch-inference" matches no metric or trigger of policy llm-inference`},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != ExitFailure || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, errOut, c.want)
		}
	}
}
