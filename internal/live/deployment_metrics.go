package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/mlscale/mlscale/internal/hpa"
)

// ResourceSourceName is the API the deployment target's resource metrics
// come from.
func (d *Deployment) ResourceSourceName() string { return "metrics.k8s.io" }

// SampleResources does nothing: metrics-server keeps the history.
func (d *Deployment) SampleResources(time.Time) {}

// PodMetrics lists the PodMetrics of the Deployment's pods (the scale's
// selector) from metrics.k8s.io/v1beta1, as the HPA controller does. An
// item older than MaxAge is left out as stale.
func (d *Deployment) PodMetrics(ctx context.Context, now time.Time, _ bool) ([]hpa.PodMetrics, error) {
	d.mu.Lock()
	sel := d.selector
	d.mu.Unlock()
	rc := d.cfg.Metrics
	if rc == nil && d.cfg.Client != nil {
		if dc := d.cfg.Client.Discovery(); dc != nil {
			rc = dc.RESTClient()
		}
	}
	if rc == nil {
		return nil, errors.New("no REST client for metrics.k8s.io")
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req := rc.Get().AbsPath("/apis/metrics.k8s.io/v1beta1", "namespaces", d.cfg.Namespace, "pods")
	if sel != "" {
		req = req.Param("labelSelector", sel)
	}
	raw, err := req.Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var l metricsv1beta1.PodMetricsList
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("decode PodMetricsList: %w", err)
	}
	out := make([]hpa.PodMetrics, 0, len(l.Items))
	for _, it := range l.Items {
		if d.cfg.MaxAge > 0 && now.Sub(it.Timestamp.Time) > d.cfg.MaxAge {
			continue
		}
		pm := hpa.PodMetrics{Pod: it.Name, Timestamp: it.Timestamp.Time, Window: it.Window.Duration}
		for _, c := range it.Containers {
			pm.Containers = append(pm.Containers, hpa.ContainerUsage{Name: c.Name, Usage: c.Usage})
		}
		out = append(out, pm)
	}
	return out, nil
}
