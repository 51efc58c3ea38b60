package generate

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/mlscale/mlscale/templates"
)

func readTemplate(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(templates.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// overlay returns the embedded templates with one file replaced or added.
func overlay(t *testing.T, name, content string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	entries, _ := fs.ReadDir(templates.FS, ".")
	for _, e := range entries {
		b, _ := fs.ReadFile(templates.FS, e.Name())
		m[e.Name()] = &fstest.MapFile{Data: b}
	}
	m[name] = &fstest.MapFile{Data: []byte(content)}
	return m
}
