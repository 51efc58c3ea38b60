package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/iostreams"
)

// run executes the CLI in-process and returns exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := Run(context.Background(), ios, args)
	return code, out.String(), errOut.String()
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	code, out, errOut := run(t, "bogus")
	if code != ExitUsage {
		t.Fatalf("exit code = %d, want %d", code, ExitUsage)
	}
	if out != "" {
		t.Errorf("stdout = %q, want empty", out)
	}
	if strings.Count(errOut, "Error:") != 1 || !strings.Contains(errOut, `unknown command "bogus"`) {
		t.Errorf("stderr = %q, want the error once", errOut)
	}
	if strings.Contains(errOut, "Usage:") {
		t.Errorf("stderr has a usage dump: %q", errOut)
	}
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	code, _, errOut := run(t, "version", "--nope")
	if code != ExitUsage || !strings.Contains(errOut, "unknown flag: --nope") {
		t.Fatalf("code=%d stderr=%q", code, errOut)
	}
}

func TestBadOutputFormat(t *testing.T) {
	code, _, errOut := run(t, "version", "-o", "xml")
	if code != ExitUsage || !strings.Contains(errOut, `unknown output format "xml"`) {
		t.Fatalf("code=%d stderr=%q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "mlscale ") {
		t.Fatalf("code=%d out=%q", code, out)
	}
	code, out, _ = run(t, "version", "-o", "json")
	if code != 0 || !strings.Contains(out, `"version":`) {
		t.Fatalf("code=%d out=%q", code, out)
	}
}

func TestExitCodeMapping(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errInterrupted, ExitInterrupt},
		{Usagef("bad"), ExitUsage},
		{SilentExit(1), ExitFailure},
		{&ExitError{Code: 3}, 3},
		{context.Canceled, ExitFailure},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestCompletionScript(t *testing.T) {
	code, out, _ := run(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Fatalf("code=%d out(prefix)=%q", code, out[:min(len(out), 80)])
	}
}
