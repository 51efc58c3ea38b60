package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mlscale/mlscale/internal/output"
	"github.com/mlscale/mlscale/internal/version"
)

func init() { register(newVersionCmd) }

func newVersionCmd(opts *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := opts.Format(output.Table, output.JSON, output.YAML)
			if err != nil {
				return err
			}
			info := version.Get()
			return output.Write(opts.IO.Out, f, info, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, info.String())
				return err
			})
		},
	}
}
