package cli

import (
	"io"
	"os"
	"path/filepath"
)

// writeFileAtomic writes path through fill: into a temporary file beside
// it, renamed over path only when fill and the write succeed, so a failed
// run leaves no partial file.
func writeFileAtomic(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := fill(tmp); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
