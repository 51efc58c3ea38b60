package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Clients are the interfaces Collect talks through. Tests substitute
// client-go fakes; REST may be nil (the metrics API probes are then skipped).
type Clients struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// REST performs raw GETs on aggregated APIs (metrics.k8s.io,
	// custom.metrics.k8s.io, external.metrics.k8s.io), by the paths the
	// HPA controller uses.
	REST rest.Interface
}

// NewClients builds Clients from a rest.Config (kubeconfig or in-cluster).
func NewClients(cfg *rest.Config) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 200, 400
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Kube: cs, Dynamic: dyn, REST: cs.Discovery().RESTClient()}, nil
}

// Scope says what Collect reads.
type Scope struct {
	// Namespace to diagnose; "" means all namespaces.
	Namespace string
	// Concurrency bounds the worker pool (default 10).
	Concurrency int
	// ProbeTimeout bounds each request (default 10 s).
	ProbeTimeout time.Duration
	// Cluster is copied into the snapshot (context name, server).
	Cluster ClusterInfo
	// Now overrides the collection time (tests).
	Now time.Time
	// CheckSecrets reads the Secrets that TriggerAuthentications reference
	// (key names only) for KEDA-006. Opt-in: it needs get on secrets.
	CheckSecrets bool
}

// UnreachableError is returned by Collect when the API server cannot be
// reached or refuses doctor's credentials (ACC-001; exit code 3).
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "cannot reach the cluster: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// Resources doctor reads.
var (
	gvrAPIService   = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	gvrScaledObject = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}
	gvrTriggerAuth  = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "triggerauthentications"}
	gvrClusterTA    = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "clustertriggerauthentications"}
)

// probe is one access doctor needs, with the checks that depend on it.
type probe struct {
	name      string
	verb      string
	group     string
	resource  string
	clusterNS bool // cluster-scoped (or all namespaces)
	checks    []string
}

var (
	pHPAs     = probe{name: "list horizontalpodautoscalers", verb: "list", group: "autoscaling", resource: "horizontalpodautoscalers", checks: []string{"HPA-001", "HPA-002", "HPA-003", "HPA-004", "HPA-005", "HPA-006", "HPA-007", "HPA-008", "HPA-009"}}
	pPods     = probe{name: "list pods", verb: "list", resource: "pods", checks: []string{"RES-001", "RES-002", "RES-003", "RES-004", "HPA-006"}}
	pEvents   = probe{name: "list events", verb: "list", resource: "events", checks: []string{"HPA-004"}}
	pDeploys  = probe{name: "list deployments", verb: "list", group: "apps", resource: "deployments", checks: []string{"HPA-001", "HPA-002", "HPA-008", "KEDA-005", "KEDA-007"}}
	pAPISvc   = probe{name: "list apiservices", verb: "list", group: "apiregistration.k8s.io", resource: "apiservices", clusterNS: true, checks: []string{"API-001", "API-002", "API-003", "API-005", "API-006", "API-007", "API-008"}}
	pServices = probe{name: "list services", verb: "list", resource: "services", clusterNS: true, checks: []string{"API-007"}}
	pSOs      = probe{name: "list scaledobjects.keda.sh", verb: "list", group: "keda.sh", resource: "scaledobjects", checks: []string{"KEDA-003", "KEDA-004", "KEDA-005", "KEDA-006", "KEDA-007", "KEDA-008", "KEDA-010"}}
	pTAs      = probe{name: "list triggerauthentications.keda.sh", verb: "list", group: "keda.sh", resource: "triggerauthentications", checks: []string{"KEDA-006"}}
	pPodMet   = probe{name: "list pods.metrics.k8s.io", verb: "list", group: "metrics.k8s.io", resource: "pods", checks: []string{"RES-005"}}
	pCustom   = probe{name: "get custom.metrics.k8s.io", verb: "get", group: "custom.metrics.k8s.io", resource: "*", checks: []string{"CUS-001", "CUS-002", "CUS-005"}}
	pExternal = probe{name: "get external.metrics.k8s.io", verb: "get", group: "external.metrics.k8s.io", resource: "*", checks: []string{"KEDA-008", "KEDA-009"}}
)

type collector struct {
	c     *Clients
	sc    Scope
	snap  *Snapshot
	mu    sync.Mutex // guards snap during the parallel phases
	sem   chan struct{}
	calls int64
	deny  map[string]string // probe name -> denial detail

	discMu sync.Mutex
	disc   map[string]discEntry // group version -> discovery document
}

// Calls is the number of API requests the last Collect made, for the
// benchmark (reported per HPA).
type Stats struct {
	Calls int64
}

// Collect reads everything the checks need, listing each kind once per
// scope, in a bounded worker pool with a timeout per request. A probe that
// is forbidden (by SelfSubjectAccessReview or by the API server) or times
// out marks its dependent checks skipped. The only error is an
// *UnreachableError (the cluster cannot be reached at all).
func Collect(ctx context.Context, c *Clients, sc Scope) (*Snapshot, error) {
	s, _, err := CollectStats(ctx, c, sc)
	return s, err
}

// CollectStats is Collect that also reports how many requests it made.
func CollectStats(ctx context.Context, c *Clients, sc Scope) (*Snapshot, Stats, error) {
	if sc.Concurrency <= 0 {
		sc.Concurrency = 10
	}
	if sc.ProbeTimeout <= 0 {
		sc.ProbeTimeout = 10 * time.Second
	}
	now := sc.Now
	if now.IsZero() {
		now = time.Now()
	}
	col := &collector{c: c, sc: sc, sem: make(chan struct{}, sc.Concurrency), deny: map[string]string{},
		snap: &Snapshot{Cluster: sc.Cluster, Now: now}}
	col.snap.Cluster.Namespace = sc.Namespace
	if err := col.run(ctx); err != nil {
		return nil, Stats{Calls: col.calls}, err
	}
	sortSnapshot(col.snap)
	return col.snap, Stats{Calls: col.calls}, nil
}

func (col *collector) call() {
	col.mu.Lock()
	col.calls++
	col.mu.Unlock()
}

// parallel runs fns in the worker pool and waits for them.
func (col *collector) parallel(ctx context.Context, fns ...func(context.Context)) {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		col.sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-col.sem }()
			pctx, cancel := context.WithTimeout(ctx, col.sc.ProbeTimeout)
			defer cancel()
			fn(pctx)
		}()
	}
	wg.Wait()
}

// skip records that p could not run.
func (col *collector) skip(p probe, reason SkipReason, detail string) {
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, id := range p.checks {
		col.snap.Skipped = append(col.snap.Skipped, Skipped{ID: id, Reason: reason, Detail: p.name + ": " + detail})
	}
}

// failed classifies a probe error; it returns true when the probe did not
// yield data (and records the skip).
func (col *collector) failed(p probe, err error) bool {
	if err == nil {
		return false
	}
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		col.skip(p, SkipForbidden, err.Error())
	case errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err):
		col.skip(p, SkipTimeout, err.Error())
	case apierrors.IsNotFound(err):
		col.skip(p, SkipNotInstalled, err.Error())
	default:
		col.skip(p, SkipError, err.Error())
	}
	return true
}

// allowed asks SelfSubjectAccessReview whether doctor may run p; a denial
// is recorded and the probe is not attempted.
func (col *collector) allowed(p probe) bool {
	col.mu.Lock()
	d, denied := col.deny[p.name]
	col.mu.Unlock()
	if denied {
		col.skip(p, SkipForbidden, d)
		return false
	}
	return true
}

func (col *collector) accessReviews(ctx context.Context, probes []probe) {
	fns := make([]func(context.Context), len(probes))
	for i, p := range probes {
		fns[i] = func(ctx context.Context) {
			ns := col.sc.Namespace
			if p.clusterNS {
				ns = ""
			}
			col.call()
			r, err := col.c.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: ns, Verb: p.verb, Group: p.group, Resource: p.resource,
				}},
			}, metav1.CreateOptions{})
			if err != nil || r == nil || r.Status.Allowed {
				return // unknown: try, and let the API server decide
			}
			detail := "SelfSubjectAccessReview: not allowed"
			if r.Status.Denied || r.Status.Reason != "" || r.Status.EvaluationError == "" {
				where := "in namespace " + orDefault(ns, "(all)")
				if p.clusterNS {
					where = "at cluster scope"
				}
				detail = fmt.Sprintf("SelfSubjectAccessReview: %s %s.%s %s is not allowed", p.verb, p.resource, orDefault(p.group, "core"), where)
				if r.Status.Reason != "" {
					detail += " (" + r.Status.Reason + ")"
				}
			}
			col.mu.Lock()
			col.deny[p.name] = detail
			col.mu.Unlock()
		}
	}
	col.parallel(ctx, fns...)
}

func (col *collector) run(ctx context.Context) error {
	kube := col.c.Kube
	col.call()
	v, err := kube.Discovery().ServerVersion()
	if err != nil {
		return &UnreachableError{Err: err}
	}
	col.snap.Cluster.ServerVersion = v.GitVersion

	probes := []probe{pHPAs, pPods, pEvents, pDeploys, pAPISvc, pServices, pSOs, pTAs, pPodMet, pCustom, pExternal, pNodes, pNodeMet, pSAR}
	col.accessReviews(ctx, probes)

	// Discovery: served groups and stale aggregated groups (ACC-003).
	col.discovery()

	ns := col.sc.Namespace
	s := col.snap
	var deployments []appsv1.Deployment
	col.parallel(ctx,
		func(ctx context.Context) {
			if !col.allowed(pHPAs) {
				return
			}
			col.call()
			l, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
			if col.failed(pHPAs, err) {
				return
			}
			col.mu.Lock()
			for i := range l.Items {
				s.HPAs = append(s.HPAs, &l.Items[i])
			}
			col.mu.Unlock()
		},
		func(ctx context.Context) {
			if !col.allowed(pPods) {
				return
			}
			col.call()
			l, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if col.failed(pPods, err) {
				return
			}
			pods := map[string][]*corev1.Pod{}
			for i := range l.Items {
				p := &l.Items[i]
				pods[p.Namespace] = append(pods[p.Namespace], p)
			}
			col.mu.Lock()
			s.Pods = pods
			col.mu.Unlock()
		},
		func(ctx context.Context) {
			if !col.allowed(pEvents) {
				return
			}
			col.call()
			l, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
			if col.failed(pEvents, err) {
				return
			}
			ev := map[string][]*corev1.Event{}
			for i := range l.Items {
				e := &l.Items[i]
				switch e.InvolvedObject.Kind {
				case "HorizontalPodAutoscaler", "ScaledObject":
				default:
					continue
				}
				k := EventKey(e.InvolvedObject.Namespace, e.InvolvedObject.Kind, e.InvolvedObject.Name)
				ev[k] = append(ev[k], e)
			}
			for _, es := range ev {
				sort.SliceStable(es, func(i, j int) bool { return eventTime(es[i]).Before(eventTime(es[j])) })
			}
			col.mu.Lock()
			s.Events = ev
			col.mu.Unlock()
		},
		func(ctx context.Context) {
			if !col.allowed(pDeploys) {
				return
			}
			col.call()
			l, err := kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			if col.failed(pDeploys, err) {
				return
			}
			col.mu.Lock()
			deployments = l.Items
			s.Deployments = map[string]*appsv1.Deployment{}
			for i := range l.Items {
				d := &l.Items[i]
				s.Deployments[key(d.Namespace, d.Name)] = d
			}
			col.mu.Unlock()
		},
		func(ctx context.Context) {
			if !col.allowed(pAPISvc) {
				return
			}
			col.call()
			l, err := col.c.Dynamic.Resource(gvrAPIService).List(ctx, metav1.ListOptions{})
			if col.failed(pAPISvc, err) {
				return
			}
			m := map[string]*APIService{}
			for i := range l.Items {
				a := apiServiceFrom(&l.Items[i])
				if strings.Contains(a.Name, "metrics.k8s.io") {
					m[a.Name] = a
				}
			}
			col.mu.Lock()
			s.APIServices = m
			col.mu.Unlock()
		},
		func(ctx context.Context) {
			if !s.HasKEDA {
				col.skip(pSOs, SkipNotInstalled, "the keda.sh API group is not served")
				return
			}
			if !col.allowed(pSOs) {
				return
			}
			col.call()
			l, err := col.c.Dynamic.Resource(gvrScaledObject).Namespace(ns).List(ctx, metav1.ListOptions{})
			if col.failed(pSOs, err) {
				return
			}
			var sos []*kedav1alpha1.ScaledObject
			for i := range l.Items {
				so := &kedav1alpha1.ScaledObject{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(l.Items[i].Object, so); err != nil {
					col.skip(probe{name: "decode ScaledObject " + l.Items[i].GetName(), checks: []string{"KEDA-003"}}, SkipError, err.Error())
					continue
				}
				sos = append(sos, so)
			}
			col.mu.Lock()
			s.ScaledObjects = sos
			col.mu.Unlock()
		},
		func(ctx context.Context) {
			if !s.HasKEDA || !col.allowed(pTAs) {
				return
			}
			col.call()
			l, err := col.c.Dynamic.Resource(gvrTriggerAuth).Namespace(ns).List(ctx, metav1.ListOptions{})
			if col.failed(pTAs, err) {
				return
			}
			m := map[string]bool{}
			params := map[string][]string{}
			secrets := map[string][]SecretRef{}
			for _, it := range l.Items {
				k := key(it.GetNamespace(), it.GetName())
				m[k] = true
				params[k] = authParameterNames(it.Object["spec"])
				secrets[k] = secretRefs(it.Object["spec"], it.GetNamespace())
			}
			col.call()
			if cl, err := col.c.Dynamic.Resource(gvrClusterTA).List(ctx, metav1.ListOptions{}); err == nil {
				for _, it := range cl.Items {
					k := key("", it.GetName())
					m[k] = true
					params[k] = authParameterNames(it.Object["spec"])
					secrets[k] = secretRefs(it.Object["spec"], "") // KEDA's namespace, known in phase 2
				}
			}
			col.mu.Lock()
			s.TriggerAuthParams = params
			s.TriggerAuthSecrets = secrets
			s.TriggerAuths = m
			col.mu.Unlock()
		},
	)
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// Phase 2: what depends on the lists.
	col.targets(ctx, deployments)
	var phase2 []func(context.Context)
	phase2 = append(phase2, col.serviceProbes()...)
	phase2 = append(phase2, col.kedaInstall()...)
	phase2 = append(phase2, col.kedaWebhook()...)
	phase2 = append(phase2, col.metricProbes()...)
	phase2 = append(phase2, col.nodeProbes()...)
	phase2 = append(phase2, col.controllerAccess()...)
	phase2 = append(phase2, col.adapterProbe()...)
	phase2 = append(phase2, col.secretProbes()...)
	col.parallel(ctx, phase2...)
	return ctx.Err()
}

func eventTime(e *corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func (col *collector) discovery() {
	s := col.snap
	s.Groups = map[string]bool{}
	col.call()
	groups, _, err := discovery.ServerGroupsAndResources(col.c.Kube.Discovery())
	var gdf *discovery.ErrGroupDiscoveryFailed
	if err != nil && errors.As(err, &gdf) {
		s.StaleDiscovery = map[string]string{}
		for gv, e := range gdf.Groups {
			s.StaleDiscovery[gv.String()] = e.Error()
		}
	} else if err != nil && groups == nil {
		col.skip(probe{name: "discovery", checks: []string{"ACC-003"}}, SkipError, err.Error())
	}
	for _, g := range groups {
		s.Groups[g.Name] = true
	}
	s.HasKEDA = s.Groups["keda.sh"]
	s.HasOldKEDAGroup = s.Groups["keda.k8s.io"]
}

func apiServiceFrom(u *unstructured.Unstructured) *APIService {
	a := &APIService{Name: u.GetName(), Labels: u.GetLabels()}
	a.ServiceNamespace, _, _ = unstructured.NestedString(u.Object, "spec", "service", "namespace")
	a.ServiceName, _, _ = unstructured.NestedString(u.Object, "spec", "service", "name")
	if p, ok, _ := unstructured.NestedInt64(u.Object, "spec", "service", "port"); ok {
		a.ServicePort = int32(p)
	}
	a.InsecureSkipTLSVerify, _, _ = unstructured.NestedBool(u.Object, "spec", "insecureSkipTLSVerify")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		str := func(k string) string { v, _ := m[k].(string); return v }
		a.Conditions = append(a.Conditions, ConditionEvidence{Type: str("type"), Status: str("status"), Reason: str("reason"), Message: str("message")})
	}
	return a
}

// targets resolves every scale target: Deployments from the one list,
// other kinds through their /scale subresource.
func (col *collector) targets(ctx context.Context, deployments []appsv1.Deployment) {
	s := col.snap
	s.Targets = map[string]*Target{}
	type ref struct{ ns, apiVersion, kind, name string }
	var refs []ref
	for _, h := range s.HPAs {
		r := h.Spec.ScaleTargetRef
		refs = append(refs, ref{h.Namespace, r.APIVersion, r.Kind, r.Name})
	}
	for _, so := range s.ScaledObjects {
		if r := so.Spec.ScaleTargetRef; r != nil {
			refs = append(refs, ref{so.Namespace, orDefault(r.APIVersion, "apps/v1"), orDefault(r.Kind, "Deployment"), r.Name})
		}
	}
	var others []func(context.Context)
	for _, r := range refs {
		k := TargetKey(r.ns, r.kind, r.name)
		if _, done := s.Targets[k]; done {
			continue
		}
		gv, _ := schema.ParseGroupVersion(r.apiVersion)
		if r.kind == "Deployment" && (gv.Group == "apps") {
			if s.Deployments == nil {
				continue // not listed (skipped)
			}
			t := &Target{Kind: r.kind, Name: r.name}
			if d := s.Deployments[key(r.ns, r.name)]; d != nil {
				t.Found = true
				t.SpecReplicas = 1
				if d.Spec.Replicas != nil {
					t.SpecReplicas = *d.Spec.Replicas
				}
				if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
					t.Selector = sel.String()
				}
				t.Template = &d.Spec.Template
			}
			s.Targets[k] = t
			continue
		}
		if r.kind == "Deployment" && gv.Group != "apps" {
			s.Targets[k] = &Target{Kind: r.kind, Name: r.name, Err: fmt.Sprintf("no matches for kind %q in group %q", r.kind, gv.Group)}
			continue
		}
		t := &Target{Kind: r.kind, Name: r.name}
		s.Targets[k] = t
		others = append(others, func(ctx context.Context) { col.scaleOf(ctx, r.ns, gv, r.kind, r.name, t) })
	}
	col.parallel(ctx, others...)
}

// scaleOf reads a target's /scale through discovery's resource name for kind.
func (col *collector) scaleOf(ctx context.Context, ns string, gv schema.GroupVersion, kind, name string, t *Target) {
	rl, err := col.resourcesFor(gv.String())
	if err != nil {
		t.Err = err.Error()
		return
	}
	var res string
	hasScale := false
	for _, r := range rl.APIResources {
		if r.Kind == kind && !strings.Contains(r.Name, "/") {
			res = r.Name
		}
	}
	for _, r := range rl.APIResources {
		if r.Name == res+"/scale" {
			hasScale = true
		}
	}
	if res == "" {
		t.Err = fmt.Sprintf("no matches for kind %q in version %q", kind, gv.String())
		return
	}
	if !hasScale {
		t.Err = fmt.Sprintf("%s has no /scale subresource", res)
		t.Found = false
		return
	}
	col.call()
	u, err := col.c.Dynamic.Resource(gv.WithResource(res)).Namespace(ns).Get(ctx, name, metav1.GetOptions{}, "scale")
	if err != nil {
		if !apierrors.IsNotFound(err) {
			t.Err = err.Error()
		}
		return
	}
	t.Found = true
	if r, ok, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); ok {
		t.SpecReplicas = int32(r)
	}
	t.Selector, _, _ = unstructured.NestedString(u.Object, "status", "selector")
}

// resourcesFor returns a group version's discovery document, fetched once
// per Collect however many targets share it.
func (col *collector) resourcesFor(gv string) (*metav1.APIResourceList, error) {
	col.discMu.Lock()
	defer col.discMu.Unlock()
	if e, ok := col.disc[gv]; ok {
		return e.rl, e.err
	}
	col.call()
	rl, err := col.c.Kube.Discovery().ServerResourcesForGroupVersion(gv)
	if col.disc == nil {
		col.disc = map[string]discEntry{}
	}
	col.disc[gv] = discEntry{rl, err}
	return rl, err
}

type discEntry struct {
	rl  *metav1.APIResourceList
	err error
}

// kedaInstall lists the Deployments of KEDA's namespace (KEDA-001), found
// from the external metrics APIService, when ScaledObjects exist.
func (col *collector) kedaInstall() []func(context.Context) {
	s := col.snap
	a := s.APIServices[ExternalMetricsAPI]
	if len(s.ScaledObjects) == 0 || a == nil || ownerOf(a) != "keda" || a.ServiceNamespace == "" {
		return nil
	}
	return []func(context.Context){func(ctx context.Context) {
		col.call()
		l, err := col.c.Kube.AppsV1().Deployments(a.ServiceNamespace).List(ctx, metav1.ListOptions{})
		if col.failed(probe{name: "list deployments in " + a.ServiceNamespace, checks: []string{"KEDA-001"}}, err) {
			return
		}
		m := map[string]*appsv1.Deployment{}
		for i := range l.Items {
			d := &l.Items[i]
			if strings.Contains(d.Name, "keda") {
				m[d.Name] = d
			}
		}
		col.mu.Lock()
		s.KEDADeployments = m
		col.mu.Unlock()
	}}
}

// kedaWebhook reads KEDA's ValidatingWebhookConfiguration and the ready
// endpoints of its Service (KEDA-011), when ScaledObjects exist.
func (col *collector) kedaWebhook() []func(context.Context) {
	if len(col.snap.ScaledObjects) == 0 {
		return nil
	}
	p := probe{name: "get validatingwebhookconfiguration keda-admission", checks: []string{"KEDA-011"}}
	return []func(context.Context){func(ctx context.Context) {
		col.call()
		vwc, err := col.c.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "keda-admission", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return // KEDA installed without its webhooks: nothing to reach
		}
		if col.failed(p, err) {
			return
		}
		for _, w := range vwc.Webhooks {
			svc := w.ClientConfig.Service
			if svc == nil {
				continue
			}
			wh := &Webhook{Configuration: vwc.Name, Webhook: w.Name, ServiceNamespace: svc.Namespace, ServiceName: svc.Name}
			if w.FailurePolicy != nil {
				wh.FailurePolicy = string(*w.FailurePolicy)
			}
			col.call()
			l, err := col.c.Kube.DiscoveryV1().EndpointSlices(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc.Name})
			if col.failed(probe{name: "list endpointslices in " + svc.Namespace, checks: []string{"KEDA-011"}}, err) {
				return
			}
			for _, es := range l.Items {
				for _, ep := range es.Endpoints {
					if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
						wh.ReadyEndpoints++
					}
				}
			}
			col.mu.Lock()
			col.snap.KEDAWebhook = wh
			col.mu.Unlock()
			return
		}
	}}
}

// serviceProbes lists the Services of the metrics APIServices' namespaces
// (API-007 compares names).
func (col *collector) serviceProbes() []func(context.Context) {
	s := col.snap
	nss := map[string]bool{}
	for _, a := range s.APIServices {
		if av, ok := a.Available(); ok && av.Status != "True" && a.ServiceNamespace != "" {
			nss[a.ServiceNamespace] = true
		}
	}
	if len(nss) == 0 {
		return nil
	}
	s.Services = map[string]*corev1.Service{}
	var fns []func(context.Context)
	for ns := range nss {
		fns = append(fns, func(ctx context.Context) {
			col.call()
			l, err := col.c.Kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			if col.failed(pServices, err) {
				return
			}
			col.mu.Lock()
			for i := range l.Items {
				svc := &l.Items[i]
				s.Services[key(svc.Namespace, svc.Name)] = svc
			}
			col.mu.Unlock()
			// The adapter's pods, for API-003's evidence.
			col.call()
			pl, err := col.c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if col.failed(probe{name: "list pods in " + ns, checks: []string{"API-003"}}, err) {
				return
			}
			pods := make([]*corev1.Pod, len(pl.Items))
			for i := range pl.Items {
				pods[i] = &pl.Items[i]
			}
			col.mu.Lock()
			if s.AdapterPods == nil {
				s.AdapterPods = map[string][]*corev1.Pod{}
			}
			s.AdapterPods[ns] = pods
			col.mu.Unlock()
		})
	}
	return fns
}

func apiAvailable(s *Snapshot, names ...string) bool {
	for _, n := range names {
		if a := s.APIServices[n]; a != nil {
			if av, ok := a.Available(); ok && av.Status == "True" {
				return true
			}
		}
	}
	return false
}

// metricProbes queries the metrics APIs the way the HPA controller does.
func (col *collector) metricProbes() []func(context.Context) {
	s := col.snap
	if col.c.REST == nil {
		for _, p := range []probe{pPodMet, pCustom, pExternal} {
			col.skip(p, SkipError, "no REST client for raw metrics API requests")
		}
		return nil
	}
	var fns []func(context.Context)
	resNS := map[string]bool{}
	needCustom := false
	for _, h := range s.HPAs {
		for i, m := range h.Spec.Metrics {
			switch m.Type {
			case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
				resNS[h.Namespace] = true
			case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType:
				needCustom = true
				if apiAvailable(s, CustomMetricsAPI, CustomMetricsAPIv1) && col.allowed(pCustom) {
					fns = append(fns, col.customValueProbe(h, i, m))
				}
			case autoscalingv2.ExternalMetricSourceType:
				if m.External != nil && !isKEDAHPA(h) && apiAvailable(s, ExternalMetricsAPI) && col.allowed(pExternal) {
					path := "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + h.Namespace + "/" + strings.ToLower(m.External.Metric.Name)
					if m.External.Metric.Selector != nil {
						if sel, err := metav1.LabelSelectorAsSelector(m.External.Metric.Selector); err == nil && !sel.Empty() {
							path += "?labelSelector=" + url.QueryEscape(sel.String())
						}
					}
					fns = append(fns, col.valueProbe(ProbeKey(h.Namespace, "HorizontalPodAutoscaler", h.Name, i), path, &Object{APIVersion: hpaAPIVersion, Kind: "HorizontalPodAutoscaler", Namespace: h.Namespace, Name: h.Name}, "CUS-002"))
				}
			}
		}
	}
	if len(resNS) > 0 && apiAvailable(s, ResourceMetricsAPI) && col.allowed(pPodMet) {
		s.PodMetrics = map[string]map[string]*PodUsage{}
		for ns := range resNS {
			fns = append(fns, func(ctx context.Context) {
				path := "/apis/metrics.k8s.io/v1beta1/namespaces/" + ns + "/pods"
				var list metricsv1beta1.PodMetricsList
				if _, err := col.get(ctx, path, &list); err != nil {
					col.failed(pPodMet, err)
					col.mu.Lock()
					delete(s.PodMetrics, ns)
					col.mu.Unlock()
					return
				}
				names := map[string]*PodUsage{}
				for _, it := range list.Items {
					u := &PodUsage{Timestamp: it.Timestamp, Window: it.Window, Containers: map[string]corev1.ResourceList{}}
					for _, c := range it.Containers {
						u.Containers[c.Name] = c.Usage
					}
					names[it.Name] = u
				}
				col.mu.Lock()
				s.PodMetrics[ns] = names
				col.mu.Unlock()
			})
		}
	}
	if needCustom && apiAvailable(s, CustomMetricsAPI, CustomMetricsAPIv1) && col.allowed(pCustom) {
		fns = append(fns, func(ctx context.Context) {
			var rl metav1.APIResourceList
			_, err := col.get(ctx, "/apis/custom.metrics.k8s.io/v1beta2", &rl)
			if err != nil {
				_, err = col.get(ctx, "/apis/custom.metrics.k8s.io/v1beta1", &rl)
			}
			if col.failed(pCustom, err) {
				return
			}
			m := map[string]bool{}
			for _, r := range rl.APIResources {
				m[r.Name] = true
			}
			col.mu.Lock()
			s.CustomMetrics = m
			col.mu.Unlock()
		})
	}
	for _, so := range s.ScaledObjects {
		if !apiAvailable(s, ExternalMetricsAPI) || !col.allowed(pExternal) {
			break
		}
		for i, name := range so.Status.ExternalMetricNames {
			sel := url.QueryEscape("scaledobject.keda.sh/name=" + so.Name)
			path := "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + so.Namespace + "/" + name + "?labelSelector=" + sel
			fns = append(fns, col.valueProbe(ProbeKey(so.Namespace, "ScaledObject", so.Name, i), path, &Object{APIVersion: scaledObjectAPIGroup, Kind: "ScaledObject", Namespace: so.Namespace, Name: so.Name}, "KEDA-008", "KEDA-009"))
		}
	}
	return fns
}

func (col *collector) customValueProbe(h *autoscalingv2.HorizontalPodAutoscaler, i int, m autoscalingv2.MetricSpec) func(context.Context) {
	s := col.snap
	return func(ctx context.Context) {
		var path string
		var msel *metav1.LabelSelector
		switch {
		case m.Pods != nil:
			t := s.Targets[TargetKey(h.Namespace, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)]
			if t == nil || t.Selector == "" {
				return
			}
			path = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + h.Namespace + "/pods/%2A/" + m.Pods.Metric.Name + "?labelSelector=" + url.QueryEscape(t.Selector)
			msel = m.Pods.Metric.Selector
		case m.Object != nil:
			d := m.Object.DescribedObject
			path = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + h.Namespace + "/" + strings.ToLower(d.Kind) + "s/" + d.Name + "/" + m.Object.Metric.Name
			msel = m.Object.Metric.Selector
		default:
			return
		}
		if msel != nil {
			if sel, err := metav1.LabelSelectorAsSelector(msel); err == nil && !sel.Empty() {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				path += sep + "metricLabelSelector=" + url.QueryEscape(sel.String())
			}
		}
		col.valueProbe(ProbeKey(h.Namespace, "HorizontalPodAutoscaler", h.Name, i), path, &Object{APIVersion: hpaAPIVersion, Kind: "HorizontalPodAutoscaler", Namespace: h.Namespace, Name: h.Name}, "CUS-002", "CUS-005")(ctx)
	}
}

// nanSentinel is what prometheus-adapter used to serve for NaN
// (prometheus-adapter#280).
const nanSentinel = "-9223372036854775808m"

// valueProbe GETs a MetricValueList / ExternalMetricValueList.
// A probe that times out is recorded as skipped (timeout) for checks, not
// as a failed query.
func (col *collector) valueProbe(k, path string, obj *Object, checks ...string) func(context.Context) {
	return func(ctx context.Context) {
		var list struct {
			Kind  string             `json:"kind"`
			Value *resource.Quantity `json:"value"` // single MetricValue (Object metrics on v1beta1)
			Items []struct {
				DescribedObject struct {
					Name string `json:"name"`
				} `json:"describedObject"`
				Value json.RawMessage `json:"value"`
			} `json:"items"`
		}
		p := &MetricProbe{Path: path}
		code, err := col.get(ctx, path, &list)
		p.HTTPStatus = code
		if err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err)) {
			col.mu.Lock()
			for _, id := range checks {
				col.snap.Skipped = append(col.snap.Skipped, Skipped{ID: id, Reason: SkipTimeout, Detail: "GET " + path + ": " + err.Error(), Object: obj})
			}
			col.mu.Unlock()
			return
		}
		if err != nil {
			p.Err = err.Error()
		}
		p.Items = len(list.Items)
		for _, it := range list.Items {
			var sv string
			if json.Unmarshal(it.Value, &sv) != nil {
				p.NaN = true
				continue
			}
			q, err := resource.ParseQuantity(sv)
			if err != nil || strings.Contains(strings.ToLower(sv), "nan") || sv == nanSentinel || q.MilliValue() == math.MinInt64 {
				p.NaN = true
				continue
			}
			p.Values = append(p.Values, q)
			if n := it.DescribedObject.Name; n != "" {
				if p.PerObject == nil {
					p.PerObject = map[string]resource.Quantity{}
				}
				p.PerObject[n] = q
			}
		}
		col.mu.Lock()
		if col.snap.Probes == nil {
			col.snap.Probes = map[string]*MetricProbe{}
		}
		col.snap.Probes[k] = p
		col.mu.Unlock()
	}
}

// get performs a raw GET and decodes the JSON body into out. The error of
// a failed request is the API server's (or the adapter's) Status message.
func (col *collector) get(ctx context.Context, path string, out any) (int, error) {
	col.call()
	p, q, _ := strings.Cut(path, "?")
	req := col.c.REST.Get().AbsPath(p)
	if vals, err := url.ParseQuery(q); err == nil {
		for k, vs := range vals {
			for _, v := range vs {
				req = req.Param(k, v)
			}
		}
	}
	var code int
	res := req.Do(ctx).StatusCode(&code)
	raw, err := res.Raw()
	if err != nil {
		// Raw gives the generic error of the status code ("an error on
		// the server (\"unknown\")" for a 500); Error decodes the Status
		// the adapter sent, which is what the HPA controller quotes.
		if serr := res.Error(); serr != nil {
			err = serr
		}
		return code, err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return code, fmt.Errorf("decoding %s: %w", p, err)
	}
	return code, nil
}

// sortSnapshot orders the lists so that Check's output is deterministic.
func sortSnapshot(s *Snapshot) {
	sort.Slice(s.HPAs, func(i, j int) bool {
		return key(s.HPAs[i].Namespace, s.HPAs[i].Name) < key(s.HPAs[j].Namespace, s.HPAs[j].Name)
	})
	sort.Slice(s.ScaledObjects, func(i, j int) bool {
		return key(s.ScaledObjects[i].Namespace, s.ScaledObjects[i].Name) < key(s.ScaledObjects[j].Namespace, s.ScaledObjects[j].Name)
	})
	sort.SliceStable(s.Skipped, func(i, j int) bool { return s.Skipped[i].ID < s.Skipped[j].ID })
}
