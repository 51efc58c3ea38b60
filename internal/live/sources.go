package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Fetcher reads the HTTP metric sources: a worker's Prometheus text
// endpoint, a Prometheus server's instant query and a RabbitMQ management
// API queue. Every call has its own timeout; a reading older than MaxAge is
// refused as stale.
type Fetcher struct {
	Client  *http.Client
	Timeout time.Duration
	// MaxAge is the staleness rule: a Prometheus result or a scraped sample
	// with a timestamp older than MaxAge before now is an error (the
	// controllers would not see it either: Prometheus drops series after its
	// 5-minute lookback, the adapter's window is 1 minute).
	MaxAge time.Duration
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return http.DefaultClient
}

func (f *Fetcher) get(ctx context.Context, u string, accept string) ([]byte, http.Header, error) {
	to := f.Timeout
	if to <= 0 {
		to = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	if pu, err := url.Parse(u); err == nil && pu.User != nil {
		pw, _ := pu.User.Password()
		req.SetBasicAuth(pu.User.Username(), pw)
		pu.User = nil
		req.URL = pu
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, fmt.Errorf("GET %s: %s: %s", redact(u), resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
	}
	return body, resp.Header, nil
}

func redact(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.User == nil {
		return u
	}
	pu.User = url.User(pu.User.Username())
	return pu.String()
}

// Scrape reads a Prometheus text endpoint and returns each metric family's
// value: the sum over its series of gauges, counters and untyped samples
// (a worker exports one series per gauge in the usual case).
func (f *Fetcher) Scrape(ctx context.Context, u string, now time.Time) (map[string]float64, error) {
	body, hdr, err := f.get(ctx, u, "text/plain;version=0.0.4")
	if err != nil {
		return nil, err
	}
	if ct := hdr.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "text/plain" && mt != "" && !strings.Contains(mt, "openmetrics") {
			return nil, fmt.Errorf("scrape %s: content type %q is not the Prometheus text format", u, ct)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", u, err)
	}
	out := make(map[string]float64, len(fams))
	for name, mf := range fams {
		sum, n := 0.0, 0
		for _, m := range mf.GetMetric() {
			if ts := m.GetTimestampMs(); ts != 0 && f.MaxAge > 0 && now.Sub(time.UnixMilli(ts)) > f.MaxAge {
				continue // stale sample
			}
			v, ok := value(mf.GetType(), m)
			if ok {
				sum += v
				n++
			}
		}
		if n > 0 {
			out[name] = sum
		}
	}
	return out, nil
}

func value(t dto.MetricType, m *dto.Metric) (float64, bool) {
	switch t {
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), true
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), true
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// Query runs a Prometheus instant query and returns one value per series
// (a scalar is one value). Results older than MaxAge are stale.
func (f *Fetcher) Query(ctx context.Context, server, query string, now time.Time) ([]float64, error) {
	u := strings.TrimRight(server, "/") + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	body, _, err := f.get(ctx, u, "application/json")
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("prometheus query: %w", err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus query %q: %s", query, r.Error)
	}
	var pairs [][2]any
	switch r.Data.ResultType {
	case "vector":
		var v []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, fmt.Errorf("prometheus query: %w", err)
		}
		for _, s := range v {
			pairs = append(pairs, s.Value)
		}
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(r.Data.Result, &s); err != nil {
			return nil, fmt.Errorf("prometheus query: %w", err)
		}
		pairs = append(pairs, s)
	default:
		return nil, fmt.Errorf("prometheus query %q: result type %q; KEDA and the adapters need a vector or a scalar", query, r.Data.ResultType)
	}
	out := make([]float64, 0, len(pairs))
	for _, p := range pairs {
		ts, _ := p[0].(float64)
		if f.MaxAge > 0 && ts > 0 && now.Sub(time.Unix(0, int64(ts*1e9))) > f.MaxAge {
			return nil, fmt.Errorf("prometheus query %q: stale result (%s old)", query, now.Sub(time.Unix(0, int64(ts*1e9))).Round(time.Second))
		}
		s, _ := p[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("prometheus query %q: value %q: %w", query, s, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// RabbitQueue is a queue as the management API reports it.
type RabbitQueue struct {
	MessagesReady, MessagesUnacknowledged int64
	PublishRate, DeliverRate              float64
}

// RabbitMQ reads GET /api/queues/{vhost}/{queue} from a management API base
// URL (http://user:pass@host:15672).
func (f *Fetcher) RabbitMQ(ctx context.Context, base, vhost, queue string) (RabbitQueue, error) {
	if vhost == "" {
		vhost = "/"
	}
	u := strings.TrimRight(base, "/") + "/api/queues/" + url.PathEscape(vhost) + "/" + url.PathEscape(queue)
	body, _, err := f.get(ctx, u, "application/json")
	if err != nil {
		return RabbitQueue{}, err
	}
	var r struct {
		MessagesReady          *int64 `json:"messages_ready"`
		MessagesUnacknowledged int64  `json:"messages_unacknowledged"`
		Stats                  struct {
			Publish struct {
				Rate float64 `json:"rate"`
			} `json:"publish_details"`
			Deliver struct {
				Rate float64 `json:"rate"`
			} `json:"deliver_get_details"`
		} `json:"message_stats"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return RabbitQueue{}, fmt.Errorf("rabbitmq queue %q: %w", queue, err)
	}
	if r.MessagesReady == nil {
		return RabbitQueue{}, fmt.Errorf("rabbitmq queue %q: no messages_ready in the answer", queue)
	}
	return RabbitQueue{MessagesReady: *r.MessagesReady, MessagesUnacknowledged: r.MessagesUnacknowledged,
		PublishRate: r.Stats.Publish.Rate, DeliverRate: r.Stats.Deliver.Rate}, nil
}

func milli(v float64) int64 { return int64(math.Round(v * 1000)) }
