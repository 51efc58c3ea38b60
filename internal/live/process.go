package live

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/mlscale/mlscale/internal/gpu"
)

// ProcessConfig configures the process target.
type ProcessConfig struct {
	Name    string   // worker name prefix
	Command []string // the worker command and its arguments
	Env     []string // extra environment (KEY=VALUE)
	// GPUsPerWorker GPUs are given to each worker through
	// CUDA_VISIBLE_DEVICES (their UUIDs); 0 sets nothing.
	GPUsPerWorker int
	// MinFreeBytes is the free GPU memory a GPU needs to be given out.
	MinFreeBytes uint64
	// ReadyPath is the HTTP readiness probe path on the worker's port
	// ("" = ready once started); MetricsPath is scraped ("" = none).
	ReadyPath, MetricsPath string
	ProbeTimeout           time.Duration
	// Grace is the time between SIGTERM and SIGKILL at scale-in.
	Grace time.Duration
	// GPUs returns the latest GPU devices and samples for the allocator.
	GPUs func() ([]gpu.Device, []gpu.Sample)
	// Log receives one line per worker event.
	Log    io.Writer
	Client *http.Client
	// Container is the pod template's container the workers stand for: the
	// container named in their resource metrics ("worker" when empty).
	Container string
	// CPUWindow is the window of the CPU rate (DefaultCPUWindow when 0);
	// MaxAge the age past which a worker's last /proc reading is stale
	// (1 min when 0).
	CPUWindow, MaxAge time.Duration
}

type worker struct {
	name     string
	port     int
	gpus     []string
	cmd      *exec.Cmd
	started  time.Time
	ready    bool
	readyAt  time.Time
	stopping bool
	stopAt   time.Time
	killed   bool
	pending  bool // waiting for GPUs
	done     chan struct{}
	exitErr  error
	cpu      cpuTrack
}

// Process runs N copies of a worker command on this machine.
type Process struct {
	cfg ProcessConfig

	mu       sync.Mutex
	spec     int32
	workers  []*worker
	seq      int
	restarts int
	closed   bool
	// crash-loop backoff (the kubelet's CrashLoopBackOff, simplified): a
	// worker that dies within crashWindow of its start doubles the delay
	// before the next start (10 s .. 5 min); a worker that gets ready resets it.
	backoff      time.Duration
	backoffUntil time.Time

	rd        procReader
	sampleErr error
}

const (
	crashWindow    = 10 * time.Second
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
)

func (p *Process) crashed(now, started time.Time) {
	if now.Sub(started) > crashWindow {
		return
	}
	if p.backoff == 0 {
		p.backoff = backoffInitial
	} else {
		p.backoff = min(2*p.backoff, backoffMax)
	}
	p.backoffUntil = now.Add(p.backoff)
}

// NewProcess returns a process target with no worker running.
func NewProcess(cfg ProcessConfig) (*Process, error) {
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("the process target needs a worker command (after --)")
	}
	if cfg.Name == "" {
		cfg.Name = "worker"
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Container == "" {
		cfg.Container = "worker"
	}
	if cfg.CPUWindow <= 0 {
		cfg.CPUWindow = DefaultCPUWindow
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Minute
	}
	return &Process{cfg: cfg}, nil
}

func (p *Process) logf(now time.Time, format string, a ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(p.cfg.Log, "%s %s\n", now.UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
}

// Scale sets the desired worker count and starts or stops workers.
func (p *Process) Scale(ctx context.Context, now time.Time, n int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("process target closed")
	}
	p.spec = n
	return p.reconcile(ctx, now)
}

// Observe reaps exited workers (a crash is counted and replaced), probes
// readiness, enforces grace periods and reports the workers.
func (p *Process) Observe(ctx context.Context, now time.Time) (Observed, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.workers[:0]
	for _, w := range p.workers {
		if !w.pending && exited(w) {
			if w.stopping {
				p.logf(now, "worker %s stopped", w.name)
			} else {
				p.restarts++
				p.crashed(now, w.started)
				if now.Before(p.backoffUntil) {
					p.logf(now, "worker %s exited unexpectedly (%v); restarts: %d; back-off %s before the next start", w.name, w.exitErr, p.restarts, p.backoff)
				} else {
					p.logf(now, "worker %s exited unexpectedly (%v); replacing it (restarts: %d)", w.name, w.exitErr, p.restarts)
				}
			}
			continue
		}
		kept = append(kept, w)
	}
	p.workers = kept
	for _, w := range p.workers {
		if w.stopping && !w.killed && now.Sub(w.stopAt) >= p.cfg.Grace {
			_ = signalGroup(w.cmd, true)
			w.killed = true
			p.logf(now, "worker %s did not stop within %s; SIGKILL", w.name, p.cfg.Grace)
		}
	}
	err := p.reconcile(ctx, now)
	p.probe(ctx, now)
	return p.observed(), err
}

func exited(w *worker) bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (p *Process) observed() Observed {
	o := Observed{Spec: p.spec, Restarts: p.restarts}
	for _, w := range p.workers {
		pd := Pod{Name: w.name, Deleting: w.stopping, GPUs: w.gpus}
		if w.pending {
			pd.Phase = corev1.PodPending
		} else {
			pd.Phase, pd.Started, pd.Ready, pd.ReadySince = corev1.PodRunning, w.started, w.ready, w.readyAt
			if pd.ReadySince.IsZero() {
				pd.ReadySince = w.started
			}
			if p.cfg.MetricsPath != "" {
				pd.MetricsURL = "http://127.0.0.1:" + strconv.Itoa(w.port) + p.cfg.MetricsPath
			}
		}
		o.Pods = append(o.Pods, pd)
		o.Status++
	}
	return o
}

// probe checks readiness of the running workers, in parallel.
func (p *Process) probe(ctx context.Context, now time.Time) {
	var wg sync.WaitGroup
	for _, w := range p.workers {
		if w.pending || w.stopping {
			continue
		}
		if p.cfg.ReadyPath == "" {
			if !w.ready {
				w.ready, w.readyAt = true, now
			}
			continue
		}
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			ok := p.probeOne(ctx, w)
			if ok != w.ready {
				w.ready, w.readyAt = ok, now
			}

		}(w)
	}
	wg.Wait()
	for _, w := range p.workers {
		if w.ready && !w.stopping && now.Sub(w.started) > crashWindow {
			p.backoff = 0 // a worker has run well: no crash loop
		}
	}
}

func (p *Process) probeOne(ctx context.Context, w *worker) bool {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(w.port)+p.cfg.ReadyPath, nil)
	if err != nil {
		return false
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// reconcile starts pending or missing workers and stops surplus ones, the
// ReplicaSet way: pending first, then unready, then the newest.
func (p *Process) reconcile(ctx context.Context, now time.Time) error {
	var active []*worker
	for _, w := range p.workers {
		if !w.stopping {
			active = append(active, w)
		}
	}
	var firstErr error
	// retry workers waiting for GPUs
	for _, w := range active {
		if w.pending && int32(len(active)) <= p.spec {
			if err := p.start(now, w); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	for int32(len(active)) < p.spec {
		p.seq++
		w := &worker{name: fmt.Sprintf("%s-%d", p.cfg.Name, p.seq), pending: true}
		p.workers = append(p.workers, w)
		active = append(active, w)
		if err := p.start(now, w); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if excess := len(active) - int(max(p.spec, 0)); excess > 0 {
		sort.SliceStable(active, func(i, j int) bool {
			a, b := active[i], active[j]
			if a.pending != b.pending {
				return a.pending
			}
			if a.ready != b.ready {
				return !a.ready
			}
			return a.started.After(b.started)
		})
		for _, w := range active[:excess] {
			p.stop(now, w)
		}
	}
	_ = ctx
	return firstErr
}

func (p *Process) stop(now time.Time, w *worker) {
	if w.pending {
		w.stopping = true
		p.removePending(w)
		p.logf(now, "worker %s (waiting for GPUs) dropped", w.name)
		return
	}
	w.stopping, w.stopAt, w.ready = true, now, false
	_ = signalGroup(w.cmd, false)
	p.logf(now, "worker %s: SIGTERM (grace %s)", w.name, p.cfg.Grace)
}

func (p *Process) removePending(w *worker) {
	for i, x := range p.workers {
		if x == w {
			p.workers = append(p.workers[:i], p.workers[i+1:]...)
			return
		}
	}
}

func (p *Process) usedGPUs() map[string]bool {
	used := map[string]bool{}
	for _, w := range p.workers {
		for _, g := range w.gpus {
			used[g] = true
		}
	}
	return used
}

// start allocates GPUs and a port and starts w; without enough GPUs w stays
// pending (as an unschedulable pod).
func (p *Process) start(now time.Time, w *worker) error {
	if now.Before(p.backoffUntil) {
		return nil // stays pending
	}
	var gpus []string
	if p.cfg.GPUsPerWorker > 0 && p.cfg.GPUs != nil {
		devs, smp := p.cfg.GPUs()
		g, ok := Allocate(devs, smp, p.usedGPUs(), p.cfg.GPUsPerWorker, p.cfg.MinFreeBytes)
		if !ok {
			if !w.pending || w.started.IsZero() {
				p.logf(now, "worker %s pending: fewer than %d free GPU(s) with %d MiB free", w.name, p.cfg.GPUsPerWorker, p.cfg.MinFreeBytes>>20)
				w.started = now // logged once
			}
			return nil
		}
		gpus = g
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Env = append(os.Environ(), p.cfg.Env...)
	cmd.Env = append(cmd.Env, "PORT="+strconv.Itoa(port), "MLSCALE_WORKER="+w.name)
	if gpus != nil {
		cmd.Env = append(cmd.Env, "CUDA_VISIBLE_DEVICES="+strings.Join(gpus, ","))
	}
	cmd.Stdout, cmd.Stderr = prefixWriter(p.cfg.Log, w.name), prefixWriter(p.cfg.Log, w.name)
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		p.crashed(now, now)
		return fmt.Errorf("start worker %s: %w (next try in %s)", w.name, err, p.backoff)
	}
	w.cmd, w.port, w.gpus, w.started, w.pending, w.done = cmd, port, gpus, now, false, make(chan struct{})
	go func(w *worker, cmd *exec.Cmd) {
		err := cmd.Wait()
		p.mu.Lock()
		w.exitErr = err
		p.mu.Unlock()
		close(w.done)
	}(w, cmd)
	if gpus != nil {
		p.logf(now, "worker %s started (pid %d, port %d, CUDA_VISIBLE_DEVICES=%s)", w.name, cmd.Process.Pid, port, strings.Join(gpus, ","))
	} else {
		p.logf(now, "worker %s started (pid %d, port %d)", w.name, cmd.Process.Pid, port)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Close stops every worker: SIGTERM, then SIGKILL after the grace period
// (measured on the wall clock), and waits for them to exit.
func (p *Process) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	var running []*worker
	for _, w := range p.workers {
		if w.pending {
			continue
		}
		if !w.stopping {
			_ = signalGroup(w.cmd, false)
			w.stopping = true
		}
		running = append(running, w)
	}
	p.workers = nil
	p.mu.Unlock()
	timer := time.NewTimer(p.cfg.Grace)
	defer timer.Stop()
	for _, w := range running {
		select {
		case <-w.done:
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		for _, x := range running {
			_ = signalGroup(x.cmd, true)
		}
		break
	}
	for _, w := range running {
		<-w.done
	}
	return nil
}

// Workers returns the running workers' names, ports and GPUs (for tests and
// the smoke script).
func (p *Process) Workers() []WorkerInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []WorkerInfo
	for _, w := range p.workers {
		wi := WorkerInfo{Name: w.name, Port: w.port, GPUs: w.gpus, Ready: w.ready, Stopping: w.stopping, Pending: w.pending}
		if w.cmd != nil && w.cmd.Process != nil {
			wi.PID = w.cmd.Process.Pid
		}
		out = append(out, wi)
	}
	return out
}

// WorkerInfo describes one worker.
type WorkerInfo struct {
	Name                     string
	PID, Port                int
	GPUs                     []string
	Ready, Stopping, Pending bool
}

type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
}

var logMu sync.Mutex

func prefixWriter(w io.Writer, name string) io.Writer {
	if w == io.Discard {
		return io.Discard
	}
	return &lineWriter{mu: &logMu, w: w, prefix: "[" + name + "] "}
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\n") {
			line += "\n"
		}
		if _, err := io.WriteString(l.w, l.prefix+line); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
