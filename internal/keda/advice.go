package keda

import (
	"sort"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
)

// Advice is a warning about a trigger KEDA accepts but that does not do
// what it seems to. Field is relative to the trigger ("metadata.query").
type Advice struct {
	Field   string
	Message string
}

// droppedMetadata are metadata keys KEDA 2.20's scalers no longer read,
// with why, by trigger type.
var droppedMetadata = map[string]map[string]string{
	"prometheus": {"metricName": "KEDA no longer reads metricName (removed in v2.12); it names the metric s<index>-prometheus itself"},
	"rabbitmq":   {"queueLength": "KEDA no longer reads queueLength; use mode: QueueLength with value"},
}

// DroppedMetadata lists, sorted, the metadata keys of a trigger type that
// KEDA no longer reads (generate leaves them out).
func DroppedMetadata(triggerType string) []string {
	var out []string
	for k := range droppedMetadata[triggerType] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TriggerAdvice returns, in a stable order, what is misleading about a
// trigger: metadata KEDA ignores, and a Prometheus avg(...) query with the
// AverageValue metric type, for which the HPA computes
// ceil(metric / threshold) replicas whatever the current count, so an
// average (of a utilisation, at most 100) caps the scale-out. The profile
// loader, generate and doctor all apply these rules.
func TriggerAdvice(t kedav1alpha1.ScaleTriggers) []Advice {
	var out []Advice
	for _, k := range DroppedMetadata(t.Type) {
		if _, ok := t.Metadata[k]; ok {
			out = append(out, Advice{Field: "metadata." + k, Message: "dropped: " + droppedMetadata[t.Type][k]})
		}
	}
	mt := string(t.MetricType)
	if q := strings.TrimSpace(t.Metadata["query"]); t.Type == "prometheus" && (mt == "" || mt == "AverageValue") && strings.HasPrefix(strings.ToLower(q), "avg(") {
		out = append(out, Advice{Field: "metadata.query", Message: "an avg(...) query with metricType AverageValue never asks for more than ceil(avg/threshold) replicas: use sum(...), or metricType: Value"})
	}
	return out
}
