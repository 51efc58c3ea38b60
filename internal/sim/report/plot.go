package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/mlscale/mlscale/internal/sim"
)

// maxPoints bounds the points per line: longer timelines are reduced to
// per-bucket means (maxima for latency), so a day plots as fast as an hour.
const maxPoints = 1500

type series struct {
	label string
	col   int
	max   bool
}

func reduce(tl *sim.Timeline, s series, scaleX float64) plotter.XYs {
	n := len(tl.Rows)
	step := (n + maxPoints - 1) / maxPoints
	if step < 1 {
		step = 1
	}
	var xys plotter.XYs
	for i := 0; i < n; i += step {
		end := min(i+step, n)
		agg, cnt := 0.0, 0
		if s.max {
			agg = math.NaN()
		}
		for j := i; j < end; j++ {
			v := tl.Rows[j][s.col]
			if math.IsNaN(v) {
				continue
			}
			if s.max {
				if cnt == 0 || v > agg {
					agg = v
				}
			} else {
				agg += v
			}
			cnt++
		}
		if cnt == 0 {
			continue
		}
		if !s.max {
			agg /= float64(cnt)
		}
		xys = append(xys, plotter.XY{X: tl.Rows[i][0] / scaleX, Y: agg})
	}
	return xys
}

// Plots builds the panels: load, replicas, latency against the SLO, queue,
// and the metric values each controller saw.
func Plots(r *sim.Result) ([]*plot.Plot, error) {
	tl := r.Timeline
	if tl == nil || len(tl.Rows) == 0 {
		return nil, fmt.Errorf("no timeline recorded")
	}
	scaleX, unit := 60.0, "minutes"
	if r.Scenario.DurationSeconds > 6*3600 {
		scaleX, unit = 3600, "hours"
	}
	var out0 outageSpans
	for _, o := range r.Outages {
		if o.End > o.Start {
			out0 = append(out0, [2]float64{o.Start / scaleX, o.End / scaleX})
		}
	}
	panel := func(title, ylabel string, ss []series) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = unit
		p.Y.Label.Text = ylabel
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		if len(out0) > 0 {
			p.Add(out0)
			p.Legend.Add("metric outage", out0)
		}
		for i, s := range ss {
			if s.col < 0 {
				continue
			}
			xys := reduce(tl, s, scaleX)
			if len(xys) == 0 {
				continue
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, err
			}
			l.Color = plotutil.Color(i)
			l.Width = vg.Points(1)
			p.Add(l)
			p.Legend.Add(s.label, l)
		}
		return p, nil
	}
	c := func(n string) int { return column(tl, n) }
	var out []*plot.Plot
	add := func(p *plot.Plot, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	}
	if err := add(panel("Load", "requests/s", []series{{"arrivals", c("arrivalRate"), false}, {"served", c("throughput"), false}})); err != nil {
		return nil, err
	}
	if err := add(panel("Replicas", "replicas", []series{{"spec.replicas", c("specReplicas"), false}, {"ready", c("readyReplicas"), false}, {"HPA desired", c("hpaDesired"), false}, {"GPU nodes", c("nodes"), false}})); err != nil {
		return nil, err
	}
	lat, err := panel("Latency", "seconds", []series{{"p50", c("latencyP50"), true}, {"p99", c("latencyP99"), true}})
	if err != nil {
		return nil, err
	}
	if slo := r.Summary.SLO.Latency; slo > 0 {
		xs := tl.Rows[len(tl.Rows)-1][0] / scaleX
		l, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: slo}, {X: xs, Y: slo}})
		l.Color = color.RGBA{R: 200, A: 255}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		lat.Add(l)
		lat.Legend.Add(fmt.Sprintf("SLO p%.0f", r.Summary.SLO.Percentile), l)
	}
	out = append(out, lat)
	if err := add(panel("Queue", "requests", []series{{"waiting", c("queue"), false}, {"in service", c("inflight"), false}})); err != nil {
		return nil, err
	}
	var ms []series
	for i, name := range tl.Columns {
		if strings.HasPrefix(name, "hpa:") || strings.HasPrefix(name, "keda:") {
			ms = append(ms, series{name, i, false})
		}
	}
	if len(ms) > 0 {
		if err := add(panel("Metrics seen by the controllers", "value", ms)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WritePlot draws the panels stacked, as PNG (ext ".png") or SVG.
func WritePlot(w io.Writer, r *sim.Result, ext string) error {
	ps, err := Plots(r)
	if err != nil {
		return err
	}
	width, height := 9*vg.Inch, vg.Length(len(ps))*2.6*vg.Inch
	grid := make([][]*plot.Plot, len(ps))
	for i, p := range ps {
		grid[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(ps), Cols: 1, PadY: vg.Points(12), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	switch strings.ToLower(ext) {
	case ".png":
		img := vgimg.New(width, height)
		dc := draw.New(img)
		for i, cv := range plot.Align(grid, tiles, dc) {
			ps[i].Draw(cv[0])
		}
		_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	default:
		img := vgsvg.New(width, height)
		dc := draw.New(img)
		for i, cv := range plot.Align(grid, tiles, dc) {
			ps[i].Draw(cv[0])
		}
		_, err = img.WriteTo(w)
		return err
	}
}

// SVG returns the plots as an SVG document.
func SVG(r *sim.Result) ([]byte, error) {
	var b bytes.Buffer
	if err := WritePlot(&b, r, ".svg"); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// outageSpans shades the metric outages across a panel's full height.
type outageSpans [][2]float64

var outageColor = color.NRGBA{R: 255, G: 150, B: 0, A: 60}

// Plot implements plot.Plotter.
func (o outageSpans) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, iv := range o {
		x0, x1 := max(trX(iv[0]), c.Min.X), min(trX(iv[1]), c.Max.X)
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(outageColor, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

// Thumbnail implements plot.Thumbnailer (the legend entry).
func (o outageSpans) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(outageColor, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}
