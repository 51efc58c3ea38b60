package live

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// DeploymentConfig configures the deployment target.
type DeploymentConfig struct {
	Client          kubernetes.Interface
	Namespace, Name string
	// MetricsPort and MetricsPath build each pod's scrape URL from its IP
	// (0: pods are not scraped).
	MetricsPort int32
	MetricsPath string
	// Metrics is a REST client of the API server through which
	// metrics.k8s.io is read (nil: the clientset's discovery REST client).
	Metrics rest.Interface
	// Timeout bounds each metrics.k8s.io read (5 s when 0); a PodMetrics
	// item older than MaxAge is stale and left out (1 min when 0).
	Timeout, MaxAge time.Duration
}

// Deployment scales a Deployment through its scale subresource, as the HPA
// controller and KEDA do, and lists its pods by the scale's selector.
type Deployment struct {
	cfg DeploymentConfig

	mu       sync.Mutex
	selector string // the scale's, at the last Observe
}

// NewDeployment returns the deployment target.
func NewDeployment(cfg DeploymentConfig) *Deployment {
	if cfg.MetricsPath == "" {
		cfg.MetricsPath = "/metrics"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Minute
	}
	return &Deployment{cfg: cfg}
}

func (d *Deployment) scale(ctx context.Context) (*autoscalingv1.Scale, error) {
	s, err := d.cfg.Client.AppsV1().Deployments(d.cfg.Namespace).GetScale(ctx, d.cfg.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get scale of deployment %s/%s: %w", d.cfg.Namespace, d.cfg.Name, err)
	}
	return s, nil
}

// Observe reads /scale and lists the pods matching its selector.
func (d *Deployment) Observe(ctx context.Context, _ time.Time) (Observed, error) {
	s, err := d.scale(ctx)
	if err != nil {
		return Observed{}, err
	}
	o := Observed{Spec: s.Spec.Replicas, Status: s.Status.Replicas}
	d.mu.Lock()
	d.selector = s.Status.Selector
	d.mu.Unlock()
	if s.Status.Selector == "" {
		return o, nil
	}
	pods, err := d.cfg.Client.CoreV1().Pods(d.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: s.Status.Selector})
	if err != nil {
		return o, fmt.Errorf("list pods of %s/%s: %w", d.cfg.Namespace, d.cfg.Name, err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		pd := Pod{Name: p.Name, Phase: p.Status.Phase, Deleting: p.DeletionTimestamp != nil, Spec: &p.Spec}
		if p.Status.StartTime != nil {
			pd.Started = p.Status.StartTime.Time
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				pd.Ready, pd.ReadySince = c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
			}
		}
		if d.cfg.MetricsPort > 0 && p.Status.PodIP != "" {
			pd.MetricsURL = "http://" + joinHostPort(p.Status.PodIP, d.cfg.MetricsPort) + d.cfg.MetricsPath
		}
		o.Pods = append(o.Pods, pd)
	}
	return o, nil
}

func joinHostPort(ip string, port int32) string {
	for _, c := range ip {
		if c == ':' {
			return "[" + ip + "]:" + strconv.Itoa(int(port))
		}
	}
	return ip + ":" + strconv.Itoa(int(port))
}

// Scale writes spec.replicas through the scale subresource.
func (d *Deployment) Scale(ctx context.Context, _ time.Time, n int32) error {
	s, err := d.scale(ctx)
	if err != nil {
		return err
	}
	s.Spec.Replicas = n
	if _, err := d.cfg.Client.AppsV1().Deployments(d.cfg.Namespace).UpdateScale(ctx, d.cfg.Name, s, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update scale of deployment %s/%s: %w", d.cfg.Namespace, d.cfg.Name, err)
	}
	return nil
}

// Close leaves the Deployment as it is.
func (d *Deployment) Close(context.Context) error { return nil }
