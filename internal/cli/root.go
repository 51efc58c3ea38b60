// Package cli holds mlscale's cobra commands. Commands are thin: they parse
// flags, call one internal package and print through the injected streams.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlscale/mlscale/internal/iostreams"
	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/version"
)

// Options are the global flags every command sees.
type Options struct {
	IO     *iostreams.IOStreams
	Output string
}

// Format validates the global -o flag against what a command accepts.
func (o *Options) Format(allowed ...output.Format) (output.Format, error) {
	f, err := output.Parse(o.Output, allowed...)
	if err != nil {
		return "", &UsageError{Err: err}
	}
	return f, nil
}

// subcommands is the list of constructors for the root's children; each
// command file appends to it in init so that adding a command touches one file.
var subcommands []func(*Options) *cobra.Command

func register(f func(*Options) *cobra.Command) { subcommands = append(subcommands, f) }

// NewRoot builds the command tree over the given streams.
func NewRoot(ios *iostreams.IOStreams) *cobra.Command {
	opts := &Options{IO: ios}
	root := &cobra.Command{
		Use:   "mlscale",
		Short: "Autoscaling for ML workloads on Kubernetes: generate, simulate, evaluate, diagnose",
		Long: `mlscale generates the HPA and KEDA manifests a careful engineer would write for
GPU inference services and queue-fed workers, simulates them against the real
controller algorithms, explains single controller decisions and diagnoses why
autoscaling does not work on a live cluster.`,
		Version:       version.Get().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.PersistentFlags().StringVarP(&opts.Output, "output", "o", "table", "output format: table|json|yaml (some commands accept more)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	for _, f := range subcommands {
		root.AddCommand(f(opts))
	}
	return root
}

// Run executes args against a fresh command tree and returns the exit code,
// printing any error once on ErrOut.
func Run(ctx context.Context, ios *iostreams.IOStreams, args []string) int {
	root := NewRoot(ios)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsage(err) {
		err = &UsageError{Err: fmt.Errorf("%w\nRun 'mlscale --help' for usage.", err)}
	}
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("%w: %w", errInterrupted, err)
	}
	if err != nil && err.Error() != "" {
		fmt.Fprintln(ios.ErrOut, "Error: "+err.Error())
	}
	return exitCode(err)
}

// isCobraUsage recognises cobra's own argument errors (unknown command,
// wrong number of args), which it returns as plain errors.
func isCobraUsage(err error) bool {
	var ue *UsageError
	if errors.As(err, &ue) {
		return false
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.Contains(msg, "arg(s)") ||
		strings.HasPrefix(msg, "invalid argument")
}

// Main runs the process: real streams, SIGINT cancels the context.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return Run(ctx, iostreams.System(), os.Args[1:])
}
