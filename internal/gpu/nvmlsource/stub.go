//go:build !linux || !cgo

package nvmlsource

import (
	"fmt"

	"github.com/mlscale/mlscale/internal/gpu"
)

// Option configures Open.
type Option func(*options)

type options struct{ path string }

// WithLibraryPath loads NVML from path instead of libnvidia-ml.so.1.
func WithLibraryPath(path string) Option { return func(o *options) { o.path = path } }

// Supported reports whether this build can talk to NVML at all.
const Supported = false

// Open fails: this build has no NVML support.
func Open(...Option) (gpu.Source, error) {
	return nil, fmt.Errorf("%w: this mlscale was built without NVML support (it needs linux and cgo)", gpu.ErrUnavailable)
}
