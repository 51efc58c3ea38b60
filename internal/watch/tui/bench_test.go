package tui

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/watchtest"
)

// bigStore watches 1,000 autoscalers (800 HPAs, 200 ScaledObjects with
// their KEDA HPAs) over 1,000 Deployments and 10,000 pods, with full
// sparkline histories (120 samples) and 2,000 events.
func bigStore() *watch.Store {
	s := watch.NewStore("bench", "", func() time.Time { return watchtest.T0 })
	s.SetKEDA(true)
	for i := range 1000 {
		ns := fmt.Sprintf("team-%02d", i%40)
		name := fmt.Sprintf("svc-%04d", i)
		if i%5 == 4 {
			s.Upsert(watchtest.ScaledObject(ns, name, watchtest.KCond("Ready", "True", "ScaledObjectReady", "ready"), watchtest.KCond("Active", "True", "ScalerActive", "active")))
			s.Upsert(watchtest.KEDAHPA(ns, name, 10, 10, ptr.To(resource.MustParse("12"))))
		} else {
			conds := watchtest.Healthy
			var util *int32
			if i%7 == 0 {
				conds = watchtest.Failing
			} else {
				util = ptr.To(int32(30 + i%90))
			}
			s.Upsert(watchtest.CPUHPA(ns, name, 10, 10, util, conds...))
		}
		s.Upsert(watchtest.Deployment(ns, name, 10))
		for p := range 10 {
			s.Upsert(watchtest.Pod(ns, name, p, p != 3))
		}
		s.Upsert(watchtest.Event(ns, "HorizontalPodAutoscaler", name, "Normal", "SuccessfulRescale", "New size: 10; reason: cpu resource utilization (percentage of request) above target", watchtest.T0.Add(-time.Minute)))
		s.Upsert(watchtest.Event(ns, "Deployment", name, "Normal", "ScalingReplicaSet", "Scaled up replica set to 10", watchtest.T0.Add(-time.Minute)))
	}
	for range watch.HistoryLen {
		s.Sample()
	}
	return s
}

func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux: KiB
}

func benchModel(b *testing.B) *Model {
	b.Helper()
	s := bigStore()
	m := New(Options{Feed: s})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	if n := len(m.snap.Rows); n != 1000 || m.snap.Pods != 10000 {
		b.Fatalf("rows %d pods %d", n, m.snap.Pods)
	}
	return m
}

func report(b *testing.B) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}

// BenchmarkViewTable is one frame of the table (the View function).
func BenchmarkViewTable(b *testing.B) {
	m := benchModel(b)
	keys(m, "G") // scrolled to the bottom
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
	b.StopTimer()
	report(b)
	runtime.KeepAlive(m)
}

// BenchmarkViewDetail is one frame of the detail view of a KEDA row.
func BenchmarkViewDetail(b *testing.B) {
	m := benchModel(b)
	keys(m, "G", "enter")
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
	b.StopTimer()
	report(b)
	runtime.KeepAlive(m)
}

// BenchmarkFrameAfterChange is a full frame after an object changed: the
// store rebuilds the snapshot, the model re-filters, the table renders.
func BenchmarkFrameAfterChange(b *testing.B) {
	m := benchModel(b)
	st := m.opt.Feed.(*watch.Store)
	h := watchtest.CPUHPA("team-01", "svc-0001", 10, 12, ptr.To[int32](99), watchtest.Healthy...)
	b.ResetTimer()
	for b.Loop() {
		st.Upsert(h)
		m.Update(tickMsg(time.Time{}))
		_ = m.View()
	}
	b.StopTimer()
	report(b)
	runtime.KeepAlive(m)
}

// BenchmarkFilterKeystroke is one key typed into the filter with 1,000 rows.
func BenchmarkFilterKeystroke(b *testing.B) {
	m := benchModel(b)
	keys(m, "/")
	b.ResetTimer()
	for b.Loop() {
		keys(m, "9")
		_ = m.View()
		keys(m, "backspace")
	}
	b.StopTimer()
	report(b)
	runtime.KeepAlive(m)
}
