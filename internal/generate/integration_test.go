package generate

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/testenv"
	"github.com/mlscale/mlscale/templates"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Every preset's and every article example's manifests pass a server-side
// dry run against a real kube-apiserver with KEDA's and prometheus-operator's
// CRDs installed (strict field validation: unknown fields are errors too).
func TestRenderedManifestsPassServerSideDryRun(t *testing.T) {
	env := testenv.Start(t)
	r, err := NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]*profile.Loaded{}
	for _, p := range profile.Presets() {
		sources["preset "+p] = load(t, p)
	}
	files, _ := filepath.Glob("../../examples/article/*.yaml")
	for _, f := range files {
		l, err := profile.LoadFile(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		sources[filepath.Base(f)] = l
	}
	if len(sources) < 8 {
		t.Fatalf("expected 4 presets and 4 article examples, got %d", len(sources))
	}
	for name, l := range sources {
		t.Run(name, func(t *testing.T) {
			ns := env.Namespace(t)
			res, err := r.Render(l)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, o := range res.Objects {
				var u unstructured.Unstructured
				if err := yaml.Unmarshal(o.YAML, &u.Object); err != nil {
					t.Fatal(err)
				}
				u.SetNamespace(ns)
				if err := env.ServerSideDryRun(context.Background(), &u); err != nil {
					t.Errorf("%s %s from %s: %v", o.Kind, o.Name, o.Template, err)
				}
				kinds[o.Kind]++
			}
			if kinds["Deployment"] == 0 || kinds["PodDisruptionBudget"] == 0 || kinds["HorizontalPodAutoscaler"]+kinds["ScaledObject"] == 0 {
				t.Errorf("missing core objects: %v", kinds)
			}
		})
	}
}

// The dry run is a real check: the API server rejects what the schema forbids.
func TestServerRejectsBrokenScaledObject(t *testing.T) {
	env := testenv.Start(t)
	ns := env.Namespace(t)
	var u unstructured.Unstructured
	src := "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec:\n  scaleTargetRef: {name: x}\n  minReplicaCount: many\n  triggers: [{type: cpu, metadata: {value: \"50\"}}]\n"
	if err := yaml.Unmarshal([]byte(src), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetNamespace(ns)
	err := env.ServerSideDryRun(context.Background(), &u)
	if err == nil || !strings.Contains(err.Error(), "minReplicaCount") {
		t.Fatalf("want a rejection naming minReplicaCount, got %v", err)
	}
}
