package cli

import (
	"errors"
	"fmt"
)

// Exit codes, documented in docs/exit-codes.md.
const (
	ExitOK          = 0   // success
	ExitFailure     = 1   // findings, invalid input or a failed operation
	ExitUsage       = 2   // bad flags or arguments
	ExitCouldNotRun = 3   // doctor: cluster unreachable, auth failed, or (--strict) a check skipped
	ExitInterrupt   = 130 // SIGINT
)

// UsageError is a mistake in flags or arguments (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// ExitError carries a specific exit code with an optional message; an empty
// message prints nothing (the command has already reported).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// SilentExit ends with code after the command has printed its own report
// (doctor's findings, for instance).
func SilentExit(code int) error { return &ExitError{Code: code} }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	if errors.Is(err, errInterrupted) {
		return ExitInterrupt
	}
	return ExitFailure
}

var errInterrupted = errors.New("interrupted")
