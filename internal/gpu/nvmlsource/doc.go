// Package nvmlsource is the NVML adapter of gpu.Source, over
// github.com/NVIDIA/go-nvml. It needs cgo on Linux (go-nvml dlopens
// libnvidia-ml.so.1 at run time; nothing links against it at build time);
// elsewhere, and with CGO_ENABLED=0, Open returns gpu.ErrUnavailable.
//
// NVML aborts the process (a dynamic-linker "undefined symbol" error that
// recover cannot catch) when any call but Init is made after Init failed.
// Open is therefore the only way to reach NVML: it calls Init and returns a
// source only after Init succeeded; every method of that source checks that
// it is still open.
package nvmlsource
