package tui

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/watchtest"
)

// update is teatest's -update flag (it registers it), shared by these goldens.
func update() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if update() {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if w := strings.ReplaceAll(string(want), "\r\n", "\n"); w != got {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, w)
	}
}

func newModel(w, h int) *Model {
	m := New(Options{Feed: watchtest.DemoStore(), Doctor: fakeDoctor})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func fakeDoctor(_ context.Context, r *watch.Row) ([]Finding, error) {
	return nil, nil
}

func keys(m *Model, ks ...string) {
	for _, k := range ks {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "backspace":
			msg = tea.KeyMsg{Type: tea.KeyBackspace}
		case " ":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		m.Update(msg)
	}
}

func screen(m *Model) string { return ansi.Strip(m.View()) }

func TestViewTable(t *testing.T) {
	m := newModel(140, 14)
	golden(t, screen(m))
}

func TestViewTableNarrow(t *testing.T) {
	m := newModel(80, 12)
	s := screen(m)
	for i, line := range strings.Split(s, "\n") {
		if w := ansi.StringWidth(line); w > 80 {
			t.Errorf("line %d is %d cells wide: %q", i, w, line)
		}
	}
	if lines := strings.Count(s, "\n") + 1; lines != 12 {
		t.Errorf("%d lines, want 12", lines)
	}
	golden(t, s)
}

func TestViewDetail(t *testing.T) {
	m := newModel(140, 60)
	keys(m, "j", "enter") // ml/embedder
	if m.mode != modeDetail || m.detail.Name != "embedder" {
		t.Fatalf("mode %v on %+v", m.mode, m.detail)
	}
	golden(t, screen(m))
}

func TestViewFilter(t *testing.T) {
	m := newModel(140, 10)
	keys(m, "/", "q", "u", "e", "u", "e")
	if !m.filtering || m.filter != "queue" || len(m.visible) != 2 {
		t.Fatalf("filtering=%v filter=%q visible=%d", m.filtering, m.filter, len(m.visible))
	}
	golden(t, screen(m))
}

func TestViewHelp(t *testing.T) {
	m := newModel(120, 24)
	keys(m, "?")
	golden(t, screen(m))
}

func TestNavigation(t *testing.T) {
	m := newModel(140, 14)
	if m.Selected().Name != "trainer" {
		t.Fatalf("first row = %s", m.Selected().Name)
	}
	keys(m, "j", "j", "down")
	if got := m.Selected().Name; got != "idle" {
		t.Errorf("after 3 down: %s", got)
	}
	keys(m, "k", "up")
	if got := m.Selected().Name; got != "embedder" {
		t.Errorf("after 2 up: %s", got)
	}
	keys(m, "G")
	if got := m.Selected().Name; got != "worker" {
		t.Errorf("G: %s", got)
	}
	keys(m, "j", "j")
	if got := m.Selected().Name; got != "worker" {
		t.Errorf("past the end: %s", got)
	}
	keys(m, "g", "k")
	if got := m.Selected().Name; got != "trainer" {
		t.Errorf("before the start: %s", got)
	}
}

func TestFilterKeepsSelectionAndEscClears(t *testing.T) {
	m := newModel(140, 14)
	keys(m, "/", "w", "o", "r", "enter")
	if m.filtering || m.filter != "wor" || m.Selected().Name != "worker" {
		t.Fatalf("filter=%q sel=%s", m.filter, m.Selected().Name)
	}
	keys(m, "esc")
	if m.filter != "" || len(m.visible) != 5 || m.Selected().Name != "worker" {
		t.Errorf("after esc: filter=%q visible=%d sel=%s", m.filter, len(m.visible), m.Selected().Name)
	}
	keys(m, "/", "x", "y", "z")
	if len(m.visible) != 0 || m.Selected() != nil || !strings.Contains(screen(m), `No autoscaler matches "xyz"`) {
		t.Errorf("no match: %d visible", len(m.visible))
	}
	keys(m, "backspace", "backspace", "backspace", "esc")
	if len(m.visible) != 5 {
		t.Errorf("cleared: %d", len(m.visible))
	}
	keys(m, "/", "!", "o", "k", "enter")
	for _, i := range m.visible {
		if m.snap.Rows[i].Health == "OK" {
			t.Errorf("!ok shows %s", m.snap.Rows[i].Name)
		}
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("q")}, {Type: tea.KeyCtrlC}} {
		m := newModel(100, 20)
		_, cmd := m.Update(k)
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s does not quit", k)
		}
	}
	// q typed into the filter is text, not quit
	m := newModel(100, 20)
	keys(m, "/")
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")}); cmd != nil {
		t.Error("q in the filter quit")
	}
}

func TestResizeClampsAndNeverOverflows(t *testing.T) {
	m := newModel(140, 14)
	keys(m, "G")
	for _, sz := range [][2]int{{40, 6}, {200, 50}, {20, 3}, {100, 8}} {
		m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		s := screen(m)
		for i, line := range strings.Split(s, "\n") {
			if w := ansi.StringWidth(line); w > sz[0] {
				t.Errorf("%dx%d: line %d is %d wide", sz[0], sz[1], i, w)
			}
		}
		if n := strings.Count(s, "\n") + 1; n > max(sz[1], 5) {
			t.Errorf("%dx%d: %d lines", sz[0], sz[1], n)
		}
		if !strings.Contains(s, "worker") && sz[1] > 4 {
			t.Errorf("%dx%d: the selection scrolled out of view:\n%s", sz[0], sz[1], s)
		}
	}
}

func TestStatusLineOnAPIError(t *testing.T) {
	st := watchtest.DemoStore()
	m := New(Options{Feed: st})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 12})
	st.SetStatus("API error watching pods: connection refused (reconnecting)")
	m.Update(tickMsg(time.Now()))
	if s := screen(m); !strings.Contains(s, "connection refused (reconnecting)") || !strings.Contains(s, "web") {
		t.Errorf("status line missing or table gone:\n%s", s)
	}
	st.SetStatus("")
	m.Update(tickMsg(time.Now()))
	if strings.Contains(screen(m), "reconnecting") {
		t.Error("status line not cleared")
	}
}

func TestLiveUpdateKeepsSelection(t *testing.T) {
	st := watchtest.DemoStore()
	m := New(Options{Feed: st})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 12})
	keys(m, "G") // worker
	st.Upsert(watchtest.CPUHPA("aaa", "first", 1, 1, nil, watchtest.Healthy...))
	m.Update(tickMsg(time.Now()))
	if m.Selected().Name != "worker" || len(m.visible) != 6 {
		t.Errorf("selection moved to %s (%d rows)", m.Selected().Name, len(m.visible))
	}
}

func TestDoctorKey(t *testing.T) {
	called := ""
	m := New(Options{Feed: watchtest.DemoStore(), Doctor: func(_ context.Context, r *watch.Row) ([]Finding, error) {
		called = r.Key()
		return []Finding{{Severity: "error", Check: "RES-005 metrics API unavailable", Message: "pods.metrics.k8s.io is not served", Fix: "install metrics-server"}}, nil
	}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 80})
	keys(m, "j")
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("d")})
	if m.mode != modeDetail || cmd == nil || !strings.Contains(screen(m), "running...") {
		t.Fatalf("d did not open the detail and start doctor")
	}
	m.Update(cmd())
	if called != "HPA/ml/embedder" {
		t.Errorf("doctor ran on %q", called)
	}
	s := screen(m)
	if !strings.Contains(s, "ERROR RES-005 metrics API unavailable: pods.metrics.k8s.io is not served") || !strings.Contains(s, "fix: install metrics-server") {
		t.Errorf("findings not shown:\n%s", s)
	}
	keys(m, "esc")
	if m.mode != modeTable {
		t.Error("esc did not go back")
	}
}

// teatest: the real program, keys through its input, resize messages, and
// the final screen as a golden file.
func runProgram(t *testing.T, w, h int, wait string, steps func(tm *teatest.TestModel)) string {
	t.Helper()
	m := New(Options{Feed: watchtest.DemoStore(), Tick: 50 * time.Millisecond})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("worker")) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	steps(tm)
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(wait)) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	return ansi.Strip(fm.View())
}

func TestProgramTable(t *testing.T) {
	golden(t, runProgram(t, 140, 12, "embedder", func(tm *teatest.TestModel) {
		tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	}))
}

func TestProgramDetail(t *testing.T) {
	golden(t, runProgram(t, 140, 50, "Last decision explained", func(tm *teatest.TestModel) {
		tm.Type("jj")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	}))
}

func TestProgramFilter(t *testing.T) {
	golden(t, runProgram(t, 140, 10, "filter \"ml\"", func(tm *teatest.TestModel) {
		tm.Type("/ml")
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	}))
}

func TestProgramHelp(t *testing.T) {
	golden(t, runProgram(t, 120, 20, "press any key", func(tm *teatest.TestModel) {
		tm.Type("?")
	}))
}

func TestProgramResize(t *testing.T) {
	golden(t, runProgram(t, 140, 12, "STATUS", func(tm *teatest.TestModel) {
		tm.Send(tea.WindowSizeMsg{Width: 70, Height: 9})
	}))
}

func TestRunesArrivingTogether(t *testing.T) {
	m := newModel(140, 14)
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/web")})
	if !m.filtering || m.filter != "web" || len(m.visible) != 1 {
		t.Errorf("filtering=%v filter=%q visible=%d", m.filtering, m.filter, len(m.visible))
	}
}

func TestDetailScroll(t *testing.T) {
	m := newModel(120, 20)
	keys(m, "j", "enter")
	first := screen(m)
	keys(m, "G")
	bottom := screen(m)
	if !strings.Contains(bottom, "Doctor") || strings.Contains(bottom, "Metrics\n") {
		t.Errorf("G did not reach the bottom:\n%s", bottom)
	}
	keys(m, "k")
	if screen(m) == bottom {
		t.Error("k at the bottom did not scroll up")
	}
	keys(m, "g")
	if screen(m) != first {
		t.Error("g did not return to the top")
	}
}
