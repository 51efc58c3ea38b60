// Package watch is the data layer of `mlscale watch` and `mlscale replay`:
// rows of autoscalers (HPAs, KEDA ScaledObjects and ScaledJobs) built from
// the observed Kubernetes objects, with every metric's current and target
// value, the reason behind a `<unknown>`, and the replica and main-metric
// history drawn as sparklines. It has no bubbletea import: the TUI
// (internal/watch/tui) renders a Snapshot, and `--once` prints one.
//
// Data flow: informers (source.go) write objects into a Store; the Store
// builds immutable Snapshots on demand (coalescing any burst of changes into
// one snapshot per UI tick) and samples the replica/metric history.
package watch

import (
	"strings"
	"time"
)

// Kinds of autoscaler.
const (
	KindHPA          = "HPA"
	KindScaledObject = "ScaledObject"
	KindScaledJob    = "ScaledJob"
)

// Snapshot is everything the views show at one instant. It is immutable once
// built: the TUI and --once render it without locks.
type Snapshot struct {
	// Time is when it was built (the watched clock, or the simulated one).
	Time time.Time `json:"time"`
	// Context names the cluster or the replayed run.
	Context string `json:"context,omitempty"`
	// Namespace is the watched namespace ("" for all namespaces).
	Namespace string `json:"namespace,omitempty"`
	Rows      []Row  `json:"autoscalers"`
	// Pods counts the pods the watch holds (all namespaces watched).
	Pods int `json:"pods"`
	// KEDA reports whether the ScaledObject CRD was found.
	KEDA bool `json:"keda"`
	// Status is a connection or API problem ("" when all is well).
	Status string `json:"status,omitempty"`
	// Replay holds the replay position when the snapshot comes from a
	// simulation run.
	Replay *ReplayInfo `json:"replay,omitempty"`
}

// Row is one autoscaler.
type Row struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	// Target is "Kind/name" of the scale target.
	Target  string `json:"target"`
	Current int32  `json:"currentReplicas"`
	Desired int32  `json:"desiredReplicas"`
	Min     int32  `json:"minReplicas"`
	Max     int32  `json:"maxReplicas"`
	// Metrics are the autoscaler's metrics, in spec order.
	Metrics []Metric `json:"metrics"`
	// Reason explains what kubectl shows as <unknown> or an inactive
	// autoscaler: the failing condition's reason ("" when healthy).
	Reason string `json:"reason,omitempty"`
	// Message is that condition's message.
	Message string `json:"message,omitempty"`
	// Health is a one-word state: OK, Limited, Unknown, Failing, Paused,
	// Inactive (KEDA, scaled to zero on purpose).
	Health  string    `json:"health"`
	Created time.Time `json:"created,omitzero"`
	// ReplicaHistory and MetricHistory are the sampled values over the
	// watched period, oldest first (the sparklines).
	ReplicaHistory []float64 `json:"replicaHistory,omitempty"`
	MetricHistory  []float64 `json:"metricHistory,omitempty"`

	// Detail is filled for the detail view and JSON output.
	Conditions []Condition `json:"conditions,omitempty"`
	Events     []Event     `json:"events,omitempty"`
	Pods       []Pod       `json:"pods,omitempty"`
	// HPAName is the HPA KEDA manages for a ScaledObject.
	HPAName string `json:"hpaName,omitempty"`

	// key of the autoscaler in the Store (explanations, doctor).
	key string
	// filterText is the lower-cased text the `/` filter matches.
	filterText string
}

// Key identifies the row: kind/namespace/name.
func (r *Row) Key() string {
	if r.key == "" {
		r.key = r.Kind + "/" + r.Namespace + "/" + r.Name
	}
	return r.key
}

// Matches reports whether the row matches a filter: every space-separated
// word must occur in namespace, name, kind, target, health or reason
// (case-insensitive); a word starting with ! must not occur.
func (r *Row) Matches(filter string) bool {
	if filter == "" {
		return true
	}
	if r.filterText == "" {
		r.filterText = strings.ToLower(strings.Join([]string{r.Namespace, r.Name, r.Kind, r.Target, r.Health, r.Reason}, " "))
	}
	for _, w := range strings.Fields(strings.ToLower(filter)) {
		if neg, ok := strings.CutPrefix(w, "!"); ok {
			if neg != "" && strings.Contains(r.filterText, neg) {
				return false
			}
			continue
		}
		if !strings.Contains(r.filterText, w) {
			return false
		}
	}
	return true
}

// Metric is one metric of an autoscaler.
type Metric struct {
	// Name is the metric as kubectl names it: cpu, memory, the custom or
	// external metric's name, or KEDA's s<i>-<trigger> name.
	Name string `json:"name"`
	// Type is Resource, ContainerResource, Pods, Object or External.
	Type string `json:"type"`
	// Current is the current value ("<unknown>" when the status has none).
	Current string `json:"current"`
	// Target is the target value ("60%" for a utilisation).
	Target string `json:"target"`
	// Value is Current as a number (percent for utilisation), for the
	// sparkline; NaN-free: Known says whether it is set.
	Value float64 `json:"value"`
	Known bool    `json:"known"`
}

// Text renders the metric like kubectl's TARGETS column: "cpu: 45%/60%".
func (m Metric) Text() string {
	return m.Name + ": " + m.Current + "/" + m.Target
}

// Condition is one status condition.
type Condition struct {
	Type    string    `json:"type"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"lastTransitionTime,omitzero"`
}

// Event is one Kubernetes event about the autoscaler or its target.
type Event struct {
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Object  string    `json:"object"`
	Message string    `json:"message"`
	Count   int32     `json:"count,omitempty"`
	Last    time.Time `json:"lastTimestamp,omitzero"`
}

// Pod is one pod of the scale target.
type Pod struct {
	Name     string    `json:"name"`
	Phase    string    `json:"phase"`
	Ready    bool      `json:"ready"`
	Deleting bool      `json:"deleting,omitempty"`
	Created  time.Time `json:"created,omitzero"`
	Node     string    `json:"node,omitempty"`
	Restarts int32     `json:"restarts,omitempty"`
}

// ReplayInfo is a replay's position.
type ReplayInfo struct {
	Run      string  `json:"run"`
	At       float64 `json:"atSeconds"`
	Duration float64 `json:"durationSeconds"`
	Step     int     `json:"step"`
	Steps    int     `json:"steps"`
	Playing  bool    `json:"playing"`
	Speed    float64 `json:"speed"`
	// Note is what happened at this step (a scaling decision, an SLO
	// breach) or the last jump's result.
	Note string `json:"note,omitempty"`
	// SLOBreach: the current step lies within an SLO violation episode.
	SLOBreach bool `json:"sloBreach"`
}

// Counts sums up the rows by health.
func (s *Snapshot) Counts() map[string]int {
	c := map[string]int{}
	for i := range s.Rows {
		c[s.Rows[i].Health]++
	}
	return c
}
