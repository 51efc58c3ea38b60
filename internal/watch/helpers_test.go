package watch_test

import (
	"encoding/json"
	"io"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/watch/watchtest"
)

func writeJSON(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

func strconvF(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

func deploymentFor(ns, name string) *appsv1.Deployment {
	d := watchtest.Deployment(ns, name, 2)
	d.Status = appsv1.DeploymentStatus{}
	d.Spec.Template = corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}}},
	}
	return d
}
