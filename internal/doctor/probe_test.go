package doctor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// T2: the raw metric probes against an HTTP server: NaN and sentinel
// values, an adapter error (its Status message is the probe's error) and a
// slow adapter (skipped as timeout, never a failed query).
func TestValueProbeEdgeCases(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/nan":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"kind":"MetricValueList","items":[{"describedObject":{"name":"a"},"value":"-9223372036854775808m"},{"describedObject":{"name":"b"},"value":"NaN"}]}`))
		case "/ok":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"kind":"MetricValueList","items":[{"describedObject":{"name":"a"},"value":"12"}]}`))
		case "/down":
			writeJSON(w, 503, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "the server is currently unable to handle the request", "reason": "ServiceUnavailable", "code": 503})
		case "/slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{c: &Clients{Kube: cs, REST: cs.Discovery().RESTClient()}, snap: &Snapshot{}}
	obj := &Object{Kind: "HorizontalPodAutoscaler", Namespace: "ml", Name: "x"}
	for _, p := range []string{"/nan", "/ok", "/down"} {
		col.valueProbe(p, p, obj, "CUS-002")(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	col.valueProbe("/slow", "/slow", obj, "CUS-002")(ctx)

	if p := col.snap.Probes["/nan"]; p == nil || !p.NaN || len(p.Values) != 0 {
		t.Errorf("NaN probe: %+v", p)
	}
	if p := col.snap.Probes["/ok"]; p == nil || p.NaN || p.Items != 1 || func() int64 { q := p.PerObject["a"]; return q.Value() }() != 12 {
		t.Errorf("ok probe: %+v", p)
	}
	if p := col.snap.Probes["/down"]; p == nil || p.HTTPStatus != 503 || p.Err != "the server is currently unable to handle the request" {
		t.Errorf("503 probe: %+v", p)
	}
	if p := col.snap.Probes["/slow"]; p != nil {
		t.Errorf("a timed-out probe was recorded as a result: %+v", p)
	}
	if len(col.snap.Skipped) != 1 || col.snap.Skipped[0].Reason != SkipTimeout || !strings.Contains(col.snap.Skipped[0].Detail, "/slow") {
		t.Errorf("timeout not skipped: %+v", col.snap.Skipped)
	}
}
