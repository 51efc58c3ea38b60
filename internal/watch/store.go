package watch

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// HistoryLen is how many samples a sparkline keeps.
const HistoryLen = 120

// Store holds the observed objects. Informer handlers write into it; the UI
// reads immutable Snapshots from it. It is safe for concurrent use.
type Store struct {
	mu   sync.Mutex
	now  func() time.Time
	ctx  string
	ns   string
	keda bool

	hpas   map[string]*autoscalingv2.HorizontalPodAutoscaler
	sos    map[string]*unstructured.Unstructured
	sjs    map[string]*unstructured.Unstructured
	deps   map[string]*appsv1.Deployment
	pods   map[string]map[string]*corev1.Pod // namespace -> name
	events map[string]*corev1.Event
	npods  int

	version uint64 // bumped on every change
	last    *Snapshot
	lastVer uint64
	status  string

	hist  map[string]*history
	cache map[string]*rowEntry
}

type history struct {
	replicas, metric ring
	// rv and mv are the values of the last sample, shared read-only by
	// every snapshot until the next sample.
	rv, mv []float64
}

// rowEntry caches a built row: informers replace objects rather than
// mutate them, so the same pointers give the same row.
type rowEntry struct {
	src      any
	hpa      *autoscalingv2.HorizontalPodAutoscaler
	replicas int32
	row      Row
}

// ring is a fixed-size sample buffer.
type ring struct {
	buf  [HistoryLen]float64
	n    int // samples held
	head int // next write
}

func (r *ring) add(v float64) {
	r.buf[r.head] = v
	r.head = (r.head + 1) % HistoryLen
	if r.n < HistoryLen {
		r.n++
	}
}

func (r *ring) values() []float64 {
	out := make([]float64, r.n)
	start := (r.head - r.n + HistoryLen) % HistoryLen
	for i := range out {
		out[i] = r.buf[(start+i)%HistoryLen]
	}
	return out
}

// NewStore returns an empty store; context and namespace label snapshots.
func NewStore(context, namespace string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{
		now: now, ctx: context, ns: namespace,
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, sos: map[string]*unstructured.Unstructured{},
		sjs: map[string]*unstructured.Unstructured{}, deps: map[string]*appsv1.Deployment{},
		pods: map[string]map[string]*corev1.Pod{}, events: map[string]*corev1.Event{}, hist: map[string]*history{},
		cache: map[string]*rowEntry{},
	}
}

func nsName(ns, name string) string { return ns + "/" + name }

// Version increases with every change; equal versions mean equal snapshots
// (apart from sampling).
func (s *Store) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// SetKEDA records whether the KEDA CRDs exist.
func (s *Store) SetKEDA(on bool) {
	s.mu.Lock()
	s.keda = on
	s.version++
	s.mu.Unlock()
}

// SetStatus sets the status line ("" clears it).
func (s *Store) SetStatus(msg string) {
	s.mu.Lock()
	if s.status != msg {
		s.status = msg
		s.version++
	}
	s.mu.Unlock()
}

// Upsert adds or replaces an object. Unknown types are ignored.
func (s *Store) Upsert(obj any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch o := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		s.hpas[nsName(o.Namespace, o.Name)] = o
	case *appsv1.Deployment:
		s.deps[nsName(o.Namespace, o.Name)] = o
	case *corev1.Pod:
		m := s.pods[o.Namespace]
		if m == nil {
			m = map[string]*corev1.Pod{}
			s.pods[o.Namespace] = m
		}
		if _, ok := m[o.Name]; !ok {
			s.npods++
		}
		m[o.Name] = o
	case *corev1.Event:
		s.events[nsName(o.Namespace, o.Name)] = o
	case *unstructured.Unstructured:
		switch o.GetKind() {
		case KindScaledObject:
			s.sos[nsName(o.GetNamespace(), o.GetName())] = o
		case KindScaledJob:
			s.sjs[nsName(o.GetNamespace(), o.GetName())] = o
		default:
			return
		}
	default:
		return
	}
	s.version++
}

// Delete removes an object (tombstones are unwrapped).
func (s *Store) Delete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch o := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		delete(s.hpas, nsName(o.Namespace, o.Name))
	case *appsv1.Deployment:
		delete(s.deps, nsName(o.Namespace, o.Name))
	case *corev1.Pod:
		if m := s.pods[o.Namespace]; m != nil {
			if _, ok := m[o.Name]; ok {
				s.npods--
				delete(m, o.Name)
			}
		}
	case *corev1.Event:
		delete(s.events, nsName(o.Namespace, o.Name))
	case *unstructured.Unstructured:
		delete(s.sos, nsName(o.GetNamespace(), o.GetName()))
		delete(s.sjs, nsName(o.GetNamespace(), o.GetName()))
	default:
		return
	}
	s.version++
}

// kedaOwner returns the ScaledObject that owns an HPA ("" when none).
func kedaOwner(h *autoscalingv2.HorizontalPodAutoscaler) string {
	for _, o := range h.OwnerReferences {
		if o.Kind == KindScaledObject {
			return o.Name
		}
	}
	return ""
}

// rowsLocked builds the table rows, sorted by namespace, name, kind. Rows
// of unchanged objects come from the cache.
func (s *Store) rowsLocked() []Row {
	entries := make([]*rowEntry, 0, len(s.hpas)+len(s.sos)+len(s.sjs))
	cache := make(map[string]*rowEntry, len(s.cache))
	get := func(key string, src any, h *autoscalingv2.HorizontalPodAutoscaler, replicas int32, build func() Row) {
		e := s.cache[key]
		if e == nil || e.src != src || e.hpa != h || e.replicas != replicas {
			e = &rowEntry{src: src, hpa: h, replicas: replicas, row: build()}
		}
		cache[key] = e
		entries = append(entries, e)
	}
	owned := map[string]*autoscalingv2.HorizontalPodAutoscaler{} // ns/scaledobject -> its HPA
	for k, h := range s.hpas {
		if o := kedaOwner(h); o != "" {
			owned[nsName(h.Namespace, o)] = h
			continue
		}
		get(KindHPA+"/"+k, h, nil, 0, func() Row { return hpaRow(h) })
	}
	for k, so := range s.sos {
		h := owned[k]
		if h == nil {
			if name, _, _ := unstructured.NestedString(so.Object, "status", "hpaName"); name != "" {
				h = s.hpas[nsName(so.GetNamespace(), name)]
			}
		}
		replicas := int32(-1)
		kind, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
		if kind == "" || kind == "Deployment" {
			if d := s.deps[nsName(so.GetNamespace(), name)]; d != nil {
				replicas = d.Status.Replicas
			}
		}
		get(KindScaledObject+"/"+k, so, h, replicas, func() Row { return scaledObjectRow(so, h, replicas) })
	}
	for k, sj := range s.sjs {
		get(KindScaledJob+"/"+k, sj, nil, 0, func() Row { return scaledJobRow(sj, 0) })
	}
	s.cache = cache
	slices.SortFunc(entries, func(a, b *rowEntry) int {
		if c := strings.Compare(a.row.Namespace, b.row.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.row.Name, b.row.Name); c != 0 {
			return c
		}
		return strings.Compare(a.row.Kind, b.row.Kind)
	})
	rows := make([]Row, len(entries))
	for i, e := range entries {
		rows[i] = e.row
		if h := s.hist[rows[i].Key()]; h != nil {
			rows[i].ReplicaHistory, rows[i].MetricHistory = h.rv, h.mv
		}
	}
	return rows
}

// Snapshot returns the current table. It is rebuilt only when something
// changed since the last call (bursts of informer events coalesce).
func (s *Store) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && s.lastVer == s.version {
		return s.last
	}
	snap := &Snapshot{Time: s.now(), Context: s.ctx, Namespace: s.ns, KEDA: s.keda, Status: s.status, Pods: s.npods}
	snap.Rows = s.rowsLocked()
	s.last, s.lastVer = snap, s.version
	return snap
}

// Sample appends every autoscaler's current replicas and main metric to its
// history (the sparklines), and forgets the history of deleted ones.
func (s *Store) Sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.rowsLocked()
	seen := make(map[string]bool, len(rows))
	for i := range rows {
		r := &rows[i]
		k := r.Key()
		seen[k] = true
		h := s.hist[k]
		if h == nil {
			h = &history{}
			s.hist[k] = h
		}
		h.replicas.add(float64(r.Current))
		v := 0.0
		if len(r.Metrics) > 0 && r.Metrics[0].Known {
			v = r.Metrics[0].Value
		}
		h.metric.add(v)
		h.rv, h.mv = h.replicas.values(), h.metric.values()
	}
	for k := range s.hist {
		if !seen[k] {
			delete(s.hist, k)
		}
	}
	s.version++
}

// Detail returns the row for key with its conditions, recent events (newest
// first, at most 15) and the target's pods; nil when it is gone.
func (s *Store) Detail(key string) *Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.rowsLocked
	if s.last != nil && s.lastVer == s.version {
		rows = func() []Row { return s.last.Rows } // unchanged: no rebuild
	}
	var row *Row
	for _, r := range rows() {
		if r.Key() == key {
			row = &r
			break
		}
	}
	if row == nil {
		return nil
	}
	targetName := ""
	if _, n, ok := cut(row.Target, "/"); ok {
		targetName = n
	}
	// events about the autoscaler, its KEDA HPA or its target
	names := map[string]bool{row.Kind + "/" + row.Name: true, "HorizontalPodAutoscaler/" + row.Name: true, row.Target: true}
	if row.HPAName != "" {
		names["HorizontalPodAutoscaler/"+row.HPAName] = true
	}
	for _, e := range s.events {
		if e.Namespace != row.Namespace {
			continue
		}
		if names[e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name] {
			row.Events = append(row.Events, eventOf(e))
		}
	}
	sort.SliceStable(row.Events, func(i, j int) bool { return row.Events[i].Last.After(row.Events[j].Last) })
	if len(row.Events) > 15 {
		row.Events = row.Events[:15]
	}
	if d := s.deps[nsName(row.Namespace, targetName)]; d != nil {
		if sel := deploymentSelector(d); sel != nil {
			ps := make([]*corev1.Pod, 0, len(s.pods[row.Namespace]))
			for _, p := range s.pods[row.Namespace] {
				ps = append(ps, p)
			}
			row.Pods = podsOf(ps, sel)
		}
	}
	return row
}

// Observed returns the objects the engine needs to explain an HPA row (for
// a ScaledObject, the HPA KEDA manages): the HPA, its Deployment and pods.
func (s *Store) Observed(key string) (*autoscalingv2.HorizontalPodAutoscaler, *appsv1.Deployment, []*corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, rest, _ := cut(key, "/")
	ns, name, _ := cut(rest, "/")
	var h *autoscalingv2.HorizontalPodAutoscaler
	switch kind {
	case KindHPA:
		h = s.hpas[nsName(ns, name)]
	case KindScaledObject:
		for _, c := range s.hpas {
			if c.Namespace == ns && kedaOwner(c) == name {
				h = c
			}
		}
		if so := s.sos[nsName(ns, name)]; h == nil && so != nil {
			if n, _, _ := unstructured.NestedString(so.Object, "status", "hpaName"); n != "" {
				h = s.hpas[nsName(ns, n)]
			}
		}
	}
	if h == nil {
		return nil, nil, nil
	}
	d := s.deps[nsName(ns, h.Spec.ScaleTargetRef.Name)]
	if h.Spec.ScaleTargetRef.Kind != "Deployment" {
		d = nil
	}
	var pods []*corev1.Pod
	if sel := deploymentSelector(d); sel != nil {
		for _, p := range s.pods[ns] {
			if sel.Matches(labelsOf(p)) {
				pods = append(pods, p)
			}
		}
		sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	}
	return h, d, pods
}

// Explain runs the HPA engine on the observed state of the row's HPA (for a
// ScaledObject, the HPA KEDA manages) and returns its explanation.
func (s *Store) Explain(key string) (string, error) {
	h, d, pods := s.Observed(key)
	if h == nil {
		if strings.HasPrefix(key, KindScaledJob+"/") {
			return "", fmt.Errorf("a ScaledJob creates Jobs itself; there is no HPA decision to explain")
		}
		return "", fmt.Errorf("no HPA found for %s (KEDA has not created it yet?)", key)
	}
	text, err := Explain(h, d, pods, s.now())
	if err != nil {
		return "", err
	}
	return ExplainNote + "\n\n" + text, nil
}
