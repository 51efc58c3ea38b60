package doctor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/generate"
	"github.com/mlscale/mlscale/internal/hpa"
	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

// Manifest is one YAML document of a manifest file.
type Manifest struct {
	File string
	// Line is the line of the document's first key in File (1-based).
	Line       int
	offset     int    // File line of the document's line 1
	prefix     string // path of the object in the document ("items[i]" in a List)
	spec       any    // the object's spec as generic YAML (for TriggerAuthentications)
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Typed is the decoded object for the kinds doctor reads
	// (*appsv1.Deployment, *appsv1.StatefulSet,
	// *autoscalingv2.HorizontalPodAutoscaler, *kedav1alpha1.ScaledObject,
	// *policyv1.PodDisruptionBudget); nil for the others.
	Typed any
	doc   *strictyaml.Doc
}

// Object names the manifest's object.
func (m *Manifest) Object() Object {
	return Object{APIVersion: m.APIVersion, Kind: m.Kind, Namespace: m.Namespace, Name: m.Name}
}

// Loc returns the file position of a field (dotted path) of the document.
func (m *Manifest) Loc(field string) *Location {
	l := &Location{File: m.File, Line: m.Line, Field: field}
	if m.doc != nil {
		p := field
		if m.prefix != "" {
			p = strings.TrimSuffix(m.prefix+"."+field, ".")
		}
		line, col := m.doc.Pos(p)
		l.Line, l.Column = m.offset+line-1, col
	}
	return l
}

// ManifestSet is every document of the files given to LoadManifests.
type ManifestSet struct {
	Files     []string
	Manifests []*Manifest
}

// LoadManifests reads files and directories (recursively: *.yaml, *.yml,
// *.json), each possibly holding several YAML documents (Helm template and
// kustomize build output). "-" is not supported here; the CLI reads stdin
// into a file. Errors name file and line.
func LoadManifests(paths []string) (*ManifestSet, error) {
	set := &ManifestSet{}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var errs strictyaml.Errors
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms, err := ParseManifests(f, data)
		if err != nil {
			var es strictyaml.Errors
			var e *strictyaml.Error
			switch {
			case errors.As(err, &es):
				errs = append(errs, es...)
			case errors.As(err, &e):
				errs = append(errs, e)
			default:
				return nil, err
			}
		}
		set.Files = append(set.Files, f)
		set.Manifests = append(set.Manifests, ms...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return set, nil
}

// ParseManifests splits data (named file) into YAML documents and decodes
// the kinds doctor reads.
func ParseManifests(file string, data []byte) ([]*Manifest, error) {
	var out []*Manifest
	var errs strictyaml.Errors
	for _, chunk := range splitDocs(data) {
		if len(bytes.TrimSpace(stripComments(chunk.data))) == 0 {
			continue
		}
		doc, err := strictyaml.Parse(file, chunk.data)
		if err != nil {
			var e *strictyaml.Error
			if errors.As(err, &e) {
				e.Line += chunk.line - 1
				errs = append(errs, e)
				continue
			}
			return nil, err
		}
		var meta struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        metav1.ObjectMeta `json:"metadata"`
			Items           []any             `json:"items"`
		}
		if err := yaml.Unmarshal(chunk.data, &meta); err != nil {
			errs = append(errs, &strictyaml.Error{File: file, Line: chunk.line, Column: 1, Message: err.Error()})
			continue
		}
		if meta.Kind == "" {
			continue
		}
		if strings.HasSuffix(meta.Kind, "List") && meta.Items != nil {
			// kubectl get -o yaml: a v1 List; each item keeps its place.
			for i, it := range meta.Items {
				b, err := json.Marshal(it)
				if err != nil {
					return nil, err
				}
				m, err := newManifest(file, chunk.line, doc, fmt.Sprintf("items[%d]", i), b)
				if err != nil {
					errs = append(errs, err.(*strictyaml.Error))
					continue
				}
				if m != nil {
					out = append(out, m)
				}
			}
			continue
		}
		m, err := newManifest(file, chunk.line, doc, "", chunk.data)
		if err != nil {
			errs = append(errs, err.(*strictyaml.Error))
			continue
		}
		out = append(out, m)
	}
	return out, errs.Err()
}

// newManifest decodes one object (data, JSON or YAML) found at prefix
// ("" or "items[i]") of doc, whose first line is File line offset.
func newManifest(file string, offset int, doc *strictyaml.Doc, prefix string, data []byte) (*Manifest, error) {
	var meta struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        metav1.ObjectMeta `json:"metadata"`
		Spec            any               `json:"spec"`
	}
	first, col := doc.Pos(prefix)
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return nil, &strictyaml.Error{File: file, Line: offset + first - 1, Column: col, Message: err.Error()}
	}
	m := &Manifest{File: file, Line: offset + first - 1, offset: offset, prefix: prefix, APIVersion: meta.APIVersion, Kind: meta.Kind,
		Namespace: meta.Metadata.Namespace, Name: meta.Metadata.Name, doc: doc, spec: meta.Spec}
	if m.Namespace == "" {
		m.Namespace = "default"
	}
	typed, err := decodeTyped(m, data)
	if err != nil {
		return nil, &strictyaml.Error{File: file, Line: m.Line, Column: col, Message: fmt.Sprintf("%s %s: %v", m.Kind, m.Name, err)}
	}
	m.Typed = typed
	return m, nil
}

type docChunk struct {
	line int
	data []byte
}

// splitDocs splits a YAML stream at "---" lines, remembering where each
// document starts.
func splitDocs(data []byte) []docChunk {
	var out []docChunk
	var cur bytes.Buffer
	start, line := 1, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "---" || strings.HasPrefix(t, "--- ") || t == "...\n" {
			out = append(out, docChunk{line: start, data: append([]byte(nil), cur.Bytes()...)})
			cur.Reset()
			start = line + 1
			continue
		}
		cur.WriteString(t)
		cur.WriteByte('\n')
	}
	out = append(out, docChunk{line: start, data: cur.Bytes()})
	return out
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, t...)
		}
	}
	return out
}

func decodeTyped(m *Manifest, data []byte) (any, error) {
	var v any
	switch {
	case m.Kind == "Deployment" && m.APIVersion == "apps/v1":
		v = &appsv1.Deployment{}
	case m.Kind == "StatefulSet" && m.APIVersion == "apps/v1":
		v = &appsv1.StatefulSet{}
	case m.Kind == "HorizontalPodAutoscaler" && (m.APIVersion == "autoscaling/v2" || m.APIVersion == "autoscaling/v2beta2"):
		v = &autoscalingv2.HorizontalPodAutoscaler{}
	case m.Kind == "HorizontalPodAutoscaler" && m.APIVersion == "autoscaling/v1":
		h1 := &autoscalingv1.HorizontalPodAutoscaler{}
		if err := yaml.Unmarshal(data, h1); err != nil {
			return nil, err
		}
		return hpaFromV1(h1), nil
	case m.Kind == "ScaledObject" && m.APIVersion == "keda.sh/v1alpha1":
		v = &kedav1alpha1.ScaledObject{}
	case m.Kind == "PodDisruptionBudget" && m.APIVersion == "policy/v1":
		v = &policyv1.PodDisruptionBudget{}
	default:
		return nil, nil
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		return nil, err
	}
	return v, nil
}

// hpaFromV1 converts an autoscaling/v1 HPA (CPU utilisation only) to v2.
func hpaFromV1(h1 *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: h1.ObjectMeta}
	h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{Kind: h1.Spec.ScaleTargetRef.Kind, Name: h1.Spec.ScaleTargetRef.Name, APIVersion: h1.Spec.ScaleTargetRef.APIVersion}
	h.Spec.MinReplicas, h.Spec.MaxReplicas = h1.Spec.MinReplicas, h1.Spec.MaxReplicas
	u := int32(80)
	if h1.Spec.TargetCPUUtilizationPercentage != nil {
		u = *h1.Spec.TargetCPUUtilizationPercentage
	}
	h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}}}}
	return h
}

// workload is a scale target found in the manifests.
type workload struct {
	m        *Manifest
	template *corev1.PodTemplateSpec
	replicas *int32
	labels   map[string]string
	started  bool // startup checked
}

// slowStartDelay is the liveness initialDelaySeconds from which doctor
// reads the delay as a guess at a model's load time.
const slowStartDelay = 60

// startup is RES-004 on an autoscaled workload's template: a liveness
// probe whose initialDelaySeconds guesses the model-load time, with no
// startupProbe. Every replica the autoscaler adds must load the model; one
// slower than the guess is killed and restarted before it turns Ready.
func (c *offline) startup(w *workload, by string) {
	if w.started {
		return
	}
	w.started = true
	for i, ctr := range w.template.Spec.Containers {
		lp := ctr.LivenessProbe
		if lp == nil || ctr.StartupProbe != nil || lp.InitialDelaySeconds < slowStartDelay {
			continue
		}
		c.add(w.m, "RES-004", Warning, fmt.Sprintf("spec.template.spec.containers[%d].livenessProbe.initialDelaySeconds", i),
			fmt.Sprintf("container %s: livenessProbe.initialDelaySeconds %d guesses the model-load time and there is no startupProbe: a replica %s adds that loads slower (a cold node pulling the weights) is killed and restarted before it is Ready, and one that loads faster is not probed meanwhile",
				ctr.Name, lp.InitialDelaySeconds, by), "")
	}
}

// CheckManifests runs the checks that need no cluster over a manifest set
// and returns the report (mode "offline"), each finding with its file and
// line.
func CheckManifests(set *ManifestSet) *Report {
	c := &offline{set: set, workloads: map[string]*workload{}, auths: map[string]bool{}, authParams: map[string][]string{}}
	c.run()
	r := NewReport("offline", c.out, nil)
	r.Files = set.Files
	return r
}

type offline struct {
	set        *ManifestSet
	workloads  map[string]*workload // namespace/Kind/name
	auths      map[string]bool      // namespace/name, "/name" for cluster ones
	authParams map[string][]string  // same keys: the parameter names each provides
	out        []Finding
}

func (c *offline) add(m *Manifest, id string, sev Severity, field, summary, message string) {
	f := newFinding(id, sev, m.Object(), summary)
	f.Message = message
	f.Location = m.Loc(field)
	c.out = append(c.out, f)
}

func (c *offline) run() {
	for _, m := range c.set.Manifests {
		switch t := m.Typed.(type) {
		case *appsv1.Deployment:
			c.workloads[TargetKey(m.Namespace, "Deployment", m.Name)] = &workload{m: m, template: &t.Spec.Template, replicas: t.Spec.Replicas, labels: t.Spec.Template.Labels}
			for _, a := range []string{"autoscaling.keda.sh/paused", "autoscaling.keda.sh/paused-replicas"} {
				if _, ok := t.Annotations[a]; ok {
					c.add(m, "KEDA-014", Warning, "metadata.annotations", fmt.Sprintf("annotation %s is on the Deployment; KEDA reads it only on the ScaledObject, so scaling is not paused", a), "")
				}
			}
		case *appsv1.StatefulSet:
			c.workloads[TargetKey(m.Namespace, "StatefulSet", m.Name)] = &workload{m: m, template: &t.Spec.Template, replicas: t.Spec.Replicas, labels: t.Spec.Template.Labels}
		}
		switch {
		case m.Kind == "TriggerAuthentication":
			c.auths[key(m.Namespace, m.Name)] = true
			c.authParams[key(m.Namespace, m.Name)] = authParameterNames(m.spec)
		case m.Kind == "ClusterTriggerAuthentication":
			c.auths[key("", m.Name)] = true
			c.authParams[key("", m.Name)] = authParameterNames(m.spec)
		case strings.HasPrefix(m.APIVersion, "keda.k8s.io/"):
			c.add(m, "KEDA-012", Error, "apiVersion", fmt.Sprintf("%s uses the KEDA v1 group %s; KEDA v2 serves keda.sh/v1alpha1", m.Kind, m.APIVersion),
				fmt.Sprintf("no matches for kind %q in version %q", m.Kind, m.APIVersion))
		case m.Kind == "HorizontalPodAutoscaler" && (m.APIVersion == "autoscaling/v2beta1" || m.APIVersion == "autoscaling/v2beta2"):
			removed := map[string]string{"autoscaling/v2beta1": "1.25", "autoscaling/v2beta2": "1.26"}[m.APIVersion]
			c.add(m, "HPA-009", Error, "apiVersion", fmt.Sprintf("%s was removed in Kubernetes %s: use autoscaling/v2", m.APIVersion, removed),
				fmt.Sprintf("no matches for kind %q in version %q", m.Kind, m.APIVersion))
		}
	}
	owners := map[string]*Manifest{} // target key -> first autoscaler
	own := func(m *Manifest, id, ns, kind, name, field string) {
		k := TargetKey(ns, kind, name)
		if prev := owners[k]; prev != nil {
			msg := ""
			if m.Kind == "ScaledObject" && prev.Kind == "HorizontalPodAutoscaler" {
				msg = fmt.Sprintf("the workload '%s' of type '%s' is already managed by the hpa '%s'", name, keda.GVKString("", kind), prev.Name)
			} else if m.Kind == "ScaledObject" && prev.Kind == "ScaledObject" {
				msg = fmt.Sprintf("the workload '%s' of type '%s' is already managed by the ScaledObject '%s'", name, keda.GVKString("", kind), prev.Name)
			}
			c.add(m, id, Error, field, fmt.Sprintf("%s/%s is already scaled by %s %s (%s:%d): two autoscalers on one target fight", kind, name, prev.Kind, prev.Name, prev.File, prev.Line), msg)
			return
		}
		owners[k] = m
	}
	// HPAs before ScaledObjects, so the webhook's wording (a ScaledObject
	// rejected because of an HPA) applies.
	for _, m := range c.set.Manifests {
		if h, ok := m.Typed.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			c.hpa(m, h)
			own(m, "HPA-006", m.Namespace, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name, "spec.scaleTargetRef.name")
		}
	}
	for _, m := range c.set.Manifests {
		if so, ok := m.Typed.(*kedav1alpha1.ScaledObject); ok {
			c.scaledObject(m, so)
			if so.Spec.ScaleTargetRef != nil {
				own(m, "KEDA-005", m.Namespace, orDefault(so.Spec.ScaleTargetRef.Kind, "Deployment"), so.Spec.ScaleTargetRef.Name, "spec.scaleTargetRef.name")
			}
		}
	}
	for _, m := range c.set.Manifests {
		if p, ok := m.Typed.(*policyv1.PodDisruptionBudget); ok {
			c.pdb(m, p)
		}
	}
}

func (c *offline) hpa(m *Manifest, h *autoscalingv2.HorizontalPodAutoscaler) {
	for _, e := range generate.ValidateHPA(h) {
		c.add(m, "HPA-010", Error, e.Field, "the API server rejects this HPA", e.Field+": "+e.ErrorBody())
	}
	if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas == h.Spec.MaxReplicas {
		c.add(m, "HPA-009", Warning, "spec.maxReplicas", fmt.Sprintf("minReplicas equals maxReplicas (%d): the HPA can never scale", h.Spec.MaxReplicas), "")
	}
	ref := h.Spec.ScaleTargetRef
	if ref.Kind == "Deployment" && ref.APIVersion != "" && !strings.HasPrefix(ref.APIVersion, "apps/") {
		c.add(m, "HPA-001", Error, "spec.scaleTargetRef.apiVersion", fmt.Sprintf("scaleTargetRef.apiVersion %s does not serve Deployments any more: use apps/v1", ref.APIVersion),
			fmt.Sprintf("no matches for kind %q in group %q", ref.Kind, strings.Split(ref.APIVersion, "/")[0]))
		return
	}
	w := c.workloads[TargetKey(m.Namespace, ref.Kind, ref.Name)]
	if w == nil {
		if ref.Kind == "Deployment" || ref.Kind == "StatefulSet" {
			c.add(m, "HPA-001", Warning, "spec.scaleTargetRef.name", fmt.Sprintf("scaleTargetRef %s/%s is not among the given manifests", ref.Kind, ref.Name), "")
		}
		return
	}
	c.startup(w, "HPA "+h.Name)
	if w.replicas != nil {
		c.add(w.m, "HPA-009", Info, "spec.replicas", fmt.Sprintf("spec.replicas is set while HPA %s scales this %s: every apply (GitOps sync) resets the HPA's replica count", h.Name, ref.Kind), "")
	}
	for i, ms := range h.Spec.Metrics {
		var res corev1.ResourceName
		var container, field string
		var util bool
		switch {
		case ms.Type == autoscalingv2.ResourceMetricSourceType && ms.Resource != nil:
			res, util = ms.Resource.Name, ms.Resource.Target.Type == autoscalingv2.UtilizationMetricType
			field = fmt.Sprintf("spec.metrics[%d].resource.name", i)
		case ms.Type == autoscalingv2.ContainerResourceMetricSourceType && ms.ContainerResource != nil:
			res, container, util = ms.ContainerResource.Name, ms.ContainerResource.Container, ms.ContainerResource.Target.Type == autoscalingv2.UtilizationMetricType
			field = fmt.Sprintf("spec.metrics[%d].containerResource.container", i)
			if !hasContainer(&w.template.Spec, container) {
				c.add(m, "RES-002", Error, field, fmt.Sprintf("container %q is not in %s %s's pod template: the HPA will report \"container %s not found in Pod ...\"", container, ref.Kind, ref.Name, container), "")
				continue
			}
			field = fmt.Sprintf("spec.metrics[%d].containerResource.name", i)
		default:
			continue
		}
		if !util {
			continue
		}
		if miss := hpa.MissingRequests(&w.template.Spec, res, container); len(miss) > 0 {
			c.add(m, "RES-001", Error, field, fmt.Sprintf("%s utilisation, but container(s) %s of %s %s (%s:%d) request no %s: the HPA will show <unknown> (\"missing request for %s in container %s of Pod ...\")", res, strings.Join(miss, ", "), ref.Kind, ref.Name, w.m.File, w.m.Line, res, res, miss[0]), "")
		}
	}
}

func (c *offline) scaledObject(m *Manifest, so *kedav1alpha1.ScaledObject) {
	if _, err := keda.Compile(so.DeepCopy(), keda.Options{AuthParams: authPlaceholders(so, c.authParams)}); err != nil && !uncertainRejection(so, err, c.authParams) {
		field := "spec"
		var ve *keda.ValidationError
		if errors.As(err, &ve) && ve.Field != "" {
			field = ve.Field
		}
		c.add(m, "KEDA-010", Error, field, "KEDA rejects this ScaledObject", err.Error())
	}
	for i, t := range so.Spec.Triggers {
		for _, a := range keda.TriggerAdvice(t) {
			c.add(m, "KEDA-015", Warning, fmt.Sprintf("spec.triggers[%d].%s", i, a.Field), fmt.Sprintf("trigger %d (%s): %s", i, t.Type, a.Message), "")
		}
		if ar := t.AuthenticationRef; ar != nil {
			k := key(m.Namespace, ar.Name)
			if ar.Kind == "ClusterTriggerAuthentication" {
				k = key("", ar.Name)
			}
			if !c.auths[k] {
				c.add(m, "KEDA-006", Warning, fmt.Sprintf("spec.triggers[%d].authenticationRef.name", i), fmt.Sprintf("%s %q is not among the given manifests", orDefault(ar.Kind, "TriggerAuthentication"), ar.Name), "")
			}
		}
	}
	ref := so.Spec.ScaleTargetRef
	if ref == nil {
		return
	}
	kind := orDefault(ref.Kind, "Deployment")
	w := c.workloads[TargetKey(m.Namespace, kind, ref.Name)]
	if w == nil {
		if kind == "Deployment" || kind == "StatefulSet" {
			c.add(m, "KEDA-005", Warning, "spec.scaleTargetRef.name", fmt.Sprintf("scaleTargetRef %s/%s is not among the given manifests", kind, ref.Name), "")
		}
		return
	}
	c.startup(w, "ScaledObject "+so.Name)
	for i, t := range so.Spec.Triggers {
		if t.Type != "cpu" && t.Type != "memory" {
			continue
		}
		for _, name := range hpa.MissingRequests(&w.template.Spec, corev1.ResourceName(t.Type), t.Metadata["containerName"]) {
			c.add(m, "KEDA-007", Error, fmt.Sprintf("spec.triggers[%d].type", i), fmt.Sprintf("a %s trigger, but container %s of %s %s (%s:%d) has no %s request", t.Type, name, kind, ref.Name, w.m.File, w.m.Line, t.Type),
				fmt.Sprintf("the scaledobject has a %v trigger but the container %s doesn't have the %v request defined", t.Type, name, t.Type))
		}
	}
}

// pdb: HPA-009, a PDB that blocks every voluntary eviction at minReplicas.
func (c *offline) pdb(m *Manifest, p *policyv1.PodDisruptionBudget) {
	if p.Spec.Selector == nil {
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
	if err != nil || sel.Empty() {
		return
	}
	for _, hm := range c.set.Manifests {
		h, ok := hm.Typed.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok || hm.Namespace != m.Namespace {
			continue
		}
		w := c.workloads[TargetKey(hm.Namespace, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)]
		if w == nil || !sel.Matches(labels.Set(w.labels)) {
			continue
		}
		minR := int32(1)
		if h.Spec.MinReplicas != nil {
			minR = *h.Spec.MinReplicas
		}
		switch {
		case p.Spec.MinAvailable != nil && p.Spec.MinAvailable.Type == intstr.Int && p.Spec.MinAvailable.IntVal >= minR:
			c.add(m, "HPA-009", Warning, "spec.minAvailable", fmt.Sprintf("minAvailable %d >= HPA %s's minReplicas %d: at minReplicas no pod can be evicted (node drains block)", p.Spec.MinAvailable.IntVal, h.Name, minR), "")
		case p.Spec.MaxUnavailable != nil && p.Spec.MaxUnavailable.Type == intstr.Int && p.Spec.MaxUnavailable.IntVal == 0:
			c.add(m, "HPA-009", Warning, "spec.maxUnavailable", fmt.Sprintf("maxUnavailable 0: no pod of HPA %s's target can ever be evicted (node drains block)", h.Name), "")
		}
	}
}
