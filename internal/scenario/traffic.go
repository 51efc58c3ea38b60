package scenario

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlscale/mlscale/internal/sim"
)

func (l *Loaded) traffic(cfg *sim.Config, read func(string) ([]byte, error)) error {
	t := &l.Spec.Traffic
	tr := &cfg.Traffic
	tr.InitialBacklog = t.InitialBacklog
	for _, s := range t.Spikes {
		tr.Spikes = append(tr.Spikes, sim.Spike{At: s.At.Duration, Duration: s.Duration.Duration, Rate: s.Rate})
	}
	switch t.Pattern {
	case "poisson":
		tr.Rate = t.Rate
	case "step", "ramp":
		for _, p := range t.Points {
			tr.Points = append(tr.Points, sim.RatePoint{At: p.At.Duration, Rate: p.Rate})
		}
		tr.Linear = t.Pattern == "ramp"
	case "diurnal":
		d := t.Diurnal
		tr.Diurnal = &sim.Diurnal{Min: d.Min, Max: d.Max, Period: durOf(d.Period, 24*time.Hour), PeakAt: durOf(d.PeakAt, 14*time.Hour)}
	case "mmpp":
		for _, s := range t.MMPP {
			tr.MMPP = append(tr.MMPP, sim.MMPPState{Rate: s.Rate, MeanDuration: s.MeanDuration.Duration})
		}
	case "trace":
		data, err := read(t.Trace.File)
		if err != nil {
			return l.doc.Errorf("spec.traffic.trace.file", "%v", err)
		}
		reqs, err := ParseTrace(t.Trace.File, data, t.Trace.Format, cfg.Seed)
		if err != nil {
			return l.doc.Errorf("spec.traffic.trace", "%v", err)
		}
		tr.Trace = ScaleTrace(reqs, t.Trace.TimeScale, t.Trace.RateScale, cfg.Seed)
		if tr.Trace == nil {
			tr.Trace = []sim.TraceRequest{}
		}
	}
	return nil
}

// ParseTrace reads a CSV trace. Formats:
//   - timestamps: a timestamp per line (seconds from the start, or a date
//     and time), optionally followed by input and output token counts;
//   - azure-llm: the Azure LLM inference traces (TIMESTAMP, ContextTokens,
//     GeneratedTokens);
//   - azure-functions: the Azure Functions 2019 per-minute invocation counts
//     (HashOwner, HashApp, HashFunction, Trigger, 1..1440), summed over the
//     rows; a minute's invocations are spread uniformly at random over it;
//   - azure-functions-2021: the Azure Functions 2021 invocation trace (app,
//     func, end_timestamp, duration in seconds): arrival = end - duration,
//     and the duration is the request's service time;
//   - auto: picked from the header.
//
// Arrivals are returned relative to the first one, sorted.
func ParseTrace(name string, data []byte, format string, seed uint64) ([]sim.TraceRequest, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	rows, err := r.ReadAll()
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty trace", name)
	}
	header := rows[0]
	if format == "" || format == "auto" {
		switch {
		case len(header) >= 5 && strings.EqualFold(header[0], "HashOwner"):
			format = "azure-functions"
		case len(header) >= 4 && strings.EqualFold(header[2], "end_timestamp"):
			format = "azure-functions-2021"
		case strings.EqualFold(header[0], "TIMESTAMP"):
			format = "azure-llm"
		default:
			format = "timestamps"
		}
	}
	switch format {
	case "azure-functions":
		return parseFunctions(name, rows, seed)
	case "azure-functions-2021":
		return parseInvocations(name, rows)
	case "azure-llm":
		if !strings.EqualFold(header[0], "TIMESTAMP") {
			return nil, fmt.Errorf("%s: azure-llm traces start with the header TIMESTAMP,ContextTokens,GeneratedTokens", name)
		}
		rows = rows[1:]
	default:
		if _, err := parseTime(header[0]); err != nil {
			rows = rows[1:] // a header line
		}
	}
	out := make([]sim.TraceRequest, 0, len(rows))
	var t0 time.Time
	for i, row := range rows {
		if len(row) == 0 || row[0] == "" {
			continue
		}
		ts, err := parseTime(row[0])
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %v", name, i+2, err)
		}
		if len(out) == 0 {
			t0 = ts
		}
		tr := sim.TraceRequest{At: ts.Sub(t0)}
		for k, dst := range []*int32{&tr.InputTokens, &tr.OutputTokens} {
			if len(row) > k+1 && row[k+1] != "" {
				n, err := strconv.ParseInt(strings.TrimSpace(row[k+1]), 10, 32)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("%s: row %d: token count %q", name, i+2, row[k+1])
				}
				*dst = int32(n)
			}
		}
		out = append(out, tr)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	if len(out) > 0 && out[0].At < 0 {
		base := out[0].At
		for i := range out {
			out[i].At -= base
		}
	}
	return out, nil
}

var epoch = time.Unix(0, 0).UTC()

// parseTime reads seconds (from an arbitrary origin) or a date and time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return epoch.Add(time.Duration(f * float64(time.Second))), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q: want seconds or YYYY-MM-DD HH:MM:SS[.ffffff]", s)
}

func parseFunctions(name string, rows [][]string, seed uint64) ([]sim.TraceRequest, error) {
	header := rows[0]
	if len(header) < 5 {
		return nil, fmt.Errorf("%s: azure-functions traces have HashOwner,HashApp,HashFunction,Trigger,1..1440", name)
	}
	minutes := len(header) - 4
	counts := make([]int64, minutes)
	for i, row := range rows[1:] {
		for m := 0; m < minutes && m+4 < len(row); m++ {
			if row[m+4] == "" {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(row[m+4]), 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s: row %d, minute %s: count %q", name, i+2, header[m+4], row[m+4])
			}
			counts[m] += n
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x7472616365))
	var out []sim.TraceRequest
	for m, c := range counts {
		start := len(out)
		for k := int64(0); k < c; k++ {
			out = append(out, sim.TraceRequest{At: time.Duration(m)*time.Minute + time.Duration(r.Int64N(int64(time.Minute)))})
		}
		part := out[start:]
		sort.Slice(part, func(i, j int) bool { return part[i].At < part[j].At })
	}
	return out, nil
}

func parseInvocations(name string, rows [][]string) ([]sim.TraceRequest, error) {
	if len(rows[0]) < 4 || !strings.EqualFold(rows[0][2], "end_timestamp") {
		return nil, fmt.Errorf("%s: azure-functions-2021 traces have the header app,func,end_timestamp,duration", name)
	}
	var out []sim.TraceRequest
	for i, row := range rows[1:] {
		if len(row) < 4 {
			return nil, fmt.Errorf("%s: row %d: want app,func,end_timestamp,duration", name, i+2)
		}
		end, err1 := strconv.ParseFloat(strings.TrimSpace(row[2]), 64)
		dur, err2 := strconv.ParseFloat(strings.TrimSpace(row[3]), 64)
		if err1 != nil || err2 != nil || dur < 0 {
			return nil, fmt.Errorf("%s: row %d: end_timestamp %q and duration %q must be seconds", name, i+2, row[2], row[3])
		}
		out = append(out, sim.TraceRequest{At: time.Duration((end - dur) * float64(time.Second)), Duration: time.Duration(dur * float64(time.Second))})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	if len(out) > 0 {
		base := out[0].At
		for i := range out {
			out[i].At -= base
		}
	}
	return out, nil
}

// ScaleTrace stretches the gaps by timeScale (0 or 1: unchanged) and keeps
// or repeats each arrival so that the rate is multiplied by rateScale.
func ScaleTrace(reqs []sim.TraceRequest, timeScale, rateScale float64, seed uint64) []sim.TraceRequest {
	if timeScale <= 0 {
		timeScale = 1
	}
	if rateScale <= 0 {
		rateScale = 1
	}
	r := rand.New(rand.NewPCG(seed, 0x7363616c65))
	out := make([]sim.TraceRequest, 0, int(float64(len(reqs))*rateScale)+1)
	whole := int(rateScale)
	frac := rateScale - float64(whole)
	for _, q := range reqs {
		q.At = time.Duration(float64(q.At) * timeScale)
		n := whole
		if frac > 0 && r.Float64() < frac {
			n++
		}
		for k := 0; k < n; k++ {
			out = append(out, q)
		}
	}
	return out
}
