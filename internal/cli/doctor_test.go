package cli

import (
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/doctor"
)

// Offline mode exit codes: 1 on errors, 0 with --exit-zero or on clean
// manifests, --fail-on lowers the bar, 2 on usage errors.
func TestDoctorOfflineExitCodes(t *testing.T) {
	const broken, clean = "../../testdata/doctor/broken", "../../testdata/doctor/clean"
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"doctor", "-f", broken}, ExitFailure},
		{[]string{"doctor", "-f", broken, "--exit-zero"}, ExitOK},
		{[]string{"doctor", "-f", clean}, ExitOK},
		{[]string{"doctor", "-f", clean, "--fail-on", "info"}, ExitOK},
		{[]string{"doctor", "-f", broken + "/llm.yaml", "--fail-on", "warning", "-o", "json"}, ExitFailure},
		{[]string{"doctor", "-f", broken, "--fail-on", "bogus"}, ExitUsage},
		{[]string{"doctor", "-f", broken, "-o", "yaml"}, ExitUsage},
		{[]string{"doctor", "-f", "does-not-exist"}, ExitUsage},
		{[]string{"doctor", "hpa/x", "-f", clean}, ExitUsage},
		{[]string{"doctor", "pod/x", "-A"}, ExitUsage},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, c.code, errOut)
		}
	}
}

func TestDoctorOfflineJUnit(t *testing.T) {
	code, out, _ := run(t, "doctor", "-f", "../../testdata/doctor/broken", "-o", "junit")
	if code != ExitFailure || !strings.Contains(out, `<testsuites name="mlscale doctor" tests="14" failures="9"`) {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// Live mode against an address where nothing listens: exit 3.
func TestDoctorUnreachableIsExit3(t *testing.T) {
	code, _, errOut := run(t, "doctor", "--kubeconfig", "testdata/doctor/unreachable.kubeconfig", "--timeout", "2s")
	if code != ExitCouldNotRun || !strings.Contains(errOut, "cannot reach the cluster") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestDoctorExitStrict(t *testing.T) {
	r := doctor.NewReport("live", nil, []doctor.Skipped{{ID: "RES-001", Reason: doctor.SkipForbidden}})
	if err := doctorExit(r, doctor.Error, false, false); err != nil {
		t.Errorf("skipped without --strict: %v", err)
	}
	if code := exitCode(doctorExit(r, doctor.Error, false, true)); code != ExitCouldNotRun {
		t.Errorf("--strict: exit %d", code)
	}
	if err := doctorExit(r, doctor.Error, true, true); err != nil {
		t.Errorf("--exit-zero: %v", err)
	}
}
