// Package scenarios holds the bundled simulation scenarios; default.yaml is
// what `mlscale simulate` runs without flags.
package scenarios

import "embed"

// FS holds the scenarios and the traces they replay.
//
//go:embed *.yaml traces profiles
var FS embed.FS

// Default is the scenario file run when none is given.
const Default = "default.yaml"
