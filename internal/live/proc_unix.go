//go:build unix

package live

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the worker in its own process group, so that a signal
// reaches the whole worker (a shell and its children).
func setProcAttr(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(c.SysProcAttr)
}

func signalGroup(c *exec.Cmd, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	if c.Process == nil {
		return nil
	}
	return syscall.Kill(-c.Process.Pid, sig)
}
