package tune

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// WriteShardConfigMap stores a shard's results in ConfigMap name (created,
// or replaced when a retried pod wrote it before).
func WriteShardConfigMap(ctx context.Context, c kubernetes.Interface, ns, name, run string, f *ShardFile) error {
	js, err := json.Marshal(f)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{Label: run, "app.kubernetes.io/managed-by": "mlscale"}},
		Data:       map[string]string{"results.json": string(js)},
	}
	_, err = c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = c.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
	}
	return err
}

// ReadShardConfigMaps reads the results of every shard of run name.
func ReadShardConfigMaps(ctx context.Context, c kubernetes.Interface, ns, name string) ([]*ShardFile, error) {
	get := func(i int) (*ShardFile, error) {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, ShardConfigMap(name, i), metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
		var f ShardFile
		if err := json.Unmarshal([]byte(cm.Data["results.json"]), &f); err != nil {
			return nil, fmt.Errorf("ConfigMap %s/%s: %w", ns, cm.Name, err)
		}
		return &f, nil
	}
	first, err := get(0)
	if err != nil {
		return nil, err
	}
	out := []*ShardFile{first}
	for i := 1; i < first.Shards; i++ {
		f, err := get(i)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}
