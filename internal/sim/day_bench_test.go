package sim_test

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mlscale/mlscale/internal/scenario"
	"github.com/mlscale/mlscale/internal/sim"
)

// testdata/day-*.yaml are one simulated day at 100 req/s with the HPA
// engine (embedding preset: cpu and a Pods metric) and with KEDA plus the
// HPA it generates (batch-queue preset: RabbitMQ trigger).
func dayConfig(tb testing.TB, name string, d time.Duration) *sim.Config {
	l, err := scenario.LoadFile("testdata/day-"+name+".yaml", nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := l.Resolve(scenario.Options{Duration: d})
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// BenchmarkDay100 is one simulated day at 100 req/s per op, with the HPA
// (and KEDA) engines in the loop. Goal: under 3 s per op on one core.
func BenchmarkDay100(b *testing.B) {
	for _, name := range []string{"hpa", "keda"} {
		b.Run(name, func(b *testing.B) {
			cfg := dayConfig(b, name, 24*time.Hour)
			b.ReportAllocs()
			b.ResetTimer()
			var events uint64
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var ru0, ru1 unix.Rusage
			unix.Getrusage(unix.RUSAGE_THREAD, &ru0)
			for i := 0; i < b.N; i++ {
				res, err := sim.Run(cfg)
				if err != nil {
					b.Fatal(err)
				}
				events += res.Summary.Engine.Events
			}
			unix.Getrusage(unix.RUSAGE_THREAD, &ru1)
			cpu := float64(ru1.Utime.Nano()-ru0.Utime.Nano()+ru1.Stime.Nano()-ru0.Stime.Nano()) / 1e9
			b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(events)/cpu, "events/cpu-s")
		})
	}
}
