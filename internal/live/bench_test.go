package live

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlscale/mlscale/internal/gpu"
)

// BenchmarkStep8GPUs3Sources is one decision tick at a 1 s sync: 8 fake
// GPUs sampled, 8 workers scraped (a Pods metric), a Prometheus query (an
// External metric) and a GPU-utilisation Pods metric, then the HPA
// reconcile. The goal: under 1 % of a core at 1 s, i.e. < 10 ms/op.
func BenchmarkStep8GPUs3Sources(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/query" {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[0,"12"]}]}}`)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "# TYPE inference_queue_depth gauge\ninference_queue_depth 3\n")
	}))
	defer srv.Close()
	devs := gpu.FakeGPUs(8, "Fake H100", 80)
	fake := gpu.NewFake(devs)
	fake.SetUtil(50, 50, 50, 50, 50, 50, 50, 50)
	cur := now
	fake.SetClock(func() time.Time { return cur })
	h := queueHPA(1, 16, 300)
	gpuAvg := resource.MustParse("70")
	ext := resource.MustParse("100")
	h.Spec.Metrics = append(h.Spec.Metrics,
		autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "DCGM_FI_DEV_GPU_UTIL"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &gpuAvg}}},
		autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "requests_waiting"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &ext}}})
	tgt := &gpuFakeTarget{fakeTarget: fakeTarget{spec: 8, metrics: srv.URL + "/metrics"}, devs: devs}
	loop, err := NewLoop(Config{HPA: h, Target: tgt, GPU: fake, SyncPeriod: time.Second, Prometheus: srv.URL,
		External: map[string]string{"requests_waiting": "sum(waiting)"}, Fetcher: &Fetcher{Timeout: time.Second, MaxAge: time.Minute}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		cur = now.Add(time.Duration(i) * time.Second)
		if err := loop.Step(ctx, cur); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if st := loop.Status(); len(st.Metrics) != 3 || !st.Metrics[0].HasValue || !st.Metrics[1].HasValue || !st.Metrics[2].HasValue {
		b.Fatalf("metrics: %+v", st.Metrics)
	}
}

// gpuFakeTarget gives pod i GPU i.
type gpuFakeTarget struct {
	fakeTarget
	devs []gpu.Device
}

func (g *gpuFakeTarget) Observe(ctx context.Context, now time.Time) (Observed, error) {
	o, err := g.fakeTarget.Observe(ctx, now)
	for i := range o.Pods {
		o.Pods[i].GPUs = []string{g.devs[i%len(g.devs)].UUID}
	}
	return o, err
}
