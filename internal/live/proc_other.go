//go:build !unix

package live

import "os/exec"

func setProcAttr(*exec.Cmd) {}

// signalGroup has no SIGTERM outside unix: both steps kill.
func signalGroup(c *exec.Cmd, _ bool) error {
	if c.Process == nil {
		return nil
	}
	return c.Process.Kill()
}
