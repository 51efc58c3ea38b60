package profile

import (
	"encoding/json"
	"reflect"

	"github.com/invopop/jsonschema"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// SchemaID is where editors find the schema (docs/schema in the repository).
const SchemaID = "https://mlscale.dev/schema/v1alpha1/workloadprofile.schema.json"

// Schema returns the JSON Schema of a WorkloadProfile, generated from the Go
// types so that it cannot drift from the decoder.
func Schema() ([]byte, error) {
	r := &jsonschema.Reflector{
		DoNotReference: false,
		ExpandedStruct: true,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			switch t {
			case reflect.TypeFor[resource.Quantity]():
				return &jsonschema.Schema{
					Description: "a Kubernetes quantity such as 500m, 2, 4Gi",
					OneOf:       []*jsonschema.Schema{{Type: "string", Pattern: `^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`}, {Type: "number"}},
				}
			case reflect.TypeFor[intstr.IntOrString]():
				return &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "integer"}, {Type: "string", Pattern: `^[0-9]+%$`}}}
			case reflect.TypeFor[metav1.Duration]():
				return &jsonschema.Schema{Type: "string", Description: "a duration such as 30s or 1m30s"}
			}
			return nil
		},
	}
	s := r.Reflect(&WorkloadProfile{})
	s.ID = SchemaID
	s.Title = "mlscale WorkloadProfile"
	s.Description = "One ML workload: container, resources, cold start, serving, SLO and autoscaling policy (apiVersion mlscale.dev/v1alpha1)."
	if p, ok := s.Properties.Get("apiVersion"); ok {
		p.Const = APIVersion
	}
	if p, ok := s.Properties.Get("kind"); ok {
		p.Const = Kind
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
