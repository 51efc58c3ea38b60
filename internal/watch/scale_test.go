package watch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/mlscale/mlscale/internal/testenv"
	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/watchtest"
)

// TestScaleRSS measures the real binary's peak RSS watching 1,000 HPAs,
// 1,000 Deployments and 10,000 pods in a real kube-apiserver (-A --once -o
// json: informers list everything, build every row with its detail). It
// runs only with MLSCALE_WATCH_SCALE=1 and MLSCALE_BIN=path/to/mlscale:
// creating the objects takes a minute.
func TestScaleRSS(t *testing.T) {
	bin := os.Getenv("MLSCALE_BIN")
	if os.Getenv("MLSCALE_WATCH_SCALE") == "" || bin == "" {
		t.Skip("measures peak RSS at 1,000 HPAs and 10,000 pods: set MLSCALE_WATCH_SCALE=1 and MLSCALE_BIN=path/to/mlscale")
	}
	env := testenv.Start(t)
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = 2000, 4000
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	var nss []string
	for range 20 {
		nss = append(nss, env.Namespace(t))
	}
	start := time.Now()
	jobs := make(chan func() error)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := j(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range 1000 {
		ns, name := nss[i%len(nss)], fmt.Sprintf("svc-%04d", i)
		jobs <- func() error {
			h := watchtest.CPUHPA(ns, name, 0, 0, nil)
			h.CreationTimestamp = metav1.Time{}
			if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
				return err
			}
			_, err := cs.AppsV1().Deployments(ns).Create(ctx, deploymentFor(ns, name), metav1.CreateOptions{})
			return err
		}
		for p := range 10 {
			jobs <- func() error {
				pod := watchtest.Pod(ns, name, p, true)
				pod.CreationTimestamp = metav1.Time{}
				pod.Status = corev1.PodStatus{}
				pod.Spec.NodeName = ""
				pod.Spec.Containers[0].Image = "registry.k8s.io/pause:3.10"
				pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODEL", Value: "llama-3-8b-instruct"}}
				pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
				_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
				return err
			}
		}
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
	t.Logf("created 1,000 HPAs, 1,000 Deployments, 10,000 pods in %s", time.Since(start).Round(time.Second))

	cmd := exec.Command(bin, "watch", "--kubeconfig", env.Kubeconfig, "-A", "--once", "-o", "json")
	t0 := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var snap watch.Snapshot
	if err := json.Unmarshal(out, &snap); err != nil {
		t.Fatal(err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rss := float64(ru.Maxrss) / 1024
	t.Logf("mlscale watch -A --once -o json: %d autoscalers, %d pods, %s, peak RSS %.0f MB", len(snap.Rows), snap.Pods, time.Since(t0).Round(time.Millisecond), rss)
	if len(snap.Rows) < 1000 || snap.Pods < 10000 {
		t.Errorf("saw %d autoscalers and %d pods", len(snap.Rows), snap.Pods)
	}
	if rss > 200 {
		t.Errorf("peak RSS %.0f MB > 200 MB", rss)
	}
	cmd = exec.Command(bin, "watch", "--kubeconfig", env.Kubeconfig, "-A", "--once")
	t0 = time.Now()
	if out, err = cmd.Output(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	rss = float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
	t.Logf("mlscale watch -A --once (table): %s, peak RSS %.0f MB", time.Since(t0).Round(time.Millisecond), rss)
	if rss > 200 {
		t.Errorf("peak RSS %.0f MB > 200 MB", rss)
	}
}
