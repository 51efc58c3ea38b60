package tune

import (
	"fmt"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// JobOptions describe the Indexed Job that runs the first rung's shards.
type JobOptions struct {
	Name, Namespace, Image string
	Parallelism            int
	// Inputs are the files the pods read, by name in the inputs ConfigMap.
	Inputs map[string]string
	// Args are the tune flags (paths under /inputs) without --shard.
	Args []string
}

// Label marks every object of a tune run (value: the run's name).
const Label = "mlscale.dev/tune"

// ShardConfigMap is the name of shard i's results ConfigMap.
func ShardConfigMap(name string, i int) string { return fmt.Sprintf("%s-shard-%d", name, i) }

// RenderJob returns the inputs ConfigMap, a ServiceAccount allowed to write
// ConfigMaps, and the batch/v1 Job (completionMode Indexed): pod i runs
// `mlscale tune ... --shard i/N --results-configmap NAME-shard-i`.
func RenderJob(o JobOptions) []runtime.Object {
	n := int32(o.Parallelism)
	labels := map[string]string{Label: o.Name, "app.kubernetes.io/managed-by": "mlscale"}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels}
	}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(o.Name + "-inputs"), Data: o.Inputs}
	sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(o.Name)}
	role := &rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta(o.Name),
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "update", "get"}}}}
	rb := &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: meta(o.Name),
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: o.Name, Namespace: o.Namespace}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: o.Name}}
	args := append([]string{"tune"}, o.Args...)
	args = append(args, fmt.Sprintf("--shard=$(JOB_COMPLETION_INDEX)/%d", n),
		"--results-configmap="+o.Name+"-shard-$(JOB_COMPLETION_INDEX)", "--namespace="+o.Namespace)
	indexed := batchv1.IndexedCompletion
	backoff := int32(2)
	f := false
	t := true
	uid := int64(65532)
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(o.Name),
		Spec: batchv1.JobSpec{
			CompletionMode:       &indexed,
			Completions:          &n,
			Parallelism:          &n,
			BackoffLimitPerIndex: &backoff,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: o.Name,
					RestartPolicy:      corev1.RestartPolicyNever,
					SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: &t, RunAsUser: &uid},
					Containers: []corev1.Container{{
						Name:    "tune",
						Image:   o.Image,
						Command: []string{"mlscale"},
						Args:    args,
						Env: []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}},
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")}},
						VolumeMounts:    []corev1.VolumeMount{{Name: "inputs", MountPath: "/inputs", ReadOnly: true}},
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &f, ReadOnlyRootFilesystem: &t},
					}},
					Volumes: []corev1.Volume{{Name: "inputs", VolumeSource: corev1.VolumeSource{
						ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: o.Name + "-inputs"}}}}},
				},
			},
		},
	}
	return []runtime.Object{cm, sa, role, rb, job}
}

// InputName is a stable ConfigMap key for an input file.
func InputName(i int, kind, path string) string {
	base := path
	if j := strings.LastIndexAny(base, "/\\"); j >= 0 {
		base = base[j+1:]
	}
	var b strings.Builder
	for _, r := range base {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return fmt.Sprintf("%s-%d-%s", kind, i, b.String())
}

// SortedKeys lists a map's keys in order.
func SortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
