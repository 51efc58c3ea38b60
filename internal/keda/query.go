package keda

import (
	"strings"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// QueryResult is KEDA's metrics-server answer to one HPA query.
type QueryResult struct {
	// Metrics holds the per-trigger outcomes of the triggers consulted.
	Metrics []MetricResult
	// Consulted marks which Metrics entries were consulted.
	Consulted []bool
	// FromCache marks the triggers answered from a useCachedMetrics record.
	FromCache []bool
	// Name and Value are the answered metric (composite-metric with
	// scalingModifiers), valid when Err is "".
	Name  string
	Value float64
	// Err is the error the HPA receives ("" when it gets a value).
	Err            string
	FallbackActive bool
	// Empty: the answer is an empty list without an error (a failed
	// scalingModifiers formula).
	Empty bool
}

// HPAQuery answers the HPA's GET for metricName at now, as
// GetScaledObjectMetrics does: cached records for useCachedMetrics
// triggers when present (live otherwise), fallback with failure counting,
// and scalingModifiers. It updates st (health, conditions; in v2.20 and
// earlier an error also drops the cached records).
func (c *Compiled) HPAQuery(metricName string, tgt Target, readings []scalers.Reading, st *State, res *QueryResult) {
	n := len(c.Triggers)
	st.fit(n)
	c.query(metricName, tgt, readings, st, res, true)
}

// ExternalMetricValues computes, after a poll, what the metrics server
// would answer for each External metric (the composite with
// scalingModifiers) from the same readings, without counting further
// fallback failures. Names without a value are absent.
func (c *Compiled) ExternalMetricValues(tgt Target, readings []scalers.Reading, st *State) (names []string, values []float64) {
	s := st.Clone()
	var res QueryResult
	if c.Modifiers != nil {
		c.query(CompositeMetricName, tgt, readings, &s, &res, false)
		if res.Err == "" && !res.Empty {
			return []string{res.Name}, []float64{res.Value}
		}
		return nil, nil
	}
	for _, t := range c.Triggers {
		if !t.External {
			continue
		}
		c.query(t.MetricName, tgt, readings, &s, &res, false)
		if res.Err == "" && !res.Empty {
			names = append(names, res.Name)
			values = append(values, res.Value)
		}
	}
	return names, values
}

func (c *Compiled) query(metricName string, tgt Target, readings []scalers.Reading, st *State, res *QueryResult, count bool) {
	n := len(c.Triggers)
	if cap(res.Metrics) < n {
		res.Metrics = make([]MetricResult, n)
		res.Consulted = make([]bool, n)
		res.FromCache = make([]bool, n)
	}
	res.Metrics, res.Consulted, res.FromCache = res.Metrics[:n], res.Consulted[:n], res.FromCache[:n]
	for i := range res.Metrics {
		res.Metrics[i] = MetricResult{Trigger: i}
		res.Consulted[i], res.FromCache[i] = false, false
	}
	res.Name, res.Value, res.Err, res.FallbackActive, res.Empty = metricName, 0, "", false, false

	// getTrueMetricArray: with scalingModifiers every External metric.
	all := c.Modifiers != nil
	matched := false
	isScalerError := false
	for i := range c.Triggers {
		t := &c.Triggers[i]
		if !t.External || !(all || strings.EqualFold(t.MetricName, metricName)) {
			continue
		}
		matched = true
		res.Consulted[i] = true
		m := &res.Metrics[i]
		var hasVal bool
		var val float64
		var errText string
		if rec := st.Cached[i]; t.UseCached && rec.Present {
			res.FromCache[i] = true
			hasVal, val, errText = rec.HasValue, rec.Value, rec.Err
			m.Raw = scalers.Output{Value: rec.Value, Active: rec.Active, Err: rec.Err}
		} else {
			var rd *scalers.Reading
			if i < len(readings) {
				rd = &readings[i]
			} else {
				rd = &noReading
			}
			out := t.Scaler.Get(rd)
			m.Raw = out
			errText = out.Err
			if errText == "" {
				hasVal, val = true, scalers.ReportedValue(out.Value, c.Version.Minor)
			}
		}
		val, hasVal, fb, ph, e := c.process(i, hasVal, val, errText, tgt, st, count)
		m.Value, m.HasValue, m.Fallback, m.Placeholder, m.Err = val, hasVal, fb || ph, ph, e
		m.Failures = st.Health[i].Failures
		if fb {
			res.FallbackActive = true
		}
		if e != "" {
			isScalerError = true
		}
	}
	if isScalerError && count && c.Version.Minor <= 20 {
		// ClearScalersCache also dropped the metric records before v2.21.
		for i := range st.Cached {
			st.Cached[i] = Record{}
		}
	}
	if !res.FallbackActive && isScalerError {
		res.Err = "metric:" + metricName + " encountered error"
		return
	}
	if !matched {
		res.Err = "no matching metrics found for " + metricName
		return
	}
	if c.Modifiers != nil {
		var pr PollResult
		pr.Metrics = res.Metrics
		pr.FallbackActive = res.FallbackActive
		c.composite(st, &pr, func(i int) (float64, bool, bool) {
			m := &res.Metrics[i]
			return m.Value, m.HasValue, m.Placeholder
		})
		if !pr.HasComposite {
			res.Empty = true
			res.Err = pr.CompositeErr
			return
		}
		res.Name, res.Value = CompositeMetricName, pr.Composite
		return
	}
	for i := range c.Triggers {
		if res.Consulted[i] && res.Metrics[i].HasValue {
			res.Name, res.Value = c.Triggers[i].MetricName, res.Metrics[i].Value
			return
		}
	}
	res.Empty = true
}
