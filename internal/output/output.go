// Package output writes a command's result as a table for people or as
// stable JSON/YAML for machines (`-o table|json|yaml`).
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

// Format is an output format name.
type Format string

// Known formats. Commands may accept further ones (text, sarif, junit).
const (
	Table Format = "table"
	JSON  Format = "json"
	YAML  Format = "yaml"
	Text  Format = "text"
)

// Parse checks a format against the ones a command accepts.
func Parse(s string, allowed ...Format) (Format, error) {
	for _, f := range allowed {
		if Format(s) == f {
			return f, nil
		}
	}
	names := make([]string, len(allowed))
	for i, f := range allowed {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown output format %q (want one of: %s)", s, strings.Join(names, ", "))
}

// WriteJSON writes v as indented JSON with a trailing newline. Struct field
// order makes it stable.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// WriteYAML writes v as YAML through its JSON form, so json tags govern both.
func WriteYAML(w io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Write dispatches on f; table and text call render.
func Write(w io.Writer, f Format, v any, render func(io.Writer) error) error {
	switch f {
	case JSON:
		return WriteJSON(w, v)
	case YAML:
		return WriteYAML(w, v)
	default:
		return render(w)
	}
}

// NewTable returns a tabwriter laid out like kubectl's tables.
func NewTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
}
