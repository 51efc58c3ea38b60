package doctor

import (
	"context"
	"sort"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Probes of the metrics pipeline behind the adapters: kubelet scraping
// (API-004), the HPA controller's own RBAC (CUS-006) and the custom
// metrics adapter's discovery cycle (CUS-004).

var (
	pNodes   = probe{name: "list nodes", verb: "list", resource: "nodes", clusterNS: true, checks: []string{"API-004"}}
	pNodeMet = probe{name: "list nodes.metrics.k8s.io", verb: "list", group: "metrics.k8s.io", resource: "nodes", clusterNS: true, checks: []string{"API-004"}}
	pSAR     = probe{name: "create subjectaccessreviews", verb: "create", group: "authorization.k8s.io", resource: "subjectaccessreviews", clusterNS: true, checks: []string{"CUS-006"}}
	pHPASA   = probe{name: "get serviceaccount kube-system/horizontal-pod-autoscaler", checks: []string{"CUS-006"}}
)

// The HPA controller's identities (plugin/pkg/auth/authorizer/rbac/
// bootstrappolicy/controller_policy.go; kube-controller-manager's
// --use-service-account-credentials picks the ServiceAccount).
const (
	hpaControllerNamespace = "kube-system"
	hpaControllerSA        = "horizontal-pod-autoscaler"
	kcmUser                = "system:kube-controller-manager"
)

// maxMetricReviews bounds the per-metric SubjectAccessReviews made after a
// group-wide review is denied; the remaining metrics take the group-wide
// verdict.
const maxMetricReviews = 200

// needsResourceMetrics reports whether some HPA reads metrics.k8s.io.
func needsResourceMetrics(s *Snapshot) bool {
	for _, h := range s.HPAs {
		for _, m := range h.Spec.Metrics {
			if m.Type == autoscalingv2.ResourceMetricSourceType || m.Type == autoscalingv2.ContainerResourceMetricSourceType {
				return true
			}
		}
	}
	return false
}

// nodeProbes compares the Nodes with the NodeMetrics metrics-server
// serves (API-004): a Ready node without NodeMetrics is a kubelet
// metrics-server cannot scrape, and its pods get no PodMetrics either.
func (col *collector) nodeProbes() []func(context.Context) {
	s := col.snap
	if col.c.REST == nil || !needsResourceMetrics(s) || !apiAvailable(s, ResourceMetricsAPI) {
		return nil
	}
	var fns []func(context.Context)
	if col.allowed(pNodes) {
		fns = append(fns, func(ctx context.Context) {
			col.call()
			// ResourceVersion "0": served from the API server's cache.
			l, err := col.c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
			if col.failed(pNodes, err) {
				return
			}
			m := make(map[string]bool, len(l.Items))
			for i := range l.Items {
				n := &l.Items[i]
				ready := false
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady {
						ready = c.Status == corev1.ConditionTrue
					}
				}
				m[n.Name] = ready
			}
			col.mu.Lock()
			s.Nodes = m
			col.mu.Unlock()
		})
	}
	if col.allowed(pNodeMet) {
		fns = append(fns, func(ctx context.Context) {
			var list metricsv1beta1.NodeMetricsList
			if _, err := col.get(ctx, "/apis/metrics.k8s.io/v1beta1/nodes", &list); col.failed(pNodeMet, err) {
				return
			}
			m := make(map[string]bool, len(list.Items))
			for _, it := range list.Items {
				m[it.Name] = true
			}
			col.mu.Lock()
			s.NodeMetrics = m
			col.mu.Unlock()
		})
	}
	return fns
}

// metricRequest is the authorization request the HPA controller's metrics
// clients make for one HPA metric (k8s.io/metrics custom_metrics and
// external_metrics clients).
type metricRequest struct {
	key string // ProbeKey of the HPA metric
	AccessDenial
}

func metricRequests(s *Snapshot) []metricRequest {
	var out []metricRequest
	for _, h := range s.HPAs {
		for i, m := range h.Spec.Metrics {
			r := AccessDenial{Namespace: h.Namespace}
			switch {
			case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
				// GET .../namespaces/NS/pods/*/METRIC?labelSelector=...
				r.Verb, r.Group, r.Resource, r.Name, r.Subresource = "get", "custom.metrics.k8s.io", "pods", "*", m.Pods.Metric.Name
			case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
				d := m.Object.DescribedObject
				r.Verb, r.Group, r.Resource, r.Name, r.Subresource = "get", "custom.metrics.k8s.io", strings.ToLower(d.Kind)+"s", d.Name, m.Object.Metric.Name
			case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
				// GET .../namespaces/NS/METRIC?labelSelector=... is a list.
				r.Verb, r.Group, r.Resource = "list", "external.metrics.k8s.io", strings.ToLower(m.External.Metric.Name)
			default:
				continue
			}
			out = append(out, metricRequest{key: ProbeKey(h.Namespace, "HorizontalPodAutoscaler", h.Name, i), AccessDenial: r})
		}
	}
	return out
}

// controllerAccess asks, by SubjectAccessReview, whether the HPA
// controller's identity may make each custom and external metric request
// the HPAs need (CUS-006). The identity is the ServiceAccount
// kube-system/horizontal-pod-autoscaler when it exists (the controller
// manager then runs with --use-service-account-credentials), else
// system:kube-controller-manager. One review per metrics group at cluster
// scope; per-metric reviews only when that one is denied.
func (col *collector) controllerAccess() []func(context.Context) {
	reqs := metricRequests(col.snap)
	if len(reqs) == 0 || !col.allowed(pSAR) {
		return nil
	}
	return []func(context.Context){func(ctx context.Context) {
		acc := &ControllerAccess{User: kcmUser, Groups: []string{"system:authenticated"}}
		col.call()
		_, err := col.c.Kube.CoreV1().ServiceAccounts(hpaControllerNamespace).Get(ctx, hpaControllerSA, metav1.GetOptions{})
		switch {
		case err == nil:
			acc.ServiceAccount = true
			acc.User = "system:serviceaccount:" + hpaControllerNamespace + ":" + hpaControllerSA
			acc.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + hpaControllerNamespace, "system:authenticated"}
		case apierrors.IsNotFound(err):
		default:
			col.failed(pHPASA, err)
			return
		}
		review := func(ctx context.Context, r AccessDenial) (bool, string, error) {
			col.call()
			res, err := col.c.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: acc.User, Groups: acc.Groups,
					ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: r.Namespace, Verb: r.Verb,
						Group: r.Group, Resource: r.Resource, Subresource: r.Subresource, Name: r.Name}},
			}, metav1.CreateOptions{})
			if err != nil {
				return false, "", err
			}
			reason := res.Status.Reason
			if res.Status.EvaluationError != "" {
				reason = strings.TrimSpace(reason + " " + res.Status.EvaluationError)
			}
			return res.Status.Allowed, reason, nil
		}
		// Group-wide: what the bootstrap role grants (get/list on "*").
		groupOK := map[string]bool{}
		groupWhy := map[string]string{}
		for _, r := range reqs {
			g := r.Group + " " + r.Verb
			if _, done := groupOK[g]; done {
				continue
			}
			ok, why, err := review(ctx, AccessDenial{Verb: r.Verb, Group: r.Group, Resource: "*"})
			if col.failed(pSAR, err) {
				return
			}
			groupOK[g], groupWhy[g] = ok, why
		}
		acc.Denied = map[string]AccessDenial{}
		verdict := map[string]*AccessDenial{} // distinct request -> denial (nil: allowed)
		reviews := 0
		for _, r := range reqs {
			g := r.Group + " " + r.Verb
			if groupOK[g] {
				continue
			}
			id := r.String() + "/" + r.Name
			d, seen := verdict[id]
			if !seen {
				d = &AccessDenial{}
				*d = r.AccessDenial
				d.Reason = groupWhy[g]
				if reviews < maxMetricReviews {
					reviews++
					ok, why, err := review(ctx, r.AccessDenial)
					if col.failed(pSAR, err) {
						return
					}
					if ok {
						d = nil
					} else {
						d.Reason = why
					}
				}
				verdict[id] = d
			}
			if d != nil {
				acc.Denied[r.key] = *d
			}
		}
		col.mu.Lock()
		col.snap.HPAController = acc
		col.mu.Unlock()
	}}
}

// defaultRelistInterval is prometheus-adapter's --metrics-relist-interval
// default.
const defaultRelistInterval = 10 * time.Minute

// adapterProbe reads the custom metrics adapter's Deployment for its
// --metrics-relist-interval (CUS-004), when some HPA uses a Pods or Object
// metric. Without it doctor assumes the default and says so.
func (col *collector) adapterProbe() []func(context.Context) {
	s := col.snap
	need := false
	for _, h := range s.HPAs {
		for _, m := range h.Spec.Metrics {
			if m.Type == autoscalingv2.PodsMetricSourceType || m.Type == autoscalingv2.ObjectMetricSourceType {
				need = true
			}
		}
	}
	a := s.APIServices[CustomMetricsAPI]
	if a == nil {
		a = s.APIServices[CustomMetricsAPIv1]
	}
	if !need || a == nil || a.ServiceNamespace == "" {
		return nil
	}
	return []func(context.Context){func(ctx context.Context) {
		info := &AdapterInfo{RelistInterval: metav1.Duration{Duration: defaultRelistInterval}}
		defer func() {
			col.mu.Lock()
			s.CustomAdapter = info
			col.mu.Unlock()
		}()
		col.call()
		l, err := col.c.Kube.AppsV1().Deployments(a.ServiceNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return // the default stands; CUS-004 says it assumed it
		}
		sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
		best := -1
		for i := range l.Items {
			d := &l.Items[i]
			score := 0
			for _, c := range d.Spec.Template.Spec.Containers {
				if v, ok := relistFlag(c); ok {
					info.Deployment, info.RelistInterval, info.FromFlag = a.ServiceNamespace+"/"+d.Name, metav1.Duration{Duration: v}, true
					return
				}
				if strings.Contains(c.Image, "prometheus-adapter") {
					score = 2
				}
			}
			if d.Name == a.ServiceName && score == 0 {
				score = 1
			}
			if score > 0 && (best < 0 || score > best) {
				best = score
				info.Deployment = a.ServiceNamespace + "/" + d.Name
			}
		}
	}}
}

// relistFlag finds --metrics-relist-interval in a container's command or args.
func relistFlag(c corev1.Container) (time.Duration, bool) {
	argv := append(append([]string(nil), c.Command...), c.Args...)
	for i, a := range argv {
		const flag = "--metrics-relist-interval"
		var v string
		switch {
		case strings.HasPrefix(a, flag+"="):
			v = strings.TrimPrefix(a, flag+"=")
		case a == flag && i+1 < len(argv):
			v = argv[i+1]
		default:
			continue
		}
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d, true
		}
	}
	return 0, false
}

// kedaNamespace is where KEDA runs (its ClusterTriggerAuthentications read
// Secrets there): the namespace of KEDA's metrics APIService, else "keda".
func kedaNamespace(s *Snapshot) string {
	if a := s.APIServices[ExternalMetricsAPI]; a != nil && ownerOf(a) == "keda" && a.ServiceNamespace != "" {
		return a.ServiceNamespace
	}
	return "keda"
}

// secretRefs reads spec.secretTargetRef of a (Cluster)TriggerAuthentication.
func secretRefs(spec any, ns string) []SecretRef {
	m, _ := spec.(map[string]any)
	refs, _ := m["secretTargetRef"].([]any)
	var out []SecretRef
	for _, r := range refs {
		rm, _ := r.(map[string]any)
		p, _ := rm["parameter"].(string)
		n, _ := rm["name"].(string)
		k, _ := rm["key"].(string)
		if n != "" {
			out = append(out, SecretRef{Parameter: p, Name: n, Key: k, Namespace: ns})
		}
	}
	return out
}

var pSecrets = probe{name: "get secrets", checks: []string{"KEDA-006"}}

// secretProbes GETs each Secret a TriggerAuthentication used by a
// ScaledObject references (opt-in), keeping only its key names.
func (col *collector) secretProbes() []func(context.Context) {
	s := col.snap
	if s.TriggerAuthSecrets == nil {
		return nil
	}
	// ClusterTriggerAuthentications read Secrets in KEDA's namespace,
	// known once the APIServices are listed.
	for k, refs := range s.TriggerAuthSecrets {
		if strings.HasPrefix(k, "/") {
			for i := range refs {
				refs[i].Namespace = kedaNamespace(s)
			}
		}
	}
	if !col.sc.CheckSecrets {
		return nil
	}
	want := map[string]bool{}
	for _, so := range s.ScaledObjects {
		for _, t := range so.Spec.Triggers {
			if t.AuthenticationRef == nil {
				continue
			}
			for _, r := range s.TriggerAuthSecrets[authKey(so.Namespace, t.AuthenticationRef)] {
				want[key(r.Namespace, r.Name)] = true
			}
		}
	}
	s.Secrets = map[string]*SecretKeys{}
	var fns []func(context.Context)
	for k := range want {
		ns, name, _ := strings.Cut(k, "/")
		fns = append(fns, func(ctx context.Context) {
			col.call()
			sec, err := col.c.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
			sk := &SecretKeys{}
			switch {
			case err == nil:
				sk.Found = true
				for k := range sec.Data {
					sk.Keys = append(sk.Keys, k)
				}
				for k := range sec.StringData {
					sk.Keys = append(sk.Keys, k)
				}
				sort.Strings(sk.Keys)
			case apierrors.IsNotFound(err):
			default:
				col.failed(probe{name: pSecrets.name + " " + k, checks: pSecrets.checks}, err)
				return
			}
			col.mu.Lock()
			s.Secrets[k] = sk
			col.mu.Unlock()
		})
	}
	return fns
}
