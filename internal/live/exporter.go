package live

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mlscale/mlscale/internal/gpu"
)

// Compat selects the GPU metric names.
type Compat string

// Exporter naming modes: mlscale_gpu_* (default, no clash with a real
// dcgm-exporter on the node) or dcgm-exporter's DCGM_FI_* names.
const (
	CompatMLScale Compat = "mlscale"
	CompatDCGM    Compat = "dcgm"
)

// gpuLabels are dcgm-exporter's label keys (render_metrics.go); the MIG
// labels are empty on a full GPU, which Prometheus reads as absent.
var gpuLabels = []string{"gpu", "UUID", "pci_bus_id", "device", "modelName", "GPU_I_PROFILE", "GPU_I_ID"}

type gpuMetric struct {
	desc *prometheus.Desc
	get  func(*gpu.Sample) (float64, bool)
}

// GPU metric names: dcgm-exporter's and mlscale's, with dcgm-exporter's
// units (MiB for framebuffer memory, W, °C, %).
var gpuMetricDefs = []struct {
	dcgm, mlscale, help string
	get                 func(*gpu.Sample) (float64, bool)
}{
	{"DCGM_FI_DEV_GPU_UTIL", "mlscale_gpu_utilization", "GPU utilization (in %).", func(s *gpu.Sample) (float64, bool) { return pf(s.GPUUtilPercent) }},
	{"DCGM_FI_DEV_MEM_COPY_UTIL", "mlscale_gpu_mem_copy_utilization", "Memory utilization (in %).", func(s *gpu.Sample) (float64, bool) { return pf(s.MemUtilPercent) }},
	{"DCGM_FI_DEV_FB_USED", "mlscale_gpu_fb_used", "Framebuffer memory used (in MiB).", func(s *gpu.Sample) (float64, bool) { return mib(s.FBUsedBytes) }},
	{"DCGM_FI_DEV_FB_FREE", "mlscale_gpu_fb_free", "Framebuffer memory free (in MiB).", func(s *gpu.Sample) (float64, bool) { return mib(s.FBFreeBytes) }},
	{"DCGM_FI_DEV_FB_RESERVED", "mlscale_gpu_fb_reserved", "Framebuffer memory reserved (in MiB).", func(s *gpu.Sample) (float64, bool) { return mib(s.FBReservedBytes) }},
	{"DCGM_FI_DEV_POWER_USAGE", "mlscale_gpu_power_usage", "Power draw (in W).", func(s *gpu.Sample) (float64, bool) { return pf(s.PowerWatts) }},
	{"DCGM_FI_DEV_GPU_TEMP", "mlscale_gpu_temp", "GPU temperature (in C).", func(s *gpu.Sample) (float64, bool) { return pf(s.TemperatureC) }},
}

func pf(p *float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

func mib(p *uint64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return float64(*p) / (1 << 20), true
}

// Exporter serves /metrics, /healthz and /readyz for a Loop.
type Exporter struct {
	loop     *Loop
	workload string
	gpu      []gpuMetric
	lost     *prometheus.Desc
	procs    *prometheus.Desc
	desired, current, ready, spec,
	metric, metricErr, srcAge, srcErrs, scaleEvents, restarts, queueReady, queueUnacked, decisions *prometheus.Desc
	reg *prometheus.Registry
}

// NewExporter builds the registry for loop's status.
func NewExporter(loop *Loop, workload string, compat Compat) *Exporter {
	e := &Exporter{loop: loop, workload: workload, reg: prometheus.NewRegistry()}
	for _, d := range gpuMetricDefs {
		name := d.mlscale
		if compat == CompatDCGM {
			name = d.dcgm
		}
		e.gpu = append(e.gpu, gpuMetric{desc: prometheus.NewDesc(name, d.help, gpuLabels, nil), get: d.get})
	}
	w := []string{"workload"}
	e.lost = prometheus.NewDesc("mlscale_gpu_lost", "1 when the GPU fell off the bus (NVML_ERROR_GPU_IS_LOST).", gpuLabels, nil)
	e.procs = prometheus.NewDesc("mlscale_gpu_processes", "Compute processes on the GPU.", gpuLabels, nil)
	e.desired = prometheus.NewDesc("mlscale_desired_replicas", "Replicas the controllers last decided.", w, nil)
	e.spec = prometheus.NewDesc("mlscale_spec_replicas", "The target's desired replicas (scale.spec.replicas).", w, nil)
	e.current = prometheus.NewDesc("mlscale_current_replicas", "Replicas that exist (scale.status.replicas).", w, nil)
	e.ready = prometheus.NewDesc("mlscale_ready_replicas", "Ready replicas.", w, nil)
	e.metric = prometheus.NewDesc("mlscale_metric_value", "Each policy metric's current value as the HPA or KEDA computed it.", []string{"workload", "metric"}, nil)
	e.metricErr = prometheus.NewDesc("mlscale_metric_error", "1 when the policy metric failed at the last decision.", []string{"workload", "metric"}, nil)
	e.srcAge = prometheus.NewDesc("mlscale_source_age_seconds", "Seconds since the metric source last answered.", []string{"workload", "source"}, nil)
	e.srcErrs = prometheus.NewDesc("mlscale_source_errors_total", "Failed reads of the metric source.", []string{"workload", "source"}, nil)
	e.scaleEvents = prometheus.NewDesc("mlscale_scale_events_total", "Rescales, by direction.", []string{"workload", "direction"}, nil)
	e.restarts = prometheus.NewDesc("mlscale_worker_restarts_total", "Crashed workers replaced.", w, nil)
	e.decisions = prometheus.NewDesc("mlscale_decisions_total", "Rescales applied (or logged in a dry run).", w, nil)
	e.queueReady = prometheus.NewDesc("mlscale_queue_messages_ready", "Messages ready in the queue (RabbitMQ).", []string{"workload", "queue"}, nil)
	e.queueUnacked = prometheus.NewDesc("mlscale_queue_messages_unacknowledged", "Messages delivered and not acknowledged (RabbitMQ).", []string{"workload", "queue"}, nil)
	e.reg.MustRegister(e)
	return e
}

// Describe sends nothing: the collector is unchecked (GPU series come and go).
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect reads the loop's last status.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	st := e.loop.Status()
	for i := range st.GPUSamples {
		if i >= len(st.GPUDevices) {
			break
		}
		d, s := &st.GPUDevices[i], &st.GPUSamples[i]
		lv := []string{strconv.Itoa(d.Index), d.UUID, d.PCIBusID, deviceName(d), d.Name, d.MIGProfile, ""}
		if d.IsMIG() && d.GPUInstanceID >= 0 {
			lv[6] = strconv.Itoa(d.GPUInstanceID)
		}
		lost := 0.0
		if s.Lost {
			lost = 1
		}
		ch <- prometheus.MustNewConstMetric(e.lost, prometheus.GaugeValue, lost, lv...)
		if s.ProcessesKnown {
			ch <- prometheus.MustNewConstMetric(e.procs, prometheus.GaugeValue, float64(len(s.Processes)), lv...)
		}
		for _, m := range e.gpu {
			if v, ok := m.get(s); ok {
				ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, v, lv...)
			}
		}
	}
	w := e.workload
	g := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{w}, lv...)...)
	}
	c := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{w}, lv...)...)
	}
	if st.Steps == 0 {
		return
	}
	g(e.desired, float64(st.Desired))
	g(e.spec, float64(st.Spec))
	g(e.current, float64(st.Current))
	g(e.ready, float64(st.Ready))
	for _, m := range st.Metrics {
		if m.HasValue {
			g(e.metric, m.Value, m.Name)
		}
		failed := 0.0
		if m.Err != "" {
			failed = 1
		}
		g(e.metricErr, failed, m.Name)
	}
	for _, s := range st.Sources {
		if !s.LastOK.IsZero() {
			g(e.srcAge, st.At.Sub(s.LastOK).Seconds(), s.Name)
		}
		c(e.srcErrs, float64(s.Errors), s.Name)
	}
	c(e.scaleEvents, float64(st.ScaleUps), "up")
	c(e.scaleEvents, float64(st.ScaleDowns), "down")
	c(e.restarts, float64(st.Restarts))
	c(e.decisions, float64(st.Decisions))
	for q, v := range st.Queues {
		g(e.queueReady, float64(v.MessagesReady), q)
		g(e.queueUnacked, float64(v.MessagesUnacknowledged), q)
	}
}

func deviceName(d *gpu.Device) string {
	if d.MinorNumber >= 0 {
		return "nvidia" + strconv.Itoa(d.MinorNumber)
	}
	return "nvidia" + strconv.Itoa(d.Index)
}

// Handler serves /metrics, /healthz (200 while the process runs) and
// /readyz (200 once a step has completed within the last 3 sync periods).
func (e *Exporter) Handler(now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		st := e.loop.Status()
		if st.Steps == 0 || now().Sub(st.At) > 3*e.loop.cfg.SyncPeriod {
			http.Error(w, "not ready: no recent decision step", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Registry is the exporter's registry (tests gather from it).
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }
