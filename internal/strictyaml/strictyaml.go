// Package strictyaml decodes YAML documents into Go types strictly (unknown
// fields, wrong types and duplicate keys are errors) and reports every error
// with the file, line, column and field path where it occurred. Field names
// come from the Go types' json tags, so Kubernetes API types decode exactly as
// the API server reads them.
package strictyaml

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// Error is one problem in one place of one file.
type Error struct {
	File    string
	Line    int // 1-based; 0 when unknown
	Column  int
	Field   string // dotted path such as spec.metrics[0].type; "" for the document
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is a list of problems, printed one per line.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Err returns nil for an empty list, the single error, or the list.
func (es Errors) Err() error {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return es
}

// Doc is a parsed YAML document that remembers where each field is, so that
// later semantic validation can point at the line of a field.
type Doc struct {
	File string
	root *yaml3.Node // the document's top-level value
	data []byte
}

// DecodeFile reads path and decodes it strictly into out.
func DecodeFile(path string, out any) error {
	_, err := DecodeFileDoc(path, out)
	return err
}

// DecodeFileDoc is DecodeFile returning the parsed document for locating
// fields in later validation. path "-" is not special here; see DecodeReader.
func DecodeFileDoc(path string, out any) (*Doc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeDoc(path, data, out)
}

// ReadFile reads path, or all of stdin when path is "-" (then named
// "<stdin>" in errors). It returns the name to use in messages.
func ReadFile(path string, stdin io.Reader) (name string, data []byte, err error) {
	if path == "-" {
		data, err = io.ReadAll(stdin)
		return "<stdin>", data, err
	}
	data, err = os.ReadFile(path)
	return path, data, err
}

// DecodeReader reads all of r (named name in errors) and decodes it.
func DecodeReader(name string, r io.Reader, out any) (*Doc, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return DecodeDoc(name, data, out)
}

// Decode decodes one YAML document from data strictly into out; file names
// the source in errors.
func Decode(file string, data []byte, out any) error {
	_, err := DecodeDoc(file, data, out)
	return err
}

// DecodeDoc is Decode returning the parsed document.
func DecodeDoc(file string, data []byte, out any) (*Doc, error) {
	doc, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	if err := doc.Decode(out); err != nil {
		return nil, err
	}
	return doc, nil
}

// Parse parses data as a single YAML document.
func Parse(file string, data []byte) (*Doc, error) {
	dec := yaml3.NewDecoder(bytes.NewReader(data))
	var n yaml3.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Message: "empty document"}
		}
		return nil, syntaxError(file, err)
	}
	var extra yaml3.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: file, Line: extra.Line, Column: extra.Column, Message: "more than one YAML document; expected exactly one"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(file, err)
	}
	root := &n
	if root.Kind == yaml3.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	return &Doc{File: file, root: root, data: data}, nil
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into an Error.
func syntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.Index(rest, ":"); i > 0 {
			if n, convErr := strconv.Atoi(rest[:i]); convErr == nil {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return &Error{File: file, Line: line, Column: 1, Message: "invalid YAML: " + msg}
}

// Decode checks the document against out's type and decodes it. All
// structural problems are reported together.
func (d *Doc) Decode(out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("strictyaml: Decode needs a non-nil pointer, got %T", out)
	}
	var errs Errors
	d.check(d.root, rv.Type().Elem(), "", &errs)
	if len(errs) > 0 {
		return errs.Err()
	}
	jsonData, err := yaml.YAMLToJSON(d.data)
	if err != nil {
		return &Error{File: d.File, Message: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(jsonData))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return d.jsonError(err)
	}
	return nil
}

// Errorf returns an Error located at path (dotted, with [i] for list
// items). When path is absent from the document, the nearest present parent
// gives the line.
func (d *Doc) Errorf(path, format string, a ...any) *Error {
	line, col := d.Pos(path)
	return &Error{File: d.File, Line: line, Column: col, Field: path, Message: fmt.Sprintf(format, a...)}
}

// Pos returns the line and column of the value at path, or of its nearest
// present ancestor.
func (d *Doc) Pos(path string) (line, col int) {
	n := d.root
	line, col = n.Line, n.Column
	for _, seg := range splitPath(path) {
		key, next := child(n, seg)
		if next == nil {
			return line, col // the nearest present ancestor's key
		}
		n = next
		line, col = key.Line, key.Column
	}
	if n := deref(n); n.Kind == yaml3.ScalarNode {
		return n.Line, n.Column // a scalar: point at the value
	}
	return line, col // a mapping or list: point at its key
}

// Has reports whether path is present in the document.
func (d *Doc) Has(path string) bool {
	n := d.root
	for _, seg := range splitPath(path) {
		if _, n = child(n, seg); n == nil {
			return false
		}
	}
	return true
}

type segment struct {
	key   string
	index int // -1 for a key
}

func splitPath(path string) []segment {
	var segs []segment
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		for {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				segs = append(segs, segment{key: part, index: -1})
				break
			}
			if i > 0 {
				segs = append(segs, segment{key: part[:i], index: -1})
			}
			j := strings.IndexByte(part, ']')
			if j < i {
				break
			}
			n, _ := strconv.Atoi(part[i+1 : j])
			segs = append(segs, segment{index: n})
			part = part[j+1:]
			if part == "" {
				break
			}
		}
	}
	return segs
}

// child returns the node that names the segment (the key, or the list item)
// and its value.
func child(n *yaml3.Node, s segment) (key, value *yaml3.Node) {
	n = deref(n)
	if s.index >= 0 {
		if n.Kind == yaml3.SequenceNode && s.index < len(n.Content) {
			return n.Content[s.index], n.Content[s.index]
		}
		return nil, nil
	}
	if n.Kind != yaml3.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == s.key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

func deref(n *yaml3.Node) *yaml3.Node {
	for n != nil && n.Kind == yaml3.AliasNode {
		n = n.Alias
	}
	return n
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	anyType         = reflect.TypeFor[any]()
)

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func (d *Doc) errAt(errs *Errors, n *yaml3.Node, path, format string, a ...any) {
	*errs = append(*errs, &Error{File: d.File, Line: n.Line, Column: n.Column, Field: path, Message: fmt.Sprintf(format, a...)})
}

// check walks the node against type t, collecting unknown fields, kind
// mismatches, duplicate keys and values that a custom JSON decoder refuses.
func (d *Doc) check(n *yaml3.Node, t reflect.Type, path string, errs *Errors) {
	n = deref(n)
	if n == nil || isNull(n) {
		return
	}
	if t == anyType || t.Kind() == reflect.Interface {
		return
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		d.checkCustom(n, t, path, errs)
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
			d.checkCustom(n, t, path, errs)
			return
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml3.MappingNode {
			d.errAt(errs, n, path, "expected a mapping (object), got %s", describe(n))
			return
		}
		fields := jsonFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if k.Value == "<<" {
				d.errAt(errs, k, path, "YAML merge keys are not supported")
				continue
			}
			if seen[k.Value] {
				d.errAt(errs, k, p, "duplicate field")
				continue
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				d.errAt(errs, k, p, "unknown field %q%s", k.Value, suggest(k.Value, fields))
				continue
			}
			d.check(v, ft, p, errs)
		}
	case reflect.Map:
		if n.Kind != yaml3.MappingNode {
			d.errAt(errs, n, path, "expected a mapping (object), got %s", describe(n))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if seen[k.Value] {
				d.errAt(errs, k, p, "duplicate key")
				continue
			}
			seen[k.Value] = true
			d.check(v, t.Elem(), p, errs)
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && n.Kind == yaml3.ScalarNode {
			return // []byte as base64 string
		}
		if n.Kind != yaml3.SequenceNode {
			d.errAt(errs, n, path, "expected a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			d.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.String:
		if n.Kind != yaml3.ScalarNode {
			d.errAt(errs, n, path, "expected a string, got %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml3.ScalarNode || n.ShortTag() != "!!bool" {
			d.errAt(errs, n, path, "expected true or false, got %s", describe(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml3.ScalarNode || n.ShortTag() != "!!int" {
			d.errAt(errs, n, path, "expected an integer, got %s", describe(n))
			return
		}
		if _, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, t.Bits()); err != nil {
			if _, uerr := strconv.ParseUint(n.Value, 0, t.Bits()); uerr != nil || t.Kind() < reflect.Uint {
				d.errAt(errs, n, path, "integer %s out of range", n.Value)
			}
		}
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml3.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			d.errAt(errs, n, path, "expected a number, got %s", describe(n))
		}
	}
}

// checkCustom validates a value whose type decodes itself from JSON
// (resource.Quantity, metav1.Time, durations) by decoding that node alone.
func (d *Doc) checkCustom(n *yaml3.Node, t reflect.Type, path string, errs *Errors) {
	var v any
	if err := n.Decode(&v); err != nil {
		d.errAt(errs, n, path, "%v", err)
		return
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		d.errAt(errs, n, path, "%v", err)
		return
	}
	target := reflect.New(t)
	if err := json.Unmarshal(b, target.Interface()); err != nil {
		d.errAt(errs, n, path, "invalid value %s: %s", strings.TrimSpace(n.Value), cleanJSONError(err))
	}
}

// jsonable converts yaml.v3's map[string]any / map[any]any into JSON-encodable values.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}

func cleanJSONError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	return s
}

func isNull(n *yaml3.Node) bool {
	return n.Kind == yaml3.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml3.Node) string {
	switch n.Kind {
	case yaml3.MappingNode:
		return "a mapping"
	case yaml3.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("string %q", n.Value)
	case "!!int", "!!float":
		return "number " + n.Value
	case "!!bool":
		return "boolean " + n.Value
	}
	return n.Value
}

// jsonFields maps the JSON names of t's fields (embedded and inline structs
// flattened) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" || strings.Contains(opts, "inline") {
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := out[name]; !dup {
				out[name] = ft
			}
		}
	}
	walk(t)
	return out
}

// suggest proposes a known field that differs only in case or by a small
// edit, the commonest cause of an unknown field.
func suggest(name string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for f := range fields {
		if strings.EqualFold(f, name) {
			return fmt.Sprintf(" (did you mean %q?)", f)
		}
		if d := EditDistance(strings.ToLower(f), strings.ToLower(name)); d < bestD || d == bestD && best != "" && f < best {
			best, bestD = f, d
		}
	}
	if best != "" && bestD <= 2 {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// EditDistance is the Levenshtein distance between a and b, used to
// suggest the field or name a user probably meant.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// jsonError locates a json decoding error that the structural walk did not
// foresee.
func (d *Doc) jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return d.Errorf(te.Field, "cannot use %s as %s", te.Value, te.Type)
	}
	return &Error{File: d.File, Message: cleanJSONError(err)}
}
