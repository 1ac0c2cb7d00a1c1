package spec

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Bounds on a spec's YAML tree, checked before anything is decoded. A few kilobytes of YAML
// can stand for millions of nodes through aliases (an anchor holding a map of hundreds of
// keys, referenced hundreds of times); every node decoded may become a problem to report, so
// the tree as the decoder would see it is measured first, aliases expanded.
const (
	// MaxNodes bounds the nodes of a spec with every alias expanded. A large real spec has a
	// few thousand.
	MaxNodes = 20_000
	// MaxDepth bounds how deeply a spec's values nest, aliases expanded.
	MaxDepth = 64
	// MaxProblems bounds the problems reported for one spec; the rest are counted.
	MaxProblems = 100
)

// shape is the size of a YAML subtree with its aliases expanded.
type shape struct{ nodes, depth int }

// measure returns the expanded shape of n, stopping early once a bound is passed. Shapes of
// anchored nodes are remembered, so measuring costs one visit per distinct node, however
// often an alias repeats it.
func measure(n *yaml.Node, seen map[*yaml.Node]shape, open map[*yaml.Node]bool) shape {
	if n == nil {
		return shape{}
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || open[n.Alias] {
			return shape{nodes: 1, depth: 1} // a cycle: the decoder reports it; count it once
		}
		n = n.Alias
	}
	if s, ok := seen[n]; ok {
		return s
	}
	open[n] = true
	s := shape{nodes: 1, depth: 1}
	for _, c := range n.Content {
		cs := measure(c, seen, open)
		s.nodes += cs.nodes
		s.depth = max(s.depth, cs.depth+1)
		if s.nodes > MaxNodes || s.depth > MaxDepth {
			break
		}
	}
	delete(open, n)
	seen[n] = s
	return s
}

// checkShape reports a tree that expands past MaxNodes or nests past MaxDepth.
func checkShape(root *yaml.Node) *Problem {
	s := measure(root, map[*yaml.Node]shape{}, map[*yaml.Node]bool{})
	switch {
	case s.nodes > MaxNodes:
		return &Problem{Message: fmt.Sprintf("the spec expands to more than %d YAML values once its aliases (*name) are followed; "+
			"write the values out or use fewer aliases", MaxNodes), tooLarge: true}
	case s.depth > MaxDepth:
		return &Problem{Message: fmt.Sprintf("the spec nests values more than %d levels deep", MaxDepth), tooLarge: true}
	}
	return nil
}

// capProblems keeps the first MaxProblems of ps (already sorted) and says how many more
// there were.
func capProblems(ps []Problem, dropped int) []Problem {
	if extra := len(ps) - MaxProblems; extra > 0 {
		dropped += extra
		ps = ps[:MaxProblems]
	}
	if dropped > 0 {
		ps = append(ps, Problem{Message: fmt.Sprintf("and %d more problems (fix these first)", dropped)})
	}
	return ps
}
