//go:build unix && !linux

package live

import "syscall"

func setPdeathsig(*syscall.SysProcAttr) {}
