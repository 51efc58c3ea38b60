package hpa

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestMissingRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	ctr := func(name, cpu string) corev1.Container {
		c := corev1.Container{Name: name}
		if cpu != "" {
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
		}
		return c
	}
	sidecar := ctr("proxy", "")
	sidecar.RestartPolicy = &always
	initOnce := ctr("download", "") // a plain init container is not counted
	podLevel := &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}
	for _, tc := range []struct {
		name      string
		spec      corev1.PodSpec
		container string
		want      []string
	}{
		{"all requested", corev1.PodSpec{Containers: []corev1.Container{ctr("app", "1")}}, "", nil},
		{"native sidecar without request", corev1.PodSpec{InitContainers: []corev1.Container{initOnce, sidecar}, Containers: []corev1.Container{ctr("app", "1")}}, "", []string{"proxy"}},
		{"two app containers", corev1.PodSpec{Containers: []corev1.Container{ctr("app", ""), ctr("metrics", "")}}, "", []string{"app", "metrics"}},
		{"pod-level request covers the containers", corev1.PodSpec{Resources: podLevel, Containers: []corev1.Container{ctr("app", "")}}, "", nil},
		{"ContainerResource: only the named one", corev1.PodSpec{Containers: []corev1.Container{ctr("app", "1"), ctr("metrics", "")}}, "app", nil},
		{"ContainerResource: named one missing its request", corev1.PodSpec{Containers: []corev1.Container{ctr("app", ""), ctr("metrics", "1")}}, "app", []string{"app"}},
		{"ContainerResource: container absent (not found, not missing)", corev1.PodSpec{Containers: []corev1.Container{ctr("app", "")}}, "vllm", nil},
	} {
		got := MissingRequests(&tc.spec, corev1.ResourceCPU, tc.container)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: MissingRequests = %q, want %q", tc.name, got, tc.want)
		}
		// The same verdict as the controller's computation.
		e := computeRequest(&tc.spec, corev1.ResourceCPU, tc.container, true, false)
		if (e.errKind == 1) != (len(got) > 0) {
			t.Errorf("%s: computeRequest errKind %d disagrees with %q", tc.name, e.errKind, got)
		}
	}
}
