package scenario

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/yaml"

	"github.com/mlscale/mlscale/internal/strictyaml"
)

// Manifests are the rendered objects of one workload.
type Manifests struct {
	Deployment   *appsv1.Deployment
	HPA          *autoscalingv2.HorizontalPodAutoscaler
	ScaledObject *kedav1alpha1.ScaledObject
}

// LoadManifests reads every *.yaml/*.yml file in dir (or dir itself when it
// is a file) and keeps the Deployment named deployment and the HPA or
// ScaledObject that targets it. Each object is decoded strictly.
func LoadManifests(dir, deployment string) (*Manifests, error) {
	var files []string
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if fi.IsDir() {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				files = append(files, filepath.Join(dir, n))
			}
		}
	} else {
		files = []string{dir}
	}
	sort.Strings(files)
	m := &Manifests{}
	var errs strictyaml.Errors
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range bytes.Split(data, []byte("\n---")) {
			var tm struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &tm); err != nil || tm.Kind == "" {
				continue
			}
			var err error
			switch tm.Kind {
			case "Deployment":
				var d appsv1.Deployment
				if err = strictyaml.Decode(f, doc, &d); err == nil && d.Name == deployment {
					m.Deployment = &d
				}
			case "HorizontalPodAutoscaler":
				var h autoscalingv2.HorizontalPodAutoscaler
				if err = strictyaml.Decode(f, doc, &h); err == nil && h.Spec.ScaleTargetRef.Name == deployment {
					m.HPA = &h
				}
			case "ScaledObject":
				var s kedav1alpha1.ScaledObject
				if err = strictyaml.Decode(f, doc, &s); err == nil && s.Spec.ScaleTargetRef.Name == deployment {
					m.ScaledObject = &s
				}
			}
			if err != nil {
				if es, ok := err.(strictyaml.Errors); ok {
					errs = append(errs, es...)
				} else if e, ok := err.(*strictyaml.Error); ok {
					errs = append(errs, e)
				} else {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	if m.HPA != nil && m.ScaledObject != nil {
		return nil, fmt.Errorf("%s: both an HPA and a ScaledObject target %s; they would fight over its replicas", dir, deployment)
	}
	return m, nil
}
