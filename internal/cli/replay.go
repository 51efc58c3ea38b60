package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/scenario"
	"github.com/mlscale/mlscale/internal/sim"
	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/tui"
)

func init() { register(newReplayCmd) }

type replayOptions struct {
	timeline string
	scenario string
	step     time.Duration
	seed     uint64
	duration time.Duration
	save     string
	once     bool
	at       time.Duration
	speed    float64
}

func newReplayCmd(opts *Options) *cobra.Command {
	var ro replayOptions
	cmd := &cobra.Command{
		Use:   "replay [RUN.json ...] [--timeline FILE.csv] [--scenario NAME|FILE [--save RUN.json]]",
		Short: "Replay a simulation in the watch TUI: play/pause, speed, step, jump to scaling events and SLO breaches",
		Long: `replay shows a simulation run with the same table and sparklines as
'mlscale watch', driven by the run's timeline instead of a cluster.

A run is either a file written by 'mlscale replay --save' (the simulate -o json
document with its timeline and the autoscaler's limits and targets), a plain
'mlscale simulate -o json' output together with the --timeline CSV the same
run wrote, or --scenario NAME|FILE to simulate here first (--save keeps it).
Several run files replay side by side on one clock.

Keys: space play/pause, + and - speed, right/left (or . and ,) step,
n/N next/previous scaling event, b next SLO breach, 0/$ start/end, enter
detail, / filter, ? help, q quit. --once (or a stdout that is not a
terminal) prints the table at --at (default: the end of the run).`,
		Example: `  mlscale replay --scenario step-burst
  mlscale replay --scenario flapping --save flapping.json && mlscale replay flapping.json
  mlscale simulate -f scenarios/steady.yaml -o json --timeline steady.csv > steady.json
  mlscale replay steady.json --timeline steady.csv
  mlscale replay flapping.json --once --at 10m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ro.scenario == "" && len(args) == 0 {
				return Usagef("give a run file (RUN.json) or --scenario NAME|FILE")
			}
			if ro.scenario != "" && len(args) > 0 {
				return Usagef("give run files or --scenario, not both")
			}
			if ro.timeline != "" && len(args) != 1 {
				return Usagef("--timeline goes with exactly one run file")
			}
			if ro.save != "" && ro.scenario == "" {
				return Usagef("--save keeps a run simulated with --scenario")
			}
			return runReplay(cmd.Context(), opts, &ro, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ro.timeline, "timeline", "", "timeline CSV of the run (mlscale simulate --timeline) when RUN.json has none")
	f.StringVar(&ro.scenario, "scenario", "", "simulate this scenario (file or bundled name) and replay it")
	f.DurationVar(&ro.step, "step", time.Second, "timeline step when simulating with --scenario")
	f.Uint64Var(&ro.seed, "seed", 0, "seed for --scenario (default: the scenario's)")
	f.DurationVar(&ro.duration, "duration", 0, "simulated duration for --scenario (default: the scenario's)")
	f.StringVar(&ro.save, "save", "", "write the simulated run (with its timeline) to this JSON file")
	f.BoolVar(&ro.once, "once", false, "print the table at --at and exit")
	f.DurationVar(&ro.at, "at", -1, "simulated time for --once (default: the end of the run)")
	f.Float64Var(&ro.speed, "speed", 10, "initial speed, simulated seconds per second")
	return cmd
}

func runReplay(ctx context.Context, opts *Options, ro *replayOptions, args []string) error {
	format, err := opts.Format(output.Table, output.JSON)
	if err != nil {
		return err
	}
	var (
		names []string
		docs  []*watch.RunDoc
	)
	if ro.scenario != "" {
		doc, err := simulateForReplay(opts, ro)
		if err != nil {
			return err
		}
		if ro.save != "" {
			fh, err := os.Create(ro.save)
			if err != nil {
				return err
			}
			if err := output.WriteJSON(fh, doc); err != nil {
				fh.Close()
				return err
			}
			if err := fh.Close(); err != nil {
				return err
			}
			fmt.Fprintln(opts.IO.ErrOut, "wrote "+ro.save)
		}
		names, docs = []string{doc.Scenario.Name}, []*watch.RunDoc{doc}
	} else {
		seen := map[string]int{}
		for _, a := range args {
			doc, err := watch.ReadRun(a, ro.timeline)
			if err != nil {
				return err
			}
			name := strings.TrimSuffix(filepath.Base(a), filepath.Ext(a))
			seen[name]++
			if seen[name] > 1 {
				name = fmt.Sprintf("%s-%d", name, seen[name])
			}
			names, docs = append(names, name), append(docs, doc)
		}
	}
	p := watch.NewPlayer(names, docs)
	for p.Speed() < ro.speed && p.Key("+") {
		if p.Speed() >= watch.Speeds[len(watch.Speeds)-1] {
			break
		}
	}
	for p.Speed() > ro.speed && p.Speed() > watch.Speeds[0] {
		p.Key("-")
	}
	if ro.once || !opts.IO.IsStdoutTTY() || format == output.JSON {
		if ro.at >= 0 {
			p.Key("0")
			for p.At()+1e-9 < ro.at.Seconds() && p.At() < p.Snapshot().Replay.Duration {
				p.Key(".")
			}
		} else {
			p.Key("$")
		}
		return printSnapshot(opts, format, p, p.Snapshot())
	}
	m := tui.New(tui.Options{Feed: p, Replay: p, ASCII: dumbTerminal(opts), Title: "mlscale replay"})
	return runTUI(ctx, opts, m)
}

// simulateForReplay runs a scenario with a timeline (the bundled ones by
// name, as simulate does).
func simulateForReplay(opts *Options, ro *replayOptions) (*watch.RunDoc, error) {
	var (
		l    *scenario.Loaded
		read func(string) ([]byte, error)
		err  error
	)
	if _, serr := os.Stat(ro.scenario); serr != nil {
		name, data, ok := bundled(ro.scenario)
		if !ok {
			return nil, fmt.Errorf("%s: no such file and no bundled scenario of that name (mlscale simulate --list)", ro.scenario)
		}
		l, err = scenario.Load(name, data)
		read = embeddedReader
	} else {
		l, err = scenario.LoadFile(ro.scenario, nil)
		read = scenario.FileReader(ro.scenario)
	}
	if err != nil {
		return nil, err
	}
	pl, err := l.LoadProfile(read)
	if err != nil {
		return nil, err
	}
	o := scenario.Options{ReadFile: read, Profile: pl, Policy: pl.Metadata.Name, TimelineStep: ro.step, Duration: ro.duration}
	if ro.seed != 0 {
		o.Seed = &ro.seed
	}
	cfg, err := l.Resolve(o)
	if err != nil {
		return nil, err
	}
	cfg.Output.Clock = opts.IO.Now
	res, err := sim.Run(cfg)
	if err != nil {
		return nil, err
	}
	return watch.NewRunDoc(res, cfg), nil
}
