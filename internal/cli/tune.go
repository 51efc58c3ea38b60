package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/generate"
	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/scenario"
	"github.com/mlscale/mlscale/internal/tune"
	"github.com/mlscale/mlscale/templates"
)

func init() { register(newTuneCmd) }

type tuneOptions struct {
	file       string
	scenarios  []string
	spec       string
	seed       uint64
	candidates int
	seeds      int
	refine     int
	jobs       int
	maxFlaps   int
	maxLatency time.Duration
	goal       float64
	outDir     string
	report     string

	shard            string
	results          string
	resultsConfigMap string
	fromConfigMaps   string
	backend          string
	parallelism      int
	apply            bool
	image            string
	name             string
	namespace        string
	kubeconfig       string
}

func newTuneCmd(opts *Options) *cobra.Command {
	var to tuneOptions
	cmd := &cobra.Command{
		Use:   "tune -f PROFILE --scenario S [--scenario S2 ...]",
		Short: "Find the cheapest autoscaling policy that meets the SLO in the simulator",
		Long: `tune searches the profile's autoscaling knobs (HPA: replicas, metric targets,
scale-up/down windows and policies; KEDA: pollingInterval, cooldownPeriod,
trigger thresholds, replicas; or the parameters of a kind: TuneSpec file)
for the cheapest policy that meets the objective in every scenario: the SLO
windows' goal, no dropped requests, at most --max-flaps flaps, and
optionally a latency bound. Every candidate runs on the same random streams;
short simulations discard the poor ones, the survivors run in full, the
continuous knobs are refined (Nelder-Mead), the finalists are re-run on
several seeds with 95 % confidence intervals. The result is deterministic
for --seed.

The recommended profile goes to stdout (-o json: the whole result); the
finalists, the Pareto front of cost vs latency and the margin (the traffic
multiplier the winner still absorbs) go to stderr. --out-dir writes the
winner's manifests, --report an HTML report.

--shard i/N runs shard i of the first round and writes its simulations
(--results FILE, or --results-configmap NAME); 'mlscale tune merge' combines
the shards and finishes the search, with the same result as one process.
--backend kubernetes --parallelism N renders (--apply: creates) an Indexed
Job whose pods run the shards. See docs/tune.md.`,
		Example: `  mlscale tune -f examples/article/ml-inference-service.yaml --scenario tune-article-burst > tuned.yaml
  mlscale tune -f profile.yaml --scenario a.yaml --scenario b.yaml -o json --report tune.html --out-dir tuned/
  mlscale tune -f profile.yaml --scenario a.yaml --shard 0/4 --results shard-0.json
  mlscale tune merge -f profile.yaml --scenario a.yaml shard-*.json
  mlscale tune -f profile.yaml --scenario a.yaml --backend kubernetes --parallelism 8 --apply`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTune(cmd.Context(), opts, &to, nil) },
	}
	addTuneFlags(cmd, &to)
	f := cmd.Flags()
	f.StringVar(&to.shard, "shard", "", "run shard i/N of the first round and write its simulations")
	f.StringVar(&to.results, "results", "", "with --shard: write the shard's results to FILE (default stdout)")
	f.StringVar(&to.resultsConfigMap, "results-configmap", "", "with --shard: write the shard's results to this ConfigMap")
	f.StringVar(&to.backend, "backend", "local", "local, or kubernetes: render an Indexed Job that runs the shards")
	f.IntVar(&to.parallelism, "parallelism", 4, "with --backend kubernetes: the number of shards (pods)")
	f.BoolVar(&to.apply, "apply", false, "with --backend kubernetes: create the Job and its inputs instead of printing them")
	f.StringVar(&to.image, "image", "ghcr.io/mlscale/mlscale:latest", "with --backend kubernetes: the mlscale image")
	f.StringVar(&to.name, "name", "mlscale-tune", "with --backend kubernetes: the Job's name (shard ConfigMaps are NAME-shard-i)")

	merge := &cobra.Command{
		Use:   "merge -f PROFILE --scenario S [...] (SHARD.json... | --from-configmaps NAME)",
		Short: "Combine the shards of a tune run and finish the search",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && to.fromConfigMaps == "" {
				return Usagef("give the shard files or --from-configmaps NAME")
			}
			var files []*tune.ShardFile
			for _, a := range args {
				data, err := os.ReadFile(a)
				if err != nil {
					return err
				}
				var sf tune.ShardFile
				if err := json.Unmarshal(data, &sf); err != nil {
					return fmt.Errorf("%s: %w", a, err)
				}
				files = append(files, &sf)
			}
			if to.fromConfigMaps != "" {
				cs, ns, err := tuneClient(opts, &to)
				if err != nil {
					return err
				}
				fs, err := tune.ReadShardConfigMaps(cmd.Context(), cs, ns, to.fromConfigMaps)
				if err != nil {
					return err
				}
				files = append(files, fs...)
			}
			return runTune(cmd.Context(), opts, &to, files)
		},
	}
	addTuneFlags(merge, &to)
	merge.Flags().StringVar(&to.fromConfigMaps, "from-configmaps", "", "read the shards from the ConfigMaps NAME-shard-i")
	cmd.AddCommand(merge)
	return cmd
}

func addTuneFlags(cmd *cobra.Command, to *tuneOptions) {
	f := cmd.Flags()
	f.StringVarP(&to.file, "file", "f", "", "the workload profile to tune (preset:NAME for a preset)")
	f.StringArrayVar(&to.scenarios, "scenario", nil, "a scenario file or bundled scenario name (repeatable; the objective must hold in each)")
	f.StringVar(&to.spec, "spec", "", "a kind: TuneSpec file: parameters, objective and search options")
	f.Uint64Var(&to.seed, "seed", 1, "seed of the search (sampling); the scenarios keep their own seeds")
	f.IntVar(&to.candidates, "candidates", 0, "candidates sampled at first (default 40)")
	f.IntVar(&to.seeds, "seeds", 0, "seeds the finalists are re-run on (default 3)")
	f.IntVar(&to.refine, "refine", 0, "most candidates of the local refinement (default 24, -1: none)")
	f.IntVar(&to.jobs, "jobs", 0, "simulations in parallel (default: the number of CPUs)")
	f.IntVar(&to.maxFlaps, "max-flaps", 2, "most flaps allowed per scenario (-1: any)")
	f.DurationVar(&to.maxLatency, "max-latency", 0, "also bound the latency at the SLO percentile over each whole run")
	f.Float64Var(&to.goal, "goal", 0, "share of SLO windows that must meet the SLO (default: the scenario's goal)")
	f.StringVar(&to.outDir, "out-dir", "", "write the winner's manifests (as 'mlscale generate --out-dir') to DIR")
	f.StringVar(&to.report, "report", "", "write an HTML report (cost vs p99, timelines of the winner and the start)")
	f.StringVarP(&to.namespace, "namespace", "n", "", "namespace of the Job and ConfigMaps (default: the kubeconfig's)")
	f.StringVar(&to.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config; in-cluster config when none)")
}

// tuneInputs is everything a tune run reads.
type tuneInputs struct {
	profileName string
	profileSrc  []byte
	scenarioSrc [][]byte
	scenarioArg []string
	specSrc     []byte
	problem     *tune.ProfileProblem
	pr          *tune.Problem
	opt         tune.Options
	fingerprint string
}

func loadTuneInputs(opts *Options, to *tuneOptions) (*tuneInputs, error) {
	if to.file == "" {
		return nil, Usagef("-f PROFILE is required")
	}
	if len(to.scenarios) == 0 {
		return nil, Usagef("--scenario is required (a file or a bundled scenario; 'mlscale simulate --list')")
	}
	in := &tuneInputs{}
	if name, ok := strings.CutPrefix(to.file, "preset:"); ok {
		src, err := profile.Preset(name)
		if err != nil {
			return nil, Usagef("%v", err)
		}
		in.profileName, in.profileSrc = to.file, src
	} else {
		src, err := os.ReadFile(to.file)
		if err != nil {
			return nil, err
		}
		in.profileName, in.profileSrc = to.file, src
	}
	base, err := profile.Load(in.profileName, in.profileSrc)
	if err != nil {
		return nil, err
	}
	var scs []tune.Scenario
	for _, s := range to.scenarios {
		var (
			l    *scenario.Loaded
			read func(string) ([]byte, error)
			data []byte
		)
		if _, serr := os.Stat(s); serr != nil {
			name, d, ok := bundled(s)
			if !ok {
				return nil, serr
			}
			data = d
			if l, err = scenario.Load(name, d); err != nil {
				return nil, err
			}
			read = embeddedReader
		} else {
			if data, err = os.ReadFile(s); err != nil {
				return nil, err
			}
			if l, err = scenario.Load(s, data); err != nil {
				return nil, err
			}
			read = scenario.FileReader(s)
		}
		scs = append(scs, tune.Scenario{Loaded: l, Read: read})
		in.scenarioSrc = append(in.scenarioSrc, data)
		in.scenarioArg = append(in.scenarioArg, s)
	}
	var spec *tune.TuneSpec
	space, err := tune.DefaultSpace(in.profileSrc)
	if err != nil {
		return nil, err
	}
	if to.spec != "" {
		if in.specSrc, err = os.ReadFile(to.spec); err != nil {
			return nil, err
		}
		if spec, err = tune.LoadSpec(to.spec, in.specSrc); err != nil {
			return nil, err
		}
		if len(spec.Spec.Parameters) > 0 {
			space = spec.Spec.Parameters
		}
	}
	pp, err := tune.NewProfileProblem(in.profileName, in.profileSrc, space, scs)
	if err != nil {
		return nil, err
	}
	// the objective: the scenarios' SLO goal unless told otherwise
	cfg0, err := scs[0].Loaded.Resolve(scenario.Options{ReadFile: scs[0].Read, Profile: base})
	if err != nil {
		return nil, err
	}
	ob := tune.Objective{Goal: cfg0.SLO.Goal, MaxFlaps: to.maxFlaps, MaxLatency: to.maxLatency.Seconds()}
	if to.goal > 0 {
		ob.Goal = to.goal
	}
	o := tune.Options{Seed: to.seed, Candidates: to.candidates, Seeds: to.seeds, Refine: to.refine, Workers: to.jobs}
	if spec != nil {
		spec.Apply(&ob, &o)
	}
	in.problem = pp
	in.pr = &tune.Problem{Space: space, Start: pp.Start(), Scenarios: len(scs), Objective: ob, Evaluate: pp.Evaluate}
	in.opt = o
	inputs := append([][]byte{in.profileSrc, in.specSrc}, in.scenarioSrc...)
	in.fingerprint = tune.Fingerprint(space, ob, o, inputs...)
	return in, nil
}

func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, Usagef("--shard %q: want i/N with 0 <= i < N", s)
	}
	return i, n, nil
}

func runTune(ctx context.Context, opts *Options, to *tuneOptions, shards []*tune.ShardFile) error {
	format, err := opts.Format(output.Table, output.JSON, output.YAML)
	if err != nil {
		return err
	}
	if to.report != "" && !strings.HasSuffix(strings.ToLower(to.report), ".html") {
		return Usagef("--report %s: the file must end in .html", to.report)
	}
	in, err := loadTuneInputs(opts, to)
	if err != nil {
		return err
	}
	switch to.backend {
	case "local":
	case "kubernetes":
		return tuneKubernetes(ctx, opts, to, in)
	default:
		return Usagef("--backend %q: local or kubernetes", to.backend)
	}
	if to.shard != "" {
		i, n, err := parseShard(to.shard)
		if err != nil {
			return err
		}
		c, err := tune.Shard(in.pr, in.opt, i, n)
		if err != nil {
			return err
		}
		sf := &tune.ShardFile{APIVersion: "mlscale.dev/v1alpha1", Kind: "TuneShard", Fingerprint: in.fingerprint, Shard: i, Shards: n, Simulations: c}
		if to.resultsConfigMap != "" {
			cs, ns, err := tuneClient(opts, to)
			if err != nil {
				return err
			}
			run := strings.TrimSuffix(to.resultsConfigMap, fmt.Sprintf("-shard-%d", i))
			if err := tune.WriteShardConfigMap(ctx, cs, ns, to.resultsConfigMap, run, sf); err != nil {
				return err
			}
			fmt.Fprintf(opts.IO.ErrOut, "shard %d/%d: %d simulations written to ConfigMap %s/%s\n", i, n, len(c), ns, to.resultsConfigMap)
			return nil
		}
		js, err := json.MarshalIndent(sf, "", "  ")
		if err != nil {
			return err
		}
		js = append(js, '\n')
		if to.results == "" {
			_, err = opts.IO.Out.Write(js)
			return err
		}
		if err := os.WriteFile(to.results, js, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "shard %d/%d: %d simulations written to %s\n", i, n, len(c), to.results)
		return nil
	}
	var cache tune.Cache
	if shards != nil {
		if cache, err = tune.Merge(shards, in.fingerprint); err != nil {
			return err
		}
	}
	o := in.opt
	started := opts.IO.Now()
	var ran int
	var mu sync.Mutex
	tty := opts.IO.IsStderrTTY()
	var last time.Time
	o.Progress = func(done, total int, best string) {
		mu.Lock()
		defer mu.Unlock()
		ran = done
		if !tty || time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		const w = 24
		bar := strings.Repeat("=", min(w, w*done/max(total, 1)))
		fmt.Fprintf(opts.IO.ErrOut, "\r\033[Ktuning [%-*s] %d/~%d simulations  %s", w, bar, done, total, best)
	}
	res, err := tune.Search(in.pr, o, cache)
	if tty {
		fmt.Fprint(opts.IO.ErrOut, "\r\033[K")
	}
	if err != nil {
		return err
	}
	wall := opts.IO.Now().Sub(started)
	var doc []byte
	if res.Winner != nil {
		if doc, err = in.problem.Document(res.Winner.Point); err != nil {
			return err
		}
	}
	if to.outDir != "" && res.Winner != nil {
		if err := writeTunedManifests(opts, in, res, to.outDir); err != nil {
			return err
		}
	}
	if to.report != "" {
		if err := writeTuneReport(opts, in, res, to.report); err != nil {
			return err
		}
	}
	if ran > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%d simulations run in %s (%s per simulation on %d workers), %d distinct in the result\n",
			ran, wall.Round(time.Millisecond), (wall / time.Duration(ran)).Round(time.Microsecond), workersOf(o), res.Simulations)
	}
	switch format {
	case output.JSON, output.YAML:
		out := struct {
			*tune.Result
			Profile string `json:"profile,omitempty"`
		}{res, string(doc)}
		if err := output.Write(opts.IO.Out, format, out, nil); err != nil {
			return err
		}
	default:
		if err := writeTuneSummary(opts.IO.ErrOut, res); err != nil {
			return err
		}
		if doc != nil {
			if _, err := opts.IO.Out.Write(doc); err != nil {
				return err
			}
		}
	}
	if res.Winner == nil {
		return fmt.Errorf("no candidate meets the objective in every scenario and seed; the Pareto front above shows the trade-off")
	}
	return nil
}

func workersOf(o tune.Options) int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtimeProcs()
}

func settingsString(c *tune.Candidate) string {
	var parts []string
	for _, s := range c.Settings {
		p := s.Path
		p = strings.TrimPrefix(p, "spec.scaling.")
		parts = append(parts, p+"="+s.Value)
	}
	return strings.Join(parts, " ")
}

func writeTuneSummary(w io.Writer, res *tune.Result) error {
	verdict := func(c *tune.Candidate) string {
		if c.Feasible {
			return "meets"
		}
		return "misses"
	}
	ci := func(iv *tune.Interval, f string) string {
		if iv == nil {
			return ""
		}
		return fmt.Sprintf(" ["+f+", "+f+"]", iv.Lo, iv.Hi)
	}
	s := &res.Start
	fmt.Fprintf(w, "start   %s the objective: cost $%.2f%s, worst p-latency %.3gs, SLO windows %.2f%%, %d flaps (%d seeds)\n",
		verdict(s), s.Cost, ci(s.CostCI, "$%.2f"), s.Latency, 100*s.Attainment, s.Flaps, s.Seeds)
	if c := res.Winner; c != nil {
		fmt.Fprintf(w, "winner  meets the objective: cost $%.2f%s, worst p-latency %.3gs, SLO windows %.2f%%, %d flaps (%d seeds)\n",
			c.Cost, ci(c.CostCI, "$%.2f"), c.Latency, 100*c.Attainment, c.Flaps, c.Seeds)
		if s.Cost > 0 {
			fmt.Fprintf(w, "        %+.1f%% cost vs the start\n", 100*(c.Cost/s.Cost-1))
		}
		fmt.Fprintf(w, "        %s\n", settingsString(c))
	} else {
		fmt.Fprintln(w, "winner  none: no candidate meets the objective on every scenario and seed")
	}
	if m := res.Margin; m != nil {
		if m.Breaks == 0 {
			fmt.Fprintf(w, "margin  the winner meets the objective at %.2f× the traffic (the most tried)\n", m.Multiplier)
		} else {
			fmt.Fprintf(w, "margin  the winner meets the objective up to %.3g× the traffic (breaks at %.3g×)\n", m.Multiplier, m.Breaks)
		}
	}
	if res.Invalid > 0 {
		fmt.Fprintf(w, "invalid %d candidates make profiles that do not validate, e.g. %s\n", res.Invalid, res.InvalidReason)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "finalists (re-run on every seed):")
	tw := output.NewTable(w)
	fmt.Fprintln(tw, "COST\tCOST 95% CI\tP-LATENCY\tSLO WINDOWS\tFLAPS\tOBJECTIVE\tSETTINGS")
	for i := range res.Finalists {
		c := &res.Finalists[i]
		fmt.Fprintf(tw, "$%.2f\t%s\t%.3gs\t%.2f%%\t%d\t%s\t%s\n", c.Cost, strings.TrimSpace(ci(c.CostCI, "$%.2f")), c.Latency, 100*c.Attainment, c.Flaps, verdict(c), settingsString(c))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Pareto front of cost vs latency (%d of %d candidates simulated in full, seed 0):\n", len(res.Pareto), res.Evaluated)
	tw = output.NewTable(w)
	fmt.Fprintln(tw, "COST\tP-LATENCY\tSLO WINDOWS\tFLAPS\tOBJECTIVE\tSETTINGS")
	for i := range res.Pareto {
		c := &res.Pareto[i]
		fmt.Fprintf(tw, "$%.2f\t%.3gs\t%.2f%%\t%d\t%s\t%s\n", c.Cost, c.Latency, 100*c.Attainment, c.Flaps, verdict(c), settingsString(c))
	}
	return tw.Flush()
}

func writeTunedManifests(opts *Options, in *tuneInputs, res *tune.Result, dir string) error {
	prof, err := in.problem.Profile(res.Winner.Point)
	if err != nil {
		return err
	}
	r, err := generate.NewRenderer(templates.FS)
	if err != nil {
		return err
	}
	rendered, err := r.Render(prof)
	if err != nil {
		return err
	}
	files, err := generate.WriteDir(dir, rendered)
	if err != nil {
		return err
	}
	doc, err := in.problem.Document(res.Winner.Point)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "profile.yaml"), doc, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %d manifests and profile.yaml to %s\n", len(files), dir)
	return nil
}

// tuneClient builds a clientset and the namespace (kubeconfig or in-cluster).
func tuneClient(opts *Options, to *tuneOptions) (kubernetes.Interface, string, error) {
	cfg, ns, err := tuneRESTConfig(opts, to)
	if err != nil {
		return nil, "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	return cs, ns, err
}

func tuneRESTConfig(opts *Options, to *tuneOptions) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if to.kubeconfig != "" {
		rules.ExplicitPath = to.kubeconfig
	} else if opts.IO.Getenv != nil {
		if v := opts.IO.Getenv("KUBECONFIG"); v != "" {
			rules.Precedence = filepath.SplitList(v)
		}
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", err
	}
	ns := to.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	return cfg, ns, nil
}

// tuneKubernetes renders (or creates) the Indexed Job of the first round.
func tuneKubernetes(ctx context.Context, opts *Options, to *tuneOptions, in *tuneInputs) error {
	if to.parallelism < 1 {
		return Usagef("--parallelism must be at least 1")
	}
	ns := to.namespace
	var restCfg *rest.Config
	if to.apply {
		var err error
		if restCfg, ns, err = tuneRESTConfig(opts, to); err != nil {
			return err
		}
	}
	if ns == "" {
		ns = "default"
	}
	for _, s := range in.problem.Scenarios {
		sp := s.Loaded.Spec
		if sp.Traffic.Trace != nil || (sp.Serving != nil && sp.Serving.ServiceTimesFile != "") {
			return fmt.Errorf("scenario %s reads files beside it (a trace or service times): the kubernetes backend ships only the scenario and the profile", s.Loaded.Metadata.Name)
		}
	}
	inputs := map[string]string{"profile.yaml": string(in.profileSrc)}
	args := []string{"-f", "/inputs/profile.yaml"}
	for i, a := range in.scenarioArg {
		k := tune.InputName(i, "scenario", a)
		if !strings.HasSuffix(k, ".yaml") {
			k += ".yaml"
		}
		inputs[k] = string(in.scenarioSrc[i])
		args = append(args, "--scenario", "/inputs/"+k)
	}
	if in.specSrc != nil {
		inputs["spec.yaml"] = string(in.specSrc)
		args = append(args, "--spec", "/inputs/spec.yaml")
	}
	args = append(args, "--seed", strconv.FormatUint(to.seed, 10), "--max-flaps", strconv.Itoa(to.maxFlaps))
	for _, f := range []struct {
		name string
		v    int
	}{{"--candidates", to.candidates}, {"--seeds", to.seeds}, {"--refine", to.refine}} {
		if f.v != 0 {
			args = append(args, f.name, strconv.Itoa(f.v))
		}
	}
	if to.maxLatency > 0 {
		args = append(args, "--max-latency", to.maxLatency.String())
	}
	if to.goal > 0 {
		args = append(args, "--goal", strconv.FormatFloat(to.goal, 'g', -1, 64))
	}
	objs := tune.RenderJob(tune.JobOptions{Name: to.name, Namespace: ns, Image: to.image, Parallelism: to.parallelism, Inputs: inputs, Args: args})
	if !to.apply {
		for i, o := range objs {
			if i > 0 {
				fmt.Fprintln(opts.IO.Out, "---")
			}
			b, err := yaml.Marshal(o)
			if err != nil {
				return err
			}
			opts.IO.Out.Write(b)
		}
		fmt.Fprintf(opts.IO.ErrOut, "then: mlscale tune merge %s --from-configmaps %s -n %s\n", mergeArgs(to), to.name, ns)
		return nil
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(restCfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	for _, o := range objs {
		u, err := toUnstructured(o)
		if err != nil {
			return err
		}
		m, err := mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
		if err != nil {
			return err
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(ns)
		}
		if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s/%s created\n", strings.ToLower(u.GetKind()), u.GetName())
	}
	fmt.Fprintf(opts.IO.ErrOut, "when the Job completes: mlscale tune merge %s --from-configmaps %s -n %s\n", mergeArgs(to), to.name, ns)
	return nil
}

func mergeArgs(to *tuneOptions) string {
	parts := []string{"-f", to.file}
	for _, s := range to.scenarios {
		parts = append(parts, "--scenario", s)
	}
	if to.spec != "" {
		parts = append(parts, "--spec", to.spec)
	}
	if to.seed != 1 {
		parts = append(parts, "--seed", strconv.FormatUint(to.seed, 10))
	}
	return strings.Join(parts, " ")
}

func toUnstructured(o runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}
