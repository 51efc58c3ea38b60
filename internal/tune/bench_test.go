package tune

import (
	"os"
	"testing"

	"github.com/mlscale/mlscale/internal/scenario"
)

// BenchmarkTuneArticle tunes the article's inference profile (8 parameters)
// on the two bundled one-hour scenarios with the default options:
//
//	go test -run '^$' -bench TuneArticle -benchtime 1x ./internal/tune
func BenchmarkTuneArticle(b *testing.B) {
	src, err := os.ReadFile("../../examples/article/ml-inference-service.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var scs []Scenario
	for _, f := range []string{"../../scenarios/tune-article-burst.yaml", "../../scenarios/tune-article-step.yaml"} {
		l, err := scenario.LoadFile(f, nil)
		if err != nil {
			b.Fatal(err)
		}
		scs = append(scs, Scenario{Loaded: l, Read: scenario.FileReader(f)})
	}
	sp, err := DefaultSpace(src)
	if err != nil {
		b.Fatal(err)
	}
	pp, err := NewProfileProblem("article", src, sp, scs)
	if err != nil {
		b.Fatal(err)
	}
	pr := &Problem{Space: sp, Start: pp.Start(), Scenarios: len(scs), Objective: Objective{Goal: 0.99, MaxFlaps: 2}, Evaluate: pp.Evaluate}
	b.ResetTimer()
	var res *Result
	for i := 0; i < b.N; i++ {
		if res, err = Search(pr, Options{Seed: 1}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if res.Winner == nil {
		b.Fatal("no winner")
	}
	b.ReportMetric(float64(res.Simulations), "simulations/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(res.Simulations)/1e6, "ms/simulation")
	b.ReportMetric(float64(len(sp)), "parameters")
}
