package keda

import (
	"time"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Health is one status.health entry. Status "" means no entry.
type Health struct {
	Failures int32
	Status   v1alpha1.HealthStatusType
}

// Record is one useCachedMetrics record: what the last poll saw for a
// metric, after fallback.
type Record struct {
	Present  bool
	HasValue bool
	Value    float64
	Active   bool
	Err      string
}

// State is what KEDA remembers about one ScaledObject between steps: the
// status fields the loop reads back and the operator's cached records. It
// is a plain value owned by the caller; slices are indexed by trigger.
type State struct {
	// LastActiveTime is status.lastActiveTime; zero means nil.
	LastActiveTime time.Time
	Health         []Health
	Cached         []Record
	// Conditions are status.conditions (Ready, Active, Fallback, Paused);
	// the zero value is KEDA's initialised set.
	Conditions [numConds]v1alpha1.Condition

	env map[string]any
}

// Condition indexes.
const (
	CondReady = iota
	CondActive
	CondFallback
	CondPaused
	numConds
)

var condTypes = [numConds]v1alpha1.ConditionType{
	v1alpha1.ConditionReady, v1alpha1.ConditionActive, v1alpha1.ConditionFallback, v1alpha1.ConditionPaused,
}

// ConditionSet holds the Ready, Active, Fallback and Paused conditions,
// indexed by CondReady … CondPaused.
type ConditionSet = [numConds]v1alpha1.Condition

// InitialConditions is the set KEDA initialises a new object with.
func InitialConditions() ConditionSet { return initialConditions() }

// NewState returns the state of a freshly created ScaledObject: no
// lastActiveTime, no health, no records, and the conditions KEDA
// initialises (Ready/Active/Fallback Unknown, Paused False).
func (c *Compiled) NewState() State {
	s := State{
		Health: make([]Health, len(c.Triggers)),
		Cached: make([]Record, len(c.Triggers)),
	}
	s.Conditions = initialConditions()
	return s
}

func initialConditions() [numConds]v1alpha1.Condition {
	var out [numConds]v1alpha1.Condition
	for i, t := range condTypes {
		out[i] = v1alpha1.Condition{Type: t, Status: metav1.ConditionUnknown}
	}
	out[CondPaused].Status = metav1.ConditionFalse
	return out
}

// fit makes the per-trigger slices the right length.
func (s *State) fit(n int) {
	if len(s.Health) != n {
		h := make([]Health, n)
		copy(h, s.Health)
		s.Health = h
	}
	if len(s.Cached) != n {
		r := make([]Record, n)
		copy(r, s.Cached)
		s.Cached = r
	}
	if s.Conditions[CondReady].Type == "" {
		s.Conditions = initialConditions()
	}
}

// Clone returns a deep copy.
func (s *State) Clone() State {
	out := *s
	out.Health = append([]Health(nil), s.Health...)
	out.Cached = append([]Record(nil), s.Cached...)
	out.env = nil
	return out
}

// fallbackExceeded is fallbackExceededThreshold over status.health.
func (c *Compiled) fallbackExceeded(st *State) bool {
	for _, h := range st.Health {
		if h.Status == v1alpha1.HealthStatusFailing && h.Failures > c.Fallback.FailureThreshold {
			return true
		}
	}
	return false
}

func (c *Compiled) fallbackOn() bool { return c.Fallback != nil && c.Fallback.Valid }

// updateFallbackCondition is what every health update does to the
// Fallback condition.
func (c *Compiled) updateFallbackCondition(st *State) {
	if !c.fallbackOn() {
		return
	}
	if c.fallbackExceeded(st) {
		st.Conditions[CondFallback] = v1alpha1.Condition{Type: v1alpha1.ConditionFallback, Status: metav1.ConditionTrue, Reason: "FallbackExists", Message: "At least one trigger is falling back on this scaled object"}
	} else {
		st.Conditions[CondFallback] = v1alpha1.Condition{Type: v1alpha1.ConditionFallback, Status: metav1.ConditionFalse, Reason: "NoFallbackFound", Message: "No fallbacks are active on this scaled object"}
	}
}
