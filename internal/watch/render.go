package watch

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/mlscale/mlscale/internal/output"
)

// Targets is the TARGETS cell: every metric as "name: current/target".
func (r *Row) Targets() string {
	if len(r.Metrics) == 0 {
		return "<none>"
	}
	var b strings.Builder
	for i, m := range r.Metrics {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.Text())
	}
	return b.String()
}

// StatusText is the STATUS cell: the health, and the reason when it is
// not OK ("Failing: FailedGetResourceMetric").
func (r *Row) StatusText() string {
	if r.Reason == "" || r.Health == "OK" {
		return r.Health
	}
	return r.Health + ": " + r.Reason
}

// WriteTable prints a snapshot like kubectl's tables (the --once output).
func WriteTable(w io.Writer, s *Snapshot) error {
	tw := output.NewTable(w)
	all := s.Namespace == ""
	if all {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "NAME\tKIND\tTARGET\tREPLICAS\tDESIRED\tMIN\tMAX\tTARGETS\tSTATUS")
	for i := range s.Rows {
		r := &s.Rows[i]
		if all {
			fmt.Fprint(tw, r.Namespace+"\t")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", r.Name, r.Kind, r.Target, r.Current, r.Desired, r.Min, r.Max, r.Targets(), r.StatusText())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Rows) == 0 {
		where := "namespace " + s.Namespace
		if all {
			where = "any namespace"
		}
		fmt.Fprintf(w, "No HPAs, ScaledObjects or ScaledJobs in %s.\n", where)
	}
	for i := range s.Rows {
		r := &s.Rows[i]
		if r.Health != "OK" && r.Message != "" {
			fmt.Fprintf(w, "\n%s %s/%s: %s: %s", r.Kind, r.Namespace, r.Name, r.Reason, r.Message)
		}
	}
	if s.Status != "" {
		fmt.Fprintf(w, "\nStatus: %s", s.Status)
	}
	for i := range s.Rows {
		if s.Rows[i].Health != "OK" && s.Rows[i].Message != "" || s.Status != "" {
			fmt.Fprintln(w)
			break
		}
	}
	return nil
}

// Spark ramps: eight Unicode blocks, or ASCII for dumb terminals.
var (
	sparkUnicode = []rune("▁▂▃▄▅▆▇█")
	sparkASCII   = []rune("_.-~=+*#")
)

// Sparkline draws vals in width cells: more samples than cells are
// averaged in buckets so the line always covers the whole period; fewer
// are right-aligned. The scale runs from the minimum to the maximum of the
// samples drawn (the detail view prints the range); a flat line is drawn
// at the bottom.
func Sparkline(vals []float64, width int, ascii bool) string {
	if width <= 0 {
		return ""
	}
	ramp := sparkUnicode
	if ascii {
		ramp = sparkASCII
	}
	pts := vals
	if len(vals) > width {
		pts = make([]float64, width)
		for i := range pts {
			lo, hi := i*len(vals)/width, (i+1)*len(vals)/width
			sum := 0.0
			for _, v := range vals[lo:hi] {
				sum += v
			}
			pts[i] = sum / float64(hi-lo)
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range pts {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	var b strings.Builder
	b.Grow(width * 3)
	for i := len(pts); i < width; i++ {
		b.WriteByte(' ')
	}
	for _, v := range pts {
		k := 0
		if hi > lo {
			k = int((v - lo) / (hi - lo) * float64(len(ramp)-1))
		}
		k = max(0, min(k, len(ramp)-1))
		b.WriteRune(ramp[k])
	}
	return b.String()
}
