package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/hpa/hpastate"
	"github.com/mlscale/mlscale/internal/scenario"
	"github.com/mlscale/mlscale/internal/sim"
	"github.com/mlscale/mlscale/internal/sim/report"
)

// Every HPA reconcile of a simulation, written as an HPAState file and read
// back by `mlscale hpa eval`'s decoder, gives the decision the simulation
// took.
func TestSimulateHPAStatesMatchHPAEval(t *testing.T) {
	for _, f := range []string{"../../scenarios/article-inference.yaml", "../../scenarios/step-burst.yaml", "../../scenarios/cold-start-storm.yaml", "../../scenarios/article-hybrid.yaml"} {
		l, err := scenario.LoadFile(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := l.Resolve(scenario.Options{Duration: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var snaps []*sim.HPASnapshot
		cfg.Output.Snapshot = func(s *sim.HPASnapshot) { snaps = append(snaps, s) }
		if _, err := sim.Run(cfg); err != nil {
			t.Fatal(err)
		}
		rescales := 0
		for i, s := range snaps {
			doc, err := yaml.Marshal(report.HPAState(s))
			if err != nil {
				t.Fatal(err)
			}
			snap, err := hpastate.Decode("state.yaml", doc)
			if err != nil {
				t.Fatalf("%s: reconcile %d: %v\n%s", f, i, err, doc)
			}
			d := snap.Run().Decision()
			if d.DesiredReplicas != s.Desired || d.Rescale != s.Rescale || d.RescaleReason != s.Reason {
				t.Fatalf("%s: reconcile %d at %s: hpa eval gives %d %v %q, the simulation %d %v %q\n%s", f, i, s.Input.Now,
					d.DesiredReplicas, d.Rescale, d.RescaleReason, s.Desired, s.Rescale, s.Reason, doc)
			}
			if s.Rescale {
				rescales++
			}
		}
		if rescales == 0 {
			t.Errorf("%s: no rescale to compare", f)
		}
		t.Logf("%s: %d reconciles through hpa eval, %d rescales", f, len(snaps), rescales)
	}
}

func TestSimulateWritesHPAStates(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := run(t, "simulate", "-f", "../../scenarios/step-burst.yaml", "--duration", "40m", "--hpa-states", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 || !strings.Contains(errOut, "HPAState files") {
		t.Fatalf("no HPAState written: %v %s", files, errOut)
	}
	// each one is a valid hpa eval input whose decision is the rescale its name says
	for _, f := range files {
		code, out, errOut := run(t, "hpa", "eval", "-f", f)
		base := strings.TrimSuffix(filepath.Base(f), ".yaml")
		to := base[strings.LastIndex(base, "to")+2:]
		if code != 0 || !strings.Contains(out, "-> "+to+" (") {
			t.Errorf("%s: exit %d %s\n%s", f, code, errOut, out)
		}
	}
}
