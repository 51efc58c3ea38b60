package tune_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/cli"
	"github.com/mlscale/mlscale/internal/iostreams"
	"github.com/mlscale/mlscale/internal/testenv"
	"github.com/mlscale/mlscale/internal/tune"
)

var (
	profileFile = "../../examples/article/ml-inference-service.yaml"
	tuneArgs    = []string{"tune", "-f", profileFile, "--scenario", "../cli/testdata/tune/short.yaml", "--spec", "../cli/testdata/tune/spec.yaml"}
)

func mlscale(t *testing.T, args ...string) (string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	if code := cli.Run(context.Background(), ios, args); code != 0 {
		t.Fatalf("mlscale %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out.String(), errOut.String()
}

// render runs `tune --backend kubernetes` and decodes its objects.
func render(t *testing.T, ns string, n int) []*unstructured.Unstructured {
	out, _ := mlscale(t, append(append([]string{}, tuneArgs...), "--backend", "kubernetes", "--parallelism", strconv.Itoa(n), "-n", ns, "--name", "tune-test")...)
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(out, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

// TestIndexedJobDryRun: every object the kubernetes backend renders passes
// a strict server-side dry-run on the real kube-apiserver.
func TestIndexedJobDryRun(t *testing.T) {
	env := testenv.Start(t)
	ns := env.Namespace(t)
	objs := render(t, ns, 3)
	kinds := []string{}
	for _, o := range objs {
		if err := env.ServerSideDryRun(context.Background(), o); err != nil {
			t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
		kinds = append(kinds, o.GetKind())
	}
	if got := strings.Join(kinds, ","); got != "ConfigMap,ServiceAccount,Role,RoleBinding,Job" {
		t.Errorf("kinds %s", got)
	}
	job := objs[4]
	if mode, _, _ := unstructured.NestedString(job.Object, "spec", "completionMode"); mode != "Indexed" {
		t.Errorf("completionMode %q", mode)
	}
}

// TestIndexedJobRunsThroughConfigMaps creates the Job, then plays the
// kubelet (there is none): for each completion index it runs the pod's
// command line, with the inputs ConfigMap mounted as a directory, which
// writes the shard's ConfigMap; 'tune merge --from-configmaps' then prints
// byte for byte what one local process prints.
func TestIndexedJobRunsThroughConfigMaps(t *testing.T) {
	env := testenv.Start(t)
	ns := env.Namespace(t)
	const n = 3
	ctx := context.Background()
	for _, o := range render(t, ns, n) {
		gvk := o.GroupVersionKind()
		m, err := env.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Dynamic.Resource(m.Resource).Namespace(ns).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: %v", o.GetKind(), err)
		}
	}
	job, err := env.Clientset.BatchV1().Jobs(ns).Get(ctx, "tune-test", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := env.Clientset.CoreV1().ConfigMaps(ns).Get(ctx, job.Spec.Template.Spec.Volumes[0].ConfigMap.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mount := t.TempDir()
	for k, v := range in.Data {
		if err := os.WriteFile(filepath.Join(mount, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := job.Spec.Template.Spec.Containers[0]
	if c.Command[0] != "mlscale" || *job.Spec.Completions != n {
		t.Fatalf("container %v, completions %d", c.Command, *job.Spec.Completions)
	}
	for i := 0; i < n; i++ {
		var args []string
		for _, a := range c.Args {
			a = strings.ReplaceAll(a, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i))
			a = strings.ReplaceAll(a, "/inputs", mount)
			args = append(args, a)
		}
		mlscale(t, append(args, "--kubeconfig", env.Kubeconfig)...)
	}
	cms, err := env.Clientset.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: tune.Label + "=tune-test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) != n+1 { // inputs + one per shard
		t.Errorf("%d ConfigMaps labelled, want %d", len(cms.Items), n+1)
	}
	want, _ := mlscale(t, append(append([]string{}, tuneArgs...), "-o", "json")...)
	merge := append([]string{"tune", "merge"}, tuneArgs[1:]...)
	got, _ := mlscale(t, append(merge, "-o", "json", "--from-configmaps", "tune-test", "-n", ns, "--kubeconfig", env.Kubeconfig)...)
	if got != want {
		t.Fatalf("merge of the Job's shards differs from one process:\n%s\n---\n%s", got, want)
	}
}
