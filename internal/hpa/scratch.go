package hpa

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// scratch holds a State's reusable buffers and caches.
type scratch struct {
	metrics []MetricResult
	wrapped []string // per metric: the error as computeReplicasForMetric returns it
	conds   []Condition
	events  []Event

	// per-pod work buffers
	cls  []uint8
	reqv []int64
	pad  []PodSample

	// per-reconcile pod status bits
	status   []uint8
	statusOK bool
	sameSpec bool // every pod shares one *PodSpec

	// scale.status.selector parse cache
	selStr string
	sel    labels.Selector
	selErr error
	selOK  bool

	names []nameEntry
	reqs  []reqEntry

	selChecks []selCheck
	validFor  string
	validText string
}

type nameEntry struct {
	key  metricKey
	name string
}

// metricKey identifies what a metric's name depends on.
type metricKey struct {
	typ, a, b, c string
	sel          any
}

type reqEntry struct {
	spec      *corev1.PodSpec
	res       corev1.ResourceName
	container string
	podLevel  bool
	legacy    bool
	milli     int64
	errKind   uint8 // 0 ok, 1 missing request in container, 2 container not found, 3 missing pod-level request
	errCont   string
}

func (sc *scratch) begin(nMetrics int) {
	if cap(sc.metrics) < nMetrics {
		sc.metrics = make([]MetricResult, nMetrics)
		sc.wrapped = make([]string, nMetrics)
	}
	sc.metrics = sc.metrics[:nMetrics]
	sc.wrapped = sc.wrapped[:nMetrics]
	for i := range sc.metrics {
		sc.metrics[i] = MetricResult{Proposal: -1}
		sc.wrapped[i] = ""
	}
	sc.conds = sc.conds[:0]
	sc.events = sc.events[:0]
	sc.statusOK = false
}

func (sc *scratch) setCond(t ConditionType, s corev1.ConditionStatus, reason, msg string) {
	for i := range sc.conds {
		if sc.conds[i].Type == t {
			sc.conds[i] = Condition{Type: t, Status: s, Reason: reason, Message: msg}
			return
		}
	}
	sc.conds = append(sc.conds, Condition{Type: t, Status: s, Reason: reason, Message: msg})
}

func (sc *scratch) event(typ, reason, msg string) {
	sc.events = append(sc.events, Event{Type: typ, Reason: reason, Message: msg})
}

func (sc *scratch) validMsg(metric string) string {
	if sc.validText == "" || sc.validFor != metric {
		sc.validFor = metric
		sc.validText = "the HPA was able to successfully calculate a replica count from " + metric
	}
	return sc.validText
}

// name returns the cached metric name for key, building it with f on a miss.
func (sc *scratch) name(i int, key metricKey, f func() string) string {
	for len(sc.names) <= i {
		sc.names = append(sc.names, nameEntry{})
	}
	e := &sc.names[i]
	if e.name == "" || e.key != key {
		e.key = key
		e.name = f()
	}
	return e.name
}

func (sc *scratch) podBuffers(n int) {
	if cap(sc.cls) < n {
		sc.cls = make([]uint8, n)
		sc.reqv = make([]int64, n)
	}
	sc.cls = sc.cls[:n]
	sc.reqv = sc.reqv[:n]
}

type selCheck struct {
	sel *metav1.LabelSelector
	err error
}

// checkSelector validates a metric selector as LabelSelectorAsSelector
// does, cached per selector pointer.
func (sc *scratch) checkSelector(sel *metav1.LabelSelector) error {
	if sel == nil {
		return nil
	}
	for i := range sc.selChecks {
		if sc.selChecks[i].sel == sel {
			return sc.selChecks[i].err
		}
	}
	_, err := metav1.LabelSelectorAsSelector(sel)
	if len(sc.selChecks) >= 16 {
		sc.selChecks = sc.selChecks[:0]
	}
	sc.selChecks = append(sc.selChecks, selCheck{sel, err})
	return err
}

func sprintSelector(v any) string { return fmt.Sprintf("%+v", v) }

// instant is a time reduced to (Unix seconds, nanoseconds) for cheap exact
// comparisons in the hot loops (time.Time's methods are not inlined there).
type instant struct {
	s int64
	n int
}

func at(t time.Time) instant { return instant{t.Unix(), t.Nanosecond()} }

func (a instant) after(b instant) bool  { return a.s > b.s || (a.s == b.s && a.n > b.n) }
func (a instant) before(b instant) bool { return a.s < b.s || (a.s == b.s && a.n < b.n) }
