package doctor

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mlscale/mlscale/internal/strictyaml"
)

// A saved collection diagnoses exactly as the collection it came from:
// nil and empty maps ("not probed" and "probed, nothing there") survive.
func TestSnapshotRoundTrip(t *testing.T) {
	for name, s := range map[string]*Snapshot{"fixture": fixtureSnapshot(), "pipeline": pipelineSnapshot()} {
		var b bytes.Buffer
		if err := WriteSnapshot(&b, s, "test"); err != nil {
			t.Fatal(err)
		}
		got, err := ReadSnapshot(name+".json", b.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want, have := Check(s), Check(got); !reflect.DeepEqual(want, have) {
			t.Errorf("%s: findings differ after a round trip:\nbefore %+v\nafter  %+v", name, want, have)
		}
		if (s.CustomMetrics == nil) != (got.CustomMetrics == nil) || (s.NodeMetrics == nil) != (got.NodeMetrics == nil) {
			t.Errorf("%s: nil (not probed) vs empty (probed) lost", name)
		}
	}
}

func TestSnapshotErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"apiVersion: mlscale.dev/v1alpha1\nkind: HPAState\nsnapshot: {now: \"2026-01-01T12:00:00Z\"}\n", "bad.yaml:2:7: kind: \"HPAState\" is not DoctorSnapshot"},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: DoctorSnapshot\nsnapshot:\n  now: \"2026-01-01T12:00:00Z\"\n  hpas: 3\n", "bad.yaml:5"},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: DoctorSnapshot\nsnapshot:\n  nodez: {}\n", "bad.yaml:4"},
		{"apiVersion: mlscale.dev/v1alpha1\nkind: DoctorSnapshot\nsnapshot: {}\n", "snapshot.now: missing"},
	} {
		_, err := ReadSnapshot("bad.yaml", []byte(tc.doc))
		var se *strictyaml.Error
		var ses strictyaml.Errors
		if err == nil || !strings.Contains(err.Error(), tc.want) || !(errors.As(err, &se) || errors.As(err, &ses)) {
			t.Errorf("%q: error %v, want it to contain %q", tc.doc, err, tc.want)
		}
	}
}
