package doctor

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/mlscale/mlscale/internal/testutil/golden"
)

const manifests = "../../testdata/doctor"

func offlineReport(t *testing.T, dir string) *Report {
	t.Helper()
	set, err := LoadManifests([]string{manifests + "/" + dir})
	if err != nil {
		t.Fatal(err)
	}
	return CheckManifests(set)
}

// Every renderer's output of the broken manifests is pinned.
func TestOfflineGolden(t *testing.T) {
	r := offlineReport(t, "broken")
	for _, f := range Formats {
		var b bytes.Buffer
		if err := Render(&b, f, r, RenderOptions{Version: "test"}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		golden.Assert(t, "offline/broken."+f, b.Bytes())
	}
}

// The offline checks the issue lists, each with its file and line.
func TestOfflineFindings(t *testing.T) {
	r := offlineReport(t, "broken")
	want := []struct {
		id, object, file string
		line             int
		sev              Severity
	}{
		{"RES-001", "HorizontalPodAutoscaler/ml/llm", "llm.yaml", 39, Error},      // requests vs utilisation, native sidecar
		{"RES-002", "HorizontalPodAutoscaler/ml/llm", "llm.yaml", 44, Error},      // ContainerResource name
		{"HPA-010", "HorizontalPodAutoscaler/ml/llm", "llm.yaml", 48, Error},      // behaviour values
		{"KEDA-005", "ScaledObject/ml/worker", "worker.yaml", 23, Error},          // HPA + ScaledObject on one target
		{"KEDA-010", "ScaledObject/ml/worker", "worker.yaml", 22, Error},          // KEDA validation
		{"KEDA-007", "ScaledObject/ml/worker", "worker.yaml", 27, Error},          // cpu trigger without requests
		{"HPA-009", "HorizontalPodAutoscaler/ml/legacy", "legacy.yaml", 1, Error}, // old API version
		{"KEDA-012", "ScaledObject/ml/legacy", "legacy.yaml", 16, Error},          // keda.k8s.io
		{"KEDA-014", "Deployment/ml/llm", "llm.yaml", 7, Warning},                 // paused annotation on a Deployment
		{"HPA-009", "PodDisruptionBudget/ml/llm", "llm.yaml", 58, Warning},        // PDB vs minReplicas
		{"HPA-001", "HorizontalPodAutoscaler/ml/legacy", "legacy.yaml", 7, Error}, // extensions/v1beta1 target
		{"HPA-009", "HorizontalPodAutoscaler/ml/worker-extra", "worker.yaml", 42, Warning},
	}
	for _, w := range want {
		found := false
		for _, f := range r.Findings {
			if f.ID == w.id && f.Object.String() == w.object && f.Location != nil &&
				f.Location.File == manifests+"/broken/"+w.file && f.Location.Line == w.line && f.Severity == w.sev {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s %s finding for %s at %s:%d", w.sev, w.id, w.object, w.file, w.line)
		}
	}
	if max, _ := r.Max(); max != Error {
		t.Errorf("max severity %v", max)
	}
}

func TestOfflineClean(t *testing.T) {
	r := offlineReport(t, "clean")
	if len(r.Findings) != 0 {
		t.Fatalf("findings on clean manifests: %+v", r.Findings)
	}
	var b bytes.Buffer
	if err := Render(&b, "json", r, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schemaVersion"] != SchemaVersion {
		t.Errorf("schemaVersion = %v", doc["schemaVersion"])
	}
}

// Documents split at "---" keep their lines; comments-only and empty
// documents are ignored; a syntax error names file and line.
func TestParseManifestsLines(t *testing.T) {
	src := "# comment\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n"
	ms, err := ParseManifests("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Line != 3 || ms[1].Line != 9 || ms[1].Loc("metadata.name").Line != 12 {
		t.Fatalf("lines: %d docs, %+v", len(ms), ms)
	}
	_, err = ParseManifests("bad.yaml", []byte("apiVersion: v1\n---\nkind: [\n"))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("bad.yaml:")) {
		t.Fatalf("syntax error: %v", err)
	}
}

// SARIF is refused for live reports (no file locations).
func TestSARIFNeedsFiles(t *testing.T) {
	if err := Render(&bytes.Buffer{}, "sarif", NewReport("live", nil, nil), RenderOptions{}); err == nil {
		t.Fatal("sarif of a live report accepted")
	}
}

// docs/doctor.md has a section for every check of the catalogue.
func TestDocsHaveEveryCheck(t *testing.T) {
	b, err := os.ReadFile("../../docs/doctor.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Catalogue {
		if !bytes.Contains(b, []byte("\n### "+c.ID+"\n")) {
			t.Errorf("docs/doctor.md has no section %q", "### "+c.ID)
		}
	}
}

// A v1 List (kubectl get -o yaml) is flattened; findings point into items.
func TestParseManifestsList(t *testing.T) {
	src := `apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: ml}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: web, image: web}]
- apiVersion: autoscaling/v2
  kind: HorizontalPodAutoscaler
  metadata: {name: web, namespace: ml}
  spec:
    scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    maxReplicas: 3
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`
	ms, err := ParseManifests("list.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[1].Kind != "HorizontalPodAutoscaler" || ms[1].Line != 13 {
		t.Fatalf("%d manifests, %+v", len(ms), ms)
	}
	r := CheckManifests(&ManifestSet{Files: []string{"list.yaml"}, Manifests: ms})
	found := false
	for _, f := range r.Findings {
		if f.ID == "RES-001" && f.Location.Line == 21 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no RES-001 at list.yaml:21: %+v", r.Findings)
	}
}

// The reference article's own manifests (testdata/doctor/article): doctor
// finds the mistakes docs/article.md lists that show in manifests alone.
func TestOfflineArticle(t *testing.T) {
	r := offlineReport(t, "article")
	var b bytes.Buffer
	if err := Render(&b, "table", r, RenderOptions{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "offline/article.table", b.Bytes())
	want := []struct {
		id, object, file string
		line             int
	}{
		{"KEDA-014", "Deployment/ml-workloads/hybrid-ml-service", "hybrid-ml-service.yaml", 6},             // 1. paused annotation on a Deployment
		{"KEDA-015", "ScaledObject/ml-workloads/ml-batch-processor-scaler", "ml-batch-processor.yaml", 26}, // 3. metricName
		{"KEDA-015", "ScaledObject/ml-workloads/ml-batch-processor-scaler", "ml-batch-processor.yaml", 28}, // 4. avg() with AverageValue
		{"HPA-009", "PodDisruptionBudget/ml-workloads/ml-inference-pdb", "ml-inference-pdb.yaml", 7},       // 5. minAvailable 2 = minReplicas
		{"RES-004", "Deployment/ml-workloads/ml-inference-service", "ml-inference-service.yaml", 38},       // 6. initialDelaySeconds, no startupProbe
	}
	for _, w := range want {
		found := false
		for _, f := range r.Findings {
			if f.ID == w.id && f.Object.String() == w.object && f.Location != nil &&
				f.Location.File == manifests+"/article/"+w.file && f.Location.Line == w.line && f.Severity == Warning {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning %s for %s at %s:%d", w.id, w.object, w.file, w.line)
		}
	}
	// Nothing there is an error the API server or KEDA would reject.
	if max, _ := r.Max(); max != Warning {
		t.Errorf("max severity %v, want warning", max)
	}
}
