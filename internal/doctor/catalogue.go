package doctor

import (
	"sort"
	"strings"
)

// CheckInfo describes one check of the catalogue (docs/doctor.md has a
// section per ID).
type CheckInfo struct {
	ID          string
	Title       string
	Remediation string
	// Offline reports whether the check also runs on manifests (-f).
	Offline bool
}

// DocsURL is where docs/doctor.md is published; a finding links to its
// check's section.
const DocsURL = "https://github.com/mlscale/mlscale/blob/main/docs/doctor.md"

// Catalogue is the list of checks, in pipeline order. The IDs follow
// shared/spec/doctor-tui.md §2; HPA-010, KEDA-014 and KEDA-015 are
// mlscale's additions.
var Catalogue = []CheckInfo{
	{ID: "ACC-001", Title: "Cluster reachable", Remediation: "Check the kubeconfig context, the API server address and your credentials (`kubectl version`)."},
	{ID: "ACC-002", Title: "Doctor's own permissions", Remediation: "Grant doctor read access (get/list on the listed resources) or accept that the dependent checks are skipped."},
	{ID: "ACC-003", Title: "Stale aggregated API groups", Remediation: "Fix or delete the APIService whose backend does not answer; until then discovery, `kubectl` and namespace deletion fail for that group."},
	{ID: "API-001", Title: "Metrics APIService missing", Remediation: "Install the adapter that serves the API (metrics-server for metrics.k8s.io, prometheus-adapter for custom.metrics.k8s.io, KEDA for external.metrics.k8s.io)."},
	{ID: "API-002", Title: "Metrics APIService not Available", Remediation: "Fix what the aggregator's reason names: the Service, its endpoints, or the adapter pods; then the HPA recovers within a sync period."},
	{ID: "API-003", Title: "Adapter Service has no ready endpoints", Remediation: "Make the adapter's pods Ready (`kubectl -n NS describe pod`), and check the Service's selector and port."},
	{ID: "API-004", Title: "metrics-server cannot scrape kubelets", Remediation: "Give kubelets serving certificates with IP SANs, or set --kubelet-preferred-address-types; avoid --kubelet-insecure-tls."},
	{ID: "API-005", Title: "Adapter TLS or front-proxy error", Remediation: "Make the adapter's certificate match the Service name (or set the APIService caBundle correctly), and check the requestheader CA."},
	{ID: "API-006", Title: "Metrics API owned by another adapter", Remediation: "Only one adapter can serve a metrics API group version. Point the APIService at the adapter your autoscalers need (KEDA's for ScaledObjects) and move the other adapter's metrics elsewhere."},
	{ID: "API-007", Title: "APIService points at a misspelt Service", Remediation: "Point spec.service of the APIService at the Service that exists (or rename the Service)."},
	{ID: "API-008", Title: "Control plane cannot reach the adapter", Remediation: "Allow traffic from the API server to the adapter (NetworkPolicy, CNI, service mesh: exclude the adapter namespace from sidecar injection)."},
	{ID: "HPA-001", Title: "Scale target not resolvable", Remediation: "Point scaleTargetRef at an existing object of a kind with a /scale subresource (apiVersion apps/v1 for Deployments).", Offline: true},
	{ID: "HPA-002", Title: "Scale target has no selector", Remediation: "Give the target CRD's scale subresource a labelSelectorPath, so the HPA can find the pods."},
	{ID: "HPA-003", Title: "HPA condition reports a failure", Remediation: "Fix the cause the condition names; the checks below it usually pin it down."},
	{ID: "HPA-004", Title: "Warning events on the HPA", Remediation: "Read the event's message; it is the controller's own error for the last failed sync."},
	{ID: "HPA-005", Title: "Metric shows <unknown>", Remediation: "The column is empty because the controller could not compute the metric; fix the cause quoted in the finding."},
	{ID: "HPA-006", Title: "Several autoscalers over the same pods", Remediation: "Keep one autoscaler per workload: delete the extra HPA, or move its metrics into the ScaledObject's triggers.", Offline: true},
	{ID: "HPA-007", Title: "HPA controller not processing the HPA", Remediation: "Check that kube-controller-manager runs with the horizontalpodautoscaling controller and can reach the API server."},
	{ID: "HPA-008", Title: "Scale target at zero replicas", Remediation: "Scale the target to at least 1 replica; the HPA does not act on a target at 0 (unless HPAScaleToZero and minReplicas: 0)."},
	{ID: "HPA-009", Title: "HPA configuration smell", Remediation: "See the summary: align minReplicas/maxReplicas, use autoscaling/v2, and keep a PDB's minAvailable below minReplicas.", Offline: true},
	{ID: "HPA-010", Title: "HPA spec rejected by API validation", Remediation: "Fix the field named in the message; the API server rejects the object as written.", Offline: true},
	{ID: "RES-001", Title: "Container without a request for the metric's resource", Remediation: "Set resources.requests for the resource on every container, including injected and native sidecars (or set pod-level resources).", Offline: true},
	{ID: "RES-002", Title: "ContainerResource names a missing container", Remediation: "Use the name of a container that exists in every selected pod.", Offline: true},
	{ID: "RES-003", Title: "Selector matches pods of another workload", Remediation: "Make the target's selector unique (add a label only this workload's pods carry)."},
	{ID: "RES-004", Title: "Selected pods unready or initialising", Remediation: "Give model servers a readiness probe that turns Ready when the model is loaded and a startupProbe for the load time; the HPA ignores unready pods' CPU.", Offline: true},
	{ID: "RES-005", Title: "Resource metrics missing for selected pods", Remediation: "Check metrics-server's logs and that the kubelet reports pod stats (cgroup driver, container runtime)."},
	{ID: "CUS-001", Title: "Custom metric not served for the resource", Remediation: "Fix the adapter rule (seriesQuery, name.matches, resources.overrides) so the metric is listed for the right resource; note the adapter's relist interval."},
	{ID: "CUS-002", Title: "Custom metric query with the HPA's selector fails", Remediation: "Map the series' labels to namespace and pod in the adapter rule (e.g. exported_pod for dcgm-exporter behind honorLabels: false)."},
	{ID: "CUS-003", Title: "GPU metric on pods that request no GPU", Remediation: "Request nvidia.com/gpu in the pods; dcgm-exporter attributes GPU metrics only to pods that got a GPU from the device plugin."},
	{ID: "CUS-004", Title: "Custom metric listed late (adapter relist)", Remediation: "Wait for --metrics-relist-interval or lower it."},
	{ID: "CUS-005", Title: "Metric value is NaN or not a number", Remediation: "Guard the query against 0/0 and empty histograms (e.g. `or vector(0)`), or upgrade the adapter."},
	{ID: "CUS-006", Title: "HPA controller may not read the metrics API", Remediation: "Give the HPA controller's identity get/list on the metrics API group: restore the rule in ClusterRole system:controller:horizontal-pod-autoscaler (the bootstrap policy grants custom.metrics.k8s.io and external.metrics.k8s.io), or bind it to a role that grants them, like prometheus-adapter's hpa-controller-custom-metrics."},
	{ID: "KEDA-001", Title: "KEDA installed and healthy", Remediation: "Install KEDA (its CRDs, keda-operator and keda-operator-metrics-apiserver) and make its pods Ready."},
	{ID: "KEDA-002", Title: "External metrics API not served by KEDA", Remediation: "Point v1beta1.external.metrics.k8s.io at keda-operator-metrics-apiserver; another adapter cannot answer KEDA's HPAs."},
	{ID: "KEDA-003", Title: "ScaledObject condition reports a failure", Remediation: "Fix the cause in the condition's message."},
	{ID: "KEDA-004", Title: "Trigger failing", Remediation: "Check the scaler's connection settings and credentials; the operator logs the scaler error."},
	{ID: "KEDA-005", Title: "ScaledObject target or HPA ownership", Remediation: "Point scaleTargetRef at an existing workload and keep it free of other HPAs.", Offline: true},
	{ID: "KEDA-006", Title: "TriggerAuthentication missing", Remediation: "Create the referenced TriggerAuthentication (or ClusterTriggerAuthentication, with kind set) in the ScaledObject's namespace.", Offline: true},
	{ID: "KEDA-007", Title: "cpu/memory trigger without requests", Remediation: "Set the resource's request on every container of the target.", Offline: true},
	{ID: "KEDA-008", Title: "External metric query fails", Remediation: "Fix the trigger's query, address or credentials: the scaler's own error is in KEDA's KEDAScalerFailed event (quoted when present) and the operator's log."},
	{ID: "KEDA-009", Title: "External metric value is NaN", Remediation: "Guard the query against NaN (e.g. `or vector(0)`); upgrade KEDA."},
	{ID: "KEDA-010", Title: "ScaledObject rejected by KEDA's validation", Remediation: "Fix the field named in KEDA's message.", Offline: true},
	{ID: "KEDA-011", Title: "KEDA admission webhook unreachable", Remediation: "Make keda-admission-webhooks Ready and reachable from the API server on port 9443."},
	{ID: "KEDA-012", Title: "Old KEDA API group keda.k8s.io", Remediation: "Use apiVersion keda.sh/v1alpha1 (KEDA v2); keda.k8s.io is KEDA v1 and no longer served.", Offline: true},
	{ID: "KEDA-014", Title: "KEDA annotation on the wrong object", Remediation: "Put autoscaling.keda.sh/paused (and paused-replicas) on the ScaledObject; KEDA ignores them on the workload.", Offline: true},
	{ID: "KEDA-015", Title: "Trigger setting that does not do what it seems", Remediation: "Drop metadata KEDA no longer reads; for a Prometheus average use sum(...) with AverageValue, or metricType: Value.", Offline: true},
}

var catalogueIndex = func() map[string]*CheckInfo {
	m := make(map[string]*CheckInfo, len(Catalogue))
	for i := range Catalogue {
		m[Catalogue[i].ID] = &Catalogue[i]
	}
	return m
}()

// Lookup returns the catalogue entry for id.
func Lookup(id string) (CheckInfo, bool) {
	c, ok := catalogueIndex[id]
	if !ok {
		return CheckInfo{}, false
	}
	return *c, true
}

// docsAnchor is the docs/doctor.md heading anchor of a check.
func docsAnchor(id string) string {
	return DocsURL + "#" + strings.ToLower(id)
}

// newFinding fills Title, Remediation and Docs from the catalogue.
func newFinding(id string, sev Severity, obj Object, summary string) Finding {
	c := catalogueIndex[id]
	if c == nil {
		panic("doctor: unknown check " + id)
	}
	return Finding{ID: id, Severity: sev, Object: obj, Title: c.Title, Summary: summary,
		Remediation: c.Remediation, Docs: []string{docsAnchor(id)}}
}

// SortFindings orders findings by severity (highest first), namespace,
// kind, name, check ID, file position and summary.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := &fs[i], &fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Object.Namespace != b.Object.Namespace {
			return a.Object.Namespace < b.Object.Namespace
		}
		if a.Object.Kind != b.Object.Kind {
			return a.Object.Kind < b.Object.Kind
		}
		if a.Object.Name != b.Object.Name {
			return a.Object.Name < b.Object.Name
		}
		if a.ID != b.ID {
			return idLess(a.ID, b.ID)
		}
		if la, lb := locKey(a.Location), locKey(b.Location); la != lb {
			return la < lb
		}
		return a.Summary < b.Summary
	})
}

func locKey(l *Location) string {
	if l == nil {
		return ""
	}
	return l.File + "\x00" + strings.Repeat("0", 8-min(8, len(itoa(l.Line)))) + itoa(l.Line)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}

// idLess orders IDs by catalogue position.
func idLess(a, b string) bool {
	ia, ib := catalogueOrder[a], catalogueOrder[b]
	if ia != ib {
		return ia < ib
	}
	return a < b
}

var catalogueOrder = func() map[string]int {
	m := map[string]int{}
	for i, c := range Catalogue {
		m[c.ID] = i + 1
	}
	return m
}()

func sortSkipped(s []Skipped) {
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].ID != s[j].ID {
			return idLess(s[i].ID, s[j].ID)
		}
		oi, oj := "", ""
		if s[i].Object != nil {
			oi = s[i].Object.String()
		}
		if s[j].Object != nil {
			oj = s[j].Object.String()
		}
		if oi != oj {
			return oi < oj
		}
		return s[i].Detail < s[j].Detail
	})
}
