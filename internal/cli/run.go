package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/generate"
	"github.com/mlscale/mlscale/internal/gpu"
	"github.com/mlscale/mlscale/internal/gpu/nvmlsource"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/live"
	"github.com/mlscale/mlscale/internal/profile"
)

// ExitNoGPU: `mlscale run` needs GPU telemetry (the policy reads a GPU
// metric, or --gpu nvml) and NVML is not available. Documented in
// docs/exit-codes.md.
const ExitNoGPU = 4

func init() { register(newRunCmd) }

type runOptions struct {
	file, manifests, workload string
	target                    string
	gpuMode                   string
	dryRun, explain, verbose  bool
	listen, compat            string
	syncPeriod, tick, grace   time.Duration
	duration, timeout, maxAge time.Duration
	prometheus, rabbitmq      string
	external                  []string
	gpusPerWorker             int
	minFree                   string
	readyPath, metricsPath    string
	kubeconfig, context       string
	namespace, name           string
	metricsPort               int32
	kedaVersion               string
	kubeMinor                 int
	initial                   int32
}

func newRunCmd(opts *Options) *cobra.Command {
	var r runOptions
	cmd := &cobra.Command{
		Use:   "run -f PROFILE [--target process|deployment] [flags] [-- WORKER COMMAND...]",
		Short: "Scale local GPU workers or a Deployment live, with the HPA or KEDA policy of a profile",
		Long: `Run the live scaler: read the GPUs through NVML and the work queue, decide with
the HPA or KEDA policy that 'mlscale generate' renders for the profile (or with
rendered manifests given by --manifests), on the wall clock, keeping the
controllers' state across ticks, and act:

  --target process     start and stop copies of WORKER COMMAND on this machine,
                       each given its GPUs in CUDA_VISIBLE_DEVICES and its port
                       in PORT; readiness via an HTTP probe; scale-in by SIGTERM,
                       a grace period, then SIGKILL; a crashed worker is replaced
  --target deployment  write the Deployment's scale subresource (kubeconfig or
                       in-cluster credentials)

Metric sources: NVML (GPU utilisation for DCGM_FI_DEV_GPU_UTIL-style metrics),
each worker's Prometheus endpoint (Pods metrics), a Prometheus server
(prometheus triggers, --external), the RabbitMQ management API (rabbitmq
triggers), and for cpu and memory (Resource metrics) each local worker's
process tree in /proc (Linux; requests from the profile's pod template) or
metrics.k8s.io for a Deployment. A failing source is handed to the HPA and KEDA engines as the
failed metric the controllers would see.

It serves /metrics (GPU gauges as mlscale_gpu_*, or dcgm-exporter's names with
--metrics-compat dcgm, and the scaler's replicas, metric values and scale
events), /healthz and /readyz on --listen. Without NVML it says so: it exits
with code 4 when the policy reads a GPU metric, and otherwise runs on the
other sources. SIGINT or SIGTERM stops deciding and stops the workers.`,
		Example: `  mlscale run -f profile.yaml -- python worker.py
  mlscale run -f profile.yaml --dry-run --gpu fake:4 -- ./worker
  mlscale run -f batch.yaml --rabbitmq http://guest:guest@localhost:15672 -- ./consumer
  mlscale run --manifests deploy/ --target deployment --kubeconfig ~/.kube/config`,
		RunE: func(cmd *cobra.Command, args []string) error {
			worker := args
			if at := cmd.ArgsLenAtDash(); at > 0 {
				return Usagef("unexpected arguments before --: %v", args[:at])
			} else if at < 0 && len(args) > 0 {
				return Usagef("put the worker command after --: mlscale run -f PROFILE -- %s", strings.Join(args, " "))
			}
			return runRun(cmd.Context(), opts, &r, worker, cmd.Flags().Changed("file") || cmd.Flags().Changed("profile"))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&r.file, "file", "f", "mlscale.yaml", "workload profile (- for stdin)")
	f.StringVar(&r.file, "profile", "mlscale.yaml", "the same as -f")
	f.StringVar(&r.manifests, "manifests", "", "decide with rendered manifests (a YAML file or a directory) instead of a profile")
	f.StringVar(&r.workload, "workload", "", "the HPA or ScaledObject to run when there are several (hybrid profiles)")
	f.StringVar(&r.target, "target", "process", "what to scale: process|deployment")
	f.StringVar(&r.gpuMode, "gpu", "auto", "GPU source: auto (NVML if present)|nvml (required)|off|fake:N (N simulated idle GPUs, for trying it out)")
	f.BoolVar(&r.dryRun, "dry-run", false, "decide and log without acting")
	f.BoolVar(&r.explain, "explain", false, "log the full explanation (as hpa eval -o text, and keda eval -o text for a ScaledObject) at every rescale")
	f.BoolVarP(&r.verbose, "verbose", "v", false, "log the full explanation at every HPA reconcile and KEDA poll")
	f.StringVar(&r.listen, "listen", "127.0.0.1:9464", "address of /metrics, /healthz and /readyz (empty: none)")
	f.StringVar(&r.compat, "metrics-compat", "mlscale", "GPU metric names: mlscale (mlscale_gpu_*)|dcgm (dcgm-exporter's DCGM_FI_* names and labels)")
	f.DurationVar(&r.syncPeriod, "sync-period", 15*time.Second, "HPA sync period (--horizontal-pod-autoscaler-sync-period)")
	f.DurationVar(&r.tick, "tick", time.Second, "how often the loop wakes (probes, crash detection, GPU samples)")
	f.DurationVar(&r.grace, "grace", 0, "time between SIGTERM and SIGKILL at scale-in (default: the profile's terminationGracePeriodSeconds)")
	f.DurationVar(&r.duration, "duration", 0, "stop after this long (0: until interrupted)")
	f.DurationVar(&r.timeout, "source-timeout", 5*time.Second, "timeout of each metric source read")
	f.DurationVar(&r.maxAge, "max-age", time.Minute, "staleness rule: older readings count as failed")
	f.StringVar(&r.prometheus, "prometheus", "", "Prometheus server URL for prometheus triggers (overrides serverAddress) and --external")
	f.StringVar(&r.rabbitmq, "rabbitmq", "", "RabbitMQ management API URL for rabbitmq triggers, e.g. http://user:pass@host:15672")
	f.StringArrayVar(&r.external, "external", nil, "NAME=PROMQL: answer the HPA's External/Object metric NAME with this Prometheus query (repeatable)")
	f.IntVar(&r.gpusPerWorker, "gpus-per-worker", -1, "GPUs given to each worker (default: the profile's resources.gpu.count)")
	f.StringVar(&r.minFree, "min-gpu-free", "0", "free GPU memory a GPU needs to be given to a worker, e.g. 20Gi")
	f.StringVar(&r.readyPath, "ready-path", "", "worker readiness probe path (default: the profile's readinessPath; \"none\": ready once started)")
	f.StringVar(&r.metricsPath, "metrics-path", "/metrics", "worker Prometheus endpoint path")
	f.Int32Var(&r.initial, "initial", -1, "replicas to start with (process target; default: the policy's minimum, at least 1)")
	f.StringVar(&r.kubeconfig, "kubeconfig", "", "kubeconfig (deployment target; default $KUBECONFIG, ~/.kube/config or in-cluster)")
	f.StringVar(&r.context, "context", "", "kubeconfig context")
	f.StringVarP(&r.namespace, "namespace", "n", "", "namespace of the Deployment (default: the policy's)")
	f.StringVar(&r.name, "name", "", "the Deployment (default: the policy's scaleTargetRef)")
	f.Int32Var(&r.metricsPort, "pod-metrics-port", 0, "deployment target: scrape each pod's IP on this port for Pods metrics (default: the profile's metrics or http port)")
	f.StringVar(&r.kedaVersion, "keda-version", "", "KEDA release whose behaviour to reproduce (default 2.20)")
	f.IntVar(&r.kubeMinor, "kubernetes-minor", 0, "Kubernetes 1.x release of the HPA controller (33..37, default 37)")
	return cmd
}

// runPolicy is what the scaler needs from a profile or manifests.
type runPolicy struct {
	hpa       *autoscalingv2.HorizontalPodAutoscaler
	so        *kedav1alpha1.ScaledObject
	name, ns  string
	gpus      int
	readyPath string
	port      int32
	grace     time.Duration
	// podSpec is the scale target's pod template (the Deployment generate
	// renders, or the one in --manifests): the requests of cpu and memory
	// utilisation for local workers. Nil when there is none.
	podSpec *corev1.PodSpec
}

func runRun(ctx context.Context, opts *Options, r *runOptions, worker []string, fileSet bool) error {
	if r.target != "process" && r.target != "deployment" {
		return Usagef("--target must be process or deployment, not %q", r.target)
	}
	if r.compat != string(live.CompatMLScale) && r.compat != string(live.CompatDCGM) {
		return Usagef("--metrics-compat must be mlscale or dcgm, not %q", r.compat)
	}
	if r.target == "process" && len(worker) == 0 {
		return Usagef("the process target needs a worker command: mlscale run -f PROFILE -- COMMAND [ARGS...]")
	}
	if r.target == "deployment" && len(worker) > 0 {
		return Usagef("the deployment target takes no worker command")
	}
	if r.manifests != "" && fileSet {
		return Usagef("use either -f or --manifests, not both")
	}
	minFree, err := resource.ParseQuantity(r.minFree)
	if err != nil {
		return Usagef("--min-gpu-free: %v", err)
	}
	external := map[string]string{}
	for _, e := range r.external {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || v == "" {
			return Usagef("--external wants NAME=PROMQL, got %q", e)
		}
		external[k] = v
	}
	var kopts keda.Options
	if r.kedaVersion != "" {
		v, err := keda.ParseVersion(r.kedaVersion)
		if err != nil {
			return Usagef("--keda-version: %v", err)
		}
		kopts.Version = v
	}
	pol, err := loadRunPolicy(opts, r)
	if err != nil {
		return err
	}
	logw := &syncWriter{w: opts.IO.ErrOut}
	now := opts.IO.Now

	// the GPU source: NVML only through Open, which Inits first
	src, gpuNote, err := openGPU(r.gpuMode)
	if err != nil {
		return err
	}
	cfg := live.Config{HPA: pol.hpa, ScaledObject: pol.so, KEDA: kopts, KubernetesMinor: r.kubeMinor, SyncPeriod: r.syncPeriod,
		GPU: src, GPUMaxAge: r.maxAge, Fetcher: &live.Fetcher{Timeout: r.timeout, MaxAge: r.maxAge},
		Prometheus: r.prometheus, External: external, RabbitMQ: r.rabbitmq,
		DryRun: r.dryRun, Explain: r.explain, Verbose: r.verbose, Log: logw}
	var loop *live.Loop
	var tgt live.Target
	devs, _ := src.Devices(ctx)
	switch r.target {
	case "process":
		gpus := pol.gpus
		if r.gpusPerWorker >= 0 {
			gpus = r.gpusPerWorker
		}
		if gpus > 0 && len(devs) == 0 {
			fmt.Fprintf(opts.IO.ErrOut, "Warning: the profile gives each worker %d GPU(s) but no GPU is visible: workers start without CUDA_VISIBLE_DEVICES\n", gpus)
			gpus = 0
		}
		ready := pol.readyPath
		if r.readyPath != "" {
			ready = r.readyPath
		}
		if ready == "none" {
			ready = ""
		}
		grace := pol.grace
		if r.grace > 0 {
			grace = r.grace
		}
		spec, container := workerPodSpec(pol.podSpec)
		cfg.PodSpec = spec
		tgt, err = live.NewProcess(live.ProcessConfig{Name: pol.name, Command: worker, GPUsPerWorker: gpus, MinFreeBytes: uint64(minFree.Value()),
			ReadyPath: ready, MetricsPath: r.metricsPath, Grace: grace, Log: logw, Container: container, MaxAge: r.maxAge,
			GPUs: func() ([]gpu.Device, []gpu.Sample) { return loop.GPUs() }})
		if err != nil {
			src.Close()
			return err
		}
	case "deployment":
		client, ns, err := runKubeClient(opts, r)
		if err != nil {
			src.Close()
			return err
		}
		if r.namespace == "" && pol.ns != "" {
			ns = pol.ns
		}
		name := r.name
		if name == "" {
			name = pol.name
		}
		port := r.metricsPort
		if port == 0 {
			port = pol.port
		}
		tgt = live.NewDeployment(live.DeploymentConfig{Client: client, Namespace: ns, Name: name, MetricsPort: port, MetricsPath: r.metricsPath,
			Timeout: r.timeout, MaxAge: r.maxAge})
	}
	cfg.Target = tgt
	loop, err = live.NewLoop(cfg)
	if err != nil {
		src.Close()
		return err
	}
	if gpuNote != nil {
		if loop.NeedsGPU() {
			src.Close()
			return &ExitError{Code: ExitNoGPU, Err: fmt.Errorf("%v\nthe policy reads GPU utilisation, so mlscale run cannot decide without NVML (run it on the GPU machine, or use --gpu fake:N to try it out)", gpuNote)}
		}
		fmt.Fprintf(opts.IO.ErrOut, "Warning: %v; running on the other metric sources with no GPUs\n", gpuNote)
	}
	defer src.Close()
	fmt.Fprintf(logw, "%s mlscale run: %s %s, target %s, %d GPU(s)%s\n", now().UTC().Format(time.RFC3339), policyKind(pol), pol.name, r.target, len(devs), dryRunNote(r.dryRun))
	for _, d := range devs {
		fmt.Fprintf(logw, "  GPU %d %s %s %d MiB%s\n", d.Index, d.UUID, d.Name, d.MemoryTotalBytes>>20, migNote(&d))
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	if r.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.duration)
		defer cancel()
	}
	if r.listen != "" {
		ln, err := net.Listen("tcp", r.listen)
		if err != nil {
			_ = tgt.Close(context.Background())
			return fmt.Errorf("--listen: %w", err)
		}
		srv := &http.Server{Handler: live.NewExporter(loop, pol.name, live.Compat(r.compat)).Handler(now), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Fprintf(logw, "%s serving /metrics, /healthz, /readyz on http://%s\n", now().UTC().Format(time.RFC3339), ln.Addr())
	}
	if r.target == "process" && !r.dryRun {
		loop.SampleGPUs(ctx, now())
		n := r.initial
		if n < 0 {
			n = max(policyMin(pol), 1)
		}
		if err := tgt.Scale(ctx, now(), n); err != nil {
			fmt.Fprintf(logw, "%s initial scale: %v\n", now().UTC().Format(time.RFC3339), err)
		}
	}
	_ = loop.Run(ctx, r.tick, now)
	fmt.Fprintf(logw, "%s stopping: no more decisions; stopping the workers\n", now().UTC().Format(time.RFC3339))
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = tgt.Close(cctx)
	st := loop.Status()
	fmt.Fprintf(opts.IO.Out, "replicas %d (ready %d), desired %d, scale-ups %d, scale-downs %d, worker restarts %d\n",
		st.Spec, st.Ready, st.Desired, st.ScaleUps, st.ScaleDowns, st.Restarts)
	if r.duration > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil
	}
	return SilentExit(ExitInterrupt) // SIGINT or SIGTERM: stopped cleanly
}

func dryRunNote(b bool) string {
	if b {
		return " [dry run: deciding without acting]"
	}
	return ""
}

func migNote(d *gpu.Device) string {
	if d.IsMIG() {
		return " MIG " + d.MIGProfile + " of " + d.ParentUUID
	}
	if d.MIGEnabled {
		return " (MIG enabled)"
	}
	return ""
}

func policyKind(p *runPolicy) string {
	if p.so != nil {
		return "ScaledObject"
	}
	return "HorizontalPodAutoscaler"
}

func policyMin(p *runPolicy) int32 {
	if p.so != nil {
		if p.so.Spec.MinReplicaCount != nil {
			return *p.so.Spec.MinReplicaCount
		}
		return 0
	}
	if p.hpa.Spec.MinReplicas != nil {
		return *p.hpa.Spec.MinReplicas
	}
	return 1
}

// openGPU returns the GPU source. A missing NVML is not an error here
// (note says why): the caller decides whether the policy can do without.
func openGPU(mode string) (gpu.Source, error, error) {
	switch {
	case mode == "off":
		return gpu.Null{}, errors.New("GPU telemetry off (--gpu off)"), nil
	case strings.HasPrefix(mode, "fake:"):
		var n int
		if _, err := fmt.Sscanf(mode, "fake:%d", &n); err != nil || n < 0 || n > 64 {
			return nil, nil, Usagef("--gpu fake:N wants 0..64 GPUs, got %q", mode)
		}
		return gpu.NewFake(gpu.FakeGPUs(n, "Simulated GPU", 80)), nil, nil
	case mode == "auto" || mode == "nvml":
		src, err := nvmlsource.Open()
		if err == nil {
			return src, nil, nil
		}
		if !errors.Is(err, gpu.ErrUnavailable) {
			return nil, nil, err
		}
		if mode == "nvml" {
			return nil, nil, &ExitError{Code: ExitNoGPU, Err: fmt.Errorf("%v (--gpu nvml requires it)", err)}
		}
		return gpu.Null{}, err, nil
	}
	return nil, nil, Usagef("--gpu must be auto, nvml, off or fake:N, not %q", mode)
}

func runKubeClient(opts *Options, r *runOptions) (kubernetes.Interface, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if r.kubeconfig != "" {
		rules.ExplicitPath = r.kubeconfig
	} else if v := opts.IO.Getenv("KUBECONFIG"); v != "" {
		rules.Precedence = filepath.SplitList(v)
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: r.context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns := r.namespace
	if ns == "" {
		ns, _, _ = cc.Namespace()
	}
	if ns == "" {
		ns = "default"
	}
	c, err := kubernetes.NewForConfig(cfg)
	return c, ns, err
}

// loadRunPolicy renders the profile (exactly as generate does) or reads
// rendered manifests, and picks the HPA or ScaledObject to run.
func loadRunPolicy(opts *Options, r *runOptions) (*runPolicy, error) {
	var hpas []*autoscalingv2.HorizontalPodAutoscaler
	var sos []*kedav1alpha1.ScaledObject
	var deps []*appsv1.Deployment
	pol := &runPolicy{readyPath: "/ready", grace: 30 * time.Second}
	if r.manifests != "" {
		objs, err := readManifests(r.manifests)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			switch v := o.(type) {
			case *autoscalingv2.HorizontalPodAutoscaler:
				hpas = append(hpas, v)
			case *kedav1alpha1.ScaledObject:
				sos = append(sos, v)
			case *appsv1.Deployment:
				deps = append(deps, v)
			}
		}
	} else {
		l, err := profile.LoadFile(r.file, opts.IO.In)
		if err != nil {
			return nil, err
		}
		rd, err := generate.NewRenderer(generate.TemplatesFS(""))
		if err != nil {
			return nil, err
		}
		res, err := rd.Render(l)
		if err != nil {
			return nil, err
		}
		for _, o := range res.Objects {
			switch v := o.Typed.(type) {
			case *autoscalingv2.HorizontalPodAutoscaler:
				hpas = append(hpas, v)
			case *kedav1alpha1.ScaledObject:
				sos = append(sos, v)
			case *appsv1.Deployment:
				deps = append(deps, v)
			}
		}
		s := &l.Spec
		if s.Resources.GPU != nil {
			pol.gpus = int(s.Resources.GPU.Count)
		}
		if s.Container.ReadinessPath != "" {
			pol.readyPath = s.Container.ReadinessPath
		}
		pol.port = s.Container.Ports.Metrics
		if pol.port == 0 {
			pol.port = s.Container.Ports.HTTP
		}
		pol.grace = time.Duration(l.TerminationGracePeriod()) * time.Second
	}
	var names []string
	for _, h := range hpas {
		names = append(names, "HorizontalPodAutoscaler/"+h.Name)
		if r.workload == "" || r.workload == h.Name || r.workload == h.Spec.ScaleTargetRef.Name {
			if pol.hpa == nil && pol.so == nil {
				pol.hpa, pol.name, pol.ns = h, h.Spec.ScaleTargetRef.Name, h.Namespace
			}
		}
	}
	for _, so := range sos {
		names = append(names, "ScaledObject/"+so.Name)
		if r.workload == "" || r.workload == so.Name || so.Spec.ScaleTargetRef != nil && r.workload == so.Spec.ScaleTargetRef.Name {
			if pol.hpa == nil && pol.so == nil {
				pol.so, pol.ns = so, so.Namespace
				if so.Spec.ScaleTargetRef != nil {
					pol.name = so.Spec.ScaleTargetRef.Name
				}
			}
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no HorizontalPodAutoscaler or ScaledObject to run")
	}
	if pol.hpa == nil && pol.so == nil {
		return nil, Usagef("--workload %q matches none of %s", r.workload, strings.Join(names, ", "))
	}
	if len(names) > 1 && r.workload == "" {
		return nil, Usagef("several policies (%s): pick one with --workload", strings.Join(names, ", "))
	}
	for _, d := range deps {
		if d.Name == pol.name && (pol.ns == "" || d.Namespace == "" || d.Namespace == pol.ns) {
			pol.podSpec = &d.Spec.Template.Spec
			break
		}
	}
	return pol, nil
}

// workerPodSpec is the pod spec local workers stand for: the template's
// first container (the workload; the workers do not run its other
// containers, so their requests would not match the usage measured), with
// the template's pod-level resources, and that container's name. Nil when
// there is no template.
func workerPodSpec(tmpl *corev1.PodSpec) (*corev1.PodSpec, string) {
	if tmpl == nil || len(tmpl.Containers) == 0 {
		return nil, ""
	}
	spec := &corev1.PodSpec{Containers: []corev1.Container{*tmpl.Containers[0].DeepCopy()}}
	if tmpl.Resources != nil {
		spec.Resources = tmpl.Resources.DeepCopy()
	}
	return spec, tmpl.Containers[0].Name
}

// readManifests decodes the HPAs, ScaledObjects and Deployments of a YAML
// file or of the *.yaml / *.yml files of a directory; other kinds are
// skipped.
func readManifests(path string) ([]any, error) {
	files := []string{path}
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if st.IsDir() {
		files = nil
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(path, pat))
			files = append(files, m...)
		}
		sort.Strings(files)
	}
	var out []any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, doc := range bytes.Split(append([]byte("\n"), data...), []byte("\n---")) {
			var tm struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", f, i+1, err)
			}
			var obj any
			switch {
			case tm.Kind == "HorizontalPodAutoscaler" && tm.APIVersion == "autoscaling/v2":
				obj = &autoscalingv2.HorizontalPodAutoscaler{}
			case tm.Kind == "ScaledObject" && strings.HasPrefix(tm.APIVersion, "keda.sh/"):
				obj = &kedav1alpha1.ScaledObject{}
			case tm.Kind == "Deployment" && tm.APIVersion == "apps/v1":
				obj = &appsv1.Deployment{}
			default:
				continue
			}
			unmarshal := yaml.UnmarshalStrict
			if tm.Kind == "Deployment" {
				unmarshal = yaml.Unmarshal // only its pod template is read
			}
			if err := unmarshal(doc, obj); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", f, tm.Kind, err)
			}
			out = append(out, obj)
		}
	}
	return out, nil
}

// syncWriter serialises the log lines of the loop and the workers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
