package live

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestScrapeSumsSeriesAndDropsStale(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE inference_queue_depth gauge\ninference_queue_depth{model=\"a\"} 3\ninference_queue_depth{model=\"b\"} 4.5\n")
		fmt.Fprintf(w, "# TYPE old gauge\nold 7 %d\n", now.Add(-10*time.Minute).UnixMilli())
		fmt.Fprintf(w, "# TYPE reqs_total counter\nreqs_total 12\n")
	}))
	defer srv.Close()
	f := &Fetcher{Timeout: time.Second, MaxAge: time.Minute}
	v, err := f.Scrape(context.Background(), srv.URL, now)
	if err != nil {
		t.Fatal(err)
	}
	if v["inference_queue_depth"] != 7.5 || v["reqs_total"] != 12 {
		t.Errorf("values: %v", v)
	}
	if _, ok := v["old"]; ok {
		t.Error("a sample older than MaxAge was kept")
	}
}

func TestScrapeErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "not { prometheus\n")
	}))
	defer bad.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer down.Close()
	f := &Fetcher{Timeout: 50 * time.Millisecond}
	for _, u := range []string{slow.URL, bad.URL, down.URL} {
		if _, err := f.Scrape(context.Background(), u, time.Now()); err == nil {
			t.Errorf("%s: no error", u)
		}
	}
}

func TestPrometheusQuery(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.Query().Get("query")
		switch gotQuery {
		case "vec":
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[%d,"3.5"]},{"metric":{},"value":[%d,"2"]}]}}`, now.Unix(), now.Unix())
		case "stale":
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"1"]}]}}`, now.Add(-time.Hour).Unix())
		case "scalar":
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"scalar","result":[%d,"42"]}}`, now.Unix())
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
		}
	}))
	defer srv.Close()
	f := &Fetcher{Timeout: time.Second, MaxAge: 5 * time.Minute}
	ctx := context.Background()
	if v, err := f.Query(ctx, srv.URL, "vec", now); err != nil || len(v) != 2 || v[0] != 3.5 || v[1] != 2 {
		t.Errorf("vector: %v %v", v, err)
	}
	if v, err := f.Query(ctx, srv.URL+"/", "scalar", now); err != nil || len(v) != 1 || v[0] != 42 {
		t.Errorf("scalar: %v %v", v, err)
	}
	if _, err := f.Query(ctx, srv.URL, "stale", now); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Errorf("stale: %v", err)
	}
	if _, err := f.Query(ctx, srv.URL, "sum(", now); err == nil {
		t.Error("a bad query must fail")
	}
}

func rabbitServer(t *testing.T, ready *int64, fail *bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "guest" || p != "secret" {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		if r.URL.EscapedPath() != "/api/queues/%2F/batch-inference" {
			http.NotFound(w, r)
			return
		}
		if *fail {
			http.Error(w, "broker down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"name":"batch-inference","messages_ready":%d,"messages_unacknowledged":%d,"message_stats":{"publish_details":{"rate":1.5},"deliver_get_details":{"rate":0.5}}}`, *ready, *ready/10)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRabbitMQ(t *testing.T) {
	ready, fail := int64(17), false
	srv := rabbitServer(t, &ready, &fail)
	f := &Fetcher{Timeout: time.Second}
	base := strings.Replace(srv.URL, "http://", "http://guest:secret@", 1)
	q, err := f.RabbitMQ(context.Background(), base, "/", "batch-inference")
	if err != nil {
		t.Fatal(err)
	}
	if q.MessagesReady != 17 || q.MessagesUnacknowledged != 1 || q.PublishRate != 1.5 || q.DeliverRate != 0.5 {
		t.Errorf("queue: %+v", q)
	}
	if _, err := f.RabbitMQ(context.Background(), srv.URL, "/", "batch-inference"); err == nil {
		t.Error("no credentials: want 401")
	}
	fail = true
	_, err = f.RabbitMQ(context.Background(), base, "", "batch-inference")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("failure must be reported without the password: %v", err)
	}
}
