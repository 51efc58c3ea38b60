// Package report writes a simulation's results for people: the summary
// table, the side-by-side comparison with confidence intervals, the
// timeline CSV, plots (gonum/plot) and a self-contained HTML report.
package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/sim"
)

// secs formats seconds as a short duration.
func secs(s float64) string {
	switch {
	case s == 0:
		return "0s"
	case s < 0.001:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1e3)
	case s < 60:
		return strconv.FormatFloat(math.Round(s*100)/100, 'f', -1, 64) + "s"
	}
	return time.Duration(math.Round(s) * float64(time.Second)).String()
}

func pct(f float64) string {
	return strconv.FormatFloat(math.Round(f*10000)/100, 'f', -1, 64) + "%"
}

func num(f float64, digits int) string {
	return strconv.FormatFloat(f, 'f', digits, 64)
}

func money(f float64) string { return "$" + num(f, 2) }

func human(n float64) string {
	switch {
	case n >= 1e9:
		return num(n/1e9, 1) + "G"
	case n >= 1e6:
		return num(n/1e6, 1) + "M"
	case n >= 1e4:
		return num(n/1e3, 0) + "k"
	}
	return num(n, 0)
}

// Verdict is the one-line answer: does the policy meet its SLO, at what cost.
func Verdict(r *sim.Result) string {
	s := &r.Summary
	met := "MEETS"
	if !s.SLO.Met {
		met = "MISSES"
	}
	cost := money(s.Cost)
	if s.Cost == 0 && s.GPUHours > 0 {
		cost = "an unknown cost (no GPU price: set cost.gpuHourUSD or a pool's gpuHourUSD)"
	}
	return fmt.Sprintf("%s the SLO (p%s ≤ %s in %s of %s windows; goal %s) at %s for %s (%s GPU-hours)",
		met, num(s.SLO.Percentile, 0), secs(s.SLO.Latency), pct(s.SLO.WindowAttainment), secs(s.SLO.WindowSeconds),
		pct(s.SLO.Goal), cost, secs(r.Scenario.DurationSeconds), num(s.GPUHours, 2))
}

// WriteSummary prints one run as a two-column table.
func WriteSummary(w io.Writer, description string, r *sim.Result) error {
	s := &r.Summary
	fmt.Fprintf(w, "%s: policy %s (%s, %s routing), %s simulated, seed %d\n", r.Scenario.Name, r.Scenario.Policy,
		r.Scenario.Autoscaler, r.Scenario.Routing, secs(r.Scenario.DurationSeconds), r.Scenario.Seed)
	if description != "" {
		fmt.Fprintf(w, "%s\n", description)
	}
	fmt.Fprintf(w, "\n%s\n\n", Verdict(r))
	tw := output.NewTable(w)
	lat := func(l sim.Latency) string {
		return fmt.Sprintf("mean %s  p50 %s  p90 %s  p95 %s  p99 %s  max %s", secs(l.Mean), secs(l.P50), secs(l.P90), secs(l.P95), secs(l.P99), secs(l.Max))
	}
	rq := s.Requests
	fmt.Fprintf(tw, "requests\t%d arrived, %d completed, %d dropped, %d timed out, %d killed, %d in flight at the end (%s/s served)\n",
		rq.Total, rq.Completed, rq.Dropped, rq.TimedOut, rq.Killed, rq.InSystem, num(rq.Throughput, 2))
	fmt.Fprintf(tw, "latency\t%s\n", lat(s.Latency))
	fmt.Fprintf(tw, "queue wait\t%s\n", lat(s.QueueWait))
	fmt.Fprintf(tw, "SLO\t%s of requests within %s; %d of %d windows met\n", pct(s.SLO.Attainment), secs(s.SLO.Latency), s.SLO.WindowsMet, s.SLO.Windows)
	rec := "never violated"
	if s.Recovery.Episodes > 0 {
		rec = fmt.Sprintf("%d violation episodes, recovered in %s on average (max %s)", s.Recovery.Episodes, secs(s.Recovery.MeanSeconds), secs(s.Recovery.MaxSeconds))
		if s.Recovery.Unrecovered {
			rec += "; still violated at the end"
		}
	}
	fmt.Fprintf(tw, "recovery\t%s\n", rec)
	rp := s.Replicas
	fmt.Fprintf(tw, "replicas\tmean %s (ready %s), min %d, max %d (for %s), %d → %d\n", num(rp.Mean, 2), num(rp.MeanReady, 2), rp.Min, rp.Max, secs(rp.TimeAtMax), rp.Initial, rp.Final)
	fmt.Fprintf(tw, "scaling\t%d scale events (%d up, %d down), %d flaps, %d HPA reconciles\n", s.ScaleEvents, s.ScaleUps, s.ScaleDowns, s.Flaps, rp.HPAReconciles)
	if o := s.Outage; o != nil {
		fmt.Fprintf(tw, "outages\t%s\n", outageLine(r))
	}
	cs := fmt.Sprintf("%d created, %d cold starts", s.Pods.Created, s.Pods.ColdStarts)
	if s.Pods.ColdStarts > 0 {
		cs += fmt.Sprintf(" (mean %s, max %s)", secs(s.Pods.ColdStartAvg), secs(s.Pods.ColdStartMax))
	}
	if s.Pods.Restarts > 0 {
		cs += fmt.Sprintf(", %d startup-probe restarts", s.Pods.Restarts)
	}
	fmt.Fprintf(tw, "pods\t%s\n", cs)
	nd := fmt.Sprintf("%d created, at most %d at once", s.Nodes.Created, s.Nodes.Max)
	if s.Nodes.Unschedulable {
		nd += "; pods stayed Pending: every pool at its maximum"
	}
	fmt.Fprintf(tw, "GPU nodes\t%s\n", nd)
	fmt.Fprintf(tw, "GPU-hours\t%s provisioned, %s allocated to pods, %s busy\n", num(s.GPUHours, 2), num(s.GPUHoursAllocated, 2), num(s.GPUHoursBusy, 2))
	fmt.Fprintf(tw, "cost\t%s (%s per million requests)\n", money(s.Cost), money(s.CostPerMillionRequests))
	fmt.Fprintf(tw, "Little's law\tL = %s, λW = %s\n", num(s.LittlesLaw.L, 4), num(s.LittlesLaw.LambdaW, 4))
	eng := fmt.Sprintf("%s events", human(float64(s.Engine.Events)))
	if s.Engine.WallSeconds > 0 {
		eng += fmt.Sprintf(" in %s (%s events/s, %s× real time)", secs(s.Engine.WallSeconds), human(s.Engine.EventsPerSecond), human(s.Engine.SpeedUp))
	}
	fmt.Fprintf(tw, "engine\t%s\n", eng)
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(r.Decisions); n > 0 {
		fmt.Fprintf(w, "\nscaling decisions (%d", s.ScaleEvents)
		if n < s.ScaleEvents {
			fmt.Fprintf(w, ", first %d kept", n)
		}
		fmt.Fprintln(w, "; -o json lists them all):")
		tw := output.NewTable(w)
		fmt.Fprintln(tw, "TIME\tFROM\tTO\tBY\tREASON")
		show := r.Decisions
		if len(show) > 12 {
			show = show[:12]
		}
		for _, d := range show {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", d.Time, d.From, d.To, d.By, d.Reason)
		}
		if len(r.Decisions) > len(show) {
			fmt.Fprintf(tw, "...\t\t\t\t%d more\n", len(r.Decisions)-len(show))
		}
		return tw.Flush()
	}
	return nil
}

// Comparison is several policies (and seeds) side by side.
type Comparison struct {
	Scenario    string          `json:"scenario"`
	Description string          `json:"description,omitempty"`
	Seeds       []uint64        `json:"seeds"`
	Policies    []PolicySummary `json:"policies"`
}

// PolicySummary is one policy over its seeds.
type PolicySummary struct {
	Policy     string       `json:"policy"`
	Autoscaler string       `json:"autoscaler"`
	Runs       int          `json:"runs"`
	SLOMet     int          `json:"sloMet"`
	Metrics    []MetricStat `json:"metrics"`
	// Summaries are the runs' summaries, in seed order.
	Summaries []sim.Summary `json:"summaries"`
}

// MetricStat is a metric's mean over the seeds with a 95 % confidence
// interval (Student's t; zero width for one run).
type MetricStat struct {
	Name string  `json:"name"`
	Mean float64 `json:"mean"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

var compared = []struct {
	name, label string
	get         func(*sim.Summary) float64
	format      func(float64) string
}{
	{"slo.windowAttainment", "SLO windows met", func(s *sim.Summary) float64 { return s.SLO.WindowAttainment }, pct},
	{"slo.attainment", "requests within SLO", func(s *sim.Summary) float64 { return s.SLO.Attainment }, pct},
	{"latency.p50", "latency p50", func(s *sim.Summary) float64 { return s.Latency.P50 }, secs},
	{"latency.p99", "latency p99", func(s *sim.Summary) float64 { return s.Latency.P99 }, secs},
	{"queueWait.mean", "queue wait mean", func(s *sim.Summary) float64 { return s.QueueWait.Mean }, secs},
	{"replicas.mean", "replicas mean", func(s *sim.Summary) float64 { return s.Replicas.Mean }, func(f float64) string { return num(f, 2) }},
	{"replicas.max", "replicas max", func(s *sim.Summary) float64 { return float64(s.Replicas.Max) }, func(f float64) string { return num(f, 1) }},
	{"gpuHours", "GPU-hours", func(s *sim.Summary) float64 { return s.GPUHours }, func(f float64) string { return num(f, 2) }},
	{"cost", "cost", func(s *sim.Summary) float64 { return s.Cost }, money},
	{"scaleEvents", "scale events", func(s *sim.Summary) float64 { return float64(s.ScaleEvents) }, func(f float64) string { return num(f, 1) }},
	{"flaps", "flaps", func(s *sim.Summary) float64 { return float64(s.Flaps) }, func(f float64) string { return num(f, 1) }},
	{"requests.dropped", "dropped+timed out", func(s *sim.Summary) float64 { return float64(s.Requests.Dropped + s.Requests.TimedOut) }, func(f float64) string { return num(f, 1) }},
}

// Summarize computes a policy's statistics over its runs.
func Summarize(policy string, runs []*sim.Result) PolicySummary {
	ps := PolicySummary{Policy: policy, Runs: len(runs)}
	if len(runs) > 0 {
		ps.Autoscaler = runs[0].Scenario.Autoscaler
	}
	for _, r := range runs {
		ps.Summaries = append(ps.Summaries, r.Summary)
		if r.Summary.SLO.Met {
			ps.SLOMet++
		}
	}
	for _, m := range compared {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = m.get(&r.Summary)
		}
		mean, lo, hi := ConfidenceInterval(xs, 0.95)
		// every metric is non-negative and shares are at most 1
		lo = math.Max(lo, 0)
		if strings.HasPrefix(m.name, "slo.") {
			hi = math.Min(hi, 1)
		}
		ps.Metrics = append(ps.Metrics, MetricStat{Name: m.name, Mean: round6(mean), Low: round6(lo), High: round6(hi)})
	}
	return ps
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// WriteComparison prints the policies side by side.
func WriteComparison(w io.Writer, c *Comparison) error {
	seeds := make([]string, len(c.Seeds))
	for i, s := range c.Seeds {
		seeds[i] = strconv.FormatUint(s, 10)
	}
	fmt.Fprintf(w, "%s: %d policies × %d seeds (%s)", c.Scenario, len(c.Policies), len(c.Seeds), strings.Join(seeds, ", "))
	if len(c.Seeds) > 1 {
		fmt.Fprint(w, "; mean [95% confidence interval]")
	}
	fmt.Fprintln(w)
	if c.Description != "" {
		fmt.Fprintln(w, c.Description)
	}
	fmt.Fprintln(w)
	tw := output.NewTable(w)
	fmt.Fprint(tw, "METRIC")
	for _, p := range c.Policies {
		fmt.Fprintf(tw, "\t%s (%s)", strings.ToUpper(p.Policy), p.Autoscaler)
	}
	fmt.Fprintln(tw)
	fmt.Fprint(tw, "SLO met")
	for _, p := range c.Policies {
		fmt.Fprintf(tw, "\t%d of %d runs", p.SLOMet, p.Runs)
	}
	fmt.Fprintln(tw)
	for i, m := range compared {
		fmt.Fprint(tw, m.label)
		for _, p := range c.Policies {
			st := p.Metrics[i]
			if p.Runs > 1 {
				fmt.Fprintf(tw, "\t%s [%s, %s]", m.format(st.Mean), m.format(st.Low), m.format(st.High))
			} else {
				fmt.Fprintf(tw, "\t%s", m.format(st.Mean))
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// outageLine sums up the metric outages and what they did.
func outageLine(r *sim.Result) string {
	o := r.Summary.Outage
	var ivs []string
	for _, x := range r.Outages {
		ivs = append(ivs, fmt.Sprintf("%s %s %s-%s on %s", x.Metric, x.Mode, x.StartTime, x.EndTime, strings.Join(x.Hit, ", ")))
	}
	line := fmt.Sprintf("%s in all (%s)", secs(o.Seconds), strings.Join(ivs, "; "))
	if r.Scenario.Autoscaler == "keda" {
		line += fmt.Sprintf("; %d KEDA polls with a failing scaler, fallback active %s", o.KEDAFailedPolls, secs(o.FallbackSeconds))
	}
	if r.Scenario.Autoscaler != "none" {
		line += fmt.Sprintf("; %d HPA reconciles with a failed metric, ScalingActive=False %s", o.HPAFailedReconciles, secs(o.ScalingInactiveSeconds))
	}
	return line
}
