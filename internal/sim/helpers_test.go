package sim

import (
	"time"
)

// mmcConfig is an M/M/c queue: one warm replica with c slots fed by a
// shared queue, Poisson arrivals, exponential service, no autoscaler.
func mmcConfig(lambda float64, mean time.Duration, c int32, d time.Duration, seed uint64) *Config {
	return &Config{
		Name:     "mmc",
		Start:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Duration: d,
		Seed:     seed,
		Traffic:  Traffic{Rate: lambda},
		Service:  Service{Routing: RouteSharedQueue, Concurrency: c, Time: Exp(mean)},
		Pod:      PodModel{Deployment: "w", Namespace: "default", Labels: map[string]string{"app": "w"}},
		Metrics:  defaultPipeline(),
		Autoscaler: Autoscaler{
			Kind: AutoscaleNone, Replicas: 1, WarmStart: true,
		},
		SLO:    SLO{Percentile: 99, Latency: 10 * time.Second, Goal: 0.99, Window: time.Minute},
		Output: OutputOptions{FlapWindow: 5 * time.Minute},
	}
}

func defaultPipeline() MetricsPipeline {
	return MetricsPipeline{
		GaugeRefresh: 5 * time.Second, ScrapeInterval: 15 * time.Second, ScrapeOffset: 7 * time.Second,
		RateWindow: time.Minute, MetricsServerResolution: 15 * time.Second, MetricsServerOffset: 3 * time.Second,
		HPASyncPeriod: 15 * time.Second,
	}
}
