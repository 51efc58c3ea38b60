package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/mlscale/mlscale/internal/watch"
)

type styles struct {
	ascii    bool
	title    lipgloss.Style
	header   lipgloss.Style
	selected lipgloss.Style
	dim      lipgloss.Style
	section  lipgloss.Style
	errLine  lipgloss.Style
	health   map[string]lipgloss.Style
	marker   string
}

func newStyles(ascii bool) styles {
	s := styles{
		ascii:    ascii,
		title:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12")),
		header:   lipgloss.NewStyle().Bold(true),
		selected: lipgloss.NewStyle().Reverse(true),
		dim:      lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
		section:  lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("14")),
		errLine:  lipgloss.NewStyle().Foreground(lipgloss.Color("9")).Bold(true),
		marker:   "›",
		health: map[string]lipgloss.Style{
			"OK":       lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
			"Limited":  lipgloss.NewStyle().Foreground(lipgloss.Color("11")),
			"Unknown":  lipgloss.NewStyle().Foreground(lipgloss.Color("13")),
			"Failing":  lipgloss.NewStyle().Foreground(lipgloss.Color("9")),
			"Breach":   lipgloss.NewStyle().Foreground(lipgloss.Color("9")),
			"Paused":   lipgloss.NewStyle().Foreground(lipgloss.Color("8")),
			"Inactive": lipgloss.NewStyle().Foreground(lipgloss.Color("12")),
		},
	}
	if ascii {
		s.marker = ">"
	}
	return s
}

// fit truncates or pads s to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// column of the table.
type column struct {
	title string
	width int
	cell  func(r *watch.Row) string
}

const sparkWidth = 12

func widestOf(m *Model, title string, capw int, f func(r *watch.Row) string) int {
	w := len(title)
	for _, i := range m.visible {
		if n := ansi.StringWidth(f(&m.snap.Rows[i])); n > w {
			w = n
		}
		if w >= capw {
			return capw
		}
	}
	return w
}

func (m *Model) columns() []column {
	// widths depend on the visible rows only: computed once per snapshot
	// and filter (applyFilter clears the cache), not per frame
	if m.widths == nil {
		m.widths = map[string]int{}
	}
	widest := func(title string, capw int, f func(r *watch.Row) string) int {
		ck := title + "/" + strconv.Itoa(capw)
		if w, ok := m.widths[ck]; ok {
			return w
		}
		w := widestOf(m, title, capw, f)
		m.widths[ck] = w
		return w
	}
	ns := func(r *watch.Row) string { return r.Namespace }
	name := func(r *watch.Row) string { return r.Name }
	kind := func(r *watch.Row) string { return r.Kind }
	target := func(r *watch.Row) string { return r.Target }
	repl := func(r *watch.Row) string {
		return strconv.Itoa(int(r.Current)) + "/" + strconv.Itoa(int(r.Desired))
	}
	minmax := func(r *watch.Row) string { return strconv.Itoa(int(r.Min)) + "-" + strconv.Itoa(int(r.Max)) }
	status := func(r *watch.Row) string { return r.StatusText() }
	targets := func(r *watch.Row) string { return r.Targets() }
	sparkR := func(r *watch.Row) string { return watch.Sparkline(r.ReplicaHistory, sparkWidth, m.st.ascii) }
	sparkM := func(r *watch.Row) string { return watch.Sparkline(r.MetricHistory, sparkWidth, m.st.ascii) }

	var cols []column
	showNS := m.snap.Namespace == "" || m.snap.Replay != nil
	if showNS {
		cols = append(cols, column{"NAMESPACE", widest("NAMESPACE", 20, ns), ns})
	}
	cols = append(cols,
		column{"NAME", widest("NAME", 32, name), name},
		column{"KIND", widest("KIND", 12, kind), kind},
		column{"TARGET", widest("TARGET", 32, target), target},
		column{"REPLICAS", widest("REPLICAS", 9, repl), repl},
		column{"MIN-MAX", widest("MIN-MAX", 9, minmax), minmax},
		column{"TARGETS", 0, targets},
		column{"STATUS", widest("STATUS", 36, status), status},
		column{"REPLICAS~", sparkWidth, sparkR},
		column{"METRIC~", sparkWidth, sparkM},
	)
	// narrow terminals: drop columns until TARGETS gets 16 cells
	drop := []string{"TARGET", "METRIC~", "NAMESPACE", "REPLICAS~", "MIN-MAX"}
	for {
		used := 2 // marker
		for _, c := range cols {
			if c.title != "TARGETS" {
				used += c.width + 2
			}
		}
		flex := m.w - used
		if flex >= 16 || len(drop) == 0 {
			tw := widest("TARGETS", max(flex, 7), targets)
			for i := range cols {
				if cols[i].title == "TARGETS" {
					cols[i].width = max(tw, min(flex, 7))
				}
			}
			break
		}
		for i := range cols {
			if cols[i].title == drop[0] {
				cols = append(cols[:i], cols[i+1:]...)
				break
			}
		}
		drop = drop[1:]
	}
	return cols
}

func (m *Model) titleLine() string {
	s := m.snap
	var parts []string
	if r := s.Replay; r != nil {
		state := "paused"
		if r.Playing {
			state = "playing"
		}
		parts = append(parts, m.opt.Title, r.Run,
			fmt.Sprintf("%s %s / %s", state, watch.Clock(r.At), watch.Clock(r.Duration)),
			fmt.Sprintf("x%g", r.Speed), fmt.Sprintf("step %d/%d", r.Step, r.Steps))
		if r.SLOBreach {
			parts = append(parts, "SLO BREACH")
		}
		if r.Note != "" {
			parts = append(parts, r.Note)
		}
		return fit(strings.Join(parts, "  "), m.w)
	}
	ns := s.Namespace
	if ns == "" {
		ns = "all namespaces"
	}
	ctx := s.Context
	if ctx == "" {
		ctx = "(default context)"
	}
	counts := s.Counts()
	summary := fmt.Sprintf("%d autoscalers", len(s.Rows))
	var bad []string
	for _, h := range []string{"Failing", "Unknown", "Limited", "Paused"} {
		if counts[h] > 0 {
			bad = append(bad, fmt.Sprintf("%d %s", counts[h], strings.ToLower(h)))
		}
	}
	if len(bad) > 0 {
		summary += " (" + strings.Join(bad, ", ") + ")"
	}
	keda := "KEDA: no CRDs"
	if s.KEDA {
		keda = "KEDA: yes"
	}
	parts = append(parts, m.opt.Title, ctx, ns, summary, fmt.Sprintf("%d pods", s.Pods), keda, s.Time.Format("15:04:05"))
	return fit(strings.Join(parts, "  "), m.w)
}

func (m *Model) footer(b *strings.Builder) {
	var status string
	switch {
	case m.filtering:
		status = "/" + m.filter + "█"
		if m.st.ascii {
			status = "/" + m.filter + "_"
		}
	case m.snap.Status != "":
		status = m.st.errLine.Render(fit(m.snap.Status, m.w))
	case m.filter != "":
		status = fmt.Sprintf("filter %q: %d of %d (esc clears)", m.filter, len(m.visible), len(m.snap.Rows))
	}
	if m.snap.Status == "" || m.filtering {
		status = fit(status, m.w)
	}
	b.WriteString(status)
	b.WriteByte('\n')
	keys := "↑/↓ j/k move  enter detail  / filter  d doctor  ? help  q quit"
	if m.mode == modeDetail {
		keys = "↑/↓ scroll  esc back  d doctor  e re-explain  ? help  q quit"
	}
	if m.opt.Replay != nil {
		keys = "space play/pause  +/- speed  ←/→ step  n/N scaling event  b SLO breach  " + keys
	}
	b.WriteString(m.st.dim.Render(fit(keys, m.w)))
}

func (m *Model) viewTable(b *strings.Builder) {
	b.WriteString(m.st.title.Render(m.titleLine()))
	b.WriteByte('\n')
	cols := m.columns()
	var hdr strings.Builder
	hdr.WriteString("  ")
	for i, c := range cols {
		if i > 0 {
			hdr.WriteString("  ")
		}
		hdr.WriteString(fit(c.title, c.width))
	}
	b.WriteString(m.st.header.Render(fit(hdr.String(), m.w)))
	b.WriteByte('\n')
	page := m.tableHeight()
	drawn := 0
	if len(m.visible) == 0 {
		msg := "No autoscalers."
		if m.filter != "" {
			msg = fmt.Sprintf("No autoscaler matches %q.", m.filter)
		} else if m.snap.Replay == nil {
			msg = "No HPAs, ScaledObjects or ScaledJobs here yet; the table fills in as they appear."
		}
		b.WriteString(fit("  "+msg, m.w))
		b.WriteByte('\n')
		drawn++
	}
	var line strings.Builder
	for j := m.offset; j < len(m.visible) && drawn < page; j++ {
		r := &m.snap.Rows[m.visible[j]]
		sel := j == m.cursor
		line.Reset()
		if sel {
			line.WriteString(m.st.marker + " ")
		} else {
			line.WriteString("  ")
		}
		for i, c := range cols {
			if i > 0 {
				line.WriteString("  ")
			}
			cell := fit(c.cell(r), c.width)
			if c.title == "STATUS" && !sel {
				if st, ok := m.st.health[r.Health]; ok {
					cell = st.Render(cell)
				}
			}
			line.WriteString(cell)
		}
		out := line.String()
		if sel {
			out = m.st.selected.Render(fit(out, m.w))
		} else if ansi.StringWidth(out) > m.w {
			out = ansi.Truncate(out, m.w, "…")
		}
		b.WriteString(out)
		b.WriteByte('\n')
		drawn++
	}
	for ; drawn < page; drawn++ {
		b.WriteByte('\n')
	}
	m.footer(b)
}

func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < 2*time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}

// table lays out rows of cells with two spaces between columns.
func table(lines *[]string, indent string, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	w := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			if i < len(r)-1 {
				w[i] = max(w[i], ansi.StringWidth(c))
			}
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			if i < len(r)-1 {
				b.WriteString(fit(c, w[i]))
			} else {
				b.WriteString(c)
			}
		}
		*lines = append(*lines, strings.TrimRight(b.String(), " "))
	}
}

func (m *Model) detailLines() []string {
	r := m.detail
	now := m.snap.Time
	var l []string
	sec := func(s string) { l = append(l, "", m.st.section.Render(s)) }
	l = append(l, m.st.title.Render(fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name))+
		fmt.Sprintf("  -> %s  replicas %d (desired %d)  min %d  max %d  ", r.Target, r.Current, r.Desired, r.Min, r.Max)+
		m.st.health[r.Health].Render(r.StatusText()))
	if r.Message != "" {
		l = append(l, "  "+r.Message)
	}
	if r.HPAName != "" {
		l = append(l, "  KEDA's HPA: "+r.HPAName)
	}
	sec("Metrics")
	var rows [][]string
	rows = append(rows, []string{"NAME", "TYPE", "CURRENT", "TARGET"})
	for _, mt := range r.Metrics {
		rows = append(rows, []string{mt.Name, mt.Type, mt.Current, mt.Target})
	}
	if len(r.Metrics) == 0 {
		l = append(l, "  none")
	} else {
		table(&l, "  ", rows)
	}
	sw := min(60, max(10, m.w-20))
	l = append(l, "  replicas "+watch.Sparkline(r.ReplicaHistory, sw, m.st.ascii)+sparkRange(r.ReplicaHistory))
	if len(r.Metrics) > 0 {
		l = append(l, "  "+fit(r.Metrics[0].Name, 8)+" "+watch.Sparkline(r.MetricHistory, sw, m.st.ascii)+sparkRange(r.MetricHistory))
	}
	sec("Conditions")
	if len(r.Conditions) == 0 {
		l = append(l, "  none")
	} else {
		rows = [][]string{{"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}}
		for _, c := range r.Conditions {
			rows = append(rows, []string{c.Type, c.Status, c.Reason, age(now, c.Since), c.Message})
		}
		table(&l, "  ", rows)
	}
	sec("Events (newest first)")
	if len(r.Events) == 0 {
		l = append(l, "  none")
	} else {
		rows = [][]string{{"AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"}}
		for _, e := range r.Events {
			reason := e.Reason
			if e.Count > 1 {
				reason += fmt.Sprintf(" (x%d)", e.Count)
			}
			rows = append(rows, []string{age(now, e.Last), e.Type, reason, e.Object, e.Message})
		}
		table(&l, "  ", rows)
	}
	if m.snap.Replay == nil {
		ready := 0
		for _, p := range r.Pods {
			if p.Ready {
				ready++
			}
		}
		sec(fmt.Sprintf("Pods (%d, %d ready)", len(r.Pods), ready))
		if len(r.Pods) == 0 {
			l = append(l, "  none found for the target")
		} else {
			rows = [][]string{{"NAME", "PHASE", "READY", "RESTARTS", "AGE", "NODE"}}
			for i, p := range r.Pods {
				if i == 50 {
					l = append(l, fmt.Sprintf("  ... %d more", len(r.Pods)-50))
					break
				}
				phase := p.Phase
				if p.Deleting {
					phase = "Terminating"
				}
				rd := "no"
				if p.Ready {
					rd = "yes"
				}
				rows = append(rows, []string{p.Name, phase, rd, strconv.Itoa(int(p.Restarts)), age(now, p.Created), p.Node})
			}
			table(&l, "  ", rows)
		}
	}
	title := "Last decision explained"
	if m.snap.Replay != nil {
		title = "Decisions so far"
	} else if !m.explainAt.IsZero() {
		title += " (as of " + m.explainAt.Format("15:04:05") + ", e to recompute)"
	}
	sec(title)
	switch {
	case m.explainErr != nil:
		l = append(l, "  unavailable: "+m.explainErr.Error())
	default:
		for _, s := range strings.Split(strings.TrimRight(m.explain, "\n"), "\n") {
			l = append(l, wrap("  ", s, m.w)...)
		}
	}
	if m.snap.Replay == nil {
		sec("Doctor")
		switch {
		case m.doctorKey != r.Key():
			l = append(l, "  press d to diagnose this autoscaler")
		case m.doctorBusy:
			l = append(l, "  running...")
		case m.doctorErr != nil:
			l = append(l, "  "+m.doctorErr.Error())
		case len(m.doctor) == 0:
			l = append(l, "  no findings")
		default:
			for _, f := range m.doctor {
				st := m.st.health["Limited"]
				if f.Severity == "error" {
					st = m.st.health["Failing"]
				}
				l = append(l, wrap("  ", st.Render(strings.ToUpper(f.Severity))+" "+f.Check+": "+f.Message, m.w)...)
				if f.Fix != "" {
					l = append(l, wrap("    fix: ", f.Fix, m.w)...)
				}
			}
		}
	}
	return l
}

func sparkRange(v []float64) string {
	if len(v) == 0 {
		return "  (no samples yet)"
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("  %s..%s over %d samples", watch.FormatQuantity(lo), watch.FormatQuantity(hi), len(v))
}

// wrap breaks a long line at spaces into lines of at most w cells.
func wrap(indent, s string, w int) []string {
	if w <= len(indent)+10 || ansi.StringWidth(indent+s) <= w {
		return []string{indent + s}
	}
	// continuation lines keep the line's own indentation
	lead := len(s) - len(strings.TrimLeft(s, " "))
	wrapped := ansi.Wordwrap(s[lead:], w-len(indent)-lead, " ")
	pad := indent + strings.Repeat(" ", lead)
	var out []string
	for _, line := range strings.Split(wrapped, "\n") {
		out = append(out, pad+line)
	}
	return out
}

func (m *Model) viewDetail(b *strings.Builder) {
	if m.detail == nil {
		m.mode = modeTable
		m.viewTable(b)
		return
	}
	b.WriteString(m.st.title.Render(m.titleLine()))
	b.WriteByte('\n')
	lines := m.detailLines()
	page := m.h - 3
	// G sets a huge offset: the view then follows the bottom as the
	// content grows (doctor's findings arriving)
	m.detailMax = max(0, len(lines)-page)
	scroll := min(m.detailScroll, m.detailMax)
	drawn := 0
	for i := scroll; i < len(lines) && drawn < page; i++ {
		line := lines[i]
		if ansi.StringWidth(line) > m.w {
			line = ansi.Truncate(line, m.w, "…")
		}
		b.WriteString(line)
		b.WriteByte('\n')
		drawn++
	}
	for ; drawn < page; drawn++ {
		b.WriteByte('\n')
	}
	m.footer(b)
}

var helpText = [][2]string{
	{"↑ ↓  k j", "move the selection (detail: scroll)"},
	{"pgup pgdn  g G", "page up/down, first/last row (detail: top/bottom)"},
	{"enter", "detail: conditions, events, pods, the engine's explanation, doctor"},
	{"esc", "back to the table; clear the filter"},
	{"/", "filter: words match namespace, name, kind, target, status; !word excludes"},
	{"d", "run doctor on the selected autoscaler"},
	{"e", "recompute the explanation (detail view)"},
	{"?", "this help (any key closes it)"},
	{"q  ctrl+c", "quit"},
}

var replayHelp = [][2]string{
	{"space", "play / pause"},
	{"+ -", "faster / slower (1x to 600x simulated time)"},
	{"→ .  ← ,", "one timeline step forward / back"},
	{"n  N", "next / previous scaling event"},
	{"b", "next SLO breach"},
	{"0  $", "start / end of the run"},
}

func (m *Model) viewHelp(b *strings.Builder) {
	var l []string
	l = append(l, m.st.title.Render(m.opt.Title+": keys"), "")
	add := func(rows [][2]string) {
		var t [][]string
		for _, r := range rows {
			t = append(t, []string{r[0], r[1]})
		}
		table(&l, "  ", t)
	}
	add(helpText)
	if m.opt.Replay != nil {
		l = append(l, "", m.st.section.Render("Replay"))
		add(replayHelp)
	}
	l = append(l, "",
		"  STATUS: OK, Limited (ScalingLimited), Unknown (no status or metric yet), Failing (a condition",
		"  is False: its reason is shown), Paused (ScalingDisabled / KEDA paused), Inactive (KEDA idle).",
		"  REPLICAS is current/desired; REPLICAS~ and METRIC~ are sparklines of the watched period.")
	for i, line := range l {
		if i >= m.h-1 {
			break
		}
		b.WriteString(fit(line, m.w))
		b.WriteByte('\n')
	}
	for i := len(l); i < m.h-1; i++ {
		b.WriteByte('\n')
	}
	b.WriteString(m.st.dim.Render(fit("press any key to go back", m.w)))
}
