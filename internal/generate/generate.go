package generate

import (
	"io/fs"
	"os"

	"github.com/mlscale/mlscale/templates"
)

// TemplatesFS returns the embedded templates, or dir's when dir is set.
func TemplatesFS(dir string) fs.FS {
	if dir == "" {
		return templates.FS
	}
	return os.DirFS(dir)
}
