package report

import (
	"math"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/sim"
)

func TestConfidenceInterval(t *testing.T) {
	// mean 3, sd 1.5811, t(0.975, 4) = 2.7764: half-width 1.9632
	m, lo, hi := ConfidenceInterval([]float64{1, 2, 3, 4, 5}, 0.95)
	if m != 3 || math.Abs(hi-m-1.9632) > 1e-3 || math.Abs(m-lo-1.9632) > 1e-3 {
		t.Errorf("CI = %v [%v, %v]", m, lo, hi)
	}
	if m, lo, hi := ConfidenceInterval([]float64{7}, 0.95); m != 7 || lo != 7 || hi != 7 {
		t.Errorf("one value: %v [%v, %v]", m, lo, hi)
	}
}

func TestSummarizeClampsIntervals(t *testing.T) {
	runs := []*sim.Result{{}, {}, {}}
	runs[0].Summary.Flaps, runs[1].Summary.Flaps, runs[2].Summary.Flaps = 0, 0, 9
	runs[0].Summary.SLO.WindowAttainment, runs[1].Summary.SLO.WindowAttainment, runs[2].Summary.SLO.WindowAttainment = 1, 1, 0.9
	ps := Summarize("p", runs)
	for _, m := range ps.Metrics {
		if m.Low < 0 || (strings.HasPrefix(m.Name, "slo.") && m.High > 1) {
			t.Errorf("%s: [%v, %v] outside the metric's range", m.Name, m.Low, m.High)
		}
	}
}

func TestVerdict(t *testing.T) {
	r := &sim.Result{}
	r.Scenario.DurationSeconds = 3600
	r.Summary.SLO = sim.SLOResult{Percentile: 99, Latency: 2, Goal: 0.99, WindowAttainment: 0.995, WindowSeconds: 60, Met: true}
	r.Summary.Cost, r.Summary.GPUHours = 12.5, 4
	if v := Verdict(r); v != "MEETS the SLO (p99 ≤ 2s in 99.5% of 1m0s windows; goal 99%) at $12.50 for 1h0m0s (4.00 GPU-hours)" {
		t.Errorf("verdict %q", v)
	}
	r.Summary.SLO.Met, r.Summary.Cost = false, 0
	if v := Verdict(r); !strings.HasPrefix(v, "MISSES") || !strings.Contains(v, "unknown cost") {
		t.Errorf("verdict %q", v)
	}
}

func TestOutageReport(t *testing.T) {
	r := &sim.Result{}
	r.Scenario.Autoscaler, r.Scenario.DurationSeconds = "keda", 3600
	r.Outages = []sim.OutageReport{{Metric: "batch-inference", Mode: "error", Start: 1800, StartTime: "00:30:00", End: 2400, EndTime: "00:40:00", Seconds: 600, Hit: []string{"keda:rabbitmq0"}}}
	r.Summary.Outage = &sim.OutageSummary{Seconds: 600, KEDAFailedPolls: 20, FallbackSeconds: 570, HPAFailedReconciles: 2, ScalingInactiveSeconds: 30}
	r.Timeline = &sim.Timeline{Columns: []string{"t", "specReplicas"}}
	for s := 1.0; s <= 3600; s++ {
		r.Timeline.Rows = append(r.Timeline.Rows, []float64{s, 2})
	}
	var b strings.Builder
	if err := WriteSummary(&b, "", r); err != nil {
		t.Fatal(err)
	}
	want := "outages        10m0s in all (batch-inference error 00:30:00-00:40:00 on keda:rabbitmq0); 20 KEDA polls with a failing scaler, fallback active 9m30s; 2 HPA reconciles with a failed metric, ScalingActive=False 30s"
	if !strings.Contains(b.String(), want) {
		t.Errorf("summary:\n%s\nwant the line\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteHTML(&b, "", r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<h2>Metric outages</h2>") || !strings.Contains(b.String(), "<td>keda:rabbitmq0</td>") {
		t.Error("no outage table in the HTML report")
	}
	svg, err := SVG(r)
	if err != nil || !strings.Contains(string(svg), "metric outage") {
		t.Errorf("no outage in the plot legend (%v)", err)
	}
}
