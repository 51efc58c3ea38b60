//go:build linux

package live

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkProcSample is the /proc cost of cpu and memory for 8 local
// workers (the test worker: a Go process with ~10 threads): "tick" is the
// per-tick reading of each worker's process tree and CPU times,
// "reconcile-*" the PodMetrics answer at an HPA sync (the CPU rate, and each
// tree's smaps_rollup when memory is read). ns/worker is per worker.
func BenchmarkProcSample(b *testing.B) {
	dir := b.TempDir()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	proc, err := NewProcess(ProcessConfig{Name: "worker", Command: []string{exe}, Env: []string{"MLSCALE_TEST_WORKER=" + dir}, Grace: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer proc.Close(context.Background())
	const n = 8
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	if err := proc.Scale(ctx, now, n); err != nil {
		b.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the workers start their threads
	proc.SampleResources(now)
	time.Sleep(20 * time.Millisecond)
	b.Run("tick", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			proc.SampleResources(now)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/worker")
	})
	for _, mem := range []bool{false, true} {
		name := "reconcile-cpu"
		if mem {
			name = "reconcile-cpu+memory"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pm, err := proc.PodMetrics(ctx, now, mem)
				if err != nil || len(pm) != n {
					b.Fatalf("%d PodMetrics, %v", len(pm), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/worker")
		})
	}
}
