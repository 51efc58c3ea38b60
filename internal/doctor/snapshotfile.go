package doctor

import (
	"encoding/json"
	"io"

	"github.com/mlscale/mlscale/internal/strictyaml"
)

// The document `mlscale doctor --save` writes and `--from` reads: the whole
// collection, so that a diagnosis can be replayed without the cluster (a
// bug report, a CI artefact, a test fixture taken from a real cluster).
const (
	SnapshotAPIVersion = "mlscale.dev/v1alpha1"
	SnapshotKind       = "DoctorSnapshot"
)

// SnapshotFile is a saved collection. It holds what doctor read: objects,
// statuses, events, metric answers and, with --check-secrets, Secret key
// names, never Secret values.
type SnapshotFile struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// WrittenBy is the mlscale version that collected it.
	WrittenBy string   `json:"writtenBy,omitempty"`
	Snapshot  Snapshot `json:"snapshot"`
}

// WriteSnapshot writes s as an indented JSON SnapshotFile.
func WriteSnapshot(w io.Writer, s *Snapshot, version string) error {
	b, err := json.MarshalIndent(SnapshotFile{APIVersion: SnapshotAPIVersion, Kind: SnapshotKind, WrittenBy: version, Snapshot: *s}, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadSnapshot decodes a SnapshotFile strictly (JSON or YAML); errors name
// the file, line and field.
func ReadSnapshot(file string, data []byte) (*Snapshot, error) {
	var f SnapshotFile
	doc, err := strictyaml.DecodeDoc(file, data, &f)
	if err != nil {
		return nil, err
	}
	if f.APIVersion != SnapshotAPIVersion {
		return nil, doc.Errorf("apiVersion", "%q is not %s", f.APIVersion, SnapshotAPIVersion)
	}
	if f.Kind != SnapshotKind {
		return nil, doc.Errorf("kind", "%q is not %s", f.Kind, SnapshotKind)
	}
	if f.Snapshot.Now.IsZero() {
		return nil, doc.Errorf("snapshot.now", "missing: the collection time (ages are measured from it)")
	}
	sortSnapshot(&f.Snapshot)
	return &f.Snapshot, nil
}
