package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlscale/mlscale/internal/generate"
	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/profile"
)

func init() { register(newGenerateCmd) }

type generateOptions struct {
	file      string
	preset    string
	outDir    string
	templates string
}

func newGenerateCmd(opts *Options) *cobra.Command {
	var g generateOptions
	cmd := &cobra.Command{
		Use:   "generate [-f PROFILE | --preset NAME] [--out-dir DIR]",
		Short: "Render the Deployment, HPA, KEDA, PDB and monitoring manifests for a workload profile",
		Long: `Render the manifests for a workload profile: Deployment, Service, HPA
(autoscaling/v2) or KEDA ScaledObject and TriggerAuthentication,
PodDisruptionBudget, and for Pods metrics the ServiceMonitor and
prometheus-adapter rules that make the metric exist.

Every object is decoded into its typed Kubernetes struct and checked against
the API server's, the HPA's and KEDA's validation before anything is written.
Output is a YAML stream on stdout (-o table or yaml), a v1 List as JSON
(-o json), or one file per object plus a kustomization.yaml with --out-dir.`,
		Example: `  mlscale generate --preset llm-inference
  mlscale generate -f mlscale.yaml --out-dir deploy/
  mlscale generate -f - < profile.yaml | kubectl apply --dry-run=server -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.preset != "" && cmd.Flags().Changed("file") {
				return Usagef("use either -f or --preset, not both")
			}
			return runGenerate(opts, &g)
		},
	}
	cmd.Flags().StringVarP(&g.file, "file", "f", "mlscale.yaml", "workload profile (- for stdin)")
	cmd.Flags().StringVar(&g.preset, "preset", "", "render a built-in preset instead of a file: "+fmt.Sprint(profile.Presets()))
	cmd.Flags().StringVar(&g.outDir, "out-dir", "", "write one file per object and a kustomization.yaml into DIR")
	cmd.Flags().StringVar(&g.templates, "templates", "", "read templates from DIR instead of the embedded ones")
	_ = cmd.RegisterFlagCompletionFunc("preset", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return profile.Presets(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func runGenerate(opts *Options, g *generateOptions) error {
	format, err := opts.Format(output.Table, output.YAML, output.JSON)
	if err != nil {
		return err
	}
	if format == output.JSON && g.outDir != "" {
		return Usagef("-o json prints a List to stdout; it does not combine with --out-dir")
	}
	var (
		l *profile.Loaded
	)
	if g.preset != "" {
		src, perr := profile.Preset(g.preset)
		if perr != nil {
			return Usagef("%v", perr)
		}
		l, err = profile.Load("preset "+g.preset, src)
	} else {
		l, err = profile.LoadFile(g.file, opts.IO.In)
	}
	if err != nil {
		return err
	}
	r, err := generate.NewRenderer(generate.TemplatesFS(g.templates))
	if err != nil {
		return err
	}
	res, err := r.Render(l)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, "Warning: "+w)
	}
	if format == output.JSON {
		list, err := generate.List(res)
		if err != nil {
			return err
		}
		return output.WriteJSON(opts.IO.Out, list)
	}
	if g.outDir == "" {
		return generate.WriteStream(opts.IO.Out, res)
	}
	files, err := generate.WriteDir(g.outDir, res)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(opts.IO.ErrOut, "wrote "+f)
	}
	return nil
}
