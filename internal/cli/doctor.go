package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/mlscale/mlscale/internal/doctor"
	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/strictyaml"
	"github.com/mlscale/mlscale/internal/version"
)

func init() { register(newDoctorCmd) }

type doctorOptions struct {
	files         []string
	namespace     string
	allNamespaces bool
	context       string
	kubeconfig    string
	failOn        string
	exitZero      bool
	strict        bool
	timeout       time.Duration
	concurrency   int
	checkSecrets  bool
	save          string
	from          string
}

func newDoctorCmd(opts *Options) *cobra.Command {
	var d doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor [hpa/NAME | scaledobject/NAME] [-f PATH...]",
		Short: "Explain <unknown> HPA metrics and KEDA that does not scale (live cluster or manifests)",
		Long: `doctor probes the metrics pipeline the way the HPA controller uses it and
says, per HPA or ScaledObject, the cause in one line, the controller's own
words (verbatim) and the fix. Checks run in pipeline order: access (ACC),
the metrics APIServices (API), the HPA and its target (HPA), resource
metrics on the live pods (RES), custom metrics (CUS) and KEDA (KEDA).
Every check ID has a section in docs/doctor.md.

Live mode reads the cluster of the kubeconfig's current context (--context,
--kubeconfig, in-cluster config when run in a pod), in the context's
namespace (-n, or -A for all). A probe doctor may not run (RBAC) or that
times out makes its checks "skipped", never failed.

Offline mode (-f PATH..., files or directories of YAML, multi-document as
Helm and kustomize print it) runs the checks that need no cluster and
reports each finding with file and line; -o sarif is for this mode.

Exit codes: 0 no finding at or above --fail-on (default error), 1 findings
at or above it, 2 usage error, 3 could not run (unreachable cluster, failed
authentication, or with --strict any skipped check). --exit-zero always
exits 0 after printing.`,
		Example: `  mlscale doctor -n ml-serving
  mlscale doctor hpa/llm -n ml-serving -o json
  mlscale doctor -f manifests/ -o junit > doctor.xml
  helm template chart/ | mlscale doctor -f - -o sarif > doctor.sarif
  mlscale doctor snapshot hpa/llm -n ml-serving > state.yaml && mlscale hpa eval -f state.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if d.allNamespaces && cmd.Flags().Changed("namespace") {
				return Usagef("use -n or -A, not both")
			}
			if d.from != "" {
				for _, f := range []string{"filename", "save", "namespace", "all-namespaces", "context", "kubeconfig", "check-secrets"} {
					if cmd.Flags().Changed(f) {
						return Usagef("--from replays a saved collection: --%s does not apply", f)
					}
				}
			}
			if d.save != "" && len(d.files) > 0 {
				return Usagef("--save writes a live collection: it does not apply to -f")
			}
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			return runDoctor(cmd.Context(), opts, &d, target)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&d.files, "filename", "f", nil, "manifest file or directory (repeatable; - reads standard input): offline mode")
	addDoctorClusterFlags(cmd, &d)
	f.StringVar(&d.failOn, "fail-on", "error", "lowest severity that makes the exit code 1: error|warning|info")
	f.BoolVar(&d.exitZero, "exit-zero", false, "exit 0 whatever was found (the report is still printed)")
	f.BoolVar(&d.strict, "strict", false, "exit 3 when any check was skipped")
	f.IntVar(&d.concurrency, "concurrency", 10, "parallel API requests")
	f.StringVar(&d.save, "save", "", "also write what was collected to FILE (a DoctorSnapshot, JSON) for --from, a bug report or a CI artefact")
	f.StringVar(&d.from, "from", "", "diagnose a collection saved with --save (- for standard input) instead of a cluster")
	f.BoolVar(&d.checkSecrets, "check-secrets", false, "also check that the Secrets and keys TriggerAuthentications reference exist (needs get on secrets; reads key names, never values)")
	cmd.AddCommand(newDoctorSnapshotCmd(opts))
	return cmd
}

func addDoctorClusterFlags(cmd *cobra.Command, d *doctorOptions) {
	f := cmd.Flags()
	f.StringVarP(&d.namespace, "namespace", "n", "", "namespace (default: the context's)")
	f.BoolVarP(&d.allNamespaces, "all-namespaces", "A", false, "all namespaces")
	f.StringVar(&d.context, "context", "", "kubeconfig context (default: the current one)")
	f.StringVar(&d.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config; in-cluster config when none)")
	f.DurationVar(&d.timeout, "timeout", 10*time.Second, "timeout of each API request")
}

// doctorTarget parses "hpa/NAME" or "scaledobject/NAME".
func doctorTarget(arg string) (kind, name string, err error) {
	k, n, ok := strings.Cut(arg, "/")
	if !ok || n == "" {
		return "", "", Usagef("%q: want hpa/NAME or scaledobject/NAME", arg)
	}
	switch strings.ToLower(k) {
	case "hpa", "horizontalpodautoscaler", "horizontalpodautoscalers", "hpas":
		return "HorizontalPodAutoscaler", n, nil
	case "scaledobject", "scaledobjects", "so":
		return "ScaledObject", n, nil
	}
	return "", "", Usagef("%q: want hpa/NAME or scaledobject/NAME", arg)
}

func runDoctor(ctx context.Context, opts *Options, d *doctorOptions, target string) error {
	format, err := opts.Format(output.Table, output.JSON, "junit", "markdown", "sarif")
	if err != nil {
		return err
	}
	failOn, err := doctor.ParseSeverity(d.failOn)
	if err != nil {
		return Usagef("--fail-on: %v", err)
	}
	var report *doctor.Report
	if len(d.files) > 0 {
		if target != "" {
			return Usagef("%s: an object argument is for live mode; with -f every manifest is checked", target)
		}
		report, err = doctorOffline(opts, d.files)
		if err != nil {
			return err
		}
	} else {
		if format == "sarif" {
			return Usagef("-o sarif needs file locations: use it with -f (offline mode)")
		}
		report, err = doctorLive(ctx, opts, d, target)
		if err != nil {
			return err
		}
	}
	if err := doctor.Render(opts.IO.Out, string(format), report, doctor.RenderOptions{FailOn: failOn, Version: version.Get().Version}); err != nil {
		return err
	}
	return doctorExit(report, failOn, d.exitZero, d.strict)
}

// doctorExit maps a report to the exit code (docs/doctor.md).
func doctorExit(r *doctor.Report, failOn doctor.Severity, exitZero, strict bool) error {
	if exitZero {
		return nil
	}
	if strict && len(r.Skipped) > 0 {
		return &ExitError{Code: ExitCouldNotRun, Err: fmt.Errorf("%d check(s) skipped (--strict)", len(r.Skipped))}
	}
	if max, any := r.Max(); any && max >= failOn {
		return SilentExit(ExitFailure)
	}
	return nil
}

func doctorOffline(opts *Options, paths []string) (*doctor.Report, error) {
	var cleanup []string
	defer func() {
		for _, p := range cleanup {
			_ = os.RemoveAll(p)
		}
	}()
	resolved := make([]string, 0, len(paths))
	for _, p := range paths {
		if p != "-" {
			if _, err := os.Stat(p); err != nil {
				return nil, Usagef("-f %s: %v", p, errors.Unwrap(err))
			}
			resolved = append(resolved, p)
			continue
		}
		data, err := io.ReadAll(opts.IO.In)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		dir, err := os.MkdirTemp("", "mlscale-doctor-")
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, dir)
		f := filepath.Join(dir, "stdin.yaml")
		if err := os.WriteFile(f, data, 0o600); err != nil {
			return nil, err
		}
		resolved = append(resolved, f)
	}
	set, err := doctor.LoadManifests(resolved)
	if err != nil {
		return nil, err
	}
	if len(cleanup) > 0 {
		// Name standard input as such in the report.
		for _, m := range set.Manifests {
			if strings.HasPrefix(m.File, cleanup[0]) {
				m.File = "<stdin>"
			}
		}
		for i, f := range set.Files {
			if strings.HasPrefix(f, cleanup[0]) {
				set.Files[i] = "<stdin>"
			}
		}
	}
	return doctor.CheckManifests(set), nil
}

// doctorRESTConfig loads the client configuration (kubeconfig or
// in-cluster), the namespace and the context name.
func doctorRESTConfig(opts *Options, d *doctorOptions) (*rest.Config, string, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if d.kubeconfig != "" {
		rules.ExplicitPath = d.kubeconfig
	} else if opts.IO.Getenv != nil {
		if v := opts.IO.Getenv("KUBECONFIG"); v != "" {
			rules.Precedence = filepath.SplitList(v)
		}
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: d.context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", "", err
	}
	ns := d.namespace
	if ns == "" && !d.allNamespaces {
		if ns, _, err = cc.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	if d.allNamespaces {
		ns = ""
	}
	ctxName := d.context
	if ctxName == "" {
		if raw, err := cc.RawConfig(); err == nil {
			ctxName = raw.CurrentContext
		}
	}
	cfg.UserAgent = "mlscale-doctor"
	cfg.Timeout = d.timeout
	return cfg, ns, ctxName, nil
}

func doctorCollect(ctx context.Context, opts *Options, d *doctorOptions) (*doctor.Snapshot, error) {
	cfg, ns, ctxName, err := doctorRESTConfig(opts, d)
	if err != nil {
		return nil, &ExitError{Code: ExitCouldNotRun, Err: fmt.Errorf("loading the kubeconfig: %w", err)}
	}
	clients, err := doctor.NewClients(cfg)
	if err != nil {
		return nil, &ExitError{Code: ExitCouldNotRun, Err: err}
	}
	snap, err := doctor.Collect(ctx, clients, doctor.Scope{
		Namespace: ns, Concurrency: d.concurrency, ProbeTimeout: d.timeout, CheckSecrets: d.checkSecrets,
		Cluster: doctor.ClusterInfo{Context: ctxName, Server: cfg.Host},
		Now:     opts.IO.Now(),
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &ExitError{Code: ExitCouldNotRun, Err: err}
	}
	return snap, nil
}

func doctorLive(ctx context.Context, opts *Options, d *doctorOptions, target string) (*doctor.Report, error) {
	var kind, name string
	if target != "" {
		var err error
		if kind, name, err = doctorTarget(target); err != nil {
			return nil, err
		}
		if d.allNamespaces {
			return nil, Usagef("%s names one object: use -n, not -A", target)
		}
	}
	var snap *doctor.Snapshot
	var err error
	if d.from != "" {
		name, data, rerr := strictyaml.ReadFile(d.from, opts.IO.In)
		if rerr != nil {
			return nil, rerr
		}
		if snap, err = doctor.ReadSnapshot(name, data); err != nil {
			return nil, err
		}
	} else {
		if snap, err = doctorCollect(ctx, opts, d); err != nil {
			return nil, err
		}
		if d.save != "" {
			if err := writeFileAtomic(d.save, func(w io.Writer) error { return doctor.WriteSnapshot(w, snap, version.Get().Version) }); err != nil {
				return nil, fmt.Errorf("--save: %w", err)
			}
		}
	}
	r := doctor.Diagnose(snap)
	if kind == "" {
		return r, nil
	}
	ns := snap.Cluster.Namespace
	found, alsoHPA := false, ""
	if kind == "HorizontalPodAutoscaler" {
		for _, h := range snap.HPAs {
			found = found || h.Name == name
		}
	} else {
		for _, so := range snap.ScaledObjects {
			if so.Name == name {
				found = true
				alsoHPA = orDefaultStr(so.Status.HpaName, "keda-hpa-"+so.Name)
			}
		}
	}
	if !found {
		return nil, &ExitError{Code: ExitFailure, Err: fmt.Errorf("%s %q not found in namespace %q", strings.ToLower(kind), name, ns)}
	}
	// The object's own findings, plus the cluster-wide ones (APIServices,
	// discovery) that explain them.
	mine := doctor.FindingsFor(r.Findings, doctor.Object{Kind: kind, Namespace: ns, Name: name}, alsoHPA)
	for _, f := range r.Findings {
		if f.Object.Namespace == "" {
			mine = append(mine, f)
		}
	}
	out := doctor.NewReport("live", mine, r.Skipped)
	out.Cluster = r.Cluster
	return out, nil
}

func orDefaultStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func newDoctorSnapshotCmd(opts *Options) *cobra.Command {
	var d doctorOptions
	var out string
	cmd := &cobra.Command{
		Use:   "snapshot hpa/NAME [-n NS] [--out FILE]",
		Short: "Write an HPA's live state as an HPAState file that `mlscale hpa eval -f` replays",
		Long: `snapshot reads one HPA, its target's /scale, the pods its selector lists
and what the metrics APIs return, and writes them as a kind: HPAState
document (docs/hpa.md). mlscale hpa eval replays the controller's decision
from it offline, and it can be attached to a bug report. The controller's
in-memory history (recommendations, scale events) cannot be read from
outside kube-controller-manager, so the document describes a first
reconcile.`,
		Example: `  mlscale doctor snapshot hpa/llm -n ml-serving > llm-state.yaml
  mlscale hpa eval -f llm-state.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name, err := doctorTarget(args[0])
			if err != nil {
				return err
			}
			if kind != "HorizontalPodAutoscaler" {
				return Usagef("snapshot writes an HPAState: give hpa/NAME (for a ScaledObject, its HPA keda-hpa-NAME)")
			}
			if d.allNamespaces {
				return Usagef("snapshot names one HPA: use -n, not -A")
			}
			snap, err := doctorCollect(cmd.Context(), opts, &d)
			if err != nil {
				return err
			}
			st, err := doctor.SnapshotHPA(snap, snap.Cluster.Namespace, name)
			if err != nil {
				return err
			}
			if out != "" && out != "-" {
				return writeFileAtomic(out, func(w io.Writer) error { return output.WriteYAML(w, st) })
			}
			return output.WriteYAML(opts.IO.Out, st)
		},
	}
	addDoctorClusterFlags(cmd, &d)
	cmd.Flags().StringVar(&out, "out", "", "write to FILE instead of standard output")
	return cmd
}
