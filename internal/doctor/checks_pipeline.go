package doctor

import (
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// nodeMetrics reports Ready nodes metrics-server serves no NodeMetrics
// for (API-004): it cannot scrape their kubelets, so the pods on them get
// no PodMetrics and the HPAs over those pods show <unknown>.
func (c *checker) nodeMetrics() {
	s := c.s
	if s.Nodes == nil || s.NodeMetrics == nil {
		return
	}
	missing := c.unscrapedNodes()
	if len(missing) == 0 {
		return
	}
	ready := 0
	for _, r := range s.Nodes {
		if r {
			ready++
		}
	}
	name := ResourceMetricsAPI
	owner := "metrics-server"
	if a := s.APIServices[ResourceMetricsAPI]; a != nil {
		name = a.Name
		if o := ownerOf(a); o != "a local (built-in) API" {
			owner = o
		}
	}
	obj := Object{APIVersion: "apiregistration.k8s.io/v1", Kind: "APIService", Name: name}
	f := newFinding("API-004", Error, obj, fmt.Sprintf("%s serves no NodeMetrics for %d of %d Ready node(s) (%s): it cannot scrape their kubelets, so pods there get no PodMetrics",
		owner, len(missing), ready, strings.Join(firstN(missing, 5), ", ")))
	// Tie it to the HPAs whose pods run there, quoting the first one's
	// controller message.
	for _, h := range s.HPAs {
		on := c.podsOnUnscrapedNodes(c.sel[key(h.Namespace, h.Name)])
		if len(on) == 0 {
			continue
		}
		f.Evidence.Facts = append(f.Evidence.Facts, fmt.Sprintf("%s: %d selected pod(s) on those nodes: %s", hpaObject(h), len(on), strings.Join(firstN(on, 3), ", ")))
		if fail, ok := failing(h); ok && f.Message == "" && strings.Contains(fail.Message, "metrics") {
			f.Message = fail.Message
		}
	}
	f.Evidence.Facts = append(f.Evidence.Facts,
		"the cause is in metrics-server's log: `x509: cannot validate certificate for <IP> because it doesn't contain any IP SANs`, `certificate signed by unknown authority` or `dial tcp <IP>:10250: i/o timeout`")
	c.add(f)
}

// unscrapedNodes are the Ready nodes without NodeMetrics, sorted.
func (c *checker) unscrapedNodes() []string {
	var out []string
	for n, ready := range c.s.Nodes {
		if ready && !c.s.NodeMetrics[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// podsOnUnscrapedNodes names the pods (as "pod on node") that run on a
// Ready node without NodeMetrics.
func (c *checker) podsOnUnscrapedNodes(pods []*corev1.Pod) []string {
	if c.s.Nodes == nil || c.s.NodeMetrics == nil {
		return nil
	}
	var out []string
	for _, p := range pods {
		n := p.Spec.NodeName
		if n != "" && c.s.Nodes[n] && !c.s.NodeMetrics[n] {
			out = append(out, p.Name+" on "+n)
		}
	}
	return out
}

// controllerDenied is CUS-006 for spec.metrics[i]: the HPA controller's
// own identity may not read the metric, so the API answers it 403 whatever
// the adapter serves.
func (c *checker) controllerDenied(h *autoscalingv2.HorizontalPodAutoscaler, i int, fail autoscalingv2.HorizontalPodAutoscalerCondition, isFailing bool) (Finding, bool) {
	acc := c.s.HPAController
	if acc == nil {
		return Finding{}, false
	}
	d, ok := acc.Denied[ProbeKey(h.Namespace, "HorizontalPodAutoscaler", h.Name, i)]
	if !ok {
		return Finding{}, false
	}
	f := newFinding("CUS-006", Error, hpaObject(h), fmt.Sprintf("the HPA controller (User %q) may not %s: RBAC forbids its metric request, so spec.metrics[%d] stays <unknown>", acc.User, d, i))
	f.Message = quote(fail, isFailing, "forbidden")
	how := "kube-controller-manager runs without --use-service-account-credentials (no ServiceAccount kube-system/horizontal-pod-autoscaler), so the controller acts as system:kube-controller-manager"
	if acc.ServiceAccount {
		how = "kube-controller-manager runs with --use-service-account-credentials: the controller acts as the ServiceAccount kube-system/horizontal-pod-autoscaler, bound by ClusterRoleBinding system:controller:horizontal-pod-autoscaler"
	}
	f.Evidence.Facts = append(f.Evidence.Facts, how)
	if d.Reason != "" {
		f.Evidence.Facts = append(f.Evidence.Facts, "authorizer: "+d.Reason)
	}
	res := d.Resource
	if d.Subresource != "" {
		res += "/" + d.Subresource
	}
	f.Evidence.Facts = append(f.Evidence.Facts, fmt.Sprintf("check: kubectl auth can-i %s %s.%s -n %s --as=%s", d.Verb, res, d.Group, d.Namespace, acc.User))
	return f, true
}

// relistLag is CUS-004: the metric is not listed yet, but the pods that
// would export it started less than one relist interval ago, so the
// adapter may simply not have relisted since (prometheus-adapter lists
// series every --metrics-relist-interval). An info next to CUS-001: the
// HPA fails now either way.
func (c *checker) relistLag(h *autoscalingv2.HorizontalPodAutoscaler, metric string, pods []*corev1.Pod) (Finding, bool) {
	if c.s.Now.IsZero() || len(pods) == 0 {
		return Finding{}, false
	}
	var oldest time.Time
	for _, p := range pods {
		t := p.CreationTimestamp.Time
		if p.Status.StartTime != nil && !p.Status.StartTime.IsZero() {
			t = p.Status.StartTime.Time
		}
		if t.IsZero() {
			continue
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return Finding{}, false
	}
	relist, from := defaultRelistInterval, "prometheus-adapter's default --metrics-relist-interval"
	if a := c.s.CustomAdapter; a != nil && a.FromFlag {
		relist, from = a.RelistInterval.Duration, "--metrics-relist-interval of "+a.Deployment
	}
	age := c.s.Now.Sub(oldest)
	if age >= relist {
		return Finding{}, false
	}
	by := oldest.Add(relist).UTC().Format(time.RFC3339)
	f := newFinding("CUS-004", Info, hpaObject(h), fmt.Sprintf("the oldest selected pod started %s ago, less than the adapter's relist interval (%s): if %q is already in Prometheus, the adapter lists it by %s; recheck then",
		age.Truncate(time.Second), relist, metric, by))
	f.Evidence.Facts = []string{"relist interval: " + relist.String() + " (" + from + ")"}
	return f, true
}

// secretRefs is the opt-in half of KEDA-006: each secretTargetRef of the
// trigger's TriggerAuthentication names a Secret and a key that exist.
// KEDA resolves a missing one to an empty parameter, and the scaler then
// fails to build or to authenticate.
func (c *checker) secretRefs(so *kedav1alpha1.ScaledObject, i int, typ, kind, ta string, refs []SecretRef) {
	if c.s.Secrets == nil {
		return
	}
	obj := soObject(so)
	for _, r := range refs {
		sk := c.s.Secrets[key(r.Namespace, r.Name)]
		switch {
		case sk == nil:
			// not read (forbidden or failed: reported as skipped)
		case !sk.Found:
			f := newFinding("KEDA-006", Error, obj, fmt.Sprintf("spec.triggers[%d] (%s): %s %q takes parameter %q from Secret %s/%s, which does not exist: KEDA passes an empty %s to the scaler",
				i, typ, kind, ta, r.Parameter, r.Namespace, r.Name, r.Parameter))
			f.Evidence.Events = lastN(c.warningEvents(so.Namespace, "ScaledObject", so.Name), 3)
			c.add(f)
		case !slices.Contains(sk.Keys, r.Key):
			has := "no keys"
			if len(sk.Keys) > 0 {
				has = "keys " + strings.Join(firstN(sk.Keys, 10), ", ")
			}
			f := newFinding("KEDA-006", Error, obj, fmt.Sprintf("spec.triggers[%d] (%s): %s %q takes parameter %q from key %q of Secret %s/%s, which has %s: KEDA passes an empty %s to the scaler",
				i, typ, kind, ta, r.Parameter, r.Key, r.Namespace, r.Name, has, r.Parameter))
			f.Evidence.Events = lastN(c.warningEvents(so.Namespace, "ScaledObject", so.Name), 3)
			c.add(f)
		}
	}
}

// The Kubernetes releases whose HPA controller mlscale models (internal/hpa)
// and whose messages doctor quotes and matches.
const (
	oldestModelledMinor = 33
	newestModelledMinor = 37
)

// clientGoMinor is the minor version of the client-go doctor is built
// with (v0.37.x talks to Kubernetes 1.37, supported at ±1 minor).
var clientGoMinor = func() int {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/client-go" {
				if m, ok := minorNumber(d.Version); ok {
					return m
				}
			}
		}
	}
	return newestModelledMinor
}()

// minorNumber reads the minor version of "v1.37.2", "v1.30.4-gke.100" or
// client-go's "v0.37.2" (minorOf gives "1.37").
func minorNumber(v string) (int, bool) {
	_, m, ok := strings.Cut(minorOf(v), ".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(m)
	return n, err == nil
}

// versionSkew is the warning half of ACC-001: a kube-apiserver outside the
// releases mlscale models, or more than one minor version from its
// client-go.
func (c *checker) versionSkew() {
	v := c.s.Cluster.ServerVersion
	m, ok := minorNumber(v)
	if !ok || !strings.HasPrefix(strings.TrimPrefix(v, "v"), "1.") {
		return
	}
	lo, hi := min(oldestModelledMinor, clientGoMinor-1), max(newestModelledMinor, clientGoMinor+1)
	if m >= lo && m <= hi {
		return
	}
	name := c.s.Cluster.Context
	if name == "" {
		name = orDefault(c.s.Cluster.Server, "cluster")
	}
	f := newFinding("ACC-001", Warning, Object{Kind: "Cluster", Name: name},
		fmt.Sprintf("kube-apiserver %s is outside the releases mlscale supports (1.%d to 1.%d: the HPA controller it models, and its client-go v0.%d ±1): the controller's messages and fields may differ from what doctor matches",
			v, lo, hi, clientGoMinor))
	f.Remediation = "Read the findings with care, or use an mlscale release built for this Kubernetes version."
	c.add(f)
}

// adapterPodFacts follows an APIService's Service to the pods its selector
// matches and says, per pod, why it is not an endpoint (API-003).
func (c *checker) adapterPodFacts(a *APIService) []string {
	svc := c.s.Services[key(a.ServiceNamespace, a.ServiceName)]
	pods, read := c.s.AdapterPods[a.ServiceNamespace]
	if svc == nil || !read {
		return nil
	}
	if len(svc.Spec.Selector) == 0 {
		return []string{fmt.Sprintf("Service %s/%s has no selector: its endpoints are managed by hand (or by the adapter's chart) and none is ready", svc.Namespace, svc.Name)}
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var facts []string
	matched := 0
	for _, p := range pods {
		if !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		matched++
		if matched > 5 {
			continue
		}
		facts = append(facts, "Pod "+p.Name+": "+podHealth(p))
	}
	if matched > 5 {
		facts = append(facts, fmt.Sprintf("and %d more pods", matched-5))
	}
	if matched == 0 {
		facts = append(facts, fmt.Sprintf("no pod in %s matches the Service's selector %s: the adapter is not running (scaled to 0, failed to schedule) or its labels differ", svc.Namespace, sel))
	}
	return facts
}

// podHealth is kubectl's view of a pod in one phrase: phase, ready
// containers, the first waiting or terminated reason, restarts.
func podHealth(p *corev1.Pod) string {
	ready, total := 0, len(p.Spec.Containers)
	var restarts int32
	why := ""
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
		restarts += cs.RestartCount
		if why != "" {
			continue
		}
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			why = cs.State.Waiting.Reason
			if m := cs.State.Waiting.Message; m != "" {
				why += " (" + m + ")"
			}
		case cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.Reason != "":
			why = "last terminated: " + cs.LastTerminationState.Terminated.Reason
		}
	}
	s := fmt.Sprintf("%s, %d/%d ready", orDefault(string(p.Status.Phase), "Pending"), ready, total)
	if p.DeletionTimestamp != nil {
		s += ", terminating"
	}
	if why != "" {
		s += ", " + why
	}
	if restarts > 0 {
		s += fmt.Sprintf(", %d restarts", restarts)
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Message != "" {
			s += ", unschedulable: " + cond.Message
		}
	}
	return s
}

// scalerFailedEvents is KEDA-004 from KEDA's events, for what status
// cannot show: KEDA writes status.health only when a fallback is set, and
// every reconcile sets Ready=True until the next failing poll sets it back
// to False, so a ScaledObject whose scaler fails can read Ready=True. A
// KEDAScalerFailed Warning within the last two polling intervals (at
// least two minutes) means the scaler is failing now.
func (c *checker) scalerFailedEvents(so *kedav1alpha1.ScaledObject, obj Object) {
	for _, f := range c.out {
		if f.Object == obj && (f.ID == "KEDA-004" || (f.ID == "KEDA-003" && f.Severity == Error)) {
			return // already reported from status
		}
	}
	if c.s.Now.IsZero() {
		return
	}
	poll := 30 * time.Second
	if so.Spec.PollingInterval != nil {
		poll = time.Duration(*so.Spec.PollingInterval) * time.Second
	}
	recent := max(2*poll, 2*time.Minute)
	last := c.latestWarning(so.Namespace, "ScaledObject", so.Name, "KEDAScalerFailed")
	if last == nil || c.s.Now.Sub(eventTime(last)) > recent {
		return
	}
	ago := c.s.Now.Sub(eventTime(last)).Truncate(time.Second)
	f := newFinding("KEDA-004", Error, obj, fmt.Sprintf("KEDA's scaler failed at its latest poll (%s ago; Warning KEDAScalerFailed, %d time(s)): KEDA cannot read the trigger, whatever Ready says", ago, max(last.Count, 1)))
	f.Message = last.Message
	f.Evidence.Events = []EventEvidence{{Type: last.Type, Reason: last.Reason, Message: last.Message, Count: last.Count}}
	c.add(f)
}

// staleGeneration is the other half of HPA-007: the HPA's spec changed
// (metadata.generation) more than a minute ago and the controller, which
// writes status.observedGeneration at every sync (15 s by default), has
// not caught up. The spec's last write is the newest managedFields entry
// that is not for the status subresource.
func (c *checker) staleGeneration(h *autoscalingv2.HorizontalPodAutoscaler) (Finding, bool) {
	og := h.Status.ObservedGeneration
	if og == nil || *og >= h.Generation || c.s.Now.IsZero() {
		return Finding{}, false
	}
	var changed time.Time
	for _, mf := range h.ManagedFields {
		if mf.Subresource == "" && mf.Time != nil && mf.Time.After(changed) {
			changed = mf.Time.Time
		}
	}
	if changed.IsZero() {
		changed = h.CreationTimestamp.Time
	}
	if changed.IsZero() || c.s.Now.Sub(changed) <= time.Minute {
		return Finding{}, false
	}
	return newFinding("HPA-007", Warning, hpaObject(h), fmt.Sprintf("the spec changed %s ago (generation %d) and the controller still reports generation %d: the HPA controller is not processing it (kube-controller-manager down, not leader, or stuck)",
		c.s.Now.Sub(changed).Truncate(time.Second), h.Generation, *og)), true
}

// latestWarning is the newest Warning event with reason about an object
// (Snapshot.Events lists them newest last), or nil.
func (c *checker) latestWarning(ns, kind, name, reason string) *corev1.Event {
	es := c.s.Events[EventKey(ns, kind, name)]
	for i := len(es) - 1; i >= 0; i-- {
		if e := es[i]; e.Reason == reason && e.Type == corev1.EventTypeWarning {
			return e
		}
	}
	return nil
}
