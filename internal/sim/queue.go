package sim

// request is one request (or queue message) in the system.
type request struct {
	arrive  int64 // ns
	service int64 // ns, drawn at arrival so policies compare on common random numbers
}

// reqQueue is a FIFO ring buffer of requests.
type reqQueue struct {
	buf        []request
	head, size int
}

func (q *reqQueue) len() int { return q.size }

func (q *reqQueue) push(r request) {
	if q.size == len(q.buf) {
		n := max(16, 2*len(q.buf))
		nb := make([]request, n)
		for i := 0; i < q.size; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	i := q.head + q.size
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	q.buf[i] = r
	q.size++
}

func (q *reqQueue) peek() *request { return &q.buf[q.head] }

func (q *reqQueue) pop() request {
	r := q.buf[q.head]
	q.head++
	if q.head == len(q.buf) {
		q.head = 0
	}
	q.size--
	return r
}
