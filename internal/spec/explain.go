package spec

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
)

// FieldDoc is one spec field's documentation: what docs/spec.md says of it, generated from
// the Go types' doc comments into fields.json by `go test ./internal/spec -run TestDocs
// -update` (TestDocs fails when the file is out of date).
type FieldDoc struct {
	Path    string `json:"path"` // YAML keys joined by dots, "hooks[]" for a list's elements
	Type    string `json:"type"`
	Doc     string `json:"doc"`
	Default string `json:"default"` // "required" for a required field
	Example string `json:"example"` // the field set in YAML
}

//go:embed fields.json
var fieldsJSON []byte

// Fields is every documented field of an app spec, in the order docs/spec.md has them.
var Fields = sync.OnceValue(func() []FieldDoc {
	var out []FieldDoc
	if err := json.Unmarshal(fieldsJSON, &out); err != nil {
		panic("spec: fields.json: " + err.Error()) // generated and tested: cannot happen
	}
	return out
})

var indexRE = regexp.MustCompile(`\[\d*\]`)

// normPath writes a field path the way Fields does: hooks[2].http → hooks[].http.
func normPath(p string) string {
	return strings.Trim(indexRE.ReplaceAllString(strings.TrimSpace(p), "[]"), ".")
}

// Explain describes the field at path (as problems name it, like traffic.alb.test_port or
// hooks[0].http.path): its type, default, description and an example. For an object it
// also lists the fields under it; "" lists the top level.
func Explain(path string) (string, error) {
	p := normPath(path)
	var b strings.Builder
	for _, f := range Fields() {
		if f.Path == p {
			fmt.Fprintf(&b, "%s (%s, %s)\n\n%s\n\nExample:\n%s", f.Path, f.Type, defaultWords(f.Default), f.Doc, indent(f.Example))
		}
	}
	var under []FieldDoc
	for _, f := range Fields() {
		parent, _ := cutLast(f.Path)
		if parent == p {
			under = append(under, f)
		}
	}
	if len(under) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		where := p
		if where == "" {
			where = "the top level"
		}
		fmt.Fprintf(&b, "Fields of %s (cutover validate --explain FIELD for one):\n", where)
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, f := range under {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Path, f.Type, defaultWords(f.Default), firstSentence(f.Doc))
		}
		tw.Flush()
	}
	if b.Len() == 0 {
		for parent, _ := cutLast(p); parent != ""; parent, _ = cutLast(parent) {
			for _, f := range Fields() {
				if f.Path == parent {
					return "", fmt.Errorf("the spec has no field %q: `cutover validate --explain %s` lists the fields of %s", path, parent, parent)
				}
			}
		}
		return "", fmt.Errorf("the spec has no field %q: `cutover validate --explain \"\"` lists the top level", path)
	}
	return b.String(), nil
}

func cutLast(p string) (parent, last string) {
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func defaultWords(d string) string {
	if strings.HasPrefix(d, "required") {
		return "required"
	}
	return "default: " + strings.TrimSuffix(d, ".")
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
