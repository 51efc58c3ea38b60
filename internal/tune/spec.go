package tune

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlscale/mlscale/internal/strictyaml"
)

// TuneSpec is a search space and objective in a file (kind: TuneSpec).
type TuneSpec struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   SpecMetadata `json:"metadata,omitempty"`
	Spec       SpecBody     `json:"spec"`
}

// SpecMetadata names the spec.
type SpecMetadata struct {
	Name string `json:"name,omitempty"`
}

// SpecBody is the spec.
type SpecBody struct {
	// Parameters replace the mode's defaults.
	Parameters []Param         `json:"parameters,omitempty"`
	Objective  *SpecObjective  `json:"objective,omitempty"`
	Search     *SpecSearchOpts `json:"search,omitempty"`
}

// SpecObjective overrides the default objective.
type SpecObjective struct {
	MaxLatency *metav1.Duration `json:"maxLatency,omitempty"`
	Goal       *float64         `json:"goal,omitempty"`
	MaxDropped *uint64          `json:"maxDropped,omitempty"`
	MaxFlaps   *int             `json:"maxFlaps,omitempty"`
}

// SpecSearchOpts are search options.
type SpecSearchOpts struct {
	Candidates int       `json:"candidates,omitempty"`
	Seeds      int       `json:"seeds,omitempty"`
	Finalists  int       `json:"finalists,omitempty"`
	Refine     int       `json:"refine,omitempty"`
	Fractions  []float64 `json:"fractions,omitempty"`
}

// LoadSpec decodes and checks a TuneSpec file (errors carry file:line:col).
func LoadSpec(name string, data []byte) (*TuneSpec, error) {
	var s TuneSpec
	doc, err := strictyaml.DecodeDoc(name, data, &s)
	if err != nil {
		return nil, err
	}
	var errs strictyaml.Errors
	if s.Kind != "TuneSpec" {
		errs = append(errs, doc.Errorf("kind", "kind is %q, want TuneSpec", s.Kind))
	}
	for i, p := range s.Spec.Parameters {
		if err := (Space{p}).Validate(); err != nil {
			errs = append(errs, doc.Errorf(fmt.Sprintf("spec.parameters[%d]", i), "%v", err))
		}
	}
	if err := Space(s.Spec.Parameters).Validate(); len(s.Spec.Parameters) > 0 && err != nil && len(errs) == 0 {
		errs = append(errs, doc.Errorf("spec.parameters", "%v", err))
	}
	if o := s.Spec.Objective; o != nil && o.Goal != nil && (*o.Goal <= 0 || *o.Goal > 1) {
		errs = append(errs, doc.Errorf("spec.objective.goal", "goal %g is not in (0, 1]", *o.Goal))
	}
	if so := s.Spec.Search; so != nil {
		for i, f := range so.Fractions {
			if f <= 0 || f > 1 {
				errs = append(errs, doc.Errorf(fmt.Sprintf("spec.search.fractions[%d]", i), "fraction %g is not in (0, 1]", f))
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Apply sets the spec's objective fields on o and search options on so.
func (s *TuneSpec) Apply(o *Objective, so *Options) {
	if ob := s.Spec.Objective; ob != nil {
		if ob.MaxLatency != nil {
			o.MaxLatency = ob.MaxLatency.Seconds()
		}
		if ob.Goal != nil {
			o.Goal = *ob.Goal
		}
		if ob.MaxDropped != nil {
			o.MaxDropped = *ob.MaxDropped
		}
		if ob.MaxFlaps != nil {
			o.MaxFlaps = *ob.MaxFlaps
		}
	}
	if se := s.Spec.Search; se != nil {
		if se.Candidates > 0 {
			so.Candidates = se.Candidates
		}
		if se.Seeds > 0 {
			so.Seeds = se.Seeds
		}
		if se.Finalists > 0 {
			so.Finalists = se.Finalists
		}
		if se.Refine > 0 {
			so.Refine = se.Refine
		}
		if len(se.Fractions) > 0 {
			so.Fractions = se.Fractions
		}
	}
}

// ShardFile is one shard's simulations (what `tune --shard` writes and
// `tune merge` reads).
type ShardFile struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Fingerprint of the inputs: shards of different searches do not mix.
	Fingerprint string `json:"fingerprint"`
	Shard       int    `json:"shard"`
	Shards      int    `json:"shards"`
	Simulations Cache  `json:"simulations"`
}

// Fingerprint hashes everything the result depends on.
func Fingerprint(sp Space, ob Objective, o Options, inputs ...[]byte) string {
	o.defaults()
	h := sha256.New()
	js, _ := json.Marshal(struct {
		S                 Space
		Ob                Objective
		Seed              uint64
		C, E, R, F, N, MS int
		Fr                []float64
		MM                float64
	}{sp, ob, o.Seed, o.Candidates, o.Eta, o.Refine, o.Finalists, o.Seeds, o.MarginSteps, o.Fractions, o.MarginMax})
	h.Write(js)
	for _, in := range inputs {
		fmt.Fprintf(h, "\x00%d\x00", len(in))
		h.Write(in)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Merge combines shard files: all N shards of one search, once each.
func Merge(files []*ShardFile, fingerprint string) (Cache, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("no shard")
	}
	n := files[0].Shards
	seen := map[int]bool{}
	c := Cache{}
	for _, f := range files {
		if f.Kind != "TuneShard" {
			return nil, fmt.Errorf("shard %d: kind %q, want TuneShard", f.Shard, f.Kind)
		}
		if f.Fingerprint != fingerprint {
			return nil, fmt.Errorf("shard %d/%d was run on other inputs or options (fingerprint %s, these are %s)", f.Shard, f.Shards, f.Fingerprint, fingerprint)
		}
		if f.Shards != n {
			return nil, fmt.Errorf("shard %d is one of %d, others of %d", f.Shard, f.Shards, n)
		}
		if seen[f.Shard] {
			return nil, fmt.Errorf("shard %d/%d given twice", f.Shard, n)
		}
		seen[f.Shard] = true
		for k, v := range f.Simulations {
			c[k] = v
		}
	}
	var missing []int
	for i := 0; i < n; i++ {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	sort.Ints(missing)
	if len(missing) > 0 {
		return nil, fmt.Errorf("shards %v of %d are missing", missing, n)
	}
	return c, nil
}
