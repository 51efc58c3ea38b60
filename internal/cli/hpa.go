package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlscale/mlscale/internal/hpa/hpastate"
	"github.com/mlscale/mlscale/internal/output"
)

func init() { register(newHPACmd) }

func newHPACmd(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hpa",
		Short: "Evaluate HorizontalPodAutoscaler decisions exactly as kube-controller-manager takes them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Usagef("missing subcommand; see 'mlscale hpa --help'")
		},
	}
	cmd.AddCommand(newHPAEvalCmd(opts))
	return cmd
}

func newHPAEvalCmd(opts *Options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "eval -f STATE.yaml",
		Short: "Run one HPA controller reconcile over an HPAState snapshot and explain the decision",
		Long: `eval runs one reconcile of the HPA controller (Kubernetes 1.33-1.37) over a
kind: HPAState snapshot: the HPA, its target's /scale, the pods, what the
metrics APIs return and the controller's history. It prints the replica count
the controller writes, each metric's proposal, the conditions, the events and
the updated history (-o json|yaml), or explains the decision (-o text, the
default). See docs/hpa.md; examples are in testdata/hpa/.`,
		Example: `  mlscale hpa eval -f testdata/hpa/resource-cpu.yaml
  mlscale hpa eval -f state.yaml -o json
  mlscale hpa eval -f - -o yaml < state.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := opts.Format(output.Text, output.Table, output.JSON, output.YAML)
			if err != nil {
				return err
			}
			if file == "" {
				return Usagef("-f is required (a state file, or - for stdin)")
			}
			name, data, err := hpaReadInput(opts, file)
			if err != nil {
				return err
			}
			snap, err := hpastate.Decode(name, data)
			if err != nil {
				return err
			}
			res := snap.Run()
			return output.Write(opts.IO.Out, f, res, res.WriteText)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "HPAState file (- reads standard input)")
	return cmd
}

func hpaReadInput(opts *Options, file string) (string, []byte, error) {
	if file == "-" {
		data, err := io.ReadAll(opts.IO.In)
		if err != nil {
			return "", nil, fmt.Errorf("reading standard input: %w", err)
		}
		return "<stdin>", data, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", nil, err
	}
	return file, data, nil
}
