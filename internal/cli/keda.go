package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mlscale/mlscale/internal/keda/kedastate"
	"github.com/mlscale/mlscale/internal/output"
)

func init() { register(newKEDACmd) }

func newKEDACmd(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keda",
		Short: "Evaluate KEDA 2.20's decisions for a ScaledObject or ScaledJob",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newKEDAEvalCmd(opts))
	return cmd
}

func newKEDAEvalCmd(opts *Options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "eval -f STATE.yaml",
		Short: "Run one KEDA step (a poll, or the metrics server's answer to an HPA query) from a KEDAState snapshot",
		Long: `keda eval reads a kind: KEDAState snapshot (a ScaledObject or ScaledJob, the
scale target, what each trigger's upstream returns, and what KEDA remembers)
and prints what KEDA 2.20 does at that instant: each trigger's metric and
activity, the executor's decision (activate, cooldown, scale to zero or idle,
or leave it to the HPA), the HPA it generates, what its metrics server
answers, conditions and events, and the state after the step.

-f - reads the snapshot from standard input. -o text explains the decision.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := opts.Format(output.Table, output.JSON, output.YAML, output.Text)
			if err != nil {
				return err
			}
			if file == "" {
				return Usagef("keda eval needs -f STATE.yaml (or -f - for standard input)")
			}
			var in *kedastate.Input
			if file == "-" {
				data, rerr := io.ReadAll(opts.IO.In)
				if rerr != nil {
					return fmt.Errorf("reading standard input: %w", rerr)
				}
				in, err = kedastate.Load("<stdin>", data)
			} else {
				in, err = kedastate.LoadFile(file)
			}
			if err != nil {
				return err
			}
			r := kedastate.Eval(in, f == output.YAML)
			return output.Write(opts.IO.Out, f, r, func(w io.Writer) error {
				if f == output.Text {
					return r.WriteText(w)
				}
				return writeKEDATable(w, r)
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "KEDAState snapshot file (- for standard input)")
	return cmd
}

func writeKEDATable(w io.Writer, r *kedastate.Report) error {
	tw := output.NewTable(w)
	fmt.Fprintln(tw, "TRIGGER\tTYPE\tMETRIC\tVALUE\tTARGET\tACTIVE\tFALLBACK\tERROR")
	for _, m := range r.Metrics {
		v := "-"
		if m.Value != nil {
			v = fmt.Sprintf("%g", *m.Value)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%g %s\t%t\t%t\t%s\n", m.Trigger, m.Type, m.Name, v, m.Target, m.TargetType, m.Active, m.Fallback, m.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	scale := "-"
	if r.ScaleTo != nil {
		scale = fmt.Sprint(*r.ScaleTo)
	}
	if r.Jobs != nil {
		scale = fmt.Sprintf("%d jobs", r.Jobs.Create)
	}
	_, err := fmt.Fprintf(w, "\nactive=%t error=%t decision=%s scaleTo=%s\n", r.Active, r.Error, r.Decision, scale)
	if err == nil && r.QueryError != nil {
		_, err = fmt.Fprintf(w, "queryError: %s\n", *r.QueryError)
	}
	return err
}
