package keda

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	v2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlscale/mlscale/internal/keda/scalers"
)

// Version is a KEDA 2.x release line; Minor picks the version deltas.
// "2.20" means the newest patch of that line (v2.20.2), "2.21" is main.
type Version struct{ Minor int }

// DefaultVersion is KEDA 2.20 (v2.20.2).
var DefaultVersion = Version{Minor: 20}

// ParseVersion accepts "2.14" … "2.21".
func ParseVersion(s string) (Version, error) {
	if s == "" {
		return DefaultVersion, nil
	}
	rest, ok := strings.CutPrefix(s, "2.")
	n, err := strconv.Atoi(rest)
	if !ok || err != nil || n < 14 || n > 21 {
		return Version{}, fmt.Errorf("unsupported KEDA version %q: want \"2.14\" … \"2.21\"", s)
	}
	return Version{Minor: n}, nil
}

func (v Version) String() string { return "2." + strconv.Itoa(v.Minor) }

// Release is the version string KEDA puts in the app.kubernetes.io/version
// label of its HPA.
func (v Version) Release() string {
	switch v.Minor {
	case 20:
		return "2.20.2"
	case 21:
		return "main"
	default:
		return "2." + strconv.Itoa(v.Minor) + ".0"
	}
}

// Defaults KEDA applies.
const (
	DefaultPollingInterval = 30
	DefaultCooldownPeriod  = 300
	DefaultMaxReplicas     = 100
	CompositeMetricName    = "composite-metric"
)

// Options are the inputs of Compile that are not in the ScaledObject.
type Options struct {
	Version Version
	// AuthParams are the resolved TriggerAuthentication parameters, by
	// trigger index (nil entries: none resolved).
	AuthParams []map[string]string
}

// Trigger is one compiled trigger.
type Trigger struct {
	Index      int
	Type       string
	Name       string
	MetricType v2.MetricTargetType // the External target type (AverageValue default)
	UseCached  bool
	Scaler     scalers.Scaler
	External   bool
	MetricName string
	Target     float64
}

// FallbackSpec is the compiled spec.fallback.
type FallbackSpec struct {
	FailureThreshold int32
	Replicas         int32
	Behavior         string
	// Valid is HasValidFallback: thresholds ≥ 0 and, with scalingModifiers,
	// an integer target > 0. An invalid fallback is ignored at runtime.
	Valid bool
}

// Modifiers is the compiled advanced.scalingModifiers.
type Modifiers struct {
	Formula          string // as KEDA rewrites it (float(...) wrapper)
	Target           float64
	ActivationTarget float64
	MetricType       v2.MetricTargetType
	program          *vm.Program
}

// Compiled is a validated ScaledObject ready to be evaluated. It is
// immutable; many States can share it.
type Compiled struct {
	SO        *v1alpha1.ScaledObject
	Version   Version
	Name      string
	Namespace string
	HPAName   string
	// TargetKind is KEDA's GVK string of the scale target, e.g.
	// "apps/v1.Deployment", used in event messages.
	TargetKind      string
	Min             int32
	Max             int32
	Idle            *int32
	PollingInterval time.Duration
	Cooldown        time.Duration
	InitialCooldown time.Duration
	Created         time.Time
	Triggers        []Trigger
	Fallback        *FallbackSpec
	Modifiers       *Modifiers
	AllCPUMemory    bool

	Paused          bool   // paused or paused-replicas
	PausedReplicas  *int32 // paused-replicas
	PauseScaleIn    bool
	PauseScaleOut   bool
	ForceActivation bool

	// Warnings are the admission webhook's warnings (v2.20+).
	Warnings []string

	externalCount int
}

// ValidationError is a rejection by one of KEDA's layers.
type ValidationError struct {
	// Layer is "CRD" (schema and CEL rules), "webhook" (the admission
	// webhook) or "controller" (the reconciler and scaler builders, which
	// set Ready=False ScaledObjectCheckFailed).
	Layer string
	// Field is the JSON path of the offending field, when one is known.
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field != "" {
		return e.Layer + ": " + e.Field + ": " + e.Message
	}
	return e.Layer + ": " + e.Message
}

func crdErr(field, msg string) error {
	return &ValidationError{Layer: "CRD", Field: field, Message: msg}
}
func webhookErr(field string, err error) error {
	return &ValidationError{Layer: "webhook", Field: field, Message: err.Error()}
}

// GVKString is KEDA's group/version.Kind of a scale target reference.
func GVKString(apiVersion, kind string) string {
	group, version := "apps", "v1"
	if apiVersion != "" {
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err == nil {
			group, version = gv.Group, gv.Version
		}
	}
	if kind == "" {
		kind = "Deployment"
	}
	return group + "/" + version + "." + kind
}

// Compile validates so as KEDA's CRD, admission webhook and reconciler
// would (in that order), applies KEDA's defaults, builds every scaler and
// compiles the scalingModifiers formula.
func Compile(in *v1alpha1.ScaledObject, opts Options) (*Compiled, error) {
	if opts.Version.Minor == 0 {
		opts.Version = DefaultVersion
	}
	so := in.DeepCopy()
	v := opts.Version.Minor
	if err := validateCRD(so, v); err != nil {
		return nil, err
	}
	// CRD default
	if so.Spec.Fallback != nil && so.Spec.Fallback.Behavior == "" {
		so.Spec.Fallback.Behavior = v1alpha1.FallbackBehaviorStatic
	}
	c := &Compiled{
		SO:        so,
		Version:   opts.Version,
		Name:      so.Name,
		Namespace: so.Namespace,
		HPAName:   hpaName(so),
		Created:   so.CreationTimestamp.Time,
		Idle:      so.Spec.IdleReplicaCount,
		Max:       so.GetHPAMaxReplicas(),
	}
	c.TargetKind = GVKString(so.Spec.ScaleTargetRef.APIVersion, so.Spec.ScaleTargetRef.Kind)
	if so.Spec.MinReplicaCount != nil {
		c.Min = *so.Spec.MinReplicaCount
	}
	c.PollingInterval = DefaultPollingInterval * time.Second
	if so.Spec.PollingInterval != nil {
		c.PollingInterval = time.Duration(*so.Spec.PollingInterval) * time.Second
	}
	c.Cooldown = DefaultCooldownPeriod * time.Second
	if so.Spec.CooldownPeriod != nil {
		c.Cooldown = time.Duration(*so.Spec.CooldownPeriod) * time.Second
	}
	if so.Spec.InitialCooldownPeriod != nil {
		c.InitialCooldown = time.Duration(*so.Spec.InitialCooldownPeriod) * time.Second
	}
	c.Paused = so.NeedToBePausedByAnnotation()
	if v >= 18 {
		c.PauseScaleIn = so.NeedToPauseScaleIn()
		c.PauseScaleOut = so.NeedToPauseScaleOut()
		c.ForceActivation = so.NeedToForceActivation()
	}

	warnings, err := validateWebhook(so, v)
	if err != nil {
		return nil, err
	}
	c.Warnings = warnings

	// The reconciler.
	if pr, ok := so.Annotations[v1alpha1.PausedReplicasAnnotation]; ok {
		n, err := strconv.ParseInt(pr, 10, 32)
		if err != nil {
			return nil, &ValidationError{Layer: "controller", Field: "metadata.annotations[" + v1alpha1.PausedReplicasAnnotation + "]",
				Message: "failed to scale target to paused replica count: failed to parse paused replica count: " + err.Error()}
		}
		p := int32(n)
		c.PausedReplicas = &p
	}
	if err := v1alpha1.CheckReplicaCountBoundsAreValid(so); err != nil {
		return nil, &ValidationError{Layer: "controller", Field: "spec", Message: "ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification: " + err.Error()}
	}
	if err := v1alpha1.ValidateTriggers(so.Spec.Triggers); err != nil {
		return nil, &ValidationError{Layer: "controller", Field: "spec.triggers", Message: "ScaledObject doesn't have correct triggers specification: " + err.Error()}
	}
	if err := c.buildTriggers(opts); err != nil {
		return nil, err
	}
	if err := c.buildModifiers(); err != nil {
		return nil, err
	}
	if so.Spec.Fallback != nil {
		f := so.Spec.Fallback
		valid := f.FailureThreshold >= 0 && f.Replicas >= 0
		if c.Modifiers != nil {
			n, err := strconv.ParseInt(so.Spec.Advanced.ScalingModifiers.Target, 10, 64)
			valid = valid && err == nil && n > 0
		}
		behavior := f.Behavior
		if v < 17 {
			behavior = v1alpha1.FallbackBehaviorStatic
		}
		c.Fallback = &FallbackSpec{FailureThreshold: f.FailureThreshold, Replicas: f.Replicas, Behavior: behavior, Valid: valid}
	}
	return c, nil
}

func hpaName(so *v1alpha1.ScaledObject) string {
	if so.Spec.Advanced != nil && so.Spec.Advanced.HorizontalPodAutoscalerConfig != nil && so.Spec.Advanced.HorizontalPodAutoscalerConfig.Name != "" {
		return so.Spec.Advanced.HorizontalPodAutoscalerConfig.Name
	}
	return "keda-hpa-" + so.Name
}

func (c *Compiled) buildTriggers(opts Options) error {
	so := c.SO
	c.Triggers = make([]Trigger, len(so.Spec.Triggers))
	cpuMem := 0
	seen := map[string]bool{}
	for i, t := range so.Spec.Triggers {
		var auth map[string]string
		if i < len(opts.AuthParams) {
			auth = opts.AuthParams[i]
		}
		s, err := scalers.New(scalers.Config{
			Type: t.Type, Name: t.Name, Index: i, Metadata: t.Metadata, AuthParams: auth,
			HasAuthRef: t.AuthenticationRef != nil && auth == nil,
			MetricType: t.MetricType, Minor: c.Version.Minor,
		})
		if err != nil {
			return &ValidationError{Layer: "controller", Field: fmt.Sprintf("spec.triggers[%d]", i),
				Message: "failed to ensure HPA is correctly created for ScaledObject: " + err.Error()}
		}
		tr := Trigger{Index: i, Type: t.Type, Name: t.Name, UseCached: t.UseCachedMetrics, Scaler: s,
			External: s.Kind() == scalers.External, MetricName: s.MetricName(), Target: s.TargetValue()}
		tr.MetricType = t.MetricType
		if tr.MetricType == "" {
			tr.MetricType = v2.AverageValueMetricType
		}
		if tr.External {
			if seen[tr.MetricName] {
				return &ValidationError{Layer: "controller", Field: fmt.Sprintf("spec.triggers[%d]", i),
					Message: fmt.Sprintf("failed to ensure HPA is correctly created for ScaledObject: metricName %s defined multiple times in ScaledObject %s", tr.MetricName, so.Name)}
			}
			seen[tr.MetricName] = true
			c.externalCount++
		} else {
			cpuMem++
		}
		c.Triggers[i] = tr
	}
	c.AllCPUMemory = len(so.Spec.Triggers) <= cpuMem
	return nil
}

func (c *Compiled) buildModifiers() error {
	so := c.SO
	if !so.IsUsingModifiers() {
		return nil
	}
	// KEDA validates and compiles on a copy; it rewrites the formula.
	cp := so.DeepCopy()
	program, err := v1alpha1.ValidateAndCompileScalingModifiers(cp)
	if err != nil {
		return &ValidationError{Layer: "controller", Field: "spec.advanced.scalingModifiers", Message: "failed to ensure HPA is correctly created for ScaledObject: " + err.Error()}
	}
	sm := cp.Spec.Advanced.ScalingModifiers
	m := &Modifiers{Formula: sm.Formula, MetricType: sm.MetricType, program: program}
	if m.MetricType == "" {
		m.MetricType = v2.AverageValueMetricType
	}
	m.Target, _ = strconv.ParseFloat(sm.Target, 64)
	if sm.ActivationTarget != "" {
		a, err := strconv.ParseFloat(sm.ActivationTarget, 64)
		if err != nil {
			return &ValidationError{Layer: "controller", Field: "spec.advanced.scalingModifiers.activationTarget",
				Message: "error getting state of scaledObject: scalingModifiers.ActivationTarget parsing error " + err.Error()}
		}
		m.ActivationTarget = a
	}
	c.Modifiers = m
	return nil
}

// runFormula evaluates the formula like KEDA's scale handler: env maps
// trigger names to values (nil for a trigger that falls back under the
// scalingModifiers behavior).
func (m *Modifiers) run(env map[string]any) (any, error) {
	return expr.Run(m.program, env)
}

// ExternalMetricNames lists the External metric names in trigger order
// (status.externalMetricNames).
func (c *Compiled) ExternalMetricNames() []string {
	var out []string
	for _, t := range c.Triggers {
		if t.External {
			out = append(out, t.MetricName)
		}
	}
	return out
}

// TriggerByMetric returns the index of the trigger serving metric name,
// or -1.
func (c *Compiled) TriggerByMetric(name string) int {
	for i := range c.Triggers {
		if c.Triggers[i].External && strings.EqualFold(c.Triggers[i].MetricName, name) {
			return i
		}
	}
	return -1
}
