package sim

// evKind says what an event does.
type evKind uint8

const (
	evArrival evKind = iota
	evComplete
	evBatchDone
	evPodStage
	evTermDone
	evNodeReady
	evNodeIdle
	evHPA
	evKEDA
	evGauge
	evScrape
	evMetricsServer
	evSample
	evOutage // a = outage index, gen 0 start, 1 end
	numEvKinds
)

// event is one scheduled happening. Ordered by time, then by the order in
// which it was scheduled (seq), so that runs are reproducible.
type event struct {
	t      int64  // ns since the start
	arrive int64  // evComplete: the request's arrival time
	seq    uint32 // wraps after 2^32 events: still deterministic
	a      int32  // pod or node index
	gen    uint32
	kind   evKind
}

// eventHeap is a 4-ary min-heap of event values (no interface boxing).
type eventHeap struct {
	s []event
}

func (h *eventHeap) len() int { return len(h.s) }

func less(a, b *event) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	return int32(a.seq-b.seq) < 0
}

func (h *eventHeap) push(e event) {
	h.s = append(h.s, e)
	s := h.s
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if !less(&e, &s[p]) {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = e
}

func (h *eventHeap) pop() event {
	s := h.s
	top := s[0]
	n := len(s) - 1
	last := s[n]
	h.s = s[:n]
	if n == 0 {
		return top
	}
	s = h.s
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if less(&s[j], &s[m]) {
				m = j
			}
		}
		if !less(&s[m], &last) {
			break
		}
		s[i] = s[m]
		i = m
	}
	s[i] = last
	return top
}
