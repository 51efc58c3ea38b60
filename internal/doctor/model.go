package doctor

import (
	"fmt"
	"strings"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SchemaVersion is the version of the JSON report (Report). It changes only
// when a field is removed or changes meaning.
const SchemaVersion = "mlscale.dev/doctor/v1"

// Severity of a finding. The zero value means "unset" (RenderOptions.FailOn
// then defaults to Error).
type Severity int

// Severities, in increasing order.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "info"
}

// MarshalText writes the lower-case name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity reads "error", "warning" or "info".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return Info, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// Object names the Kubernetes object a finding is about.
type Object struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// String is Kind/namespace/name (kubectl's kind/name with the namespace).
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Location is where an object (offline mode) or a field of it is written.
type Location struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Field is the dotted path of the field the finding points at.
	Field string `json:"field,omitempty"`
}

// ConditionEvidence is one status condition quoted as the controller wrote it.
type ConditionEvidence struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// EventEvidence is one event quoted as the controller wrote it.
type EventEvidence struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Count   int32  `json:"count,omitempty"`
}

// ProbeEvidence is a request doctor made itself, by the path the HPA
// controller would use.
type ProbeEvidence struct {
	Path       string `json:"path"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Evidence backs a finding.
type Evidence struct {
	Conditions []ConditionEvidence `json:"conditions,omitempty"`
	Events     []EventEvidence     `json:"events,omitempty"`
	Probe      *ProbeEvidence      `json:"probe,omitempty"`
	// Facts are further observations, one sentence each.
	Facts []string `json:"facts,omitempty"`
}

// Finding is one diagnosed problem.
type Finding struct {
	// ID is the check ID from the catalogue (docs/doctor.md), e.g. "RES-001".
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Object   Object   `json:"object,omitempty"`
	// Title is the check's one-line name.
	Title string `json:"title"`
	// Summary is mlscale's one-line cause for this object.
	Summary string `json:"summary"`
	// Message is the controller's (or API server's, or KEDA's) own text,
	// verbatim; empty when no controller has said anything (offline mode,
	// or a cause doctor found by probing).
	Message     string    `json:"message,omitempty"`
	Evidence    Evidence  `json:"evidence"`
	Remediation string    `json:"remediation"`
	Docs        []string  `json:"docs,omitempty"`
	Location    *Location `json:"location,omitempty"`
}

// SkipReason says why a check could not run.
type SkipReason string

// Skip reasons.
const (
	SkipForbidden    SkipReason = "forbidden"
	SkipTimeout      SkipReason = "timeout"
	SkipNotInstalled SkipReason = "notInstalled"
	SkipError        SkipReason = "error"
)

// Skipped is a check that could not run (never a failure of the check).
type Skipped struct {
	ID     string     `json:"id"`
	Reason SkipReason `json:"reason"`
	// Detail names the probe and the error, e.g. the RBAC denial.
	Detail string  `json:"detail"`
	Object *Object `json:"object,omitempty"`
}

// Summary counts findings by severity and skipped checks.
type Summary struct {
	Error   int `json:"error"`
	Warning int `json:"warning"`
	Info    int `json:"info"`
	Skipped int `json:"skipped"`
}

// ClusterInfo describes the diagnosed cluster (live mode).
type ClusterInfo struct {
	Context       string `json:"context,omitempty"`
	Server        string `json:"server,omitempty"`
	ServerVersion string `json:"serverVersion,omitempty"`
	Namespace     string `json:"namespace,omitempty"` // "" for all namespaces
}

// Report is the JSON document `mlscale doctor -o json` writes.
type Report struct {
	SchemaVersion string       `json:"schemaVersion"`
	Mode          string       `json:"mode"` // "live" or "offline"
	Cluster       *ClusterInfo `json:"cluster,omitempty"`
	Files         []string     `json:"files,omitempty"`
	Summary       Summary      `json:"summary"`
	Findings      []Finding    `json:"findings"`
	Skipped       []Skipped    `json:"skipped"`
}

// NewReport sorts findings and skipped checks into their deterministic
// order and counts them.
func NewReport(mode string, findings []Finding, skipped []Skipped) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Mode: mode, Findings: findings, Skipped: skipped}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Skipped == nil {
		r.Skipped = []Skipped{}
	}
	SortFindings(r.Findings)
	sortSkipped(r.Skipped)
	for _, f := range r.Findings {
		switch f.Severity {
		case Error:
			r.Summary.Error++
		case Warning:
			r.Summary.Warning++
		default:
			r.Summary.Info++
		}
	}
	r.Summary.Skipped = len(r.Skipped)
	return r
}

// Max returns the highest severity among the findings and whether there is any.
func (r *Report) Max() (Severity, bool) {
	max, any := Info, false
	for _, f := range r.Findings {
		if !any || f.Severity > max {
			max, any = f.Severity, true
		}
	}
	return max, any
}

// Snapshot is everything Collect read from a cluster, so that Check is a
// pure function of it. Tests build Snapshots by hand; a Snapshot holds no
// clients. Maps are keyed by "namespace/name".
type Snapshot struct {
	Cluster ClusterInfo `json:"cluster"`
	// Now is the collection time (checks compare ages against it).
	Now time.Time `json:"now"`

	// Discovery: the groups the API server serves, and the group versions
	// whose aggregated discovery failed (ErrGroupDiscoveryFailed) with the
	// error text.
	Groups          map[string]bool   `json:"groups"`
	StaleDiscovery  map[string]string `json:"staleDiscovery"`
	HasKEDA         bool              `json:"hasKEDA,omitempty"`         // the keda.sh group is served
	HasOldKEDAGroup bool              `json:"hasOldKEDAGroup,omitempty"` // keda.k8s.io (KEDA v1) is served

	// APIServices by name (only the metrics ones are collected).
	APIServices map[string]*APIService `json:"apiServices"`
	// Services by key, in the namespaces of the metrics APIServices and of
	// the diagnosed objects.
	Services map[string]*corev1.Service `json:"services"`
	// AdapterPods are the pods of the namespaces of unavailable metrics
	// APIServices (API-003 follows Service -> pods), by namespace.
	AdapterPods map[string][]*corev1.Pod `json:"adapterPods"`

	HPAs          []*autoscalingv2.HorizontalPodAutoscaler `json:"hpas"`
	ScaledObjects []*kedav1alpha1.ScaledObject             `json:"scaledObjects"`
	// TriggerAuths holds "namespace/name" of each TriggerAuthentication and
	// "/name" of each ClusterTriggerAuthentication.
	TriggerAuths map[string]bool `json:"triggerAuths"`
	// TriggerAuthParams are the parameter names each TriggerAuthentication
	// provides (same keys as TriggerAuths); doctor never reads the values.
	TriggerAuthParams map[string][]string `json:"triggerAuthParams"`
	// TriggerAuthSecrets are the secretTargetRef entries of each
	// TriggerAuthentication (same keys as TriggerAuths).
	TriggerAuthSecrets map[string][]SecretRef `json:"triggerAuthSecrets"`
	// Secrets maps "namespace/name" of each Secret a referenced
	// TriggerAuthentication names to its key names (never its values);
	// nil when not read (opt-in: Scope.CheckSecrets, --check-secrets).
	Secrets     map[string]*SecretKeys        `json:"secrets"`
	Deployments map[string]*appsv1.Deployment `json:"deployments"`
	// KEDADeployments are the Deployments of the namespace that serves
	// external.metrics.k8s.io when it is KEDA's (keda-operator and its
	// metrics server); nil when not read.
	KEDADeployments map[string]*appsv1.Deployment `json:"kedaDeployments"`
	// KEDAWebhook is KEDA's admission webhook (ValidatingWebhookConfiguration
	// keda-admission) and its Service's ready endpoints; nil when absent or
	// not read.
	KEDAWebhook *Webhook `json:"kedaWebhook"`
	// Targets are the /scale views of the HPAs' and ScaledObjects' targets,
	// keyed by "namespace/Kind/name".
	Targets map[string]*Target `json:"targets"`
	// Pods by namespace.
	Pods map[string][]*corev1.Pod `json:"pods"`
	// Events about HPAs and ScaledObjects, by "namespace/Kind/name",
	// newest last.
	Events map[string][]*corev1.Event `json:"events"`

	// PodMetrics holds what metrics.k8s.io returned, by namespace then pod
	// name; a namespace absent from the map was not probed.
	PodMetrics map[string]map[string]*PodUsage `json:"podMetrics"`
	// CustomMetrics is the custom.metrics.k8s.io discovery list
	// ("pods/<metric>", "<resource>/<metric>"); nil when not probed.
	CustomMetrics map[string]bool `json:"customMetrics"`
	// Probes are value queries by "namespace/Kind/name#i" (the i-th metric
	// of an HPA, or "ScaledObject" and the external metric name).
	Probes map[string]*MetricProbe `json:"probes"`

	// Nodes maps each Node's name to whether it is Ready; nil when not read
	// (read only when some HPA needs the resource metrics API).
	Nodes map[string]bool `json:"nodes"`
	// NodeMetrics holds the node names metrics.k8s.io returned NodeMetrics
	// for; nil when not probed.
	NodeMetrics map[string]bool `json:"nodeMetrics"`
	// HPAController is what the HPA controller's own identity may read
	// through the custom and external metrics APIs; nil when not probed.
	HPAController *ControllerAccess `json:"hpaController"`
	// CustomAdapter describes the adapter behind custom.metrics.k8s.io
	// (its relist interval); nil when not read.
	CustomAdapter *AdapterInfo `json:"customAdapter"`

	// Skipped lists the checks that could not run.
	Skipped []Skipped `json:"skipped"`
}

// APIService is the part of an apiregistration.k8s.io/v1 APIService doctor reads.
type APIService struct {
	Name                  string              `json:"name,omitempty"`
	Labels                map[string]string   `json:"labels"`
	ServiceNamespace      string              `json:"serviceNamespace,omitempty"` // "" for a local (built-in) APIService
	ServiceName           string              `json:"serviceName,omitempty"`
	ServicePort           int32               `json:"servicePort,omitempty"`
	InsecureSkipTLSVerify bool                `json:"insecureSkipTLSVerify,omitempty"`
	Conditions            []ConditionEvidence `json:"conditions"`
}

// Available returns the Available condition, if any.
func (a *APIService) Available() (ConditionEvidence, bool) {
	for _, c := range a.Conditions {
		if c.Type == "Available" {
			return c, true
		}
	}
	return ConditionEvidence{}, false
}

// Webhook is an admission webhook's Service and how many ready endpoints
// back it.
type Webhook struct {
	Configuration    string `json:"configuration,omitempty"`
	Webhook          string `json:"webhook,omitempty"`
	ServiceNamespace string `json:"serviceNamespace,omitempty"`
	ServiceName      string `json:"serviceName,omitempty"`
	FailurePolicy    string `json:"failurePolicy,omitempty"`
	ReadyEndpoints   int    `json:"readyEndpoints,omitempty"`
}

// Target is a scale target's /scale view.
type Target struct {
	Kind         string `json:"kind,omitempty"`
	Name         string `json:"name,omitempty"`
	Found        bool   `json:"found,omitempty"`
	SpecReplicas int32  `json:"specReplicas,omitempty"`
	Selector     string `json:"selector,omitempty"`
	// Template is the pod template, when the target kind has one doctor knows.
	Template *corev1.PodTemplateSpec `json:"template"`
	Err      string                  `json:"err,omitempty"`
}

// PodUsage is one metrics.k8s.io PodMetrics item.
type PodUsage struct {
	Timestamp  metav1.Time                    `json:"timestamp,omitempty"`
	Window     metav1.Duration                `json:"window,omitempty"`
	Containers map[string]corev1.ResourceList `json:"containers"`
}

// MetricProbe is a value query doctor made against a metrics API.
type MetricProbe struct {
	Path       string              `json:"path,omitempty"`
	HTTPStatus int                 `json:"httpStatus,omitempty"`
	Err        string              `json:"err,omitempty"`
	Items      int                 `json:"items,omitempty"`
	Values     []resource.Quantity `json:"values"`
	// PerObject maps describedObject.name to its value (custom metrics).
	PerObject map[string]resource.Quantity `json:"perObject"`
	// NaN reports a value that did not parse or parsed to the
	// min-int64 milli sentinel prometheus-adapter used to return for NaN.
	NaN bool `json:"nan,omitempty"`
}

// SecretRef is one secretTargetRef of a TriggerAuthentication: KEDA sets
// the trigger's Parameter from Key of Secret Name.
type SecretRef struct {
	Parameter string `json:"parameter,omitempty"`
	Name      string `json:"name,omitempty"`
	Key       string `json:"key,omitempty"`
	// Namespace is the Secret's namespace: the TriggerAuthentication's, or
	// KEDA's own for a ClusterTriggerAuthentication.
	Namespace string `json:"namespace,omitempty"`
}

// SecretKeys is what doctor read of a Secret: whether it exists and its
// key names.
type SecretKeys struct {
	Found bool     `json:"found,omitempty"`
	Keys  []string `json:"keys"`
}

// ControllerAccess is the HPA controller's identity and the metric reads
// its RBAC denies, as SubjectAccessReviews answered them (CUS-006).
type ControllerAccess struct {
	// User and Groups are the identity the reviews were made for.
	User   string   `json:"user,omitempty"`
	Groups []string `json:"groups"`
	// ServiceAccount is true when the identity is the ServiceAccount
	// kube-system/horizontal-pod-autoscaler (kube-controller-manager
	// --use-service-account-credentials); false for the controller
	// manager's own user system:kube-controller-manager.
	ServiceAccount bool `json:"serviceAccount,omitempty"`
	// Denied maps the ProbeKey of an HPA metric to the denied request.
	Denied map[string]AccessDenial `json:"denied"`
}

// AccessDenial is one request the authorizer refuses the HPA controller.
type AccessDenial struct {
	// Verb, Group, Resource, Subresource, Name and Namespace are the
	// request's attributes, as the HPA controller's metrics client makes it.
	Verb        string `json:"verb,omitempty"`
	Group       string `json:"group,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Subresource string `json:"subresource,omitempty"`
	Name        string `json:"name,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	// Reason is the authorizer's reason, often empty for RBAC.
	Reason string `json:"reason,omitempty"`
}

// String is the request in RBAC terms: `list external.metrics.k8s.io/s0-rabbitmq in namespace ml`.
func (d AccessDenial) String() string {
	r := d.Resource
	if d.Subresource != "" {
		r += "/" + d.Subresource
	}
	s := d.Verb + " " + d.Group + "/" + r
	if d.Namespace != "" {
		s += " in namespace " + d.Namespace
	}
	return s
}

// AdapterInfo is what doctor knows of the custom metrics adapter's
// discovery cycle (CUS-004).
type AdapterInfo struct {
	// Deployment is "namespace/name" of the adapter's Deployment, when found.
	Deployment string `json:"deployment,omitempty"`
	// RelistInterval is its --metrics-relist-interval (10m when the flag
	// is not set: prometheus-adapter's default).
	RelistInterval metav1.Duration `json:"relistInterval,omitempty"`
	// FromFlag is true when RelistInterval was read from the flag.
	FromFlag bool `json:"fromFlag,omitempty"`
}
