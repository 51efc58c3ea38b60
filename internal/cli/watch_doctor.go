package cli

import (
	"context"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/mlscale/mlscale/internal/doctor"
	"github.com/mlscale/mlscale/internal/watch"
	"github.com/mlscale/mlscale/internal/watch/tui"
)

func init() { newDoctorFunc = watchDoctor }

// watchDoctor runs doctor on the selected autoscaler's namespace and keeps
// the findings about it (a ScaledObject's include its KEDA HPA's).
func watchDoctor(cfg *rest.Config) tui.DoctorFunc {
	return func(ctx context.Context, row *watch.Row) ([]tui.Finding, error) {
		c, err := doctor.NewClients(cfg)
		if err != nil {
			return nil, err
		}
		snap, err := doctor.Collect(ctx, c, doctor.Scope{Namespace: row.Namespace})
		if err != nil {
			return nil, err
		}
		return doctorFindings(doctor.Check(snap), row), nil
	}
}

func doctorFindings(all []doctor.Finding, row *watch.Row) []tui.Finding {
	kind := row.Kind
	if kind == watch.KindHPA {
		kind = "HorizontalPodAutoscaler"
	}
	var out []tui.Finding
	for _, f := range doctor.FindingsFor(all, doctor.Object{Kind: kind, Namespace: row.Namespace, Name: row.Name}, row.HPAName) {
		msg := f.Summary
		if f.Message != "" && !strings.Contains(msg, f.Message) {
			msg += " (controller: " + f.Message + ")"
		}
		out = append(out, tui.Finding{Severity: f.Severity.String(), Check: f.ID + " " + f.Title, Message: msg, Fix: f.Remediation})
	}
	return out
}
