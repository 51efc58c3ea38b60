package live

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Pod is one replica of the scale target as the controllers see it: a
// worker process, or a pod of the Deployment.
type Pod struct {
	Name  string
	Phase corev1.PodPhase
	Ready bool
	// Started is when the replica started running (zero while pending);
	// ReadySince when its readiness last changed.
	Started, ReadySince time.Time
	Deleting            bool
	// MetricsURL is where its Prometheus text endpoint is scraped ("" when
	// it has none).
	MetricsURL string
	// GPUs are the UUIDs of the GPUs it was given.
	GPUs []string
	// Spec is the pod's spec, for the requests of utilisation metrics (nil:
	// the policy's pod template, Config.PodSpec: the process target).
	Spec *corev1.PodSpec
}

// Observed is the scale target at one instant.
type Observed struct {
	// Spec is the desired count (scale.spec.replicas), Status the count of
	// replicas that exist (scale.status.replicas).
	Spec, Status int32
	Pods         []Pod
	// Restarts counts crashed replicas replaced so far.
	Restarts int
}

// Ready counts the ready, non-deleting pods.
func (o Observed) Ready() int32 {
	n := int32(0)
	for i := range o.Pods {
		if o.Pods[i].Ready && !o.Pods[i].Deleting {
			n++
		}
	}
	return n
}

// Target is what the scaler acts on.
type Target interface {
	// Observe syncs the target (probes, reaps, replaces crashed replicas,
	// enforces grace periods) and reports it.
	Observe(ctx context.Context, now time.Time) (Observed, error)
	// Scale sets the desired replica count.
	Scale(ctx context.Context, now time.Time, replicas int32) error
	// Close stops acting. The process target stops its workers (SIGTERM,
	// grace, SIGKILL); the deployment target leaves the Deployment as is.
	Close(ctx context.Context) error
}
