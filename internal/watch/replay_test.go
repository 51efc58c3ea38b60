package watch_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlscale/mlscale/internal/sim"
	"github.com/mlscale/mlscale/internal/watch"
)

// synthetic run: 10 steps of 10 s, a scale-up at 30 s, an SLO breach
// from 50 s to 70 s.
func testRun() *sim.Result {
	tl := &sim.Timeline{Columns: []string{"t", "arrivalRate", "throughput", "queue", "inflight", "specReplicas", "readyReplicas", "pods", "nodes", "hpaDesired", "latencyP50", "latencyP99", "hpa:cpu"}}
	for i := range 10 {
		rep := 2.0
		if i >= 3 {
			rep = 4
		}
		p99 := 0.2
		if i == 0 {
			p99 = math.NaN()
		}
		tl.Rows = append(tl.Rows, []float64{float64(i * 10), 50, 49, 3, 8, rep, rep, rep, 1, rep, 0.1, p99, 40 + float64(i)*5})
	}
	return &sim.Result{
		Scenario:   sim.RunInfo{Name: "t", Policy: "web", Autoscaler: "hpa", Duration: "1m30s", Seed: 1},
		Decisions:  []sim.Decision{{At: 30, Time: "00:00:30", From: 2, To: 4, By: "hpa", Reason: "cpu resource utilization (percentage of request) above target"}},
		Recoveries: []sim.Recovery{{Start: 50, StartTime: "00:00:50", Seconds: 20, Recovered: true}},
		Timeline:   tl,
	}
}

func TestPlayerSnapshotAndJumps(t *testing.T) {
	doc := watch.NewRunDoc(testRun(), nil)
	p := watch.NewPlayer([]string{"t"}, []*watch.RunDoc{doc})
	s := p.Snapshot()
	if len(s.Rows) != 1 || s.Replay == nil || s.Replay.Step != 1 || s.Replay.Steps != 10 {
		t.Fatalf("snapshot = %+v", s)
	}
	r := s.Rows[0]
	if r.Current != 2 || r.Kind != watch.KindHPA || r.Metrics[0].Current != "40" || len(r.ReplicaHistory) != 1 {
		t.Errorf("row at 0 = %+v", r)
	}
	p.Key("n")
	if p.At() != 30 || !strings.Contains(p.Snapshot().Replay.Note, "scaling event at 0:00:30") {
		t.Errorf("n -> %v %q", p.At(), p.Snapshot().Replay.Note)
	}
	if r := p.Snapshot().Rows[0]; r.Current != 4 || len(r.Events) != 1 || len(r.ReplicaHistory) != 4 {
		t.Errorf("after the decision: %+v", r)
	}
	p.Key("n")
	if p.At() != 30 || !strings.Contains(p.Snapshot().Replay.Note, "no scaling event after") {
		t.Errorf("no further decision: %v %q", p.At(), p.Snapshot().Replay.Note)
	}
	p.Key("b")
	if s := p.Snapshot(); p.At() != 50 || !s.Replay.SLOBreach || s.Rows[0].Health != "Breach" {
		t.Errorf("b -> %v breach=%v health=%s", p.At(), s.Replay.SLOBreach, s.Rows[0].Health)
	}
	p.Key("N")
	if p.At() != 30 {
		t.Errorf("N -> %v", p.At())
	}
	p.Key(".")
	p.Key(".")
	p.Key(",")
	if p.At() != 40 {
		t.Errorf("step: %v", p.At())
	}
	p.Key("$")
	if p.At() != 90 || p.Snapshot().Rows[0].Health != "OK" {
		t.Errorf("end: %v", p.At())
	}
	text, err := p.Explain(p.Snapshot().Rows[0].Key())
	if err != nil || !strings.Contains(text, "00:00:30  2 -> 4  hpa: cpu resource utilization") {
		t.Errorf("explain: %v\n%s", err, text)
	}
}

func TestPlayerPlaysAtSpeed(t *testing.T) {
	p := watch.NewPlayer([]string{"t"}, []*watch.RunDoc{watch.NewRunDoc(testRun(), nil)})
	if p.Advance(time.Second) {
		t.Error("advanced while paused")
	}
	p.Key("space")
	p.Advance(time.Second) // speed 10: 10 s
	if p.At() != 10 {
		t.Errorf("at %v", p.At())
	}
	p.Key("+")
	if p.Speed() != 30 {
		t.Errorf("speed %v", p.Speed())
	}
	p.Key("-")
	p.Key("-")
	if p.Speed() != 5 {
		t.Errorf("speed %v", p.Speed())
	}
	p.Advance(time.Minute)
	if p.At() != 90 || p.Playing() {
		t.Errorf("did not stop at the end: %v %v", p.At(), p.Playing())
	}
	p.Key("space") // replays from the start
	if !p.Playing() || p.At() != 0 {
		t.Errorf("restart: %v %v", p.Playing(), p.At())
	}
}

func TestReadRunWithTimelineCSV(t *testing.T) {
	dir := t.TempDir()
	res := testRun()
	js := filepath.Join(dir, "run.json")
	f, _ := os.Create(js)
	// what `simulate -o json` writes: no timeline key
	if err := writeJSON(f, res); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := watch.ReadRun(js, ""); err == nil || !strings.Contains(err.Error(), "--timeline") {
		t.Errorf("no timeline: err = %v", err)
	}
	csv := filepath.Join(dir, "tl.csv")
	var b strings.Builder
	b.WriteString(strings.Join(res.Timeline.Columns, ",") + "\n")
	for _, r := range res.Timeline.Rows {
		var cells []string
		for _, v := range r {
			if math.IsNaN(v) {
				cells = append(cells, "")
			} else {
				cells = append(cells, strings.TrimRight(strings.TrimRight(strconvF(v), "0"), "."))
			}
		}
		b.WriteString(strings.Join(cells, ",") + "\n")
	}
	os.WriteFile(csv, []byte(b.String()), 0o644)
	doc, err := watch.ReadRun(js, csv)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Timeline.Rows) != 10 || doc.Timeline.Rows[0][11] != nil || *doc.Timeline.Rows[9][5] != 4 {
		t.Errorf("timeline = %+v", doc.Timeline.Rows[0])
	}
	if _, err := watch.ReadRun(csv, ""); err == nil {
		t.Error("a CSV read as a run")
	}
}
