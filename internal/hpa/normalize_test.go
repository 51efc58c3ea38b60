package hpa

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

func rulesOf(pods, podsPeriod, percent, percentPeriod, window int32) *autoscalingv2.HPAScalingRules {
	p := autoscalingv2.MaxChangePolicySelect
	r := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window, SelectPolicy: &p}
	if pods != 0 {
		r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: pods, PeriodSeconds: podsPeriod})
	}
	if percent != 0 {
		r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: percent, PeriodSeconds: percentPeriod})
	}
	return r
}

// uniform spreads events over the last period seconds, each in the middle
// of its segment (as the upstream tests do).
func uniform(changes []int32, period int) []ScaleEvent {
	out := make([]ScaleEvent, len(changes))
	seg := float64(period) / float64(len(changes))
	for i, c := range changes {
		b := time.Duration(float64(period) - seg*float64(i+1) + seg/2)
		out[i] = ScaleEvent{ReplicaChange: c, Timestamp: t0.Add(-time.Second * b)}
	}
	return out
}

func TestRateLimitsWithRules(t *testing.T) {
	cases := []struct {
		name           string
		up, down       []ScaleEvent
		min, max       int32
		upR, downR     *autoscalingv2.HPAScalingRules
		current, desir int32
		want           int32
		reason         string
	}{
		{name: "within range", current: 5, desir: 7, min: 3, max: 8, want: 7, reason: "DesiredWithinRange"},
		{name: "below minReplicas", current: 3, desir: 1, min: 2, max: 8, want: 2, reason: "TooFewReplicas"},
		{name: "within range when minReplicas is 0", current: 1, desir: 0, min: 0, max: 10, want: 0, reason: "DesiredWithinRange"},
		{name: "maxReplicas below scale-up limit", current: 20, desir: 1000, min: 1, max: 10, want: 10, reason: "TooManyReplicas"},
		{name: "more than maxReplicas", current: 100, desir: 1000, min: 100, max: 150, want: 150, reason: "TooManyReplicas"},
		{name: "user policy limits", current: 3, desir: 1000, min: 1, max: 2000, upR: rulesOf(0, 0, 1, 60, 0), want: 4, reason: "ScaleUpLimit"},
		{name: "default behavior", current: 10, desir: 50, min: 1, max: 1000, want: 20, reason: "ScaleUpLimit"},
		{name: "pods policy larger than percent", current: 10, desir: 500, min: 1, max: 1000, upR: rulesOf(100, 60, 100, 60, 0), want: 110, reason: "ScaleUpLimit"},
		{name: "percent policy larger than pods", current: 10, desir: 500, min: 1, max: 1000, upR: rulesOf(2, 60, 100, 60, 0), want: 20, reason: "ScaleUpLimit"},
		{name: "large pod policy", current: 10, desir: 50, min: 1, max: 1000, upR: rulesOf(100, 60, 0, 0, 0), want: 50, reason: "DesiredWithinRange"},
		{name: "pod policy limitation", current: 10, desir: 50, min: 1, max: 1000, upR: rulesOf(30, 60, 0, 0, 0), want: 40, reason: "ScaleUpLimit"},
		{name: "percent policy limitation", current: 10, desir: 50, min: 1, max: 1000, upR: rulesOf(0, 0, 200, 60, 0), want: 30, reason: "ScaleUpLimit"},
		{name: "scale-down percent larger than pods", current: 100, desir: 2, min: 1, max: 1000, downR: rulesOf(20, 60, 1, 60, 300), want: 80, reason: "ScaleDownLimit"},
		{name: "scale-down pods larger than percent", current: 100, desir: 2, min: 1, max: 1000, downR: rulesOf(2, 60, 1, 60, 300), want: 98, reason: "ScaleDownLimit"},
		{name: "scale-down min with large pods policy", current: 10, desir: 0, min: 1, max: 1000, downR: rulesOf(100, 60, 0, 0, 300), want: 1, reason: "TooFewReplicas"},
		{name: "scale-down min with large percent policy", current: 10, desir: 2, min: 5, max: 1000, downR: rulesOf(0, 0, 100, 60, 300), want: 5, reason: "TooFewReplicas"},
		{name: "scale-down pod policy limitation", current: 10, desir: 2, min: 1, max: 1000, downR: rulesOf(5, 60, 0, 0, 300), want: 5, reason: "ScaleDownLimit"},
		{name: "scale-down percent within", current: 10, desir: 5, min: 1, max: 1000, downR: rulesOf(0, 0, 50, 60, 300), want: 5, reason: "DesiredWithinRange"},
		{name: "max with large pod policy and events", up: uniform([]int32{1, 5, 9}, 120), current: 100, desir: 500, min: 1, max: 200,
			upR: rulesOf(300, 60, 0, 0, 0), want: 200, reason: "TooManyReplicas"},
		{name: "many recent scale-ups forbid more", up: uniform([]int32{1, 5, 9}, 120), current: 100, desir: 500, min: 1, max: 1000,
			upR: rulesOf(5, 120, 0, 0, 0), want: 100, reason: "ScaleUpLimit"},
		{name: "pod policy with previous scale-ups", up: uniform([]int32{1, 5, 9}, 120), current: 100, desir: 500, min: 1, max: 1000,
			upR: rulesOf(150, 120, 0, 0, 0), want: 235, reason: "ScaleUpLimit"},
		{name: "percent policy with previous scale-ups", up: uniform([]int32{1, 5, 9}, 120), current: 100, desir: 500, min: 1, max: 1000,
			upR: rulesOf(0, 0, 200, 120, 0), want: 255, reason: "ScaleUpLimit"},
		{name: "percent policy with previous up and down events", up: uniform([]int32{4}, 120), down: uniform([]int32{2}, 120),
			current: 6, desir: 24, min: 1, max: 1000, upR: rulesOf(0, 0, 300, 300, 0), want: 16, reason: "ScaleUpLimit"},
		{name: "scale-down default policy and events", down: uniform([]int32{1, 5, 9}, 120), current: 10, desir: 5, min: 1, max: 1000, want: 5, reason: "DesiredWithinRange"},
		{name: "scale-down large pods policy and events", down: uniform([]int32{1, 5, 9}, 120), current: 100, desir: 0, min: 1, max: 1000,
			downR: rulesOf(115, 120, 0, 0, 300), want: 1, reason: "TooFewReplicas"},
		{name: "scale-down pod policy and events", down: uniform([]int32{1, 5, 9}, 120), current: 100, desir: 2, min: 1, max: 1000,
			downR: rulesOf(5, 120, 0, 0, 300), want: 100, reason: "ScaleDownLimit"},
		{name: "scale-down percent policy and events (truncation)", down: uniform([]int32{2, 4, 6}, 120), current: 100, desir: 0, min: 1, max: 1000,
			downR: rulesOf(0, 0, 50, 120, 300), want: 56, reason: "ScaleDownLimit"},
		{name: "scale-down percent with up and down events", up: uniform([]int32{2}, 120), down: uniform([]int32{4}, 120), current: 10, desir: 1,
			min: 1, max: 1000, downR: rulesOf(0, 0, 50, 180, 0), want: 6, reason: "ScaleDownLimit"},
		{name: "previous scale-downs prevent more", down: uniform([]int32{10, 10, 10}, 120), current: 100, desir: 0, min: 1, max: 1000,
			downR: rulesOf(0, 0, 10, 120, 300), want: 100, reason: "ScaleDownLimit"},
		{name: "previous scale-downs still allow more", down: uniform([]int32{10, 10, 10}, 120), current: 10, desir: 5, min: 1, max: 1000,
			downR: rulesOf(0, 0, 1000, 120, 300), want: 5, reason: "DesiredWithinRange"},
		{name: "outdated events up", up: uniform([]int32{8, 12, 9, 11}, 120), current: 100, desir: 200, min: 1, max: 1000,
			upR: rulesOf(1000, 60, 0, 0, 0), want: 200, reason: "DesiredWithinRange"},
		{name: "outdated events down", down: uniform([]int32{8, 12, 9, 11}, 120), current: 100, desir: 5, min: 1, max: 1000,
			downR: rulesOf(1000, 30, 100, 60, 300), want: 5, reason: "DesiredWithinRange"},
		{name: "selectPolicy Disabled holds scale-up", current: 5, desir: 9, min: 1, max: 10, upR: func() *autoscalingv2.HPAScalingRules {
			r := rulesOf(4, 15, 0, 0, 0)
			d := autoscalingv2.DisabledPolicySelect
			r.SelectPolicy = &d
			return r
		}(), want: 5, reason: "ScaleUpLimit"},
		{name: "selectPolicy Min picks the smaller change", current: 10, desir: 50, min: 1, max: 100, upR: func() *autoscalingv2.HPAScalingRules {
			r := rulesOf(4, 15, 100, 15, 0)
			m := autoscalingv2.MinChangePolicySelect
			r.SelectPolicy = &m
			return r
		}(), want: 14, reason: "ScaleUpLimit"},
		{name: "percent scale-up rounds up", current: 3, desir: 10, min: 1, max: 100, upR: rulesOf(0, 0, 10, 60, 0), want: 4, reason: "ScaleUpLimit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHPA(cpuUtil(50))
			h.Spec.MinReplicas = &tc.min
			h.Spec.MaxReplicas = tc.max
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: tc.upR, ScaleDown: tc.downR}
			in := &Input{HPA: h, Config: testConfig(), Now: t0}
			st := &State{Recommendations: []Recommendation{}, ScaleUpEvents: tc.up, ScaleDownEvents: tc.down}
			var d Decision
			got := normalizeWithBehaviors(in, st, &d, tc.current, tc.desir, tc.min)
			if got != tc.want || d.LimitReason != tc.reason {
				t.Errorf("got %d %s, want %d %s", got, d.LimitReason, tc.want, tc.reason)
			}
			if d.Stabilized != tc.desir {
				t.Errorf("stabilised %d with an empty history, want %d", d.Stabilized, tc.desir)
			}
		})
	}
}

func recs(pairs ...any) []Recommendation {
	var out []Recommendation
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Recommendation{Replicas: int32(pairs[i].(int)), Timestamp: t0.Add(pairs[i+1].(time.Duration))})
	}
	return out
}

func TestLegacyStabilization(t *testing.T) {
	m := time.Minute
	cases := []struct {
		name      string
		hist      []Recommendation
		desired   int32
		want      int32
		wantLen   int
		condition string
	}{
		{"empty log", []Recommendation{}, 5, 5, 1, "ReadyForNewScale"},
		{"stabilize", recs(4, -2*m, 5, -1*m), 3, 5, 3, "ScaleDownStabilized"},
		{"no stabilize", recs(1, -2*m, 2, -1*m), 3, 3, 3, "ReadyForNewScale"},
		{"no stabilize - old recommendations", recs(10, -10*m, 9, -9*m), 3, 3, 2, "ReadyForNewScale"},
		{"stabilize - old recommendations", recs(10, -10*m, 4, -1*m, 5, -2*m, 9, -9*m), 3, 5, 4, "ScaleDownStabilized"},
		{"entry exactly at the cutoff still counts", recs(7, -5*m), 3, 7, 2, "ScaleDownStabilized"},
		{"entry just before the cutoff is replaced", recs(7, -5*m-time.Nanosecond), 3, 3, 1, "ReadyForNewScale"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHPA(cpuUtil(50))
			in := &Input{HPA: h, Config: testConfig(), Now: t0}
			st := &State{Recommendations: tc.hist}
			var d Decision
			normalizeLegacy(in, st, &d, 10, tc.desired, 1)
			if d.Stabilized != tc.want || len(st.Recommendations) != tc.wantLen || d.StabilizeReason != tc.condition {
				t.Errorf("got %d len %d %s, want %d len %d %s", d.Stabilized, len(st.Recommendations), d.StabilizeReason, tc.want, tc.wantLen, tc.condition)
			}
		})
	}
}

func TestLegacyScaleUpCap(t *testing.T) {
	cases := []struct {
		current, desired, min, max int32
		want                       int32
		reason                     string
	}{
		{1, 10, 1, 100, 4, "ScaleUpLimit"},
		{3, 10, 1, 100, 6, "ScaleUpLimit"},
		{10, 100, 1, 100, 20, "ScaleUpLimit"},
		{10, 100, 1, 15, 15, "TooManyReplicas"},
		{10, 1, 3, 15, 3, "TooFewReplicas"},
		{10, 12, 3, 15, 12, "DesiredWithinRange"},
	}
	for _, tc := range cases {
		h := newHPA(cpuUtil(50))
		h.Spec.MaxReplicas = tc.max
		in := &Input{HPA: h, Config: testConfig(), Now: t0}
		st := &State{Recommendations: []Recommendation{}}
		var d Decision
		got := normalizeLegacy(in, st, &d, tc.current, tc.desired, tc.min)
		if got != tc.want || d.LimitReason != tc.reason {
			t.Errorf("%+v: got %d %s", tc, got, d.LimitReason)
		}
	}
}

func TestBehaviorStabilization(t *testing.T) {
	m := time.Minute
	cases := []struct {
		name          string
		hist          []Recommendation
		current, des  int32
		want          int32
		wantHist      []int32
		upW, downW    int32
		wantCondition string
	}{
		{name: "empty recommendations for scaling down", hist: []Recommendation{}, current: 100, des: 5, want: 5, wantHist: []int32{5}},
		{name: "simple scale down stabilization", hist: recs(4, -2*m, 5, -1*m), current: 100, des: 3, want: 5, wantHist: []int32{4, 5, 3}, downW: 180, wantCondition: "ScaleDownStabilized"},
		{name: "simple scale up stabilization", hist: recs(4, -2*m, 5, -1*m), current: 1, des: 7, want: 4, wantHist: []int32{4, 5, 7}, upW: 300, wantCondition: "ScaleUpStabilized"},
		{name: "no scale down stabilization", hist: recs(1, -2*m, 2, -1*m), current: 100, des: 3, want: 3, wantHist: []int32{1, 2, 3}, upW: 300},
		{name: "no scale up stabilization", hist: recs(4, -2*m, 5, -1*m), current: 1, des: 3, want: 3, wantHist: []int32{4, 5, 3}, downW: 300},
		{name: "reuse recommendation element (down)", hist: recs(10, -10*m, 9, -9*m), current: 100, des: 3, want: 3, wantHist: []int32{10, 3}},
		{name: "reuse recommendation element (up)", hist: recs(10, -10*m, 9, -9*m), current: 1, des: 100, want: 100, wantHist: []int32{10, 100}},
		{name: "scale down, reuse the last obsolete element", hist: recs(10, -10*m, 4, -1*m, 5, -2*m, 9, -9*m), current: 100, des: 3, want: 5,
			wantHist: []int32{10, 4, 5, 3}, downW: 180, wantCondition: "ScaleDownStabilized"},
		{name: "scale up, reuse the only element obsolete in both windows", hist: recs(10, -100*m, 6, -1*m, 5, -2*m, 9, -3*m), current: 1, des: 100, want: 5,
			wantHist: []int32{100, 6, 5, 9}, upW: 300, downW: 300, wantCondition: "ScaleUpStabilized"},
		{name: "opposite signals hold current (down)", hist: recs(2, -100*m, 3, -3*m), current: 2, des: 1, want: 2, upW: 300, downW: 300, wantCondition: "ScaleDownStabilized"},
		{name: "opposite signals hold current (up)", hist: recs(2, -100*m, 1, -3*m), current: 2, des: 3, want: 2, upW: 300, downW: 300, wantCondition: "ScaleUpStabilized"},
		{name: "entry exactly at now-window is outside the window", hist: recs(9, -3*m), current: 10, des: 3, want: 3, wantHist: []int32{9, 3}, downW: 180},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHPA(cpuUtil(50))
			h.Spec.MaxReplicas = 1000
			h.Spec.MinReplicas = i32(1)
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &tc.upW, Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1000, PeriodSeconds: 15}}},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &tc.downW},
			}
			in := &Input{HPA: h, Config: testConfig(), Now: t0}
			st := &State{Recommendations: append([]Recommendation(nil), tc.hist...)}
			var d Decision
			normalizeWithBehaviors(in, st, &d, tc.current, tc.des, 1)
			if d.Stabilized != tc.want {
				t.Errorf("stabilised %d, want %d", d.Stabilized, tc.want)
			}
			if tc.wantHist != nil {
				var got []int32
				for _, r := range st.Recommendations {
					got = append(got, r.Replicas)
				}
				if len(got) != len(tc.wantHist) {
					t.Fatalf("history %v, want %v", got, tc.wantHist)
				}
				for i := range got {
					if got[i] != tc.wantHist[i] {
						t.Fatalf("history %v, want %v", got, tc.wantHist)
					}
				}
			}
			want := tc.wantCondition
			if want == "" {
				want = "ReadyForNewScale"
				if tc.want != tc.des {
					t.Fatalf("bad case")
				}
			}
			if d.StabilizeReason != want {
				t.Errorf("condition %s, want %s", d.StabilizeReason, want)
			}
		})
	}
}

func TestStoreScaleEvents(t *testing.T) {
	s := time.Second
	ev := func(c int32, ago time.Duration) ScaleEvent {
		return ScaleEvent{ReplicaChange: c, Timestamp: t0.Add(-ago)}
	}
	type want struct {
		change   int32
		outdated bool
	}
	cases := []struct {
		name   string
		prev   []ScaleEvent
		rules  *autoscalingv2.HPAScalingRules
		behav  bool
		want   []want
		change int32 // replicas changed within the last 60s before storing
	}{
		{name: "no behavior stores nothing", prev: []ScaleEvent{}, want: nil},
		{name: "two-policy behavior appends", prev: []ScaleEvent{}, rules: rulesOf(10, 60, 100, 60, 0), behav: true, want: []want{{5, false}}},
		{name: "outdated entry untouched without behavior", prev: []ScaleEvent{ev(7, 61*s)}, want: []want{{7, false}}},
		{name: "outdated entry replaced", prev: []ScaleEvent{ev(7, 61*s)}, rules: rulesOf(10, 60, 100, 60, 0), behav: true, want: []want{{5, false}}},
		{name: "actual entry kept", prev: []ScaleEvent{ev(7, 58*s)}, rules: rulesOf(10, 60, 100, 60, 0), behav: true, want: []want{{7, false}, {5, false}}, change: 7},
		{name: "two entries, one replaced", prev: []ScaleEvent{ev(7, 61*s), ev(6, 59*s)}, rules: rulesOf(10, 60, 0, 0, 0), behav: true,
			want: []want{{5, false}, {6, false}}, change: 6},
		{name: "different periods: last outdated replaced", prev: []ScaleEvent{ev(8, 29*s), ev(6, 59*s), ev(7, 61*s), ev(9, 61*s)},
			rules: rulesOf(10, 60, 100, 30, 0), behav: true, want: []want{{8, false}, {6, false}, {7, true}, {5, false}}, change: 14},
		{name: "two entries both actual", prev: []ScaleEvent{ev(7, 58*s), ev(6, 59*s)}, rules: rulesOf(10, 120, 100, 30, 0), behav: true,
			want: []want{{7, false}, {6, false}, {5, false}}, change: 13},
	}
	for _, tc := range cases {
		for _, up := range []bool{true, false} {
			h := newHPA(cpuUtil(50))
			if tc.behav {
				if up {
					h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: tc.rules}
				} else {
					h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: tc.rules}
				}
			}
			in := &Input{HPA: h, Config: testConfig(), Now: t0}
			st := &State{}
			prev := append([]ScaleEvent{}, tc.prev...)
			list := &st.ScaleUpEvents
			next := int32(15)
			if !up {
				list = &st.ScaleDownEvents
				next = 5
			}
			*list = prev
			if got := changeInPeriod(60, *list, t0); got != tc.change {
				t.Errorf("%s: change in 60s = %d, want %d", tc.name, got, tc.change)
			}
			storeScaleEvent(in, st, 10, next, t0)
			want := tc.want
			if !tc.behav {
				want = nil
				for _, e := range tc.prev {
					want = append(want, struct {
						change   int32
						outdated bool
					}{e.ReplicaChange, false})
				}
			}
			if len(*list) != len(want) {
				t.Fatalf("%s (up=%v): %d events, want %d", tc.name, up, len(*list), len(want))
			}
			for i, e := range *list {
				if e.ReplicaChange != want[i].change || e.Outdated != want[i].outdated {
					t.Errorf("%s (up=%v) #%d: got %+v, want %+v", tc.name, up, i, e, want[i])
				}
			}
		}
	}
}
