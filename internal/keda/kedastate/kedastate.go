// Package kedastate decodes `kind: KEDAState` snapshot files (the input of
// `mlscale keda eval`, see docs/keda.md) strictly, and turns them into the
// engine's inputs. Every error names the file, line and field.
package kedastate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/keda"
	"github.com/mlscale/mlscale/internal/keda/scalers"
	"github.com/mlscale/mlscale/internal/strictyaml"
)

// APIVersion and Kind of the file.
const (
	APIVersion = "mlscale.dev/v1alpha1"
	Kind       = "KEDAState"
)

// File is the document as written.
type File struct {
	APIVersion     string                 `json:"apiVersion"`
	Kind           string                 `json:"kind"`
	KEDAVersion    string                 `json:"kedaVersion,omitempty"`
	Step           string                 `json:"step,omitempty"`
	HPAQueryMetric string                 `json:"hpaQueryMetric,omitempty"`
	Now            string                 `json:"now"`
	ScaledObject   *v1alpha1.ScaledObject `json:"scaledObject,omitempty"`
	ScaledJob      *v1alpha1.ScaledJob    `json:"scaledJob,omitempty"`
	// TriggerAuthentications and Secrets (optional) resolve the
	// parameters a trigger takes from its authenticationRef, e.g. a
	// RabbitMQ host whose scheme picks the protocol.
	TriggerAuthentications []v1alpha1.TriggerAuthentication `json:"triggerAuthentications,omitempty"`
	Secrets                []corev1.Secret                  `json:"secrets,omitempty"`
	Target                 *TargetIn                        `json:"target,omitempty"`
	Jobs                   *JobsIn                          `json:"jobs,omitempty"`
	Readings               []ReadingIn                      `json:"readings,omitempty"`
	State                  StateIn                          `json:"state,omitempty"`
}

// TargetIn is the scale target.
type TargetIn struct {
	SpecReplicas  *int32 `json:"specReplicas,omitempty"`
	ReadyReplicas int32  `json:"readyReplicas"`
}

// JobsIn are a ScaledJob's Jobs.
type JobsIn struct {
	Running int64 `json:"running"`
	Pending int64 `json:"pending"`
}

// ReadingIn is one trigger's upstream, by trigger index.
type ReadingIn struct {
	RabbitMQ    *RabbitMQIn   `json:"rabbitmq,omitempty"`
	Kafka       *KafkaIn      `json:"kafka,omitempty"`
	Prometheus  *PrometheusIn `json:"prometheus,omitempty"`
	AWSSQSQueue *SQSIn        `json:"awsSqsQueue,omitempty"`
	Value       *float64      `json:"value,omitempty"`
	Error       *string       `json:"error,omitempty"`
}

// RabbitMQIn is the queue as the broker reports it.
type RabbitMQIn struct {
	MessagesReady          int64   `json:"messagesReady"`
	MessagesUnacknowledged int64   `json:"messagesUnacknowledged"`
	PublishRate            float64 `json:"publishRate"`
	DeliverRate            float64 `json:"deliverRate"`
}

// KafkaIn lists partitions.
type KafkaIn struct {
	Partitions []KafkaPartitionIn `json:"partitions"`
}

// KafkaPartitionIn is one partition: lag, or consumerOffset and
// latestOffset (consumerOffset -1: nothing committed).
type KafkaPartitionIn struct {
	Topic          string `json:"topic,omitempty"`
	Partition      int32  `json:"partition"`
	Lag            *int64 `json:"lag,omitempty"`
	ConsumerOffset *int64 `json:"consumerOffset,omitempty"`
	LatestOffset   *int64 `json:"latestOffset,omitempty"`
	// PreviousConsumerOffset: the offset the scaler saw at its previous
	// call (excludePersistentLag); omit for a fresh scaler.
	PreviousConsumerOffset *int64 `json:"previousConsumerOffset,omitempty"`
}

// PrometheusIn is the result vector.
type PrometheusIn struct {
	Series []float64 `json:"series"`
}

// SQSIn are the queue attributes.
type SQSIn struct {
	Visible  int64 `json:"visible"`
	InFlight int64 `json:"inFlight"`
	Delayed  int64 `json:"delayed"`
}

// StateIn is what KEDA remembers; the output's state has the same shape.
type StateIn struct {
	LastActiveTime *string                          `json:"lastActiveTime,omitempty"`
	Health         map[string]v1alpha1.HealthStatus `json:"health"`
	CachedRecords  map[string]RecordIn              `json:"cachedRecords"`
	Conditions     []v1alpha1.Condition             `json:"conditions,omitempty"`
}

// RecordIn is one useCachedMetrics record.
type RecordIn struct {
	Value    *float64 `json:"value,omitempty"`
	IsActive bool     `json:"isActive"`
	Error    string   `json:"error,omitempty"`
}

// Input is a decoded, validated snapshot ready for the engine.
type Input struct {
	File     File
	Doc      *strictyaml.Doc
	Version  keda.Version
	Now      time.Time
	Step     string
	SO       *keda.Compiled
	SJ       *keda.CompiledJob
	Target   keda.Target
	Jobs     keda.Jobs
	Readings []scalers.Reading
	State    keda.State
	// JobConditions are the ScaledJob's conditions before the poll.
	JobConditions keda.ConditionSet
}

// Steps.
const (
	StepPoll     = "poll"
	StepHPAQuery = "hpaQuery"
)

// LoadFile reads and decodes path.
func LoadFile(path string) (*Input, error) {
	var f File
	doc, err := strictyaml.DecodeFileDoc(path, &f)
	if err != nil {
		return nil, err
	}
	return build(doc, f)
}

// Load decodes data (named file in errors).
func Load(file string, data []byte) (*Input, error) {
	var f File
	doc, err := strictyaml.DecodeDoc(file, data, &f)
	if err != nil {
		return nil, err
	}
	return build(doc, f)
}

func build(doc *strictyaml.Doc, f File) (*Input, error) {
	in := &Input{File: f, Doc: doc}
	if f.APIVersion != APIVersion {
		return nil, doc.Errorf("apiVersion", "must be %q, got %q", APIVersion, f.APIVersion)
	}
	if f.Kind != Kind {
		return nil, doc.Errorf("kind", "must be %q, got %q", Kind, f.Kind)
	}
	v, err := keda.ParseVersion(f.KEDAVersion)
	if err != nil {
		return nil, doc.Errorf("kedaVersion", "%v", err)
	}
	in.Version = v
	switch f.Step {
	case "", StepPoll:
		in.Step = StepPoll
		if f.HPAQueryMetric != "" {
			return nil, doc.Errorf("hpaQueryMetric", "only allowed with step: hpaQuery")
		}
	case StepHPAQuery:
		in.Step = StepHPAQuery
		if f.HPAQueryMetric == "" {
			return nil, doc.Errorf("hpaQueryMetric", "required with step: hpaQuery")
		}
	default:
		return nil, doc.Errorf("step", "must be poll or hpaQuery, got %q", f.Step)
	}
	if f.Now == "" {
		return nil, doc.Errorf("now", "required: the instant of the step (RFC 3339)")
	}
	now, err := time.Parse(time.RFC3339, f.Now)
	if err != nil {
		return nil, doc.Errorf("now", "not an RFC 3339 time: %q", f.Now)
	}
	in.Now = now
	switch {
	case f.ScaledObject != nil && f.ScaledJob != nil:
		return nil, doc.Errorf("scaledJob", "give scaledObject or scaledJob, not both")
	case f.ScaledObject == nil && f.ScaledJob == nil:
		return nil, doc.Errorf("scaledObject", "required: the ScaledObject (or a scaledJob)")
	}
	auth, err := resolveAuth(doc, f)
	if err != nil {
		return nil, err
	}
	opts := keda.Options{Version: v, AuthParams: auth}
	var triggers []v1alpha1.ScaleTriggers
	if f.ScaledObject != nil {
		if err := checkObject(doc, "scaledObject", f.ScaledObject.APIVersion, f.ScaledObject.Kind, "ScaledObject"); err != nil {
			return nil, err
		}
		c, err := keda.Compile(f.ScaledObject, opts)
		if err != nil {
			return nil, located(doc, "scaledObject", err)
		}
		in.SO = c
		triggers = f.ScaledObject.Spec.Triggers
		if f.Jobs != nil {
			return nil, doc.Errorf("jobs", "only allowed with a scaledJob")
		}
		if f.Target == nil {
			return nil, doc.Errorf("target", "required: the scale target's specReplicas and readyReplicas")
		}
		in.Target = keda.Target{SpecReplicas: f.Target.SpecReplicas, ReadyReplicas: f.Target.ReadyReplicas}
	} else {
		if err := checkObject(doc, "scaledJob", f.ScaledJob.APIVersion, f.ScaledJob.Kind, "ScaledJob"); err != nil {
			return nil, err
		}
		if in.Step != StepPoll {
			return nil, doc.Errorf("step", "a ScaledJob has no HPA: only step: poll")
		}
		c, err := keda.CompileJob(f.ScaledJob, opts)
		if err != nil {
			return nil, located(doc, "scaledJob", err)
		}
		in.SJ = c
		triggers = f.ScaledJob.Spec.Triggers
		if f.Target != nil {
			return nil, doc.Errorf("target", "not used with a scaledJob (give jobs)")
		}
		if f.Jobs != nil {
			in.Jobs = keda.Jobs{Running: f.Jobs.Running, Pending: f.Jobs.Pending}
		}
	}
	if len(f.Readings) != len(triggers) {
		return nil, doc.Errorf("readings", "%d readings for %d triggers: give one per trigger, in trigger order", len(f.Readings), len(triggers))
	}
	in.Readings = make([]scalers.Reading, len(triggers))
	for i, r := range f.Readings {
		rd, err := reading(doc, i, triggers[i].Type, r)
		if err != nil {
			return nil, err
		}
		in.Readings[i] = rd
	}
	if err := in.state(doc, f.State); err != nil {
		return nil, err
	}
	return in, nil
}

func checkObject(doc *strictyaml.Doc, path, apiVersion, kind, want string) error {
	if apiVersion != "" && apiVersion != "keda.sh/v1alpha1" {
		return doc.Errorf(path+".apiVersion", "must be keda.sh/v1alpha1, got %q", apiVersion)
	}
	if kind != "" && kind != want {
		return doc.Errorf(path+".kind", "must be %s, got %q", want, kind)
	}
	return nil
}

// located places a KEDA rejection at its field.
func located(doc *strictyaml.Doc, base string, err error) error {
	var ve *keda.ValidationError
	if errors.As(err, &ve) {
		path := base
		if ve.Field != "" {
			path = base + "." + ve.Field
		}
		return doc.Errorf(path, "rejected by KEDA's %s: %s", layerName(ve.Layer), ve.Message)
	}
	return doc.Errorf(base, "%v", err)
}

func layerName(l string) string {
	switch l {
	case "CRD":
		return "CRD schema"
	case "webhook":
		return "admission webhook"
	default:
		return "controller (Ready=False ScaledObjectCheckFailed)"
	}
}

// resolveAuth resolves each trigger's authenticationRef against the
// file's TriggerAuthentications (secretTargetRef against its Secrets).
// A trigger whose reference is not in the file gets nil (assumed to
// resolve).
func resolveAuth(doc *strictyaml.Doc, f File) ([]map[string]string, error) {
	var triggers []v1alpha1.ScaleTriggers
	ns := ""
	if f.ScaledObject != nil {
		triggers, ns = f.ScaledObject.Spec.Triggers, f.ScaledObject.Namespace
	} else {
		triggers, ns = f.ScaledJob.Spec.Triggers, f.ScaledJob.Namespace
	}
	out := make([]map[string]string, len(triggers))
	for i, t := range triggers {
		if t.AuthenticationRef == nil {
			continue
		}
		var ta *v1alpha1.TriggerAuthentication
		for j := range f.TriggerAuthentications {
			if f.TriggerAuthentications[j].Name == t.AuthenticationRef.Name {
				ta = &f.TriggerAuthentications[j]
			}
		}
		if ta == nil {
			continue
		}
		params := map[string]string{}
		for k, ref := range ta.Spec.SecretTargetRef {
			var sec *corev1.Secret
			for j := range f.Secrets {
				if f.Secrets[j].Name == ref.Name && (f.Secrets[j].Namespace == "" || ns == "" || f.Secrets[j].Namespace == ns) {
					sec = &f.Secrets[j]
				}
			}
			if sec == nil {
				return nil, doc.Errorf(fmt.Sprintf("triggerAuthentications.spec.secretTargetRef[%d]", k), "secret %q is not in secrets", ref.Name)
			}
			if v, ok := sec.StringData[ref.Key]; ok {
				params[ref.Parameter] = v
			} else if b, ok := sec.Data[ref.Key]; ok {
				params[ref.Parameter] = string(b)
			} else {
				params[ref.Parameter] = "" // KEDA logs and resolves to ""
			}
		}
		out[i] = params
	}
	return out, nil
}

func reading(doc *strictyaml.Doc, i int, typ string, r ReadingIn) (scalers.Reading, error) {
	path := fmt.Sprintf("readings[%d]", i)
	n := 0
	for _, set := range []bool{r.RabbitMQ != nil, r.Kafka != nil, r.Prometheus != nil, r.AWSSQSQueue != nil, r.Value != nil, r.Error != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return scalers.Reading{}, doc.Errorf(path, "give exactly one of rabbitmq, kafka, prometheus, awsSqsQueue, value, error")
	}
	var want string
	var rd scalers.Reading
	switch {
	case r.Error != nil:
		return scalers.Reading{Failed: true, Err: *r.Error}, nil
	case r.RabbitMQ != nil:
		want = "rabbitmq"
		q := scalers.RabbitMQReading(*r.RabbitMQ)
		rd.RabbitMQ = &q
	case r.Kafka != nil:
		want = "kafka"
		k := &scalers.KafkaReading{}
		for j, p := range r.Kafka.Partitions {
			pp := scalers.KafkaPartition{Topic: p.Topic, Partition: p.Partition, ConsumerOffset: p.ConsumerOffset, LatestOffset: p.LatestOffset,
				PreviousConsumerOffset: p.PreviousConsumerOffset}
			switch {
			case p.Lag != nil && p.ConsumerOffset == nil && p.LatestOffset == nil && p.PreviousConsumerOffset == nil:
				pp.Lag = *p.Lag
			case p.Lag == nil && p.ConsumerOffset != nil:
			default:
				return rd, doc.Errorf(fmt.Sprintf("%s.kafka.partitions[%d]", path, j), "give lag, or consumerOffset (and latestOffset, previousConsumerOffset)")
			}
			k.Partitions = append(k.Partitions, pp)
		}
		rd.Kafka = k
	case r.Prometheus != nil:
		want = "prometheus"
		rd.Prometheus = &scalers.PrometheusReading{Series: r.Prometheus.Series}
	case r.AWSSQSQueue != nil:
		want = "aws-sqs-queue"
		q := scalers.SQSReading(*r.AWSSQSQueue)
		rd.SQS = &q
	case r.Value != nil:
		switch typ {
		case "rabbitmq", "kafka", "prometheus", "aws-sqs-queue", "cpu", "memory":
			return rd, doc.Errorf(path+".value", "trigger %d is %s: give its own reading shape, not value", i, typ)
		}
		v := *r.Value
		rd.Value = &v
		return rd, nil
	}
	if typ == "cpu" || typ == "memory" {
		return rd, doc.Errorf(path, "trigger %d is %s, which KEDA never reads: give value: 0 or error", i, typ)
	}
	if want != typ {
		return rd, doc.Errorf(path, "trigger %d is %s but the reading is for %s", i, typ, want)
	}
	return rd, nil
}

func (in *Input) state(doc *strictyaml.Doc, s StateIn) error {
	if in.SJ != nil {
		in.JobConditions = keda.InitialConditions()
		if err := readConditions(doc, s.Conditions, &in.JobConditions); err != nil {
			return err
		}
		if s.LastActiveTime != nil || len(s.Health) > 0 || len(s.CachedRecords) > 0 {
			return doc.Errorf("state", "a ScaledJob keeps only conditions here")
		}
		return nil
	}
	c := in.SO
	st := c.NewState()
	// A ScaledObject pasted from `kubectl get -o yaml` carries its status:
	// it seeds the state; the state block overrides it field by field.
	status := in.File.ScaledObject.Status
	if s.LastActiveTime == nil && status.LastActiveTime != nil {
		v := status.LastActiveTime.UTC().Format(time.RFC3339)
		s.LastActiveTime = &v
	}
	if s.Health == nil && len(status.Health) > 0 {
		s.Health = status.Health
	}
	if s.Conditions == nil && len(status.Conditions) > 0 {
		s.Conditions = status.Conditions
	}
	if s.LastActiveTime != nil {
		t, err := time.Parse(time.RFC3339, *s.LastActiveTime)
		if err != nil {
			return doc.Errorf("state.lastActiveTime", "not an RFC 3339 time: %q", *s.LastActiveTime)
		}
		st.LastActiveTime = t
	}
	for name, h := range s.Health {
		i := c.TriggerByMetric(name)
		if i < 0 {
			// KEDA prunes health entries of metrics the object no longer has.
			continue
		}
		var n int32
		if h.NumberOfFailures != nil {
			n = *h.NumberOfFailures
		}
		switch h.Status {
		case v1alpha1.HealthStatusHappy, v1alpha1.HealthStatusFailing:
		default:
			return doc.Errorf("state.health."+name+".status", "must be Happy or Failing, got %q", h.Status)
		}
		st.Health[i] = keda.Health{Failures: n, Status: h.Status}
	}
	for name, r := range s.CachedRecords {
		i := c.TriggerByMetric(name)
		if i < 0 {
			return doc.Errorf("state.cachedRecords."+name, "no trigger has this metric; known: %s", strings.Join(c.ExternalMetricNames(), ", "))
		}
		rec := keda.Record{Present: true, Active: r.IsActive, Err: r.Error}
		if r.Value != nil {
			rec.HasValue, rec.Value = true, *r.Value
		}
		if r.Value == nil && r.Error == "" {
			return doc.Errorf("state.cachedRecords."+name, "give value or error")
		}
		st.Cached[i] = rec
	}
	if err := readConditions(doc, s.Conditions, &st.Conditions); err != nil {
		return err
	}
	in.State = st
	return nil
}

func readConditions(doc *strictyaml.Doc, conds []v1alpha1.Condition, out *keda.ConditionSet) error {
	for j, cd := range conds {
		idx := -1
		for k, t := range []v1alpha1.ConditionType{v1alpha1.ConditionReady, v1alpha1.ConditionActive, v1alpha1.ConditionFallback, v1alpha1.ConditionPaused} {
			if cd.Type == t {
				idx = k
			}
		}
		if idx < 0 {
			continue // HPAActive and others are not read back by the loop
		}
		switch cd.Status {
		case metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown:
		default:
			return doc.Errorf(fmt.Sprintf("state.conditions[%d].status", j), "must be True, False or Unknown, got %q", cd.Status)
		}
		out[idx] = cd
	}
	return nil
}

// StateOut renders st in the input's format.
func StateOut(c *keda.Compiled, st *keda.State) StateIn {
	out := StateIn{Health: map[string]v1alpha1.HealthStatus{}, CachedRecords: map[string]RecordIn{}}
	if !st.LastActiveTime.IsZero() {
		s := st.LastActiveTime.UTC().Format(time.RFC3339)
		out.LastActiveTime = &s
	}
	for i, t := range c.Triggers {
		if !t.External {
			continue
		}
		if i < len(st.Health) && st.Health[i].Status != "" {
			n := st.Health[i].Failures
			out.Health[t.MetricName] = v1alpha1.HealthStatus{NumberOfFailures: &n, Status: st.Health[i].Status}
		}
		if i < len(st.Cached) && st.Cached[i].Present {
			r := st.Cached[i]
			ri := RecordIn{IsActive: r.Active, Error: r.Err}
			if r.HasValue {
				v := r.Value
				ri.Value = &v
			}
			out.CachedRecords[t.MetricName] = ri
		}
	}
	for _, cd := range st.Conditions {
		if cd.Type != "" {
			out.Conditions = append(out.Conditions, cd)
		}
	}
	return out
}

// StepInput is the Input of a ScaledObject step taken outside a snapshot
// file, as `mlscale run` takes them live: the same engine inputs LoadFile
// builds, so that Eval and WriteText explain the step exactly as `keda eval`
// would for the equivalent snapshot. step is StepPoll or StepHPAQuery (then
// hpaQueryMetric names the metric the HPA asks for). The target, readings
// and state are copied: evaluating the Input never touches the caller's.
func StepInput(c *keda.Compiled, step, hpaQueryMetric string, now time.Time, tgt keda.Target, readings []scalers.Reading, st *keda.State) *Input {
	in := &Input{Version: c.Version, Now: now, Step: step, SO: c, Target: tgt,
		Readings: append([]scalers.Reading(nil), readings...), State: st.Clone()}
	if tgt.SpecReplicas != nil {
		spec := *tgt.SpecReplicas
		in.Target.SpecReplicas = &spec
	}
	in.File.APIVersion, in.File.Kind = APIVersion, Kind
	in.File.KEDAVersion, in.File.Now = c.Version.String(), now.UTC().Format(time.RFC3339)
	in.File.Step, in.File.HPAQueryMetric = step, hpaQueryMetric
	return in
}
