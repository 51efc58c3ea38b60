package generate

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/profile"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

// Object is one rendered manifest.
type Object struct {
	Kind, Name, Namespace string
	// Template is the file that rendered it.
	Template string
	// YAML is the manifest as rendered (comments kept), without a document separator.
	YAML []byte
	// Typed is the decoded object (*appsv1.Deployment, *kedav1alpha1.ScaledObject, ...).
	Typed any
}

// FileName is the object's file in --out-dir.
func (o *Object) FileName() string {
	return strings.ToLower(o.Kind) + "-" + o.Name + ".yaml"
}

// Result is everything generate produced for one profile.
type Result struct {
	Objects  []*Object
	Warnings []string
}

// kinds maps apiVersion/kind to a new typed object, and gives each kind its
// place in the output (namespaced dependencies before their users).
var kinds = []struct {
	apiVersion, kind string
	new              func() any
}{
	{"v1", "ConfigMap", func() any { return &corev1.ConfigMap{} }},
	{"keda.sh/v1alpha1", "TriggerAuthentication", func() any { return &kedav1alpha1.TriggerAuthentication{} }},
	{"apps/v1", "Deployment", func() any { return &appsv1.Deployment{} }},
	{"v1", "Service", func() any { return &corev1.Service{} }},
	{"monitoring.coreos.com/v1", "ServiceMonitor", func() any { return &monitoringv1.ServiceMonitor{} }},
	{"autoscaling/v2", "HorizontalPodAutoscaler", func() any { return &autoscalingv2.HorizontalPodAutoscaler{} }},
	{"keda.sh/v1alpha1", "ScaledObject", func() any { return &kedav1alpha1.ScaledObject{} }},
	{"policy/v1", "PodDisruptionBudget", func() any { return &policyv1.PodDisruptionBudget{} }},
}

// Renderer renders profiles with one set of templates.
type Renderer struct {
	templates []*template.Template
}

// NewRenderer parses every *.yaml.tmpl in fsys, in name order.
func NewRenderer(fsys fs.FS) (*Renderer, error) {
	names, err := fs.Glob(fsys, "*.yaml.tmpl")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.yaml.tmpl templates found")
	}
	sort.Strings(names)
	r := &Renderer{}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		t, err := template.New(n).Option("missingkey=error").Funcs(funcs).Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		r.templates = append(r.templates, t)
	}
	return r, nil
}

var funcs = template.FuncMap{
	"toYaml": func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		if err != nil {
			return "", err
		}
		return strings.TrimSuffix(string(b), "\n"), nil
	},
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	},
	"nindent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	},
	"quote": func(s string) string { return fmt.Sprintf("%q", s) },
}

// Render renders, decodes and validates every object for the profile. It
// returns an error (naming template, line and field) without any objects if
// one of them is invalid.
func (r *Renderer) Render(l *profile.Loaded) (*Result, error) {
	res := &Result{Warnings: append([]string(nil), l.Warnings...)}
	var errs strictyaml.Errors
	for _, w := range Workloads(l) {
		for _, t := range r.templates {
			var buf bytes.Buffer
			if err := t.Execute(&buf, w); err != nil {
				return nil, fmt.Errorf("template %s: %w", t.Name(), err)
			}
			for _, doc := range splitDocuments(buf.Bytes()) {
				obj, err := decodeObject(t.Name(), doc)
				if err != nil {
					errs = append(errs, asErrors(err)...)
					continue
				}
				res.Objects = append(res.Objects, obj)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	if err := validateAll(res.Objects); err != nil {
		return nil, err
	}
	sortObjects(res.Objects)
	return res, nil
}

// splitDocuments splits a multi-document YAML stream and drops documents
// that hold only whitespace and comments.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, part := range bytes.Split(append([]byte("\n"), b...), []byte("\n---")) {
		if i := bytes.IndexByte(part, '\n'); i >= 0 && bytes.TrimSpace(part[:i]) == nil {
			part = part[i+1:]
		}
		if isBlank(part) {
			continue
		}
		for len(part) > 0 && part[0] == '\n' {
			part = part[1:]
		}
		docs = append(docs, append(bytes.TrimRight(part, " \n"), '\n'))
	}
	return docs
}

func isBlank(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func decodeObject(tmpl string, doc []byte) (*Object, error) {
	source := path.Join("templates", tmpl) + " (rendered)"
	var tm typeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, &strictyaml.Error{File: source, Message: "rendered invalid YAML: " + err.Error()}
	}
	for _, k := range kinds {
		if k.apiVersion != tm.APIVersion || k.kind != tm.Kind {
			continue
		}
		typed := k.new()
		if err := strictyaml.Decode(source, doc, typed); err != nil {
			return nil, err
		}
		return &Object{Kind: tm.Kind, Name: tm.Metadata.Name, Namespace: tm.Metadata.Namespace, Template: tmpl, YAML: doc, Typed: typed}, nil
	}
	return nil, &strictyaml.Error{File: source, Field: "kind", Message: fmt.Sprintf("mlscale does not know %s %s", tm.APIVersion, tm.Kind)}
}

func asErrors(err error) strictyaml.Errors {
	switch e := err.(type) {
	case *strictyaml.Error:
		return strictyaml.Errors{e}
	case strictyaml.Errors:
		return e
	}
	return strictyaml.Errors{{Message: err.Error()}}
}

func sortObjects(objs []*Object) {
	rank := map[string]int{}
	for i, k := range kinds {
		rank[k.kind] = i
	}
	sort.SliceStable(objs, func(i, j int) bool {
		if rank[objs[i].Kind] != rank[objs[j].Kind] {
			return rank[objs[i].Kind] < rank[objs[j].Kind]
		}
		return objs[i].Name < objs[j].Name
	})
}
