package profile

import (
	"bytes"
	"fmt"
	"strconv"

	yaml3 "go.yaml.in/yaml/v3"
)

// InitOptions are the answers `mlscale init` takes by flag or form; empty
// fields keep the preset's value.
type InitOptions struct {
	Preset    string
	Name      string
	Namespace string
	Image     string
	GPUs      int64
	Min, Max  int32
}

// Render returns the preset's YAML with the answers applied (comments kept),
// validated as a profile.
func (o InitOptions) Render() ([]byte, error) {
	src, err := Preset(o.Preset)
	if err != nil {
		return nil, err
	}
	var doc yaml3.Node
	if err := yaml3.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	set := func(value string, path ...string) {
		if value == "" {
			return
		}
		n := root
		for _, k := range path {
			n = mapChild(n, k)
		}
		n.Value, n.Tag, n.Style = value, "", 0
	}
	set(o.Name, "metadata", "name")
	set(o.Namespace, "metadata", "namespace")
	set(o.Image, "spec", "container", "image")
	if o.GPUs > 0 {
		set(strconv.FormatInt(o.GPUs, 10), "spec", "resources", "gpu", "count")
	}
	if o.Min > 0 {
		set(strconv.Itoa(int(o.Min)), "spec", "scaling", "replicas", "min")
	}
	if o.Max > 0 {
		set(strconv.Itoa(int(o.Max)), "spec", "scaling", "replicas", "max")
	}
	var buf bytes.Buffer
	enc := yaml3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	if _, err := Load("profile", out); err != nil {
		return nil, fmt.Errorf("the answers make an invalid profile: %w", err)
	}
	return out, nil
}

// mapChild returns (creating when absent) the value node of key in mapping n.
func mapChild(n *yaml3.Node, key string) *yaml3.Node {
	if n.Kind == yaml3.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
	}
	if n.Kind != yaml3.MappingNode {
		n.Kind, n.Tag, n.Value, n.Content, n.Style = yaml3.MappingNode, "!!map", "", nil, 0
	}
	k := &yaml3.Node{Kind: yaml3.ScalarNode, Value: key}
	v := &yaml3.Node{Kind: yaml3.ScalarNode}
	n.Content = append(n.Content, k, v)
	return v
}
