package watch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/mlscale/mlscale/internal/sim"
)

// RunDoc is a replayable simulation run: the `mlscale simulate -o json`
// document with its timeline (which that output leaves out) and the
// simulated autoscaler's limits and targets. `mlscale replay --save` writes
// it; `mlscale replay RUN.json` reads it, or a plain simulate -o json
// document together with its --timeline CSV.
type RunDoc struct {
	sim.Result
	Timeline   *TimelineDoc   `json:"timeline,omitempty"`
	Autoscaler *AutoscalerDoc `json:"autoscaler,omitempty"`
}

// TimelineDoc is sim.Timeline in JSON (NaN, "no completion in this step",
// is null).
type TimelineDoc struct {
	Columns []string     `json:"columns"`
	Rows    [][]*float64 `json:"rows"`
}

// AutoscalerDoc is what the timeline does not say about the autoscaler.
type AutoscalerDoc struct {
	Kind      string         `json:"kind"`
	Namespace string         `json:"namespace,omitempty"`
	Name      string         `json:"name"`
	Target    string         `json:"target"`
	Min       int32          `json:"minReplicas"`
	Max       int32          `json:"maxReplicas"`
	Metrics   []MetricTarget `json:"metrics,omitempty"`
}

// MetricTarget names one timeline metric column and its target.
type MetricTarget struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Target string `json:"target"`
}

// NewRunDoc packs a run for saving; cfg (may be nil) supplies the
// autoscaler's limits and targets.
func NewRunDoc(res *sim.Result, cfg *sim.Config) *RunDoc {
	d := &RunDoc{Result: *res}
	if tl := res.Timeline; tl != nil {
		td := &TimelineDoc{Columns: tl.Columns, Rows: make([][]*float64, len(tl.Rows))}
		for i, r := range tl.Rows {
			row := make([]*float64, len(r))
			for j := range r {
				if !math.IsNaN(r[j]) && !math.IsInf(r[j], 0) {
					v := r[j]
					row[j] = &v
				}
			}
			td.Rows[i] = row
		}
		d.Timeline = td
	}
	if cfg == nil {
		return d
	}
	a := cfg.Autoscaler
	switch {
	case a.HPA != nil:
		h := a.HPA
		ad := &AutoscalerDoc{Kind: KindHPA, Namespace: h.Namespace, Name: h.Name, Max: h.Spec.MaxReplicas, Min: 1,
			Target: h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name}
		if h.Spec.MinReplicas != nil {
			ad.Min = *h.Spec.MinReplicas
		}
		for _, ms := range h.Spec.Metrics {
			m := metricOf(ms, (*autoscalingv2.MetricStatus)(nil))
			ad.Metrics = append(ad.Metrics, MetricTarget{Name: m.Name, Type: m.Type, Target: m.Target})
		}
		d.Autoscaler = ad
	case a.ScaledObject != nil:
		so := a.ScaledObject
		ad := &AutoscalerDoc{Kind: KindScaledObject, Namespace: so.Namespace, Name: so.Name, Max: 100,
			Target: "Deployment/" + so.Spec.ScaleTargetRef.Name}
		if so.Spec.MinReplicaCount != nil {
			ad.Min = *so.Spec.MinReplicaCount
		}
		if so.Spec.MaxReplicaCount != nil {
			ad.Max = *so.Spec.MaxReplicaCount
		}
		for i, t := range so.Spec.Triggers {
			target := "?"
			for _, k := range []string{"threshold", "value", "targetValue", "lagThreshold", "queueLength", "activationThreshold"} {
				if v, ok := t.Metadata[k]; ok {
					target = v
					break
				}
			}
			ad.Metrics = append(ad.Metrics, MetricTarget{Name: fmt.Sprintf("s%d-%s", i, t.Type), Type: "External", Target: target})
		}
		d.Autoscaler = ad
	}
	return d
}

// ReadRun reads a run document; timelineCSV (may be "") supplies the
// timeline of a plain `simulate -o json` output.
func ReadRun(path, timelineCSV string) (*RunDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d RunDoc
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: not a simulation run (mlscale simulate -o json or mlscale replay --save): %w", path, err)
	}
	if d.Scenario.Name == "" && d.Timeline == nil {
		return nil, fmt.Errorf("%s: not a simulation run: no \"scenario\" and no \"timeline\" key", path)
	}
	if timelineCSV != "" {
		f, err := os.Open(timelineCSV)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if d.Timeline, err = ReadTimelineCSV(f); err != nil {
			return nil, fmt.Errorf("%s: %w", timelineCSV, err)
		}
	}
	if d.Timeline == nil || len(d.Timeline.Rows) == 0 {
		return nil, fmt.Errorf("%s has no timeline: pass the CSV the same run wrote with --timeline FILE.csv, or run the scenario here with --scenario (and keep it with --save)", path)
	}
	if column(d.Timeline.Columns, "t") != 0 || column(d.Timeline.Columns, "specReplicas") < 0 {
		return nil, fmt.Errorf("%s: the timeline lacks the t and specReplicas columns", path)
	}
	return &d, nil
}

// ReadTimelineCSV reads what `mlscale simulate --timeline` writes.
func ReadTimelineCSV(r io.Reader) (*TimelineDoc, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	td := &TimelineDoc{}
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if line == 1 {
			td.Columns = fields
			continue
		}
		if len(fields) == 1 && fields[0] == "" {
			continue
		}
		if len(fields) != len(td.Columns) {
			return nil, fmt.Errorf("line %d: %d fields, want %d", line, len(fields), len(td.Columns))
		}
		row := make([]*float64, len(fields))
		for i, f := range fields {
			if f == "" {
				continue
			}
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d, column %s: %w", line, td.Columns[i], err)
			}
			row[i] = &v
		}
		td.Rows = append(td.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(td.Columns) == 0 {
		return nil, fmt.Errorf("empty timeline")
	}
	return td, nil
}

func column(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	return -1
}

// Player replays one or more runs on a shared simulated clock. It is not
// safe for concurrent use (the TUI drives it from Update).
type Player struct {
	runs  []*playRun
	t     float64 // simulated seconds
	end   float64
	step  float64 // smallest timeline step
	speed float64 // simulated seconds per wall second
	play  bool
	note  string
	start time.Time
}

type playRun struct {
	name string
	doc  *RunDoc
	t    []float64
	cols map[string]int
	// metric columns, in order
	metrics []int
	auto    AutoscalerDoc
	// decision and breach times
	decisions []float64
}

// Speeds are the replay speeds, in simulated seconds per wall second.
var Speeds = []float64{1, 2, 5, 10, 30, 60, 120, 300, 600}

// NewPlayer prepares runs for replay (names label the rows).
func NewPlayer(names []string, docs []*RunDoc) *Player {
	p := &Player{speed: 10, step: math.Inf(1), start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i, d := range docs {
		r := &playRun{name: names[i], doc: d, cols: map[string]int{}}
		for j, c := range d.Timeline.Columns {
			r.cols[c] = j
			if strings.HasPrefix(c, "hpa:") || strings.HasPrefix(c, "keda:") {
				r.metrics = append(r.metrics, j)
			}
		}
		for k, row := range d.Timeline.Rows {
			t := val(row, 0)
			r.t = append(r.t, t)
			if k > 0 && t-r.t[k-1] > 0 {
				p.step = math.Min(p.step, t-r.t[k-1])
			}
		}
		p.end = math.Max(p.end, r.t[len(r.t)-1])
		for _, dc := range d.Decisions {
			r.decisions = append(r.decisions, dc.At)
		}
		if d.Autoscaler != nil {
			r.auto = *d.Autoscaler
		} else {
			kind := KindHPA
			if d.Scenario.Autoscaler == "keda" {
				kind = KindScaledObject
			} else if d.Scenario.Autoscaler == "none" {
				kind = "None"
			}
			r.auto = AutoscalerDoc{Kind: kind, Name: d.Scenario.Policy, Target: "Deployment/" + d.Scenario.Policy}
		}
		if r.auto.Name == "" {
			r.auto.Name = names[i]
		}
		p.runs = append(p.runs, r)
	}
	if math.IsInf(p.step, 1) {
		p.step = 1
	}
	if len(p.runs) > 0 {
		p.t = p.runs[0].t[0]
	}
	return p
}

func val(row []*float64, i int) float64 {
	if i < 0 || i >= len(row) || row[i] == nil {
		return math.NaN()
	}
	return *row[i]
}

// index returns the last row at or before t.
func (r *playRun) index(t float64) int {
	i := sort.SearchFloat64s(r.t, t+1e-9) - 1
	return max(0, min(i, len(r.t)-1))
}

// Playing reports whether the replay runs.
func (p *Player) Playing() bool { return p.play }

// Speed is the replay speed.
func (p *Player) Speed() float64 { return p.speed }

// At is the simulated time in seconds.
func (p *Player) At() float64 { return p.t }

// Advance moves a playing replay on by wall-clock dt; it reports whether
// anything changed. The replay pauses at the end.
func (p *Player) Advance(dt time.Duration) bool {
	if !p.play {
		return false
	}
	p.note = ""
	p.t += dt.Seconds() * p.speed
	if p.t >= p.end {
		p.t, p.play = p.end, false
		p.note = "end of run"
	}
	return true
}

// Key handles a replay key; it reports whether the key was one.
//
//	space play/pause   + - speed   . or right: step   , or left: step back
//	n / N next / previous scaling event   b next SLO breach   0 / $ start / end
func (p *Player) Key(k string) bool {
	p.note = ""
	switch k {
	case " ", "space":
		p.play = !p.play
		if p.play && p.t >= p.end {
			p.t = p.runs[0].t[0]
		}
	case "+", "=":
		p.speed = nextSpeed(p.speed, 1)
	case "-", "_":
		p.speed = nextSpeed(p.speed, -1)
	case ".", "right":
		p.play = false
		p.t = math.Min(p.end, p.t+p.step)
	case ",", "left":
		p.play = false
		p.t = math.Max(p.runs[0].t[0], p.t-p.step)
	case "0", "home":
		p.play, p.t = false, p.runs[0].t[0]
	case "$", "end":
		p.play, p.t = false, p.end
	case "n":
		p.jump(func(r *playRun) []float64 { return r.decisions }, true, "scaling event")
	case "N":
		p.jump(func(r *playRun) []float64 { return r.decisions }, false, "scaling event")
	case "b":
		p.jump(func(r *playRun) []float64 {
			var out []float64
			for _, rc := range r.doc.Recoveries {
				out = append(out, rc.Start)
			}
			return out
		}, true, "SLO breach")
	default:
		return false
	}
	return true
}

func nextSpeed(cur float64, dir int) float64 {
	for i, s := range Speeds {
		if s >= cur {
			j := i + dir
			if s > cur && dir < 0 {
				j = i - 1
			}
			return Speeds[max(0, min(j, len(Speeds)-1))]
		}
	}
	return Speeds[len(Speeds)-1]
}

// jump moves to the nearest time after (or before) now in any run.
func (p *Player) jump(times func(*playRun) []float64, forward bool, what string) {
	p.play = false
	best := math.NaN()
	for _, r := range p.runs {
		for _, t := range times(r) {
			if forward && t > p.t+1e-9 && (math.IsNaN(best) || t < best) {
				best = t
			}
			if !forward && t < p.t-1e-9 && (math.IsNaN(best) || t > best) {
				best = t
			}
		}
	}
	if math.IsNaN(best) {
		dir := "after"
		if !forward {
			dir = "before"
		}
		p.note = fmt.Sprintf("no %s %s %s", what, dir, clock(p.t))
		return
	}
	p.t = best
	p.note = what + " at " + clock(best)
}

// clock renders seconds as h:mm:ss.
func clock(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// Clock renders simulated seconds as h:mm:ss.
func Clock(s float64) string { return clock(s) }

// Snapshot is the table at the current simulated time.
func (p *Player) Snapshot() *Snapshot {
	s := &Snapshot{Time: p.start.Add(time.Duration(p.t * float64(time.Second))), Context: "replay"}
	info := &ReplayInfo{At: p.t, Duration: p.end, Playing: p.play, Speed: p.speed, Note: p.note}
	var names []string
	for _, r := range p.runs {
		names = append(names, r.name)
		row, breach, step := r.row(p.t)
		info.SLOBreach = info.SLOBreach || breach
		info.Step, info.Steps = step, len(r.t)
		if info.Note == "" {
			info.Note = r.noteAt(p.t, p.step)
		}
		s.Rows = append(s.Rows, row)
		s.Pods += int(row.Current)
	}
	info.Run = strings.Join(names, ", ")
	s.Replay = info
	return s
}

// noteAt describes a decision made within the step ending at t.
func (r *playRun) noteAt(t, step float64) string {
	for _, d := range r.doc.Decisions {
		if d.At > t-step && d.At <= t+1e-9 {
			return fmt.Sprintf("%s: %d -> %d by %s (%s)", r.name, d.From, d.To, d.By, d.Reason)
		}
	}
	return ""
}

func (r *playRun) inBreach(t float64) bool {
	for _, rc := range r.doc.Recoveries {
		if t >= rc.Start && t < rc.Start+rc.Seconds {
			return true
		}
	}
	return false
}

func (r *playRun) row(t float64) (Row, bool, int) {
	i := r.index(t)
	rows := r.doc.Timeline.Rows
	cur := rows[i]
	get := func(name string) float64 { return val(cur, colOr(r.cols, name)) }
	a := r.auto
	row := Row{Namespace: a.Namespace, Name: a.Name, Kind: a.Kind, Target: a.Target, Min: a.Min, Max: a.Max,
		Current: int32(get("specReplicas")), Desired: int32(get("hpaDesired")), Health: "OK"}
	if math.IsNaN(get("hpaDesired")) {
		row.Desired = row.Current
	}
	if row.Namespace == "" {
		row.Namespace = "sim"
	}
	for k, j := range r.metrics {
		m := Metric{Name: strings.SplitN(r.doc.Timeline.Columns[j], ":", 2)[1], Type: "External", Current: unknown, Target: "?"}
		if k < len(a.Metrics) {
			m.Name, m.Type, m.Target = a.Metrics[k].Name, a.Metrics[k].Type, a.Metrics[k].Target
		}
		if v := val(cur, j); !math.IsNaN(v) {
			m.Value, m.Known = v, true
			m.Current = FormatQuantity(math.Round(v*1000) / 1000)
			if strings.HasSuffix(m.Target, "%") {
				m.Current = strconv.Itoa(int(math.Round(v))) + "%"
			}
		}
		row.Metrics = append(row.Metrics, m)
	}
	// sparklines: the run so far
	spec, mcol := colOr(r.cols, "specReplicas"), -1
	if len(r.metrics) > 0 {
		mcol = r.metrics[0]
	}
	row.ReplicaHistory = make([]float64, i+1)
	if mcol >= 0 {
		row.MetricHistory = make([]float64, i+1)
	}
	for k := 0; k <= i; k++ {
		row.ReplicaHistory[k] = zeroNaN(val(rows[k], spec))
		if mcol >= 0 {
			row.MetricHistory[k] = zeroNaN(val(rows[k], mcol))
		}
	}
	breach := r.inBreach(t)
	if breach {
		row.Health, row.Reason = "Breach", "SLOViolation"
		row.Message = "the SLO percentile of the current window is above its latency"
	} else if row.Current >= row.Max && row.Max > 0 {
		row.Health, row.Reason = "Limited", "TooManyReplicas"
		row.Message = "at maxReplicas"
	}
	// the decisions so far, newest first, as events
	for k := len(r.doc.Decisions) - 1; k >= 0 && len(row.Events) < 15; k-- {
		d := r.doc.Decisions[k]
		if d.At > t+1e-9 {
			continue
		}
		row.Events = append(row.Events, Event{Type: "Normal", Reason: "SuccessfulRescale", Object: row.Target,
			Message: fmt.Sprintf("%s: %d -> %d by %s: %s", d.Time, d.From, d.To, d.By, d.Reason)})
	}
	row.Conditions = []Condition{
		{Type: "Time", Status: clock(cur0(cur)), Message: fmt.Sprintf("step %d of %d", i+1, len(rows))},
		{Type: "Traffic", Status: FormatQuantity(math.Round(get("arrivalRate")*100) / 100), Reason: "req/s",
			Message: fmt.Sprintf("throughput %s req/s, queue %s, in flight %s", FormatQuantity(math.Round(get("throughput")*100)/100), FormatQuantity(get("queue")), FormatQuantity(get("inflight")))},
		{Type: "Pods", Status: FormatQuantity(get("readyReplicas")), Reason: "ready",
			Message: fmt.Sprintf("%s pods, %s nodes", FormatQuantity(get("pods")), FormatQuantity(get("nodes")))},
		{Type: "Latency", Status: latencyText(get("latencyP99")), Reason: "p99",
			Message: "p50 " + latencyText(get("latencyP50"))},
	}
	if breach {
		row.Conditions = append(row.Conditions, Condition{Type: "SLO", Status: "False", Reason: "SLOViolation", Message: row.Message})
	}
	return row, breach, i + 1
}

func cur0(row []*float64) float64 { return zeroNaN(val(row, 0)) }

func colOr(cols map[string]int, name string) int {
	if i, ok := cols[name]; ok {
		return i
	}
	return -1
}

func zeroNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func latencyText(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

// Detail returns the row for key (replay rows carry their detail).
func (p *Player) Detail(key string) *Row {
	for _, r := range p.Snapshot().Rows {
		if r.Key() == key {
			return &r
		}
	}
	return nil
}

// Explain lists the run's decisions up to now with their reasons (the
// simulator records the engine's reason for every rescale).
func (p *Player) Explain(key string) (string, error) {
	for _, r := range p.runs {
		row, _, _ := r.row(p.t)
		if row.Key() != key {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Run %s (%s, policy %s, seed %d): %d scaling decisions in %s.\n",
			r.name, r.doc.Scenario.Autoscaler, r.doc.Scenario.Policy, r.doc.Scenario.Seed, len(r.doc.Decisions), r.doc.Scenario.Duration)
		n := 0
		for k := len(r.doc.Decisions) - 1; k >= 0 && n < 10; k-- {
			d := r.doc.Decisions[k]
			if d.At > p.t+1e-9 {
				continue
			}
			fmt.Fprintf(&b, "  %s  %d -> %d  %s: %s\n", d.Time, d.From, d.To, d.By, d.Reason)
			n++
		}
		if n == 0 {
			b.WriteString("  no decision yet at " + clock(p.t) + "\n")
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("no run %s", key)
}
