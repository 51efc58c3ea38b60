package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlscale/mlscale/internal/profile"
)

func init() { register(newInitCmd) }

func newInitCmd(opts *Options) *cobra.Command {
	var (
		io    profile.InitOptions
		file  string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "init [--preset NAME] [-f FILE]",
		Short: "Write a workload profile from a preset",
		Long: `Write a workload profile (default mlscale.yaml) from a preset, with the
answers given by flags. On a terminal without --preset, a form asks the same
questions with the same defaults. An existing file is never overwritten
without --force.`,
		Example: `  mlscale init --preset llm-inference --name chat --namespace prod
  mlscale init --preset batch-queue -f worker.yaml --max 40`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if io.Preset == "" {
				if opts.IO.IsStdinTTY() && opts.IO.IsStdoutTTY() {
					answers, err := runInitForm(cmd.Context(), opts.IO, io)
					if err != nil {
						return err
					}
					io = answers
				} else {
					io.Preset = profile.DefaultPreset
				}
			}
			if !force {
				if _, err := os.Stat(file); err == nil {
					return fmt.Errorf("%s already exists; use --force to overwrite it", file)
				} else if !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			out, err := io.Render()
			if err != nil {
				if _, perr := profile.Preset(io.Preset); perr != nil {
					return Usagef("%v", perr)
				}
				return err
			}
			if file == "-" {
				_, err = opts.IO.Out.Write(out)
				return err
			}
			if err := os.WriteFile(file, out, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(opts.IO.ErrOut, "wrote %s (preset %s); next: mlscale generate -f %s\n", file, io.Preset, file)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&io.Preset, "preset", "", fmt.Sprintf("preset: %v", profile.Presets()))
	f.StringVarP(&file, "file", "f", "mlscale.yaml", "profile to write (- for stdout)")
	f.BoolVar(&force, "force", false, "overwrite an existing file")
	f.StringVar(&io.Name, "name", "", "workload name (default: the preset's)")
	f.StringVar(&io.Namespace, "namespace", "", "namespace (default: the preset's)")
	f.StringVar(&io.Image, "image", "", "container image (default: the preset's)")
	f.Int64Var(&io.GPUs, "gpus", 0, "GPUs per replica (default: the preset's)")
	f.Int32Var(&io.Min, "min", 0, "minimum replicas (default: the preset's)")
	f.Int32Var(&io.Max, "max", 0, "maximum replicas (default: the preset's)")
	_ = cmd.RegisterFlagCompletionFunc("preset", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return profile.Presets(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}
