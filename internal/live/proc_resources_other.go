//go:build !linux

package live

import (
	"errors"
	"runtime"
)

// procSupportErr says why local workers' cpu and memory cannot be read here.
var procSupportErr = errors.New(unsupportedReason(runtime.GOOS))

const clkTck = 100

type procReader struct{}

func (r *procReader) tree(int) ([]procCPU, error)  { return nil, procSupportErr }
func (r *procReader) memory([]int) (uint64, error) { return 0, procSupportErr }
