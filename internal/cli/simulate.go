package cli

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/scenario"
	"github.com/mlscale/mlscale/internal/sim"
	"github.com/mlscale/mlscale/internal/sim/report"
	"github.com/mlscale/mlscale/scenarios"
)

func init() { register(newSimulateCmd) }

type simulateOptions struct {
	file         string
	profile      string
	manifests    string
	policies     []string
	seed         uint64
	seeds        int
	duration     time.Duration
	timeline     string
	timelineStep time.Duration
	plot         string
	report       string
	list         bool
	jobs         int
	hpaStates    string
}

func newSimulateCmd(opts *Options) *cobra.Command {
	var so simulateOptions
	cmd := &cobra.Command{
		Use:   "simulate [-f SCENARIO] [--policy PROFILE]... [--seeds N]",
		Short: "Simulate ML traffic, cold starts and the real HPA/KEDA decisions: latency, SLO, GPU-hours, cost",
		Long: `simulate runs a discrete-event simulation of a workload: request arrivals
(Poisson, steps, ramps, a diurnal day, on/off bursts or a replayed trace),
replicas with concurrency slots, pods that wait for a GPU node, pull the
image, load the model and pass their probes, the metrics pipeline (app
gauges, Prometheus scrapes, metrics-server) and the HPA and KEDA decision
engines called unchanged on the simulated pods, metrics and clock.

The HPA or ScaledObject simulated is exactly the one 'mlscale generate'
writes for the profile (or the one in --manifests). Without -f it runs the
bundled default scenario. It prints whether the policy meets its SLO and at
what cost; --policy runs several profiles on the same traffic and seeds side
by side, --seeds N repeats with N seeds and prints 95 % confidence intervals.
See docs/simulator.md for every modelling assumption.`,
		Example: `  mlscale simulate
  mlscale simulate -f scenarios/step-burst.yaml -o json
  mlscale simulate -f scenarios/flapping.yaml --seeds 5
  mlscale simulate -f scenarios/steady.yaml --policy a.yaml --policy b.yaml
  mlscale simulate -f scenarios/diurnal-day.yaml --plot day.svg --report day.html --timeline day.csv
  mlscale simulate --list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if so.list {
				return listScenarios(opts)
			}
			if !cmd.Flags().Changed("seed") {
				so.seed = 0
			}
			if so.profile != "" && len(so.policies) > 0 {
				return Usagef("use --profile or --policy, not both (--policy PROFILE runs one profile too)")
			}
			if so.seeds < 1 {
				return Usagef("--seeds must be at least 1")
			}
			return runSimulate(opts, &so)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&so.file, "file", "f", "", "scenario file, or the name of a bundled scenario (default: the bundled default)")
	f.StringVar(&so.profile, "profile", "", "workload profile to simulate instead of the scenario's (preset:NAME for a preset)")
	f.StringVar(&so.manifests, "manifests", "", "directory of rendered manifests: their Deployment and HPA or ScaledObject are simulated")
	f.StringArrayVar(&so.policies, "policy", nil, "a workload profile to compare, or preset:NAME (repeatable): each runs on the same traffic and seeds")
	f.Uint64Var(&so.seed, "seed", 0, "seed of the random streams (default: the scenario's)")
	f.IntVar(&so.seeds, "seeds", 1, "run N seeds (seed, seed+1, ...) and report confidence intervals")
	f.DurationVar(&so.duration, "duration", 0, "simulated duration (default: the scenario's)")
	f.StringVar(&so.timeline, "timeline", "", "write a per-step timeline CSV")
	f.DurationVar(&so.timelineStep, "timeline-step", time.Second, "timeline step")
	f.StringVar(&so.plot, "plot", "", "write plots (FILE.png or FILE.svg)")
	f.StringVar(&so.report, "report", "", "write a self-contained HTML report")
	f.BoolVar(&so.list, "list", false, "list the bundled scenarios")
	f.StringVar(&so.hpaStates, "hpa-states", "", "write every HPA reconcile that rescaled as an HPAState file into DIR (for 'mlscale hpa eval -f')")
	f.IntVar(&so.jobs, "jobs", 0, "runs in parallel (default: the number of CPUs)")
	return cmd
}

// bundled reads a scenario from the embedded set.
func bundled(name string) (string, []byte, bool) {
	n := strings.TrimSuffix(name, ".yaml") + ".yaml"
	data, err := fs.ReadFile(scenarios.FS, n)
	if err != nil {
		return "", nil, false
	}
	return "scenarios/" + n, data, true
}

func embeddedReader(name string) ([]byte, error) {
	p := path.Clean(name)
	if strings.HasPrefix(p, "../") {
		return nil, fmt.Errorf("%s is outside the bundled scenarios; run the scenario from a checkout (-f scenarios/...)", name)
	}
	return fs.ReadFile(scenarios.FS, p)
}

func listScenarios(opts *Options) error {
	entries, err := fs.Glob(scenarios.FS, "*.yaml")
	if err != nil {
		return err
	}
	tw := output.NewTable(opts.IO.Out)
	fmt.Fprintln(tw, "NAME\tDESCRIPTION")
	for _, e := range entries {
		data, _ := fs.ReadFile(scenarios.FS, e)
		l, err := scenario.Load(e, data)
		desc := ""
		if err != nil {
			desc = "invalid: " + err.Error()
		} else {
			desc = l.Metadata.Description
		}
		fmt.Fprintf(tw, "%s\t%s\n", strings.TrimSuffix(e, ".yaml"), desc)
	}
	return tw.Flush()
}

type simJob struct {
	policy, seed int
}

type policyRun struct {
	name    string
	profile *profile.Loaded
	results []*sim.Result
	states  []*sim.HPASnapshot // rescaling reconciles, with --hpa-states
}

// stateWriter keeps the snapshots of the reconciles that rescaled.
func stateWriter(p *policyRun) func(*sim.HPASnapshot) {
	return func(s *sim.HPASnapshot) {
		if s.Rescale {
			p.states = append(p.states, s)
		}
	}
}

func runSimulate(opts *Options, so *simulateOptions) error {
	format, err := opts.Format(output.Table, output.JSON, output.YAML)
	if err != nil {
		return err
	}
	for _, p := range []struct{ flag, file, ext string }{{"--plot", so.plot, ".png .svg"}, {"--report", so.report, ".html .htm"}, {"--timeline", so.timeline, ".csv"}} {
		if p.file != "" && !strings.Contains(p.ext+" ", strings.ToLower(filepath.Ext(p.file))+" ") {
			return Usagef("%s %s: the file must end in %s", p.flag, p.file, strings.ReplaceAll(p.ext, " ", " or "))
		}
	}

	// the scenario
	var (
		l    *scenario.Loaded
		read func(string) ([]byte, error)
	)
	switch {
	case so.file == "":
		name, data, _ := bundled(scenarios.Default)
		l, err = scenario.Load(name, data)
		read = embeddedReader
	case so.file == "-":
		l, err = scenario.LoadFile("-", opts.IO.In)
		read = scenario.FileReader(".")
	default:
		if _, serr := os.Stat(so.file); serr != nil {
			if name, data, ok := bundled(so.file); ok {
				l, err = scenario.Load(name, data)
				read = embeddedReader
				break
			}
			return serr
		}
		l, err = scenario.LoadFile(so.file, nil)
		read = scenario.FileReader(so.file)
	}
	if err != nil {
		return err
	}

	// the policies
	var pols []*policyRun
	files := so.policies
	if so.profile != "" {
		files = []string{so.profile}
	}
	for _, f := range files {
		var pl *profile.Loaded
		if name, ok := strings.CutPrefix(f, "preset:"); ok {
			src, err := profile.Preset(name)
			if err != nil {
				return Usagef("%v", err)
			}
			pl, err = profile.Load(f, src)
			if err != nil {
				return err
			}
		} else if pl, err = profile.LoadFile(f, opts.IO.In); err != nil {
			return err
		}
		pols = append(pols, &policyRun{name: pl.Metadata.Name, profile: pl})
	}
	if len(pols) == 0 {
		pl, err := l.LoadProfile(read)
		if err != nil {
			return err
		}
		pols = []*policyRun{{name: pl.Metadata.Name, profile: pl}}
	}
	seen := map[string]int{}
	for _, p := range pols {
		seen[p.name]++
		if seen[p.name] > 1 {
			p.name = fmt.Sprintf("%s-%d", p.name, seen[p.name])
		}
		for _, w := range p.profile.Warnings {
			fmt.Fprintln(opts.IO.ErrOut, "Warning: "+p.name+": "+w)
		}
	}
	base := uint64(scenario.DefaultSeed)
	if l.Spec.Seed != nil {
		base = *l.Spec.Seed
	}
	if so.seed != 0 {
		base = so.seed
	}
	wantTimeline := so.timeline != "" || so.plot != "" || so.report != ""

	// resolve every run first: errors surface before any work
	cfgs := make([][]*sim.Config, len(pols))
	var jobs []simJob
	for i, p := range pols {
		p.results = make([]*sim.Result, so.seeds)
		cfgs[i] = make([]*sim.Config, so.seeds)
		for k := 0; k < so.seeds; k++ {
			seed := base + uint64(k)
			o := scenario.Options{ReadFile: read, Profile: p.profile, Policy: p.name, Manifests: so.manifests, Seed: &seed, Duration: so.duration}
			if wantTimeline && k == 0 {
				o.TimelineStep = so.timelineStep
			}
			cfg, err := l.Resolve(o)
			if err != nil {
				return err
			}
			cfg.Output.Clock = opts.IO.Now
			if so.hpaStates != "" && k == 0 {
				cfg.Output.Snapshot = stateWriter(p)
			}
			cfgs[i][k] = cfg
			jobs = append(jobs, simJob{i, k})
		}
	}

	// run them on a bounded pool
	workers := so.jobs
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(jobs))
	prog := newProgress(opts, len(jobs))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan simJob)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				cfg := cfgs[j.policy][j.seed]
				cfg.Output.Progress = prog.update(j)
				res, err := sim.Run(cfg)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("%s, seed %d: %w", pols[j.policy].name, cfg.Seed, err)
				}
				pols[j.policy].results[j.seed] = res
				prog.done(j)
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	prog.finish()
	if first != nil {
		return first
	}

	if err := writeArtifacts(opts, so, l, pols); err != nil {
		return err
	}
	if len(pols) == 1 && so.seeds == 1 {
		res := pols[0].results[0]
		return output.Write(opts.IO.Out, format, res, func(w io.Writer) error {
			return report.WriteSummary(w, l.Metadata.Description, res)
		})
	}
	cmp := compare(l, pols)
	return output.Write(opts.IO.Out, format, cmp, func(w io.Writer) error { return report.WriteComparison(w, cmp) })
}

// outName puts the policy's name before the extension when there are several.
func outName(file, policy string, several bool) string {
	if !several {
		return file
	}
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + "-" + policy + ext
}

func writeArtifacts(opts *Options, so *simulateOptions, l *scenario.Loaded, pols []*policyRun) error {
	several := len(pols) > 1
	write := func(name string, f func(io.Writer) error) error {
		fh, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := f(fh); err != nil {
			fh.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := fh.Close(); err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.ErrOut, "wrote "+name)
		return nil
	}
	if so.hpaStates != "" {
		if err := os.MkdirAll(so.hpaStates, 0o755); err != nil {
			return err
		}
	}
	for _, p := range pols {
		res := p.results[0]
		for _, st := range p.states {
			name := filepath.Join(so.hpaStates, fmt.Sprintf("%s-%s-%dto%d.yaml", p.name, clockName(st.Input.Now.Sub(scenario.Start)), st.Input.Scale.SpecReplicas, st.Desired))
			doc, err := yaml.Marshal(report.HPAState(st))
			if err != nil {
				return err
			}
			if err := os.WriteFile(name, doc, 0o644); err != nil {
				return err
			}
		}
		if len(p.states) > 0 {
			fmt.Fprintf(opts.IO.ErrOut, "wrote %d HPAState files to %s (mlscale hpa eval -f FILE explains each)\n", len(p.states), so.hpaStates)
		}
		if so.timeline != "" {
			if err := write(outName(so.timeline, p.name, several), func(w io.Writer) error { return report.WriteTimelineCSV(w, res.Timeline) }); err != nil {
				return err
			}
		}
		if so.plot != "" {
			name := outName(so.plot, p.name, several)
			if err := write(name, func(w io.Writer) error { return report.WritePlot(w, res, filepath.Ext(name)) }); err != nil {
				return err
			}
		}
		if so.report != "" {
			if err := write(outName(so.report, p.name, several), func(w io.Writer) error {
				return report.WriteHTML(w, l.Metadata.Description, res)
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// compare sums up several policies and seeds.
func compare(l *scenario.Loaded, pols []*policyRun) *report.Comparison {
	c := &report.Comparison{Scenario: l.Metadata.Name, Description: l.Metadata.Description}
	for _, r := range pols[0].results {
		c.Seeds = append(c.Seeds, r.Scenario.Seed)
	}
	for _, p := range pols {
		c.Policies = append(c.Policies, report.Summarize(p.name, p.results))
	}
	return c
}

// clockName is d as HHhMMmSSs, sortable in a directory listing.
func clockName(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02dh%02dm%02ds", int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second))
}

// progress draws a progress line on a terminal.
type progress struct {
	opts  *Options
	on    bool
	n     int
	mu    sync.Mutex
	frac  map[simJob]float64
	last  time.Time
	total int
}

func newProgress(opts *Options, total int) *progress {
	return &progress{opts: opts, on: opts.IO.IsStderrTTY(), frac: map[simJob]float64{}, total: total}
}

func (p *progress) update(j simJob) func(float64) {
	if !p.on {
		return nil
	}
	return func(f float64) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.frac[j] = f
		p.draw()
	}
}

func (p *progress) done(j simJob) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frac[j] = 1
	p.draw()
}

func (p *progress) draw() {
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	sum := 0.0
	for _, f := range p.frac {
		sum += f
	}
	pct := sum / float64(p.total)
	w := 30
	bar := strings.Repeat("=", int(math.Round(pct*float64(w))))
	fmt.Fprintf(p.opts.IO.ErrOut, "\rsimulating [%-*s] %3.0f%%", w, bar, 100*pct)
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprint(p.opts.IO.ErrOut, "\r\033[K")
	}
}
