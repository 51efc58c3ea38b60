// Package templates holds the manifest templates `mlscale generate` renders,
// embedded into the binary; `mlscale generate --templates DIR` reads a copy
// from DIR instead.
//
// Each *.yaml.tmpl file is a text/template executed once per workload (the
// online service, and in hybrid mode the queue worker) with the data type
// documented in internal/generate (Workload). A template that renders only
// whitespace produces no object. Functions: toYaml, indent, nindent, quote.
package templates

import "embed"

// FS holds the templates.
//
//go:embed *.yaml.tmpl
var FS embed.FS
