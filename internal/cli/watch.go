package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/tui"
)

func init() { register(newWatchCmd) }

type watchOptions struct {
	namespace     string
	allNamespaces bool
	context       string
	kubeconfig    string
	once          bool
	syncTimeout   time.Duration
	sample        time.Duration
}

// watchMemoryLimit is the watch's soft memory limit (issue 8's budget is
// 200 MB of RSS at 1,000 autoscalers and 10,000 pods).
const watchMemoryLimit = 150 << 20

// newDoctorFunc wires the `d` key to doctor (set in watch_doctor.go).
var newDoctorFunc func(cfg *rest.Config) tui.DoctorFunc

func newWatchCmd(opts *Options) *cobra.Command {
	var wo watchOptions
	cmd := &cobra.Command{
		Use:   "watch [-n NAMESPACE | -A] [--context CTX] [--once]",
		Short: "Watch every HPA and KEDA ScaledObject live: replicas, metrics, why <unknown>, the engine's explanation",
		Long: `watch shows the autoscalers of a namespace (or all of them with -A) as a
live table: current/desired/min/max replicas, every metric's current and
target value, and where kubectl prints <unknown> the reason the controller
gave in its conditions; sparklines of the replicas and the main metric over
the watched period. Enter opens the detail of one autoscaler: conditions,
recent events, pods, the HPA engine's explanation of the decision on the
observed state, and doctor's findings (d). ? lists the keys.

The data comes from client-go informers (HPAs, Deployments, Pods, Events;
KEDA ScaledObjects and ScaledJobs when the CRDs exist): one list, then
watches; nothing is polled. A lost API server shows a status line while the
informers reconnect.

--once (and any stdout that is not a terminal) prints one snapshot as a
table or, with -o json, as JSON with each autoscaler's conditions, events
and pods. See docs/watch.md.`,
		Example: `  mlscale watch -n ml-serving
  mlscale watch -A --context prod
  mlscale watch -n ml-serving --once -o json | jq '.autoscalers[] | select(.health != "OK")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if wo.allNamespaces && cmd.Flags().Changed("namespace") {
				return Usagef("use -n or -A, not both")
			}
			return runWatch(cmd.Context(), opts, &wo)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&wo.namespace, "namespace", "n", "", "namespace to watch (default: the context's)")
	f.BoolVarP(&wo.allNamespaces, "all-namespaces", "A", false, "watch all namespaces")
	f.StringVar(&wo.context, "context", "", "kubeconfig context (default: the current one)")
	f.StringVar(&wo.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.BoolVar(&wo.once, "once", false, "print one snapshot and exit (the default when stdout is not a terminal)")
	f.DurationVar(&wo.syncTimeout, "sync-timeout", 30*time.Second, "how long to wait for the first list")
	f.DurationVar(&wo.sample, "sample", 5*time.Second, "sparkline sampling period")
	return cmd
}

// kubeConfig loads the client configuration and the namespace to use.
func kubeConfig(opts *Options, kubeconfig, context, namespace string, all bool) (*rest.Config, string, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	} else if opts.IO.Getenv != nil {
		if v := opts.IO.Getenv("KUBECONFIG"); v != "" {
			rules.Precedence = splitPathList(v)
		}
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", "", fmt.Errorf("loading the kubeconfig: %w", err)
	}
	ns := namespace
	if ns == "" && !all {
		if ns, _, err = cc.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	if all {
		ns = ""
	}
	ctxName := context
	if ctxName == "" {
		if raw, err := cc.RawConfig(); err == nil {
			ctxName = raw.CurrentContext
		}
	}
	cfg.UserAgent = "mlscale-watch"
	return cfg, ns, ctxName, nil
}

func splitPathList(v string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(v); i++ {
		if i == len(v) || v[i] == os.PathListSeparator {
			if i > start {
				out = append(out, v[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func runWatch(ctx context.Context, opts *Options, wo *watchOptions) error {
	format, err := opts.Format(output.Table, output.JSON)
	if err != nil {
		return err
	}
	once := wo.once || !opts.IO.IsStdoutTTY() || format == output.JSON
	cfg, ns, ctxName, err := kubeConfig(opts, wo.kubeconfig, wo.context, wo.namespace, wo.allNamespaces)
	if err != nil {
		return err
	}
	// client-go logs reflector errors through klog: they belong in the
	// status line, not on the terminal the TUI draws on.
	// (LogToStderr and SetOutput take klog's lock; SetLogger would race
	// with informers already running in the process.)
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	// The initial lists of a large cluster arrive as single responses; a
	// soft memory limit makes the collector return their garbage promptly
	// instead of letting the heap double (GOMEMLIMIT overrides it).
	if opts.IO.Getenv == nil || opts.IO.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(watchMemoryLimit)
	}
	// protobuf for the typed informers: the initial list of 10,000 pods
	// decodes with far less garbage than JSON (CRDs stay on JSON)
	pcfg := rest.CopyConfig(cfg)
	pcfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	pcfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(pcfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	store := watch.NewStore(ctxName, ns, opts.IO.Now)
	src := &watch.Source{Client: cs, Dynamic: dyn, Namespace: ns, Store: store, SampleEvery: wo.sample}

	if once {
		if err := src.Start(ctx, wo.syncTimeout); err != nil {
			return fmt.Errorf("watching %s: %w", describeNS(ns), err)
		}
		return printSnapshot(opts, format, store, store.Snapshot())
	}

	// The TUI starts at once and fills in when the caches sync.
	syncErr := make(chan error, 1)
	go func() { syncErr <- src.Start(ctx, wo.syncTimeout) }()
	mo := tui.Options{Feed: store, ASCII: dumbTerminal(opts), Title: "mlscale watch"}
	if newDoctorFunc != nil {
		mo.Doctor = newDoctorFunc(cfg)
	}
	return runTUI(ctx, opts, tui.New(mo))
}

func describeNS(ns string) string {
	if ns == "" {
		return "all namespaces"
	}
	return "namespace " + ns
}

// printSnapshot writes one snapshot; JSON rows carry their detail.
func printSnapshot(opts *Options, format output.Format, feed tui.Feed, snap *watch.Snapshot) error {
	if format == output.JSON {
		return writeSnapshotJSON(opts.IO.Out, feed, snap)
	}
	return watch.WriteTable(opts.IO.Out, snap)
}

// writeSnapshotJSON streams the snapshot as indented JSON (the layout of
// output.WriteJSON), one autoscaler and its detail at a time, so that a
// thousand autoscalers with their pods are never all held at once.
func writeSnapshotJSON(w io.Writer, feed tui.Feed, snap *watch.Snapshot) error {
	const hole = `"autoscalers": null`
	head := *snap
	head.Rows = nil
	var hb bytes.Buffer
	if err := output.WriteJSON(&hb, &head); err != nil {
		return err
	}
	before, after, ok := strings.Cut(hb.String(), hole)
	if !ok {
		return fmt.Errorf("watch: snapshot JSON lacks %s", hole)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(before + `"autoscalers": [`)
	for i := range snap.Rows {
		r := &snap.Rows[i]
		if d := feed.Detail(r.Key()); d != nil {
			r = d
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		var rb bytes.Buffer
		re := json.NewEncoder(&rb)
		re.SetEscapeHTML(false)
		re.SetIndent("    ", "  ")
		if err := re.Encode(r); err != nil {
			return err
		}
		bw.Write(bytes.TrimRight(rb.Bytes(), "\n"))
	}
	if len(snap.Rows) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]" + after)
	return bw.Flush()
}

// dumbTerminal: TERM=dumb or NO_COLOR asks for no colour; a dumb terminal
// also gets ASCII sparklines.
func dumbTerminal(opts *Options) bool {
	return opts.IO.Getenv != nil && opts.IO.Getenv("TERM") == "dumb"
}

// runTUI runs the program full-screen on the command's streams.
func runTUI(ctx context.Context, opts *Options, m tea.Model) error {
	if !opts.IO.ColorEnabled() {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx),
		tea.WithInput(opts.IO.In), tea.WithOutput(opts.IO.Out))
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // interrupted: a clean exit
	}
	return err
}
