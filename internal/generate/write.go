package generate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// WriteStream writes all objects as one multi-document YAML stream.
func WriteStream(w io.Writer, res *Result) error {
	var buf bytes.Buffer
	for i, o := range res.Objects {
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(o.YAML)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Kustomization lists the files WriteDir writes.
func Kustomization(res *Result) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, o := range res.Objects {
		fmt.Fprintf(&b, "  - %s\n", o.FileName())
	}
	return b.Bytes()
}

// WriteDir writes one file per object and a kustomization.yaml into dir. It
// writes into a temporary directory beside dir first and moves the files in
// only when all were written, so a failure leaves no partial output.
func WriteDir(dir string, res *Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, ".mlscale-generate-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	files := map[string][]byte{"kustomization.yaml": Kustomization(res)}
	order := []string{}
	for _, o := range res.Objects {
		name := o.FileName()
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("two objects would be written to %s", name)
		}
		files[name] = o.YAML
		order = append(order, name)
	}
	order = append(order, "kustomization.yaml")
	for _, name := range order {
		if err := os.WriteFile(filepath.Join(tmp, name), files[name], 0o644); err != nil {
			return nil, err
		}
	}
	var written []string
	for _, name := range order {
		dst := filepath.Join(dir, name)
		if err := os.Rename(filepath.Join(tmp, name), dst); err != nil {
			return written, err
		}
		written = append(written, dst)
	}
	return written, nil
}

// List returns the objects as a v1 List, as `kubectl get -o json` prints
// several objects.
func List(res *Result) (map[string]any, error) {
	items := make([]any, 0, len(res.Objects))
	for _, o := range res.Objects {
		var obj map[string]any
		if err := yaml.Unmarshal(o.YAML, &obj); err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.Kind, o.Name, err)
		}
		items = append(items, obj)
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, nil
}
