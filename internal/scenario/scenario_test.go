package scenario

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/sim"
	"github.com/mlscale/mlscale/scenarios"
)

// bundledFiles are the scenarios shipped in scenarios/.
func bundledFiles(t *testing.T) []string {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil || len(files) < 10 {
		t.Fatalf("want the bundled scenarios, found %v (%v)", files, err)
	}
	return files
}

func loadResolve(t *testing.T, file string, o Options) *sim.Config {
	t.Helper()
	l, err := LoadFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Resolve(o)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// scalesInFirstHour are the scenarios whose policy must act in the first hour.
var scalesInFirstHour = map[string]bool{
	"step-burst": true, "cold-start-storm": true, "rabbitmq-backlog": true, "flapping": true,
	"article-inference": true, "article-training": true, "article-hybrid": true, "trace-replay": true,
	"outage-fallback": true,
}

// Every bundled scenario loads, resolves and runs (its first hour), and
// Little's law holds on every run: the time-integral of requests in the
// system equals arrivals times their mean time in system, summed request by
// request.
func TestBundledScenariosRun(t *testing.T) {
	for _, f := range bundledFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			l, err := LoadFile(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := min(l.Spec.Duration.Duration, time.Hour)
			if name == "diurnal-day" {
				d = 20 * time.Minute
			}
			cfg, err := l.Resolve(Options{Duration: d})
			if err != nil {
				t.Fatal(err)
			}
			res, err := sim.Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			if s.LittlesLaw.RelativeError > 1e-9 {
				t.Errorf("Little's law: L=%v λW=%v", s.LittlesLaw.L, s.LittlesLaw.LambdaW)
			}
			rq := s.Requests
			if rq.Completed+rq.Dropped+rq.TimedOut+rq.Killed+uint64(rq.InSystem) != rq.Total {
				t.Errorf("requests do not add up: %+v", rq)
			}
			if rq.Total == 0 {
				t.Error("no traffic")
			}
			if scalesInFirstHour[name] && s.ScaleEvents == 0 {
				t.Errorf("the autoscaler never scaled: %+v", s.Replicas)
			}
		})
	}
}

// The embedded copy of the scenarios is what the binary runs without flags.
func TestDefaultScenarioEmbedded(t *testing.T) {
	data, err := fs.ReadFile(scenarios.FS, scenarios.Default)
	if err != nil {
		t.Fatal(err)
	}
	disk, _ := os.ReadFile("../../scenarios/" + scenarios.Default)
	if string(data) != string(disk) {
		t.Fatal("embedded default differs from the file")
	}
	l, err := Load(scenarios.Default, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(Options{ReadFile: func(n string) ([]byte, error) { return fs.ReadFile(scenarios.FS, n) }}); err != nil {
		t.Fatal(err)
	}
}

func TestDeterministicJSON(t *testing.T) {
	run := func() []byte {
		cfg := loadResolve(t, "../../scenarios/default.yaml", Options{Duration: 2 * time.Hour})
		res, err := sim.Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := run(), run()
	if string(a) != string(b) {
		t.Fatal("same seed and scenario gave different JSON")
	}
	seed := uint64(2)
	cfg := loadResolve(t, "../../scenarios/default.yaml", Options{Duration: 2 * time.Hour, Seed: &seed})
	res, _ := sim.Run(cfg)
	c, _ := json.Marshal(res)
	if string(c) == string(a) {
		t.Fatal("another seed gave the same JSON")
	}
}

// Every HPA reconcile of a simulation, replayed through hpa.Reconcile from
// its snapshot (input and history), gives the decision the simulation took.
func TestHPASnapshotsReplay(t *testing.T) {
	for _, f := range []string{"../../scenarios/default.yaml", "../../scenarios/article-inference.yaml", "../../scenarios/cold-start-storm.yaml", "../../scenarios/step-burst.yaml"} {
		cfg := loadResolve(t, f, Options{Duration: time.Hour})
		var snaps []*sim.HPASnapshot
		cfg.Output.Snapshot = func(s *sim.HPASnapshot) { snaps = append(snaps, s) }
		res, err := sim.Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) == 0 {
			t.Fatalf("%s: no HPA snapshot", f)
		}
		rescales := 0
		for i, s := range snaps {
			d := hpa.Reconcile(&s.Input, s.State())
			if d.DesiredReplicas != s.Desired || d.Rescale != s.Rescale || d.RescaleReason != s.Reason {
				t.Fatalf("%s: snapshot %d at %s: replay gives %d %v %q, simulation %d %v %q", f, i, s.Input.Now,
					d.DesiredReplicas, d.Rescale, d.RescaleReason, s.Desired, s.Rescale, s.Reason)
			}
			if s.Rescale {
				rescales++
			}
		}
		hpaScales := 0
		for _, d := range res.Decisions {
			if d.By == "hpa" {
				hpaScales++
			}
		}
		if rescales != hpaScales {
			t.Errorf("%s: %d rescales in snapshots, %d HPA decisions in the result", f, rescales, hpaScales)
		}
		t.Logf("%s: %d reconciles replayed, %d rescales", filepath.Base(f), len(snaps), rescales)
	}
}

func TestStrictDecodingErrors(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: llm-inference}\n  traffic: {pattern: poisson, rate: 1, burst: 2}\n",
			"x.yaml:7:"},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: llm-inference}\n  traffic: {pattern: sine, rate: 1}\n",
			`x.yaml:7:22: spec.traffic.pattern: must be one of poisson, step, ramp, diurnal, mmpp, trace, got "sine"`},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: nope}\n  traffic: {pattern: poisson, rate: 1}\n",
			`x.yaml:6:22: spec.workload.preset: unknown preset "nope"`},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: llm-inference}\n  traffic:\n    pattern: step\n    points: [{at: 10m, rate: 1}, {at: 5m, rate: 2}]\n",
			"spec.traffic.points[1].at: points must be in increasing time order"},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: llm-inference}\n  traffic: {pattern: poisson, rate: 1}\n  serving: {routing: fastest}\n  metrics: {signals: {foo: bar}}\n",
			`spec.serving.routing: unknown routing "fastest"`},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: llm-inference}\n  traffic: {pattern: poisson, rate: 1}\n  metrics: {signals: {foo: bar}}\n",
			`spec.metrics.signals.foo: unknown signal "bar"`},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: llm-inference}\n  traffic: {pattern: poisson, rate: 1}\n  environment: {nodePools: [{name: a, gpusPerNode: 0}]}\n",
			"spec.environment.nodePools[0].gpusPerNode: must be at least 1"},
	}
	for _, c := range cases {
		_, err := Load("x.yaml", []byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want it to contain %q", err, c.want)
		}
	}
}

func TestUnknownMetricNeedsSignal(t *testing.T) {
	dir := t.TempDir()
	prof := `apiVersion: mlscale.dev/v1alpha1
kind: WorkloadProfile
metadata: {name: w}
spec:
  container: {image: x}
  resources: {requests: {cpu: "1"}}
  scaling:
    mode: hpa
    replicas: {min: 1, max: 4}
    metrics:
      pods: [{name: foo_bar, averageValue: "3"}]
`
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(prof), 0o644)
	scn := "apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 10m\n  workload: {profile: p.yaml}\n  traffic: {pattern: poisson, rate: 1}\n"
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(scn), 0o644)
	cfg := loadResolve(t, filepath.Join(dir, "s.yaml"), Options{})
	if _, err := sim.Run(cfg); err == nil || !strings.Contains(err.Error(), `cannot tell what Pods metric "foo_bar" measures`) {
		t.Fatalf("error %v", err)
	}
	scn += "  metrics: {signals: {foo_bar: inflight}}\n"
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(scn), 0o644)
	cfg = loadResolve(t, filepath.Join(dir, "s.yaml"), Options{})
	if _, err := sim.Run(cfg); err != nil {
		t.Fatal(err)
	}
}

func TestParseTraceFormats(t *testing.T) {
	llm := "# comment\nTIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.000000,100,20\n2023-11-16 18:15:47.500000,50,5\n"
	reqs, err := ParseTrace("t.csv", []byte(llm), "auto", 1)
	if err != nil || len(reqs) != 2 || reqs[1].At != 1500*time.Millisecond || reqs[1].InputTokens != 50 || reqs[1].OutputTokens != 5 {
		t.Fatalf("azure-llm: %+v %v", reqs, err)
	}
	ts := "0.5\n1.5,10,2\n3\n"
	reqs, err = ParseTrace("t.csv", []byte(ts), "", 1)
	if err != nil || len(reqs) != 3 || reqs[2].At != 2500*time.Millisecond || reqs[1].OutputTokens != 2 {
		t.Fatalf("timestamps: %+v %v", reqs, err)
	}
	fn := "HashOwner,HashApp,HashFunction,Trigger,1,2,3\na,b,c,http,2,0,1\nd,e,f,queue,1,3,0\n"
	reqs, err = ParseTrace("t.csv", []byte(fn), "", 1)
	if err != nil || len(reqs) != 7 {
		t.Fatalf("azure-functions: %d requests, %v", len(reqs), err)
	}
	perMinute := [3]int{}
	for _, r := range reqs {
		perMinute[r.At/time.Minute]++
	}
	if perMinute != [3]int{3, 3, 1} {
		t.Errorf("per-minute counts %v, want [3 3 1]", perMinute)
	}
	scaled := ScaleTrace(reqs, 0.5, 3, 1)
	if len(scaled) != 21 || scaled[len(scaled)-1].At != reqs[len(reqs)-1].At/2 {
		t.Errorf("scaled: %d requests, last at %v", len(scaled), scaled[len(scaled)-1].At)
	}
	if _, err := ParseTrace("t.csv", []byte("TIMESTAMP,ContextTokens\nyesterday,1\n"), "", 1); err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("bad timestamp: %v", err)
	}
}

// KEDA in the loop: the cold-start storm activates from zero on a poll
// after the traffic starts and, after the cooldown, scales back to zero.
func TestKEDAScaleFromAndToZero(t *testing.T) {
	cfg := loadResolve(t, "../../scenarios/cold-start-storm.yaml", Options{})
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ds := res.Decisions
	if len(ds) < 2 {
		t.Fatalf("decisions %+v", ds)
	}
	first, last := ds[0], ds[len(ds)-1]
	if first.By != "keda" || first.From != 0 || first.To != 1 || first.At < 300 || first.At > 300+15 {
		t.Errorf("first decision %+v, want KEDA 0 -> 1 within one 15 s poll of the traffic at 5m", first)
	}
	if last.By != "keda" || last.To != 0 {
		t.Errorf("last decision %+v, want KEDA scaling to zero", last)
	}
	if res.Summary.Replicas.Final != 0 {
		t.Errorf("final replicas %d", res.Summary.Replicas.Final)
	}
}

// Every KEDA poll of a simulation, replayed through keda.Compiled.Poll
// from its snapshot, takes the branch and scale the simulation took.
func TestKEDASnapshotsReplay(t *testing.T) {
	for _, f := range []string{"../../scenarios/cold-start-storm.yaml", "../../scenarios/rabbitmq-backlog.yaml", "../../scenarios/article-training.yaml"} {
		cfg := loadResolve(t, f, Options{Duration: 2 * time.Hour})
		var snaps []*sim.KEDASnapshot
		cfg.Output.KEDASnapshot = func(s *sim.KEDASnapshot) { snaps = append(snaps, s) }
		if _, err := sim.Run(cfg); err != nil {
			t.Fatal(err)
		}
		scales := 0
		for i, s := range snaps {
			st := s.State.Clone()
			var res keda.PollResult
			s.Compiled.Poll(s.Now, s.Target, s.Readings, &st, &res)
			if res.Branch != s.Branch || res.HasScaleTo != s.HasScaleTo || res.ScaleTo != s.ScaleTo {
				t.Fatalf("%s: poll %d at %s: replay %v %v %d, simulation %v %v %d", f, i, s.Now, res.Branch, res.HasScaleTo, res.ScaleTo, s.Branch, s.HasScaleTo, s.ScaleTo)
			}
			if s.HasScaleTo {
				scales++
			}
		}
		if len(snaps) == 0 || scales == 0 {
			t.Errorf("%s: %d polls, %d scales", f, len(snaps), scales)
		}
		t.Logf("%s: %d polls replayed, %d set replicas", filepath.Base(f), len(snaps), scales)
	}
}

func TestEmpiricalServiceTimes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "times.txt"), []byte("# observed\n2s\n2s\n4\n"), 0o644)
	scn := "apiVersion: mlscale.dev/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nspec:\n  duration: 1h\n  workload: {preset: llm-inference}\n  autoscaler: {kind: none, replicas: 4}\n  traffic: {pattern: poisson, rate: 1}\n  serving: {serviceTimesFile: times.txt, routing: shared-queue}\n"
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(scn), 0o644)
	cfg := loadResolve(t, filepath.Join(dir, "s.yaml"), Options{})
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// every service time is 2 s or 4 s; with 64 free slots nobody waits
	l := res.Summary.Latency
	if l.P50 < 1.99 || l.Max > 4.01 || l.Mean < 2.5 || l.Mean > 2.8 {
		t.Errorf("latency %+v, want 2 s and 4 s, mean about 8/3 s", l)
	}
	os.WriteFile(filepath.Join(dir, "times.txt"), []byte("2s\nsoon\n"), 0o644)
	l2, _ := LoadFile(filepath.Join(dir, "s.yaml"), nil)
	if _, err := l2.Resolve(Options{}); err == nil || !strings.Contains(err.Error(), `times.txt:2: "soon"`) {
		t.Errorf("bad line: %v", err)
	}
}

// The flapping scenario flaps, and a scale-down stabilisation window stops it.
func TestFlappingAndItsCure(t *testing.T) {
	cfg := loadResolve(t, "../../scenarios/flapping.yaml", Options{Duration: time.Hour})
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("../../scenarios/profiles/edge.yaml")
	cured := strings.Replace(string(data), "stabilizationWindowSeconds: 0", "stabilizationWindowSeconds: 300", 1)
	prof, err := profile.Load("edge-cured.yaml", []byte(cured))
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := loadResolve(t, "../../scenarios/flapping.yaml", Options{Duration: time.Hour, Profile: prof})
	res2, err := sim.Run(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("flaps without a window %d, with 300 s %d", res.Summary.Flaps, res2.Summary.Flaps)
	if res.Summary.Flaps < 20 || res2.Summary.Flaps > res.Summary.Flaps/10 {
		t.Errorf("flaps %d without a window, %d with one", res.Summary.Flaps, res2.Summary.Flaps)
	}
	if res2.Summary.Requests.Total != res.Summary.Requests.Total {
		t.Error("the two policies saw different arrivals")
	}
}

func TestInvocationTrace(t *testing.T) {
	inv := "app,func,end_timestamp,duration\na,f,10.5,0.5\na,g,12,3\nb,f,11,0.25\n"
	reqs, err := ParseTrace("t.csv", []byte(inv), "auto", 1)
	if err != nil || len(reqs) != 3 {
		t.Fatalf("%+v %v", reqs, err)
	}
	// arrivals 10, 10.75, 9 -> sorted from 9: 0, 1, 1.75 s; durations kept
	want := []sim.TraceRequest{{At: 0, Duration: 3 * time.Second}, {At: time.Second, Duration: 500 * time.Millisecond}, {At: 1750 * time.Millisecond, Duration: 250 * time.Millisecond}}
	for i := range want {
		if reqs[i] != want[i] {
			t.Errorf("request %d: %+v, want %+v", i, reqs[i], want[i])
		}
	}
	// the recorded durations are the service times
	cfg := mmcConfigForTrace(reqs)
	res, err := sim.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Summary.Latency; l.Max < 2.99 || l.Max > 3.01 || res.Summary.Requests.Completed != 3 {
		t.Errorf("latency %+v, completed %d", l, res.Summary.Requests.Completed)
	}
}

func mmcConfigForTrace(reqs []sim.TraceRequest) *sim.Config {
	return &sim.Config{
		Name: "trace", Start: Start, Duration: time.Minute, Seed: 1,
		Traffic:    sim.Traffic{Trace: reqs},
		Service:    sim.Service{Routing: sim.RouteSharedQueue, Concurrency: 4, Time: sim.Const(time.Hour)},
		Pod:        sim.PodModel{Deployment: "w", Labels: map[string]string{"app": "w"}},
		Metrics:    sim.MetricsPipeline{GaugeRefresh: 5 * time.Second, ScrapeInterval: 15 * time.Second, RateWindow: time.Minute, MetricsServerResolution: 15 * time.Second, HPASyncPeriod: 15 * time.Second},
		Autoscaler: sim.Autoscaler{Kind: sim.AutoscaleNone, Replicas: 1, WarmStart: true},
		SLO:        sim.SLO{Percentile: 99, Latency: time.Second, Goal: 0.99, Window: time.Minute},
	}
}
