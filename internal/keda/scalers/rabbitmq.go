package scalers

import (
	"fmt"
	"net/url"
	"slices"

	v2 "k8s.io/api/autoscaling/v2"
)

const (
	rmqQueueLength  = "QueueLength"
	rmqMessageRate  = "MessageRate"
	rmqDeliverGet   = "DeliverGetRate"
	rmqRatio        = "PublishedToDeliveredRatio"
	rmqETA          = "ExpectedQueueConsumptionTime"
	rmqUnknown      = "Unknown"
	rmqDefaultValue = 20
)

// rabbitMQMeta carries the parameters of KEDA's rabbitmq trigger that change
// a decision. Names, sources and defaults are KEDA's.
type rabbitMQMeta struct {
	TriggerIndex          int
	QueueName             string  `keda:"name=queueName, order=triggerMetadata"`
	Mode                  string  `keda:"name=mode, order=triggerMetadata, optional, default=Unknown"`
	QueueLength           float64 `keda:"name=queueLength, order=triggerMetadata, optional"`
	Value                 float64 `keda:"name=value, order=triggerMetadata, optional"`
	ActivationValue       float64 `keda:"name=activationValue, order=triggerMetadata, optional"`
	Host                  string  `keda:"name=host, order=triggerMetadata;authParams;resolvedEnv, optional"`
	Protocol              string  `keda:"name=protocol, order=triggerMetadata;authParams, default=auto"`
	VhostName             string  `keda:"name=vhostName, order=triggerMetadata;authParams, optional"`
	UseRegex              bool    `keda:"name=useRegex, order=triggerMetadata, optional"`
	ExcludeUnacknowledged bool    `keda:"name=excludeUnacknowledged, order=triggerMetadata, optional"`
	PageSize              int64   `keda:"name=pageSize, order=triggerMetadata, default=100"`
	Operation             string  `keda:"name=operation, order=triggerMetadata, default=sum"`
	Timeout               string  `keda:"name=timeout, order=triggerMetadata, optional"`
	Username              string  `keda:"name=username, order=authParams;resolvedEnv, optional"`
	Password              string  `keda:"name=password, order=authParams;resolvedEnv, optional"`
	EnableTLS             string  `keda:"name=tls, order=authParams, default=disable"`

	hostAssumed bool
}

type rabbitMQ struct {
	m          rabbitMQMeta
	name       string
	spec       v2.MetricSpec
	target     float64
	minor      int
	protoNote  string
	metricType v2.MetricTargetType
}

func newRabbitMQ(c Config) (Scaler, error) {
	mt, err := c.externalTargetType()
	if err != nil {
		return nil, err
	}
	var m rabbitMQMeta
	if err := c.typed(&m); err != nil {
		return nil, fmt.Errorf("error parsing RabbitMQ metadata: error parsing RabbitMQ metadata: %w", err)
	}
	if m.Host == "" && !c.HasAuthRef {
		return nil, fmt.Errorf("error parsing RabbitMQ metadata: error parsing RabbitMQ metadata: missing required parameter %q in %v", "host", []string{"triggerMetadata", "authParams", "resolvedEnv"})
	}
	note := ""
	if m.Host == "" {
		m.hostAssumed = true
	}
	if err := m.validate(&note); err != nil {
		return nil, fmt.Errorf("error parsing RabbitMQ metadata: error parsing RabbitMQ metadata: %w", err)
	}
	s := &rabbitMQ{m: m, minor: c.Minor, protoNote: note, metricType: mt}
	s.name = metricName(c.Index, Normalize("rabbitmq-"+url.QueryEscape(m.QueueName)))
	t := targetMilli(mt, m.Value)
	s.spec = externalSpec(s.name, t)
	s.target = targetFloat(t)
	return s, nil
}

func (m *rabbitMQMeta) validate(note *string) error {
	if m.Protocol != "amqp" && m.Protocol != "http" && m.Protocol != "auto" {
		return fmt.Errorf("the protocol has to be either `amqp`, `http`, or `auto` but is `%s`", m.Protocol)
	}
	if m.EnableTLS != "enable" && m.EnableTLS != "disable" {
		return fmt.Errorf("incorrect value for TLS given: %s", m.EnableTLS)
	}
	if m.PageSize < 1 {
		return fmt.Errorf("pageSize should be 1 or greater")
	}
	if (m.Username != "" || m.Password != "") && (m.Username == "" || m.Password == "") {
		return fmt.Errorf("username and password must be given together")
	}
	if m.Protocol == "auto" {
		if m.hostAssumed {
			// The host lives in a TriggerAuthentication this state does
			// not include: KEDA would decide from its scheme.
			m.Protocol = "amqp"
			*note = "host comes from the authenticationRef and was not given; amqp assumed"
		} else {
			u, err := url.Parse(m.Host)
			if err != nil {
				return fmt.Errorf("can't parse host to find protocol: %w", err)
			}
			switch u.Scheme {
			case "amqp", "amqps":
				m.Protocol = "amqp"
			case "http", "https":
				m.Protocol = "http"
			default:
				return fmt.Errorf("unknown host URL scheme: `%s`", u.Scheme)
			}
		}
	}
	if m.UseRegex && m.Protocol != "http" {
		return fmt.Errorf("configure useRegex=true only with HTTP protocol")
	}
	if m.ExcludeUnacknowledged && m.Protocol != "http" {
		return fmt.Errorf("configure excludeUnacknowledged=true only with HTTP protocol")
	}
	// validateTrigger
	if m.QueueLength == 0 && m.Mode == rmqUnknown && m.Value == 0 {
		m.Mode = rmqQueueLength
		m.Value = rmqDefaultValue
		return nil
	}
	if m.QueueLength != 0 && (m.Mode != rmqUnknown || m.Value != 0) {
		return fmt.Errorf("queueLength is deprecated; use mode and value")
	}
	if m.QueueLength != 0 {
		m.Mode = rmqQueueLength
		m.Value = m.QueueLength
		return nil
	}
	if m.Mode == rmqUnknown {
		return fmt.Errorf("mode must be specified")
	}
	if m.Value == 0 {
		return fmt.Errorf("value must be specified")
	}
	all := []string{rmqQueueLength, rmqMessageRate, rmqDeliverGet, rmqRatio, rmqETA}
	if !slices.Contains(all, m.Mode) {
		return fmt.Errorf("trigger mode %s must be one of %s, %s, %s, %s or %s", m.Mode, rmqQueueLength, rmqMessageRate, rmqDeliverGet, rmqRatio, rmqETA)
	}
	if m.Mode != rmqQueueLength && m.Protocol != "http" {
		return fmt.Errorf("protocol %s not supported; must be HTTP to use trigger mode %s", m.Protocol, m.Mode)
	}
	if m.Protocol == "amqp" && m.Timeout != "" && m.Timeout != "0" {
		return fmt.Errorf("AMQP protocol doesn't support custom timeouts: %s", m.Timeout)
	}
	return nil
}

func (s *rabbitMQ) Type() string              { return "rabbitmq" }
func (s *rabbitMQ) Kind() Kind                { return External }
func (s *rabbitMQ) MetricName() string        { return s.name }
func (s *rabbitMQ) MetricSpec() v2.MetricSpec { return s.spec }
func (s *rabbitMQ) TargetValue() float64      { return s.target }

// Protocol is the protocol KEDA settled on (amqp or http).
func (s *rabbitMQ) Protocol() string { return s.m.Protocol }

// messages is the queue depth as KEDA counts it: amqp's passive declare sees
// ready messages only; http sees ready + unacked unless excludeUnacknowledged.
func (s *rabbitMQ) counts(r *RabbitMQReading) (messages int64, publish, deliver float64) {
	if s.m.Protocol == "http" {
		if s.m.ExcludeUnacknowledged {
			return r.MessagesReady, r.PublishRate, r.DeliverRate
		}
		return r.MessagesReady + r.MessagesUnacknowledged, r.PublishRate, r.DeliverRate
	}
	return r.MessagesReady, 0, 0
}

func (s *rabbitMQ) Get(r *Reading) Output {
	if r.Failed {
		return Output{Err: r.Err}
	}
	if r.RabbitMQ == nil {
		return missing("rabbitmq")
	}
	messages, publish, deliver := s.counts(r.RabbitMQ)
	act := s.m.ActivationValue
	msgs := float64(messages)
	switch s.m.Mode {
	case rmqMessageRate:
		return Output{Value: publish, Active: publish > act || msgs > act}
	case rmqDeliverGet:
		return Output{Value: deliver, Active: deliver > act}
	case rmqRatio:
		ratio := 0.0
		if publish > 0 && deliver == 0 {
			ratio = act
		} else if publish > 0 && deliver > 0 {
			ratio = publish / deliver
		}
		return Output{Value: ratio, Active: ratio > act || (publish > 0 && deliver == 0)}
	case rmqETA:
		if s.minor >= 21 {
			// main (v2.21): an empty queue is idle.
			eta := 0.0
			switch {
			case messages == 0:
			case deliver == 0:
				eta = act
			default:
				eta = (publish-deliver)/deliver + msgs/deliver
			}
			return Output{Value: eta, Active: eta > act || (deliver == 0 && messages > 0)}
		}
		eta := act
		if deliver != 0 {
			eta = (publish-deliver)/deliver + msgs/deliver
		}
		return Output{Value: eta, Active: eta > act || deliver == 0}
	default: // QueueLength
		return Output{Value: msgs, Active: msgs > act}
	}
}

func (s *rabbitMQ) Explain(r *Reading) string {
	if r.Failed || r.RabbitMQ == nil {
		return ""
	}
	rr := r.RabbitMQ
	messages, publish, deliver := s.counts(rr)
	var count string
	if s.m.Protocol == "http" {
		if s.m.ExcludeUnacknowledged {
			count = fmt.Sprintf("http, excludeUnacknowledged: messages = ready %d", rr.MessagesReady)
		} else {
			count = fmt.Sprintf("http: messages = ready %d + unacked %d = %d", rr.MessagesReady, rr.MessagesUnacknowledged, messages)
		}
	} else {
		count = fmt.Sprintf("amqp: messages = ready %d (unacked %d not counted by a passive declare; rates are 0)", rr.MessagesReady, rr.MessagesUnacknowledged)
	}
	if s.protoNote != "" {
		count += "; " + s.protoNote
	}
	o := s.Get(r)
	return fmt.Sprintf("%s; mode %s → metric %s (publish %s/s, deliver %s/s); active = %s > activationValue %s → %t",
		count, s.m.Mode, fmtF(o.Value), fmtF(publish), fmtF(deliver), fmtF(o.Value), fmtF(s.m.ActivationValue), o.Active)
}
