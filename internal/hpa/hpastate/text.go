package hpastate

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/mlscale/mlscale/internal/hpa"
)

// WriteText explains the decision for a person: each metric, its ratio and
// proposal, which rule moved the number, and the final size.
func (r *Result) WriteText(w io.Writer) error {
	s := r.snap
	d := &r.decision
	in := &s.Input
	h := in.HPA
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	minR := int32(1)
	if h.Spec.MinReplicas != nil {
		minR = *h.Spec.MinReplicas
	}
	path := "legacy (no spec.behavior)"
	if h.Spec.Behavior != nil {
		path = "behavior"
	}
	p("HPA %s/%s on Kubernetes 1.%d at %s\n", h.Namespace, h.Name, s.Minor, in.Now.UTC().Format(time.RFC3339))
	p("Target: %d replicas (scale spec; status %d), min %d, max %d, normalisation path: %s\n",
		in.Scale.SpecReplicas, in.Scale.StatusReplicas, minR, h.Spec.MaxReplicas, path)
	p("Tolerance: ratio within [%s, %s] keeps the current size\n",
		fnum(1-d.Tolerances.ScaleDown), fnum(1+d.Tolerances.ScaleUp))
	if s.State.History == nil {
		p("History: none (first reconcile: seeded with %d at now)\n", in.Scale.SpecReplicas)
	}
	p("\n")

	switch d.Stage {
	case hpa.StageScalingDisabled:
		if s.Minor >= 36 {
			p("The target is at 0 replicas and the HPA did not put it there: autoscaling is paused (ScalingDisabled).\n")
			p("Since 1.36 the HPA acts at zero only with condition ScaledToZero=True (HPAScaleToZero on) and, to scale from zero, an Object or External metric.\n")
		} else {
			p("The target is at 0 replicas and minReplicas is %d: autoscaling is paused (ScalingDisabled).\n", minR)
			p("Up to 1.35 the HPA acts at zero only when minReplicas is 0.\n")
		}
	case hpa.StageAboveMax:
		p("Current replicas (%d) are above maxReplicas (%d): the controller goes straight to %d without reading metrics.\n",
			in.Scale.SpecReplicas, h.Spec.MaxReplicas, h.Spec.MaxReplicas)
	case hpa.StageBelowMin:
		p("Current replicas (%d) are below minReplicas (%d): the controller goes straight to %d without reading metrics.\n",
			in.Scale.SpecReplicas, minR, minR)
	case hpa.StageSelectorError:
		p("The selector check failed; no metric was read.\n")
	}

	if len(r.Metrics) > 0 {
		p("Metrics:\n")
		for i, m := range r.Metrics {
			p("  [%d] %s\n", i, metricTitle(h, i, m.Name))
			if m.Error != "" {
				p("      failed: %s\n", m.Error)
				continue
			}
			ratio := d.Metrics[i].UsageRatio
			p("      current %s, target %s, usage ratio %s -> proposes %d\n",
				currentText(m.Current), targetText(h, i), fnum(ratio), m.Proposal)
			if m.Proposal == in.Scale.SpecReplicas && ratio != 1 &&
				1-d.Tolerances.ScaleDown <= ratio && ratio <= 1+d.Tolerances.ScaleUp {
				p("      (ratio within tolerance: no change)\n")
			}
		}
	}

	if d.Stage == hpa.StageComputed {
		if d.MetricDesired >= 0 {
			name := d.MetricName
			if name == "" {
				name = "no metric"
			}
			p("\nHighest proposal: %d (%s)\n", d.MetricDesired, name)
		}
		switch d.StabilizeReason {
		case "ScaleDownStabilized":
			p("Stabilisation: %d -> %d (ScaleDownStabilized: a higher recommendation within the scale-down window %s holds it)\n",
				d.MetricDesired, d.Stabilized, downWindow(in))
		case "ScaleUpStabilized":
			p("Stabilisation: %d -> %d (ScaleUpStabilized: a lower recommendation within the scale-up window %s holds it)\n",
				d.MetricDesired, d.Stabilized, upWindow(in))
		default:
			p("Stabilisation: no effect (ReadyForNewScale)\n")
		}
		switch d.LimitReason {
		case "DesiredWithinRange":
			p("Limits: none apply (DesiredWithinRange)\n")
		case "ScaleUpLimit":
			if h.Spec.Behavior == nil {
				p("Limits: %d -> %d (ScaleUpLimit: legacy cap max(2 x current, 4))\n", d.Stabilized, d.Limited)
			} else {
				p("Limits: %d -> %d (ScaleUpLimit: scale-up policies)\n", d.Stabilized, d.Limited)
				r.explainPolicies(p, true)
			}
		case "ScaleDownLimit":
			p("Limits: %d -> %d (ScaleDownLimit: scale-down policies)\n", d.Stabilized, d.Limited)
			r.explainPolicies(p, false)
		case "TooManyReplicas":
			p("Limits: %d -> %d (TooManyReplicas: maxReplicas)\n", d.Stabilized, d.Limited)
		case "TooFewReplicas":
			p("Limits: %d -> %d (TooFewReplicas: minReplicas)\n", d.Stabilized, d.Limited)
		}
		if d.Limited != d.DesiredReplicas && d.Rescale {
			p("Scale from zero: raised to minReplicas %d\n", d.DesiredReplicas)
		}
	}

	p("\n")
	switch {
	case d.Rescale:
		p("Decision: scale %d -> %d (%s)\n", in.Scale.SpecReplicas, d.DesiredReplicas, d.RescaleReason)
	case d.Stage == hpa.StageMetricsFailed && validMax(d) >= 0:
		p("Decision: no change, stay at %d (a metric failed and the others propose %d, a scale-down: unsafe with a metric unknown)\n",
			d.DesiredReplicas, validMax(d))
	case d.Stage == hpa.StageMetricsFailed || d.Stage == hpa.StageSelectorError:
		p("Decision: no change, stay at %d (no usable metric; status.desiredReplicas keeps its previous value)\n", d.DesiredReplicas)
	default:
		p("Decision: no change, stay at %d\n", d.DesiredReplicas)
	}

	p("\nConditions:\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	for _, c := range r.Conditions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Events) > 0 {
		p("\nEvents:\n")
		tw = tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
		for _, e := range r.Events {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Type, e.Reason, e.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	p("\nHistory after this reconcile: %d recommendation(s), %d scale-up event(s), %d scale-down event(s)\n",
		len(r.History.Recommendations), len(r.History.ScaleUpEvents), len(r.History.ScaleDownEvents))
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Result) explainPolicies(p func(string, ...any), up bool) {
	s := r.snap
	cur := s.Input.Scale.SpecReplicas
	limits, sel := hpa.ExplainPolicies(&s.Input, s.Engine.ScaleUpEvents, s.Engine.ScaleDownEvents, cur, up)
	for _, l := range limits {
		unit := ""
		if l.Policy.Type == autoscalingv2.PercentScalingPolicy {
			unit = "%"
		}
		p("  policy %s %d%s per %ds: period started at %d replicas, allows %d\n",
			l.Policy.Type, l.Policy.Value, unit, l.Policy.PeriodSeconds, l.PeriodStart, l.Allowed)
	}
	switch sel {
	case autoscalingv2.DisabledPolicySelect:
		p("  selectPolicy Disabled: no change in this direction\n")
	case autoscalingv2.MinChangePolicySelect:
		p("  selectPolicy Min: the policy allowing the smallest change wins\n")
	default:
		p("  selectPolicy Max: the policy allowing the largest change wins\n")
	}
}

// validMax is the highest proposal of the metrics that did not fail, -1 if all failed.
func validMax(d *hpa.Decision) int32 {
	best := int32(-1)
	for _, m := range d.Metrics {
		if m.Error == "" && m.Proposal > best {
			best = m.Proposal
		}
	}
	return best
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func metricTitle(h *autoscalingv2.HorizontalPodAutoscaler, i int, name string) string {
	m := h.Spec.Metrics[i]
	if name != "" {
		return string(m.Type) + ": " + name
	}
	switch {
	case m.Resource != nil:
		return string(m.Type) + ": " + string(m.Resource.Name)
	case m.ContainerResource != nil:
		return string(m.Type) + ": " + string(m.ContainerResource.Name) + " of container " + m.ContainerResource.Container
	case m.Pods != nil:
		return string(m.Type) + ": " + m.Pods.Metric.Name
	case m.Object != nil:
		return string(m.Type) + ": " + m.Object.Metric.Name
	case m.External != nil:
		return string(m.Type) + ": " + m.External.Metric.Name
	}
	return string(m.Type)
}

func currentText(c *CurrentMetric) string {
	var parts []string
	if c.AverageUtilization != nil {
		parts = append(parts, strconv.Itoa(int(*c.AverageUtilization))+"% of request")
	}
	if c.AverageValue != "" {
		parts = append(parts, c.AverageValue+" per pod")
	}
	if c.Value != "" {
		parts = append(parts, c.Value)
	}
	return strings.Join(parts, " (") + strings.Repeat(")", max(0, len(parts)-1))
}

func targetText(h *autoscalingv2.HorizontalPodAutoscaler, i int) string {
	m := h.Spec.Metrics[i]
	var t autoscalingv2.MetricTarget
	switch {
	case m.Resource != nil:
		t = m.Resource.Target
	case m.ContainerResource != nil:
		t = m.ContainerResource.Target
	case m.Pods != nil:
		t = m.Pods.Target
	case m.Object != nil:
		t = m.Object.Target
	case m.External != nil:
		t = m.External.Target
	}
	switch {
	case t.AverageValue != nil && (m.Type != autoscalingv2.ObjectMetricSourceType || t.Type == autoscalingv2.AverageValueMetricType):
		return t.AverageValue.String() + " per pod"
	case t.AverageUtilization != nil:
		return strconv.Itoa(int(*t.AverageUtilization)) + "% of request"
	case t.Value != nil:
		return t.Value.String()
	}
	return "?"
}

func downWindow(in *hpa.Input) string {
	b := in.HPA.Spec.Behavior
	if b != nil && b.ScaleDown != nil && b.ScaleDown.StabilizationWindowSeconds != nil {
		return (time.Duration(*b.ScaleDown.StabilizationWindowSeconds) * time.Second).String()
	}
	return in.Config.DownscaleStabilization.String()
}

func upWindow(in *hpa.Input) string {
	b := in.HPA.Spec.Behavior
	if b != nil && b.ScaleUp != nil && b.ScaleUp.StabilizationWindowSeconds != nil {
		return (time.Duration(*b.ScaleUp.StabilizationWindowSeconds) * time.Second).String()
	}
	return "0s"
}
