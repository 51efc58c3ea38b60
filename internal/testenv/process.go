package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is a control-plane component (kube-controller-manager, a KEDA
// operator) run as a subprocess that logs to a file.
type process struct {
	name string // in errors: "kube-controller-manager", "KEDA operator (namespace ml)"
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // set before done is closed
}

// startupTimeout bounds how long a component may take to log that it is
// ready.
const startupTimeout = 60 * time.Second

// startProcess starts cmd with its output in logPath and waits until
// ready(the log so far) holds; it fails with the log's tail when the
// process exits first or is not ready within startupTimeout. want names
// what ready looks for, in that error.
func startProcess(name string, cmd *exec.Cmd, logPath string, ready func([]byte) bool, want string) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	deadline := time.Now().Add(startupTimeout)
	for {
		b, _ := os.ReadFile(logPath)
		if ready(b) {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited during startup: %v\n%s", name, p.err, p.tail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = p.stop()
			return nil, fmt.Errorf("%s did not log %s within %s\n%s", name, want, startupTimeout, p.tail())
		}
	}
}

// tail is the end of the process's log, for error messages.
func (p *process) tail() string { return tails(filepath.Dir(p.log), filepath.Base(p.log)) }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after 10 s. Dying of either signal is
// not an error.
func (p *process) stop() error {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	var ee *exec.ExitError
	if p.err != nil && !(errors.As(p.err, &ee) && (strings.Contains(ee.String(), "terminated") || strings.Contains(ee.String(), "killed"))) {
		return fmt.Errorf("%s: %w", p.name, p.err)
	}
	return nil
}
