package keda

import (
	"reflect"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

func TestTriggerAdvice(t *testing.T) {
	// The reference article's Prometheus trigger.
	article := kedav1alpha1.ScaleTriggers{Type: "prometheus", Metadata: map[string]string{
		"serverAddress": "http://prometheus-server.monitoring.svc.cluster.local:9090", "metricName": "gpu_utilization",
		"threshold": "70", "query": `avg(gpu_utilization{job="ml-inference"})`}}
	got := TriggerAdvice(article)
	if len(got) != 2 || got[0].Field != "metadata.metricName" || got[1].Field != "metadata.query" {
		t.Fatalf("article trigger: %+v", got)
	}
	value := article.DeepCopy()
	value.MetricType = autoscalingv2.ValueMetricType
	delete(value.Metadata, "metricName")
	if got := TriggerAdvice(*value); len(got) != 0 {
		t.Errorf("avg with metricType Value is the intended use: %+v", got)
	}
	sum := kedav1alpha1.ScaleTriggers{Type: "prometheus", Metadata: map[string]string{"query": "sum(gpu_utilization)"}}
	if got := TriggerAdvice(sum); len(got) != 0 {
		t.Errorf("sum(...): %+v", got)
	}
	rmq := kedav1alpha1.ScaleTriggers{Type: "rabbitmq", Metadata: map[string]string{"queueLength": "5"}}
	if got := TriggerAdvice(rmq); !reflect.DeepEqual(got, []Advice{{Field: "metadata.queueLength", Message: "dropped: KEDA no longer reads queueLength; use mode: QueueLength with value"}}) {
		t.Errorf("rabbitmq queueLength: %+v", got)
	}
	if got := DroppedMetadata("prometheus"); !reflect.DeepEqual(got, []string{"metricName"}) {
		t.Errorf("DroppedMetadata: %q", got)
	}
}
