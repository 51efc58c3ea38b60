package scenario

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/sim"
)

// A RabbitMQ outage under fallback {failureThreshold: 3, replicas: 8}:
// KEDA's engine counts the scaler's failures and, past the threshold,
// hands the HPA the fallback metric; the HPA holds 8 replicas until the
// broker answers again and then scales back down. Every KEDA poll, the
// failing ones included, replays through keda.Compiled.Poll.
func TestOutageKEDAFallback(t *testing.T) {
	cfg := loadResolve(t, "../../scenarios/outage-fallback.yaml", Options{TimelineStep: 1e9})
	var snaps []*sim.KEDASnapshot
	cfg.Output.KEDASnapshot = func(s *sim.KEDASnapshot) { snaps = append(snaps, s) }
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	so := cfg.Autoscaler.ScaledObject
	if so.Spec.Fallback == nil || so.Spec.Fallback.FailureThreshold != 3 || so.Spec.Fallback.Replicas != 8 {
		t.Fatalf("fallback %+v, want {3, 8}", so.Spec.Fallback)
	}
	const start, end = 1800.0, 2400.0
	if len(res.Outages) != 1 || res.Outages[0].Start != start || res.Outages[0].End != end ||
		strings.Join(res.Outages[0].Hit, ",") != "keda:rabbitmq0" {
		t.Fatalf("outages %+v", res.Outages)
	}

	// the polls: failing exactly during the outage, fallback only past
	// the threshold, and each one the engine's own decision
	failedPolls := 0
	var thresholdAt float64 = -1
	for i, s := range snaps {
		at := s.Now.Sub(cfg.Start).Seconds()
		failing := s.Readings[0].Failed
		if failing != (at >= start && at < end) {
			t.Fatalf("poll at %vs: reading failed=%v", at, failing)
		}
		if failing {
			failedPolls++
		}
		if thresholdAt < 0 && len(s.State.Health) > 0 && s.State.Health[0].Failures >= 3 {
			thresholdAt = at
		}
		st := s.State.Clone()
		var pr keda.PollResult
		s.Compiled.Poll(s.Now, s.Target, s.Readings, &st, &pr)
		if pr.Branch != s.Branch || pr.HasScaleTo != s.HasScaleTo || pr.ScaleTo != s.ScaleTo {
			t.Fatalf("poll %d at %vs: replay %v %v %d, simulation %v %v %d", i, at, pr.Branch, pr.HasScaleTo, pr.ScaleTo, s.Branch, s.HasScaleTo, s.ScaleTo)
		}
	}
	o := res.Summary.Outage
	if o == nil || o.KEDAFailedPolls != failedPolls || failedPolls != 20 {
		t.Fatalf("summary %+v, %d failing polls seen (want 20: pollingInterval 30s for 10m)", o, failedPolls)
	}
	if thresholdAt < start || thresholdAt > start+60 {
		t.Fatalf("3 failures recorded at %vs, want within a minute of the outage", thresholdAt)
	}
	// fallback (Fallback=True) for most of the outage, not before it
	if o.FallbackSeconds < 500 || o.FallbackSeconds > 600 {
		t.Errorf("fallback active %vs, want most of the 600 s outage", o.FallbackSeconds)
	}

	// replicas: up to fallback.replicas only after the threshold, held to
	// the end of the outage, down again after it
	tl := res.Timeline
	col := func(name string) int {
		for i, c := range tl.Columns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no timeline column %s in %v", name, tl.Columns)
		return -1
	}
	spec, fb := col("specReplicas"), col("kedaFallback")
	reached := -1.0
	for _, row := range tl.Rows {
		at := row[0]
		if at < start && row[spec] >= 8 {
			t.Fatalf("8 replicas at %vs, before the outage", at)
		}
		if reached < 0 && row[spec] == 8 {
			reached = at
		}
		if reached >= 0 && at >= reached && at < end && row[spec] != 8 {
			t.Fatalf("replicas %v at %vs during the fallback, want 8", row[spec], at)
		}
		if (at < start || at > end+60) && row[fb] != 0 {
			t.Fatalf("fallback condition at %vs, outside the outage", at)
		}
	}
	if reached < thresholdAt || reached > start+120 {
		t.Fatalf("8 replicas first at %vs; threshold passed at %vs", reached, thresholdAt)
	}
	down := false
	for _, d := range res.Decisions {
		if d.At > end && d.From == 8 && d.To < 8 {
			down = true
			if d.At > end+6*60 {
				t.Errorf("scale-down after the outage at %vs, want within the 5 min stabilisation window", d.At)
			}
			break
		}
	}
	if !down {
		t.Errorf("no scale-down from 8 after the outage: %+v", res.Decisions)
	}
}

const hpaOutageScenario = `apiVersion: mlscale.dev/v1alpha1
kind: Scenario
metadata: {name: hpa-outage}
spec:
  duration: 90m
  workload: {preset: llm-inference}
  traffic:
    pattern: step
    points: [{at: 0s, rate: 4}, {at: 20m, rate: 14}, {at: 45m, rate: 2}]
  serving: {routing: least-outstanding}
`

// The llm-inference HPA has two Pods metrics (requests running, requests
// waiting). While the waiting metric's API errors, the HPA still scales
// up on the running one, but it never scales down (the controller's rule
// for a scale-down with an invalid metric); without the outage the same
// run scales down at once. Every reconcile replays through hpa.Reconcile.
func TestOutageHPATwoMetrics(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const start, end = 900.0, 4200.0
	out := write("out.yaml", hpaOutageScenario+"  metrics:\n    outages:\n      - {metric: vllm_num_requests_waiting, at: 15m, duration: 55m}\n")
	base := write("base.yaml", hpaOutageScenario)

	cfg := loadResolve(t, out, Options{})
	var snaps []*sim.HPASnapshot
	cfg.Output.Snapshot = func(s *sim.HPASnapshot) { snaps = append(snaps, s) }
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i, s := range snaps {
		at := s.Input.Now.Sub(cfg.Start).Seconds()
		in := at >= start && at < end
		if (s.Input.Metrics[1].FetchErr != nil) != in || s.Input.Metrics[0].FetchErr != nil {
			t.Fatalf("reconcile at %vs: fetch errors %v, %v", at, s.Input.Metrics[0].FetchErr, s.Input.Metrics[1].FetchErr)
		}
		if in {
			failed++
		}
		d := hpa.Reconcile(&s.Input, s.State())
		if d.DesiredReplicas != s.Desired || d.Rescale != s.Rescale || d.RescaleReason != s.Reason {
			t.Fatalf("reconcile %d at %vs: replay %d %v %q, simulation %d %v %q", i, at, d.DesiredReplicas, d.Rescale, d.RescaleReason, s.Desired, s.Rescale, s.Reason)
		}
	}
	o := res.Summary.Outage
	if o == nil || o.HPAFailedReconciles != failed || failed != 220 {
		t.Fatalf("summary %+v, %d failed reconciles (want 220: 55 min of 15 s syncs)", o, failed)
	}
	if o.ScalingInactiveSeconds <= 0 {
		t.Errorf("ScalingActive never False: %+v", o)
	}
	up := false
	for _, d := range res.Decisions {
		if d.At >= start && d.At < end && d.To < d.From {
			t.Errorf("scale-down during the outage: %+v", d)
		}
		if d.At >= start && d.At < end && d.To > d.From && strings.Contains(d.Reason, "vllm_num_requests_running") {
			up = true
		}
	}
	if !up {
		t.Errorf("no scale-up on the running metric during the outage: %+v", res.Decisions)
	}

	// the same run without the outage scales down while it would have been blocked
	bres, err := sim.Run(loadResolve(t, base, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if bres.Summary.Outage != nil || bres.Outages != nil {
		t.Errorf("outage figures without outages: %+v", bres.Summary.Outage)
	}
	blocked := false
	for _, d := range bres.Decisions {
		if d.At >= start && d.At < end && d.To < d.From {
			blocked = true
		}
	}
	if !blocked {
		t.Errorf("without the outage no scale-down in [%v, %v): %+v", start, end, bres.Decisions)
	}
	// and the outage run does scale down once the metric is back
	last := res.Decisions[len(res.Decisions)-1]
	if last.At < end || last.To >= last.From {
		t.Errorf("last decision %+v, want a scale-down after the outage", last)
	}
}

// Outages are part of the deterministic run: same seed, same JSON (the
// stale mode included); another seed differs.
func TestOutageDeterministic(t *testing.T) {
	run := func(file string, seed uint64) []byte {
		res, err := sim.Run(loadResolve(t, file, Options{Seed: &seed}))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const f = "../../scenarios/outage-fallback.yaml"
	a, b := run(f, 1), run(f, 1)
	if string(a) != string(b) {
		t.Fatal("same seed gave different JSON")
	}
	if c := run(f, 2); string(c) == string(a) {
		t.Fatal("another seed gave the same JSON")
	}
	if !strings.Contains(string(a), `"outages":[{"metric":"batch-inference"`) {
		t.Errorf("no outages in the JSON: %.300s", a)
	}
	data, _ := os.ReadFile(f)
	stale := strings.Replace(string(data), "mode: error", "mode: stale", 1)
	p := filepath.Join(t.TempDir(), "stale.yaml")
	os.WriteFile(p, []byte(strings.Replace(stale, "profiles/queue-fallback.yaml", mustAbs(t, "../../scenarios/profiles/queue-fallback.yaml"), 1)), 0o644)
	s1, s2 := run(p, 1), run(p, 1)
	if string(s1) != string(s2) {
		t.Fatal("stale: same seed gave different JSON")
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A stale trigger keeps its value: KEDA sees no error (no fallback) and
// the value it reads stops moving for the outage.
func TestOutageStale(t *testing.T) {
	data, err := os.ReadFile("../../scenarios/outage-fallback.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(data), "mode: error", "mode: stale", 1)
	doc = strings.Replace(doc, "profiles/queue-fallback.yaml", mustAbs(t, "../../scenarios/profiles/queue-fallback.yaml"), 1)
	l, err := Load("stale.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Resolve(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var snaps []*sim.KEDASnapshot
	cfg.Output.KEDASnapshot = func(s *sim.KEDASnapshot) { snaps = append(snaps, s) }
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var frozen *int64
	moved := false
	for _, s := range snaps {
		at := s.Now.Sub(cfg.Start).Seconds()
		rd := s.Readings[0]
		if rd.Failed {
			t.Fatalf("stale reading failed at %vs", at)
		}
		v := rd.RabbitMQ.MessagesReady
		if at >= 1800 && at < 2400 {
			if frozen == nil {
				frozen = &v
			} else if v != *frozen {
				t.Fatalf("stale queue moved at %vs: %d, frozen %d", at, v, *frozen)
			}
		} else if frozen != nil && v != *frozen {
			moved = true
		}
	}
	if frozen == nil || !moved {
		t.Fatalf("frozen %v, moved after %v", frozen, moved)
	}
	if o := res.Summary.Outage; o.KEDAFailedPolls != 0 || o.FallbackSeconds != 0 {
		t.Errorf("stale outage counted as failures: %+v", o)
	}
}

func TestOutageValidation(t *testing.T) {
	head := "apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: llm-inference}\n  traffic: {pattern: poisson, rate: 1}\n  metrics:\n    outages:\n"
	load := []struct{ outages, want string }{
		{"      - {metric: vllm_num_requests_waiting, at: 10m, duration: 5x}\n", "x.yaml:10:"},
		{"      - {metric: vllm_num_requests_waiting, at: -1m, duration: 5m}\n", "x.yaml:10:49: spec.metrics.outages[0].at: must not be negative"},
		{"      - {metric: vllm_num_requests_waiting, at: 10m, duration: 0s}\n", "spec.metrics.outages[0].duration: must be positive"},
		{"      - {metric: vllm_num_requests_waiting, at: 2h, duration: 5m}\n", "spec.metrics.outages[0].at: 2h0m0s is not before the end of the run"},
		{"      - {metric: vllm_num_requests_waiting, at: 10m, duration: 5m, mode: nan}\n", `spec.metrics.outages[0].mode: unknown mode "nan" (one of error, stale)`},
		{"      - {at: 10m, duration: 5m}\n", "spec.metrics.outages[0].metric: is required"},
		{"      - {metric: x, at: 10m, duration: 5m, until: 20m}\n", "x.yaml:10:"},
	}
	for _, c := range load {
		_, err := Load("x.yaml", []byte(head+c.outages))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", strings.TrimSpace(c.outages), err, c.want)
		}
	}
	resolve := []struct{ outages, want string }{
		{"      - {metric: nvidia_smi, at: 10m, duration: 5m}\n",
			`x.yaml:10:18: spec.metrics.outages[0].metric: "nvidia_smi" matches no metric or trigger of policy llm-inference (vllm_num_requests_running, vllm_num_requests_waiting)`},
		{"      - {metric: vllm_num_requests, at: 10m, duration: 10m}\n      - {metric: vllm_num_requests_waiting, at: 15m, duration: 5m}\n",
			`x.yaml:11:18: spec.metrics.outages[1].metric: "vllm_num_requests_waiting" overlaps outages[0] ("vllm_num_requests") on hpa:vllm_num_requests_waiting`},
	}
	for _, c := range resolve {
		l, err := Load("x.yaml", []byte(head+c.outages))
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Resolve(Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", strings.TrimSpace(c.outages), err, c.want)
		}
	}
	// back to back on the same metric, and a substring that hits both metrics
	ok := "      - {metric: vllm_num_requests, at: 10m, duration: 5m}\n      - {metric: vllm_num_requests_waiting, at: 15m, duration: 5m}\n"
	l, err := Load("x.yaml", []byte(head+ok))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Resolve(Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outages) != 2 || strings.Join(res.Outages[0].Hit, ",") != "hpa:vllm_num_requests_running,hpa:vllm_num_requests_waiting" ||
		strings.Join(res.Outages[1].Hit, ",") != "hpa:vllm_num_requests_waiting" || res.Summary.Outage.Seconds != 600 {
		t.Errorf("outages %+v, summary %+v", res.Outages, res.Summary.Outage)
	}
	// both metrics out: no change, ScalingActive=False the whole time
	if o := res.Summary.Outage; o.ScalingInactiveSeconds < 300 {
		t.Errorf("ScalingActive=False for %vs, want at least the 5 min with every metric failing", o.ScalingInactiveSeconds)
	}
}

// A stale Pods metric: each pod keeps the sample it had at the outage's
// start (pods created during it have none), and no fetch fails.
func TestOutageStalePods(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.yaml")
	doc := hpaOutageScenario + "  metrics:\n    outages:\n      - {metric: vllm_num_requests_running, at: 15m, duration: 20m, mode: stale}\n"
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := loadResolve(t, p, Options{})
	var snaps []*sim.HPASnapshot
	cfg.Output.Snapshot = func(s *sim.HPASnapshot) { snaps = append(snaps, s) }
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	frozen := map[string]int64{}
	checked := 0
	for _, s := range snaps {
		at := s.Input.Now.Sub(cfg.Start).Seconds()
		m := s.Input.Metrics[0]
		if m.FetchErr != nil {
			t.Fatalf("fetch error at %vs: %v", at, m.FetchErr)
		}
		if at < 900 || at >= 2100 {
			continue
		}
		for j, ps := range m.Samples {
			name := s.Input.Pods[j].Name
			v, seen := frozen[name]
			switch {
			case at == 900 && ps.Present:
				frozen[name] = ps.Milli
			case !seen && ps.Present:
				t.Fatalf("pod %s created during the outage has a sample at %vs", name, at)
			case seen && (!ps.Present || ps.Milli != v):
				t.Fatalf("pod %s at %vs: %+v, frozen %d", name, at, ps, v)
			}
			checked++
		}
	}
	if len(frozen) != 2 || checked < 100 {
		t.Fatalf("frozen %v, %d samples checked", frozen, checked)
	}
	// the first reconcile (t=0, before the first scrape) finds no metrics:
	// ScalingActive=False for one sync, outage or not
	if o := res.Summary.Outage; o.HPAFailedReconciles != 0 || o.ScalingInactiveSeconds != 15 {
		t.Errorf("stale outage counted as failures: %+v", o)
	}
}
