package spec

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxValues bounds the values one spec may hold, counting each use of a YAML alias anew, so a
// small file cannot expand into a huge one ("billion laughs").
const maxValues = 10_000

// decoder fills this package's types from a YAML node tree. Unlike yaml.v3's own decoder it
// does not stop at the first problem: it reports every unknown field, duplicate key and wrong
// type with its path and line, and it remembers the line of every path it saw so that later
// validation problems can point into the file too.
//
// Struct fields are matched by their yaml tag. A field tagged spec:"nonzero" has a default
// for its zero value, so an explicit zero in the file (instances: 0) is reported instead of
// being silently replaced. A key written with an empty value (bluegreen:) sets a pointer to
// a struct to an empty struct: writing the key is what selects the option.
type decoder struct {
	problems []Problem
	lines    map[string]int
	bad      map[string]bool // paths whose value could not be decoded
	budget   int
	dropped  int // problems past the ones kept, counted, not stored
}

func newDecoder() *decoder {
	return &decoder{lines: map[string]int{}, bad: map[string]bool{}, budget: maxValues}
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (d *decoder) add(path string, line int, format string, args ...any) {
	if len(d.problems) >= 2*MaxProblems {
		d.dropped++
		return
	}
	d.problems = append(d.problems, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) fail(path string, line int, format string, args ...any) {
	d.bad[path] = true
	d.add(path, line, format, args...)
}

// covers reports whether path is, or is inside, a value that failed to decode: validation
// problems there are consequences, not news.
func (d *decoder) covers(path string) bool {
	if d.bad[""] {
		return true
	}
	for p := path; ; {
		if d.bad[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// line returns the line of path, or of its nearest ancestor that appears in the file.
func (d *decoder) line(path string) int {
	for p := path; p != ""; {
		if l, ok := d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return 0
		}
		p = p[:i]
	}
	return 0
}

// decode fills v from n.
func (d *decoder) decode(path string, n *yaml.Node, v reflect.Value) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.fail("", n.Line, "the spec holds more than %d values (counting every use of an alias)", maxValues)
		}
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if isNull(n) && t.Elem().Kind() != reflect.Struct {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(path, n, v.Elem())
		return
	}
	if isNull(n) {
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(path, n.Line, "%s", trimYAML(err.Error()))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.structure(path, n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n.Line, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, e := range n.Content {
			p := index(path, i)
			d.lines[p] = e.Line
			d.decode(p, e, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(path, n.Line, "expected a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		for _, kv := range d.pairs(path, n) {
			e := reflect.New(t.Elem()).Elem()
			d.decode(kv.path, kv.value, e)
			m.SetMapIndex(reflect.ValueOf(kv.key.Value).Convert(t.Key()), e)
		}
		v.Set(m)
	default:
		if n.Kind != yaml.ScalarNode || n.Decode(v.Addr().Interface()) != nil {
			d.fail(path, n.Line, "expected %s, got %s", kindName(t.Kind()), describe(n))
		}
	}
}

// structure fills the struct v from the mapping n, field by yaml tag.
func (d *decoder) structure(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n.Line, "expected a mapping of fields, got %s", describe(n))
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
			names = append(names, name)
		}
	}
	for _, kv := range d.pairs(path, n) {
		i, ok := fields[kv.key.Value]
		if !ok {
			d.add(kv.path, kv.key.Line, "unknown field %q (the fields here are %s)", clip(kv.key.Value), strings.Join(names, ", "))
			continue
		}
		before := len(d.problems)
		f := v.Field(i)
		d.decode(kv.path, kv.value, f)
		if t.Field(i).Tag.Get("spec") == "nonzero" && len(d.problems) == before && f.IsZero() && !isNull(kv.value) {
			d.fail(kv.path, kv.value.Line, "must not be 0: leave it out to use the default")
		}
	}
}

func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node holds, for messages.
func describe(n *yaml.Node) string {
	switch deref(n).Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	}
	if isNull(n) {
		return "nothing"
	}
	return fmt.Sprintf("%q", clip(n.Value))
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	}
	return k.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
