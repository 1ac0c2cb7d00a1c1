package spec

import "gopkg.in/yaml.v3"

type pair struct {
	key, value *yaml.Node
	path       string
}

// pairs lists the entries of a mapping with YAML merge keys ("<<: *base") applied: an entry
// written in the mapping wins over a merged one, and among merged mappings the first wins.
// Keys written twice are reported. Every entry's line is recorded.
func (d *decoder) pairs(path string, n *yaml.Node) []pair {
	merged := d.merged(path, n, map[*yaml.Node]bool{n: true})
	own := map[string]int{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k.Line, "keys must be plain strings, got %s", describe(k))
			continue
		}
		p := keyPath(path, k.Value)
		if first, dup := own[k.Value]; dup {
			d.add(p, k.Line, "defined twice (first on line %d)", first)
			continue
		}
		own[k.Value] = k.Line
		d.lines[p] = k.Line
		out = append(out, pair{k, val, p})
	}
	var kept []pair
	for _, kv := range merged {
		if _, ok := own[kv.key.Value]; !ok {
			own[kv.key.Value] = kv.key.Line
			d.lines[kv.path] = kv.key.Line
			kept = append(kept, kv)
		}
	}
	return append(kept, out...)
}

// merged lists the entries merged into n by "<<" keys, first source first. visiting guards
// against a mapping that merges itself.
func (d *decoder) merged(path string, n *yaml.Node, visiting map[*yaml.Node]bool) []pair {
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMerge(n.Content[i]) {
			continue
		}
		src := n.Content[i+1]
		sources := []*yaml.Node{src}
		if deref(src).Kind == yaml.SequenceNode {
			sources = deref(src).Content
		}
		bad := false
		for _, s := range sources {
			s = deref(s)
			if s.Kind != yaml.MappingNode || visiting[s] {
				bad = true
				continue
			}
			// A source's own entries win over what it merges in turn.
			for j := 0; j+1 < len(s.Content); j += 2 {
				if k := s.Content[j]; !isMerge(k) && k.Kind == yaml.ScalarNode {
					out = append(out, pair{k, s.Content[j+1], keyPath(path, k.Value)})
				}
			}
			visiting[s] = true
			out = append(out, d.merged(path, s, visiting)...)
			delete(visiting, s)
		}
		if bad {
			d.fail(path, n.Content[i].Line, "<< must merge a mapping (or a list of mappings) that does not contain itself")
		}
	}
	// Within merged entries, the first source wins: keep the first of each key.
	seen := map[string]bool{}
	kept := out[:0]
	for _, kv := range out {
		if !seen[kv.key.Value] {
			seen[kv.key.Value] = true
			kept = append(kept, kv)
		}
	}
	return kept
}

func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}
