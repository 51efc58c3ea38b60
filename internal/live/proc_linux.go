//go:build linux

package live

import "syscall"

// setPdeathsig kills the worker if mlscale itself dies without cleaning up.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
