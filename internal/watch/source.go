package watch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// KEDA resources watched when their CRDs exist.
var (
	ScaledObjectsGVR = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}
	ScaledJobsGVR    = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledjobs"}
)

// Source feeds a Store from client-go informers: typed ones for HPAs,
// Deployments, Pods and Events, dynamic ones for KEDA ScaledObjects and
// ScaledJobs when the CRDs exist. After the initial list every change
// arrives through a watch; nothing is polled. A lost connection or an API
// error is shown in the store's status line while the reflectors retry with
// back-off; a light /version probe clears it once the server answers again.
type Source struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface // nil: no KEDA
	Namespace string            // "" for all namespaces
	Store     *Store
	// SampleEvery is the sparkline sampling period (default 5 s).
	SampleEvery time.Duration
	// ProbeEvery is the reconnect probe period (default 5 s).
	ProbeEvery time.Duration

	mu      sync.Mutex
	lastErr time.Time
	lastMsg string
	synced  bool
}

// Start starts the informers and returns once their caches have synced (or
// ctx is done, or timeout passed; the informers keep retrying then). The
// goroutines stop with ctx.
func (s *Source) Start(ctx context.Context, timeout time.Duration) error {
	if s.SampleEvery <= 0 {
		s.SampleEvery = 5 * time.Second
	}
	if s.ProbeEvery <= 0 {
		s.ProbeEvery = 5 * time.Second
	}
	f := informers.NewSharedInformerFactoryWithOptions(s.Client, 0, informers.WithNamespace(s.Namespace),
		informers.WithTransform(slim))
	var syncs []cache.InformerSynced
	add := func(name string, inf cache.SharedIndexInformer) {
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			s.fail(name, err)
		})
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { s.Store.Upsert(o) },
			UpdateFunc: func(_, o any) { s.Store.Upsert(o) },
			DeleteFunc: func(o any) { s.Store.Delete(o) },
		})
		syncs = append(syncs, inf.HasSynced)
	}
	add("horizontalpodautoscalers", f.Autoscaling().V2().HorizontalPodAutoscalers().Informer())
	add("deployments", f.Apps().V1().Deployments().Informer())
	add("pods", f.Core().V1().Pods().Informer())
	add("events", f.Core().V1().Events().Informer())
	f.Start(ctx.Done())

	if s.Dynamic != nil && s.kedaInstalled() {
		s.Store.SetKEDA(true)
		df := dynamicinformer.NewFilteredDynamicSharedInformerFactory(s.Dynamic, 0, s.Namespace, nil)
		add("scaledobjects", df.ForResource(ScaledObjectsGVR).Informer())
		if s.hasResource("scaledjobs") {
			add("scaledjobs", df.ForResource(ScaledJobsGVR).Informer())
		}
		df.Start(ctx.Done())
	}

	go s.loop(ctx)

	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), syncs...) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.mu.Lock()
		last := s.lastMsg
		s.mu.Unlock()
		err := fmt.Errorf("the caches did not sync within %s", timeout)
		if last != "" {
			err = fmt.Errorf("%w; last error: %s", err, last)
		}
		s.fail("sync", err)
		return err
	}
	s.mu.Lock()
	s.synced = true
	s.mu.Unlock()
	s.Store.Sample()
	return nil
}

func (s *Source) kedaInstalled() bool { return s.hasResource("scaledobjects") }

func (s *Source) hasResource(name string) bool {
	rl, err := s.Client.Discovery().ServerResourcesForGroupVersion(ScaledObjectsGVR.GroupVersion().String())
	if err != nil {
		return false
	}
	for _, r := range rl.APIResources {
		if r.Name == name {
			return true
		}
	}
	return false
}

func (s *Source) fail(what string, err error) {
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	s.mu.Lock()
	s.lastErr = time.Now()
	s.lastMsg = what + ": " + msg
	s.mu.Unlock()
	s.Store.SetStatus(fmt.Sprintf("API error watching %s: %s (reconnecting)", what, msg))
}

// loop samples the sparklines and probes the server after errors.
func (s *Source) loop(ctx context.Context) {
	sample := time.NewTicker(s.SampleEvery)
	probe := time.NewTicker(s.ProbeEvery)
	defer sample.Stop()
	defer probe.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sample.C:
			s.mu.Lock()
			ok := s.synced
			s.mu.Unlock()
			if ok {
				s.Store.Sample()
			}
		case <-probe.C:
			// probe after an error, and until the first sync: client-go
			// retries a refused list for about 10 s before the reflector
			// reports it, and the status line should not wait that long
			s.mu.Lock()
			failed, synced := !s.lastErr.IsZero(), s.synced
			s.mu.Unlock()
			if !failed && synced {
				continue
			}
			if _, err := s.Client.Discovery().ServerVersion(); err != nil {
				s.fail("the API server", err)
				continue
			}
			if !failed {
				continue
			}
			s.mu.Lock()
			recent := time.Since(s.lastErr) < s.ProbeEvery
			if !recent && s.synced {
				s.lastErr, s.lastMsg = time.Time{}, ""
			}
			clear := !recent && s.synced
			s.mu.Unlock()
			if clear {
				s.Store.SetStatus("")
			}
		}
	}
}

// slim drops what the views never read, to keep 10,000 pods small.
func slim(obj any) (any, error) {
	if m, ok := obj.(metav1.ObjectMetaAccessor); ok {
		m.GetObjectMeta().SetManagedFields(nil)
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		delete(o.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
		o.Spec.Volumes = nil
		o.Spec.Affinity = nil
		o.Spec.Tolerations = nil
		for _, cs := range [][]corev1.Container{o.Spec.Containers, o.Spec.InitContainers} {
			for i := range cs {
				c := &cs[i]
				*c = corev1.Container{Name: c.Name, Resources: c.Resources, RestartPolicy: c.RestartPolicy}
			}
		}
		o.Spec.EphemeralContainers = nil
		for i := range o.Status.ContainerStatuses {
			cs := &o.Status.ContainerStatuses[i]
			*cs = corev1.ContainerStatus{Name: cs.Name, Ready: cs.Ready, RestartCount: cs.RestartCount}
		}
		o.Status.InitContainerStatuses = nil
	case *appsv1.Deployment:
		delete(o.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
		o.Spec.Template.Spec.Volumes = nil
	case *autoscalingv2.HorizontalPodAutoscaler:
		delete(o.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
	}
	return obj, nil
}
