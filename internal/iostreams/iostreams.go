// Package iostreams carries a command's standard streams, environment and
// clock so that every command can run in-process under test.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// IOStreams is everything a command may read from or write to outside its
// arguments.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// Getenv reads the environment (os.Getenv by default).
	Getenv func(string) string
	// Now is the clock (time.Now by default).
	Now func() time.Time

	stdinTTY, stdoutTTY, stderrTTY bool
}

// System returns the process's real streams.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		Getenv: os.Getenv, Now: time.Now,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
	}
}

// Test returns streams backed by buffers, a fixed clock and an empty
// environment. None of them is a terminal.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	ios = &IOStreams{
		In: in, Out: out, ErrOut: errOut,
		Getenv: func(string) string { return "" },
		Now:    func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	return ios, in, out, errOut
}

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetTTY fakes terminals in tests.
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// ColorEnabled reports whether colour escapes should be written to stdout:
// a terminal, NO_COLOR unset and TERM not "dumb".
func (s *IOStreams) ColorEnabled() bool {
	if !s.stdoutTTY || s.env("NO_COLOR") != "" {
		return false
	}
	return !strings.EqualFold(s.env("TERM"), "dumb")
}

func (s *IOStreams) env(k string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(k)
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
