package strictyaml

import (
	"errors"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type sample struct {
	metav1.TypeMeta `json:",inline"`
	Name            string                                 `json:"name"`
	Count           int32                                  `json:"count,omitempty"`
	Ratio           float64                                `json:"ratio,omitempty"`
	Enabled         *bool                                  `json:"enabled,omitempty"`
	Timeout         metav1.Duration                        `json:"timeout,omitempty"`
	Requests        corev1.ResourceList                    `json:"requests,omitempty"`
	HPA             *autoscalingv2.HorizontalPodAutoscaler `json:"hpa,omitempty"`
	Tags            []string                               `json:"tags,omitempty"`
}

func TestDecodeValid(t *testing.T) {
	src := `apiVersion: v1
kind: Sample
name: web
count: 3
ratio: 1
enabled: true
timeout: 90s
requests: {cpu: 500m, nvidia.com/gpu: 1}
tags: [a, b]
hpa:
  metadata: {name: web}
  spec:
    maxReplicas: 10
    metrics:
      - type: Resource
        resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`
	var s sample
	if err := Decode("s.yaml", []byte(src), &s); err != nil {
		t.Fatal(err)
	}
	if s.Kind != "Sample" || s.Count != 3 || s.Ratio != 1 || !*s.Enabled || s.Timeout.Duration.Seconds() != 90 {
		t.Errorf("decoded %+v", s)
	}
	if q := s.Requests["nvidia.com/gpu"]; q.Value() != 1 {
		t.Errorf("gpu = %v", q.String())
	}
	if got := *s.HPA.Spec.Metrics[0].Resource.Target.AverageUtilization; got != 50 {
		t.Errorf("averageUtilization = %d", got)
	}
}

func TestDecodeErrorsNameFileLineField(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unknown top-level", "name: a\nnmae: b\n", "s.yaml:2:1: nmae: unknown field \"nmae\" (did you mean \"name\"?)"},
		{"unknown nested k8s field", "name: a\nhpa:\n  spec:\n    maxReplica: 3\n", "s.yaml:4:5: hpa.spec.maxReplica: unknown field \"maxReplica\" (did you mean \"maxReplicas\"?)"},
		{"wrong type int", "name: a\ncount: three\n", "s.yaml:2:8: count: expected an integer, got string \"three\""},
		{"wrong type list", "name: a\nhpa:\n  spec:\n    metrics: {type: Pods}\n", "s.yaml:4:14: hpa.spec.metrics: expected a list, got a mapping"},
		{"bad quantity", "name: a\nrequests: {cpu: lots}\n", "s.yaml:2:17: requests.cpu: invalid value lots: quantities must match the regular expression"},
		{"bad duration", "name: a\ntimeout: soon\n", "s.yaml:2:10: timeout: invalid value soon: time: invalid duration \"soon\""},
		{"duplicate", "name: a\nname: b\n", "s.yaml:2:1: name: duplicate field"},
		{"bool", "enabled: yes please\n", "s.yaml:1:10: enabled: expected true or false"},
		{"list index in path", "hpa:\n  spec:\n    metrics:\n      - type: Pods\n        pods: {metric: {nam: x}}\n", "s.yaml:5:25: hpa.spec.metrics[0].pods.metric.nam: unknown field \"nam\""},
		{"syntax", "name: [a\n", "s.yaml:"},
		{"two docs", "name: a\n---\nname: b\n", "more than one YAML document"},
		{"empty", "", "s.yaml: empty document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s sample
			err := Decode("s.yaml", []byte(c.src), &s)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, c.want)
			}
			var se *Error
			var ses Errors
			if !errors.As(err, &se) && !errors.As(err, &ses) {
				t.Errorf("error is %T, want *Error or Errors", err)
			}
		})
	}
}

func TestAllStructuralErrorsReported(t *testing.T) {
	var s sample
	err := Decode("s.yaml", []byte("foo: 1\ncount: x\nbar: 2\n"), &s)
	var es Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
}

func TestDocErrorfLocatesFieldOrParent(t *testing.T) {
	doc, err := DecodeDoc("p.yaml", []byte("name: a\nhpa:\n  spec:\n    minReplicas: 5\n    maxReplicas: 2\n"), &sample{})
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Errorf("hpa.spec.minReplicas", "must be <= maxReplicas (%d)", 2).Error(); got != "p.yaml:4:18: hpa.spec.minReplicas: must be <= maxReplicas (2)" {
		t.Errorf("got %q", got)
	}
	// absent field: nearest parent's position
	if line, _ := doc.Pos("hpa.spec.behavior.scaleUp"); line != 3 {
		t.Errorf("parent line = %d, want 3", line)
	}
	if doc.Has("hpa.spec.behavior") || !doc.Has("hpa.spec.maxReplicas") {
		t.Error("Has is wrong")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("name: a\ncount: 1\n"))
	f.Add([]byte("hpa: {spec: {metrics: [{type: Pods}]}}"))
	f.Add([]byte("requests: {cpu: 1e3}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s sample
		_ = Decode("f.yaml", data, &s)
	})
}
