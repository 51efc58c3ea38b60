// Package tui is the bubbletea (v1) view of `mlscale watch` and `mlscale
// replay`: a table of autoscalers with sparklines, a detail view, a filter,
// help, and the replay controls. It renders watch.Snapshots and never talks
// to the API server itself: a Feed (the informer-backed watch.Store, or a
// watch.Player for a simulation run) supplies them. Update and View are pure
// functions of the model and the messages, so tests drive them directly.
package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mlscale/mlscale/internal/watch"
)

// Feed supplies snapshots. Snapshot must be cheap when nothing changed
// (return the same pointer).
type Feed interface {
	Snapshot() *watch.Snapshot
	Detail(key string) *watch.Row
	Explain(key string) (string, error)
}

// Replay is the player behind `mlscale replay`.
type Replay interface {
	Key(k string) bool
	Advance(dt time.Duration) bool
	Playing() bool
}

// Finding is one doctor finding shown in the detail view.
type Finding struct {
	Severity string // error | warning | info
	Check    string
	Message  string
	Fix      string
}

// DoctorFunc diagnoses one autoscaler (the `d` key).
type DoctorFunc func(ctx context.Context, row *watch.Row) ([]Finding, error)

// Options configure the model.
type Options struct {
	Feed   Feed
	Replay Replay // nil for a live watch
	Doctor DoctorFunc
	// ASCII draws sparklines with ASCII characters (dumb terminals).
	ASCII bool
	// Tick is the refresh period (default 500 ms live, 100 ms replay).
	Tick time.Duration
	// Title heads the screen ("mlscale watch").
	Title string
}

type mode int

const (
	modeTable mode = iota
	modeDetail
	modeHelp
)

// Model is the root bubbletea model.
type Model struct {
	opt Options
	st  styles

	snap    *watch.Snapshot
	visible []int // indices into snap.Rows that pass the filter
	cursor  int   // index into visible
	offset  int   // first visible row drawn
	selKey  string

	w, h int
	mode mode
	back mode // mode to return to from help

	filtering bool
	filter    string

	detail       *watch.Row
	detailScroll int
	detailMax    int // the largest useful detailScroll, as last drawn
	explain      string
	explainErr   error
	explainKey   string
	explainAt    time.Time
	doctor       []Finding
	doctorErr    error
	doctorKey    string
	doctorBusy   bool

	quitting bool
	// widths caches the table's column widths for the visible rows
	widths map[string]int
}

// New returns the model; the first snapshot is taken at once.
func New(opt Options) *Model {
	if opt.Tick <= 0 {
		opt.Tick = 500 * time.Millisecond
		if opt.Replay != nil {
			opt.Tick = 100 * time.Millisecond
		}
	}
	if opt.Title == "" {
		opt.Title = "mlscale watch"
	}
	m := &Model{opt: opt, st: newStyles(opt.ASCII), w: 120, h: 30}
	m.refresh()
	return m
}

type tickMsg time.Time

type doctorMsg struct {
	key      string
	findings []Finding
	err      error
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opt.Tick, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init starts the refresh tick.
func (m *Model) Init() tea.Cmd { return m.tick() }

// refresh takes the feed's snapshot and recomputes the filtered rows,
// keeping the selection on the same autoscaler.
func (m *Model) refresh() {
	s := m.opt.Feed.Snapshot()
	changed := s != m.snap
	m.snap = s
	if changed || m.visible == nil {
		m.applyFilter()
	}
	if m.mode == modeDetail && m.detail != nil && changed {
		if d := m.opt.Feed.Detail(m.detail.Key()); d != nil {
			m.detail = d
		}
	}
}

func (m *Model) applyFilter() {
	m.widths = nil
	m.visible = m.visible[:0]
	for i := range m.snap.Rows {
		if m.snap.Rows[i].Matches(m.filter) {
			m.visible = append(m.visible, i)
		}
	}
	// keep the selection on the same key when it is still visible
	if m.selKey != "" {
		for j, i := range m.visible {
			if m.snap.Rows[i].Key() == m.selKey {
				m.cursor = j
				m.clamp()
				return
			}
		}
	}
	m.clamp()
}

func (m *Model) clamp() {
	if m.cursor >= len(m.visible) {
		m.cursor = len(m.visible) - 1
	}
	if m.cursor < 0 {
		m.cursor = 0
	}
	if len(m.visible) > 0 {
		m.selKey = m.snap.Rows[m.visible[m.cursor]].Key()
	}
	page := m.tableHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if page > 0 && m.cursor >= m.offset+page {
		m.offset = m.cursor - page + 1
	}
	if m.offset > max(0, len(m.visible)-page) {
		m.offset = max(0, len(m.visible)-page)
	}
}

// Selected returns the selected row (nil when the table is empty).
func (m *Model) Selected() *watch.Row {
	if len(m.visible) == 0 {
		return nil
	}
	return &m.snap.Rows[m.visible[m.cursor]]
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.clamp()
		return m, nil
	case tickMsg:
		if m.opt.Replay != nil {
			m.opt.Replay.Advance(m.opt.Tick)
		}
		m.refresh()
		return m, m.tick()
	case doctorMsg:
		if msg.key == m.doctorKey {
			m.doctor, m.doctorErr, m.doctorBusy = msg.findings, msg.err, false
		}
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	// Runes read together (fast typing, a terminal multiplexer) arrive as
	// one message: take them one key at a time, as typed.
	if k.Type == tea.KeyRunes && len(k.Runes) > 1 && !k.Paste {
		var cmds []tea.Cmd
		for _, r := range k.Runes {
			_, cmd := m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: k.Alt})
			cmds = append(cmds, cmd)
		}
		return m, tea.Sequence(cmds...)
	}
	s := k.String()
	if s == "ctrl+c" {
		m.quitting = true
		return m, tea.Quit
	}
	if m.filtering {
		switch k.Type {
		case tea.KeyEnter:
			m.filtering = false
		case tea.KeyEsc:
			m.filtering, m.filter = false, ""
			m.applyFilter()
		case tea.KeyBackspace:
			if r := []rune(m.filter); len(r) > 0 {
				m.filter = string(r[:len(r)-1])
				m.applyFilter()
			}
		case tea.KeyRunes, tea.KeySpace:
			m.filter += string(k.Runes)
			if k.Type == tea.KeySpace {
				m.filter += " "
			}
			m.cursor = 0
			m.selKey = ""
			m.applyFilter()
		}
		return m, nil
	}
	if m.mode == modeHelp {
		if s == "q" {
			m.quitting = true
			return m, tea.Quit
		}
		m.mode = m.back
		return m, nil
	}
	switch s {
	case "q":
		m.quitting = true
		return m, tea.Quit
	case "?":
		m.back, m.mode = m.mode, modeHelp
		return m, nil
	}
	if m.opt.Replay != nil && m.opt.Replay.Key(replayKey(s)) {
		m.refresh()
		return m, nil
	}
	if m.mode == modeDetail {
		switch s {
		case "esc", "backspace", "h":
			m.mode = modeTable
		case "up", "k":
			m.detailScroll = max(0, min(m.detailScroll, m.detailMax)-1)
		case "down", "j":
			m.detailScroll = min(m.detailScroll, m.detailMax) + 1
		case "pgup":
			m.detailScroll = max(0, min(m.detailScroll, m.detailMax)-m.h/2)
		case "pgdown":
			m.detailScroll = min(m.detailScroll, m.detailMax) + m.h/2
		case "g", "home":
			m.detailScroll = 0
		case "G", "end":
			m.detailScroll = 1 << 30 // clamped to the last page when drawn
		case "d":
			return m, m.runDoctor()
		case "e":
			m.explainKey = ""
			m.loadExplain()
		}
		return m, nil
	}
	switch s {
	case "up", "k":
		m.cursor--
	case "down", "j":
		m.cursor++
	case "pgup", "ctrl+b":
		m.cursor -= max(1, m.tableHeight())
	case "pgdown", "ctrl+f":
		m.cursor += max(1, m.tableHeight())
	case "g":
		m.cursor = 0
	case "G":
		m.cursor = len(m.visible) - 1
	case "/":
		m.filtering = true
	case "esc":
		if m.filter != "" {
			m.filter = ""
			m.applyFilter()
		}
	case "enter":
		m.openDetail()
	case "d":
		m.openDetail()
		return m, m.runDoctor()
	default:
		return m, nil
	}
	m.selKey = ""
	m.clamp()
	return m, nil
}

// replayKey maps bubbletea key names onto the player's.
func replayKey(s string) string {
	if s == " " {
		return "space"
	}
	return s
}

func (m *Model) openDetail() {
	r := m.Selected()
	if r == nil {
		return
	}
	m.mode = modeDetail
	m.detailScroll = 0
	m.detail = m.opt.Feed.Detail(r.Key())
	if m.detail == nil {
		m.detail = r
	}
	if m.doctorKey != r.Key() {
		m.doctor, m.doctorErr, m.doctorKey = nil, nil, ""
	}
	m.loadExplain()
}

// loadExplain runs the engine's explanation once per opened row (press e
// to recompute on the current state).
func (m *Model) loadExplain() {
	if m.detail == nil || m.explainKey == m.detail.Key() {
		return
	}
	m.explainKey = m.detail.Key()
	m.explain, m.explainErr = m.opt.Feed.Explain(m.explainKey)
	m.explainAt = m.snap.Time
}

func (m *Model) runDoctor() tea.Cmd {
	r := m.detail
	if r == nil {
		return nil
	}
	if m.opt.Doctor == nil {
		m.doctorKey, m.doctor, m.doctorErr = r.Key(), nil, fmt.Errorf("doctor is not available here")
		return nil
	}
	m.doctorKey, m.doctorBusy, m.doctor, m.doctorErr = r.Key(), true, nil, nil
	key, row, f := r.Key(), *r, m.opt.Doctor
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fs, err := f(ctx, &row)
		return doctorMsg{key: key, findings: fs, err: err}
	}
}

// tableHeight is the number of rows the table can show.
func (m *Model) tableHeight() int {
	// title, blank-free header row, footer (status + keys)
	return max(1, m.h-4)
}

// View renders the screen.
func (m *Model) View() string {
	if m.quitting {
		return ""
	}
	var b strings.Builder
	b.Grow(m.w * (m.h + 1) * 2)
	switch m.mode {
	case modeHelp:
		m.viewHelp(&b)
	case modeDetail:
		m.viewDetail(&b)
	default:
		m.viewTable(&b)
	}
	return b.String()
}

// Tick returns the refresh message the program sends itself every
// Options.Tick, for tests and embedders that drive the model directly.
func Tick() tea.Msg { return tickMsg(time.Now()) }
