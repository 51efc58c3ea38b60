package watch_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/watchtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n")), got) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func rows(s *watch.Snapshot) map[string]watch.Row {
	m := map[string]watch.Row{}
	for _, r := range s.Rows {
		m[r.Namespace+"/"+r.Name] = r
	}
	return m
}

func TestRowsFromObjects(t *testing.T) {
	snap := watchtest.DemoStore().Snapshot()
	r := rows(snap)
	if len(snap.Rows) != 5 {
		t.Fatalf("rows = %d, want 5 (the KEDA-owned HPA folds into its ScaledObject): %+v", len(snap.Rows), snap.Rows)
	}
	web := r["ml/web"]
	if web.Health != "OK" || web.Targets() != "cpu: 45%/60%" || web.Current != 3 || web.Min != 1 || web.Max != 10 {
		t.Errorf("web = %+v %q", web, web.Targets())
	}
	emb := r["ml/embedder"]
	if emb.Metrics[0].Current != "<unknown>" || emb.Health != "Failing" || emb.Reason != "FailedGetResourceMetric" ||
		!strings.Contains(emb.Message, "pods.metrics.k8s.io") {
		t.Errorf("embedder: want <unknown> explained by FailedGetResourceMetric, got %+v", emb)
	}
	if tr := r["batch/trainer"]; tr.Health != "Limited" || tr.Reason != "TooManyReplicas" {
		t.Errorf("trainer = %s %s", tr.Health, tr.Reason)
	}
	wk := r["queue/worker"]
	if wk.Kind != watch.KindScaledObject || wk.Current != 4 || wk.Desired != 6 || wk.Min != 0 || wk.Max != 20 ||
		wk.Targets() != "s0-prometheus: 15/10 (avg)" || wk.HPAName != "keda-hpa-worker" || wk.Health != "OK" {
		t.Errorf("worker = %+v %q", wk, wk.Targets())
	}
	if idle := r["queue/idle"]; idle.Health != "Inactive" || idle.Reason != "ScalerNotActive" || idle.Metrics[0].Name != "s0-prometheus" {
		t.Errorf("idle = %+v", idle)
	}
	if len(web.ReplicaHistory) != 24 || web.ReplicaHistory[0] != 1 || web.ReplicaHistory[23] != 3 {
		t.Errorf("web replica history = %v", web.ReplicaHistory)
	}
	if snap.Pods != 5 {
		t.Errorf("pods = %d", snap.Pods)
	}
}

func TestNoStatusIsUnknown(t *testing.T) {
	s := watch.NewStore("", "ns", nil)
	s.Upsert(watchtest.CPUHPA("ns", "new", 0, 0, nil))
	r := s.Snapshot().Rows[0]
	if r.Health != "Unknown" || r.Reason != "NoStatus" || r.Metrics[0].Current != "<unknown>" {
		t.Errorf("fresh HPA = %+v", r)
	}
}

func TestSnapshotCoalescesAndTracksChanges(t *testing.T) {
	s := watchtest.DemoStore()
	a := s.Snapshot()
	if b := s.Snapshot(); a != b {
		t.Error("no change, yet a new snapshot")
	}
	s.Upsert(watchtest.CPUHPA("ml", "web", 5, 7, ptr.To[int32](95), watchtest.Healthy...))
	b := s.Snapshot()
	if a == b || rows(b)["ml/web"].Desired != 7 {
		t.Errorf("update not seen: %+v", rows(b)["ml/web"])
	}
	s.Delete(watchtest.CPUHPA("ml", "web", 0, 0, nil))
	if _, ok := rows(s.Snapshot())["ml/web"]; ok {
		t.Error("deleted HPA still shown")
	}
	s.SetStatus("API error")
	if s.Snapshot().Status != "API error" {
		t.Error("status not shown")
	}
}

func TestDetail(t *testing.T) {
	s := watchtest.DemoStore()
	d := s.Detail("HPA/ml/embedder")
	if d == nil {
		t.Fatal("no detail")
	}
	if len(d.Pods) != 2 || d.Pods[0].Name != "embedder-0" || !d.Pods[0].Ready || d.Pods[1].Ready {
		t.Errorf("pods = %+v", d.Pods)
	}
	if len(d.Events) != 1 || d.Events[0].Reason != "FailedGetResourceMetric" {
		t.Errorf("events = %+v", d.Events)
	}
	if len(d.Conditions) != 2 || d.Conditions[1].Reason != "FailedGetResourceMetric" {
		t.Errorf("conditions = %+v", d.Conditions)
	}
	if w := s.Detail("HPA/ml/web"); len(w.Events) != 1 || w.Events[0].Object != "Deployment/web" {
		t.Errorf("web events (its Deployment's too) = %+v", w.Events)
	}
	if s.Detail("HPA/ml/gone") != nil {
		t.Error("detail of a missing row")
	}
}

func TestExplainObservedState(t *testing.T) {
	s := watchtest.DemoStore()
	text, err := s.Explain("HPA/ml/web")
	if err != nil {
		t.Fatal(err)
	}
	// 3 ready pods at 45% of a 60% target: ratio 0.75 -> ceil(3*0.75) = 3
	for _, want := range []string{"HPA ml/web", "[0] Resource: cpu", "current 45% of request", "target 60% of request", "proposes 3", "Decision: no change, stay at 3"} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	text, err = s.Explain("HPA/ml/embedder")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "failed: failed to get cpu utilization") || !strings.Contains(text, "FailedGetResourceMetric") {
		t.Errorf("failing metric not explained:\n%s", text)
	}
	text, err = s.Explain("ScaledObject/queue/worker")
	if err != nil {
		t.Fatal(err)
	}
	// external 15 avg over 4 replicas vs 10 avg: 60/10 = 6 replicas
	if !strings.Contains(text, "External: external metric s0-prometheus") || !strings.Contains(text, "Decision: scale 4 -> 6") {
		t.Errorf("KEDA HPA explanation:\n%s", text)
	}
	if _, err := s.Explain("HPA/batch/trainer"); err == nil || !strings.Contains(err.Error(), "does not exist or is not a Deployment") {
		t.Errorf("no Deployment: err = %v", err)
	}
}

func TestExplainScaleUp(t *testing.T) {
	h := watchtest.CPUHPA("ml", "web", 2, 2, ptr.To[int32](120), watchtest.Healthy...)
	d := watchtest.Deployment("ml", "web", 2)
	pods := []*corev1.Pod{watchtest.Pod("ml", "web", 0, true), watchtest.Pod("ml", "web", 1, true)}
	text, err := watch.Explain(h, d, pods, watchtest.T0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "usage ratio 2 -> proposes 4") || !strings.Contains(text, "Decision: scale 2 -> 4") {
		t.Errorf("explanation:\n%s", text)
	}
	_ = autoscalingv2.AbleToScale
}

func TestOnceTable(t *testing.T) {
	var b bytes.Buffer
	if err := watch.WriteTable(&b, watchtest.DemoStore().Snapshot()); err != nil {
		t.Fatal(err)
	}
	golden(t, "once.txt", b.Bytes())
}

func TestOnceJSONStable(t *testing.T) {
	snap := watchtest.DemoStore().Snapshot()
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	as := back["autoscalers"].([]any)
	first := as[0].(map[string]any)
	for _, k := range []string{"namespace", "name", "kind", "target", "currentReplicas", "desiredReplicas", "minReplicas", "maxReplicas", "metrics", "health"} {
		if _, ok := first[k]; !ok {
			t.Errorf("JSON row lacks %q: %s", k, b)
		}
	}
}

func TestFilter(t *testing.T) {
	r := watch.Row{Namespace: "ml", Name: "web", Kind: "HPA", Target: "Deployment/web", Health: "Failing", Reason: "FailedGetResourceMetric"}
	for f, want := range map[string]bool{"": true, "web": true, "WEB ml": true, "failing": true, "!failing": false, "queue": false, "web !queue": true, "getresource": true} {
		if got := r.Matches(f); got != want {
			t.Errorf("Matches(%q) = %v", f, got)
		}
	}
}

func TestSparkline(t *testing.T) {
	if got := watch.Sparkline([]float64{0, 1, 2, 3, 4, 5, 6, 7}, 8, false); got != "▁▂▃▄▅▆▇█" {
		t.Errorf("ramp = %q", got)
	}
	if got := watch.Sparkline([]float64{1, 1}, 4, true); got != "  __" {
		t.Errorf("right-aligned ascii = %q", got)
	}
	long := make([]float64, 100)
	for i := range long {
		long[i] = float64(i)
	}
	if got := []rune(watch.Sparkline(long, 10, false)); len(got) != 10 || got[0] != '▁' || got[9] != '█' {
		t.Errorf("bucketed = %q", string(got))
	}
	if watch.Sparkline(nil, 0, false) != "" {
		t.Error("zero width")
	}
}
