package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// docs/spec.md holds a generated reference of every field between these markers; the text
// around them is written by hand.
const (
	docsFile   = "../../docs/spec.md"
	beginMark  = "<!-- BEGIN GENERATED FIELDS (go test ./internal/spec -run TestDocs -update) -->"
	endMarker  = "<!-- END GENERATED FIELDS -->"
	importPath = "github.com/cutover/cutover/internal/spec"
)

// TestDocs fails when the generated part of docs/spec.md is not what the Go types and their
// doc comments say; -update rewrites it. It also holds every field doc to the house rules:
// a description, a "Default:" or "Required." line, and an "Example:" that decodes.
func TestDocs(t *testing.T) {
	comments := fieldComments(t)
	var objects []docObject
	walkObjects(reflect.TypeFor[App](), nil, comments, &objects)
	gen := renderObjects(comments, objects)

	var fields []docField
	for _, o := range objects {
		fields = append(fields, o.fields...)
	}
	for _, f := range fields {
		where := strings.Join(f.path, ".")
		if f.body == "" || f.dflt == "" || f.example == "" {
			t.Errorf("%s: its doc comment needs a description, a \"Default:\" or \"Required.\" line and an \"Example:\" line", where)
			continue
		}
		var a App
		if err := decodeInto(nest(f.path, f.example), &a); err != nil {
			t.Errorf("%s: the example does not decode: %v\n%s", where, err, nest(f.path, f.example))
		}
	}

	checkFieldsJSON(t, fields)

	old, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := bytes.Cut(old, []byte(beginMark))
	_, after, ok2 := bytes.Cut(rest, []byte(endMarker))
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the markers %q and %q", docsFile, beginMark, endMarker)
	}
	want := string(before) + beginMark + "\n" + gen + endMarker + string(after)
	if *update {
		if err := os.WriteFile(docsFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(old) != want {
		t.Errorf("%s is out of date with the spec types; run go test ./internal/spec -run TestDocs -update", docsFile)
	}
}

// comments maps "Type" to the type's doc and "Type.Field" to a field's doc.
type comments map[string]string

// fieldComments reads the doc comments of the package's types and their fields with go/doc.
func fieldComments(t *testing.T) comments {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, importPath)
	if err != nil {
		t.Fatal(err)
	}
	c := comments{}
	for _, typ := range pkg.Types {
		c[typ.Name] = typ.Doc
		for _, spec := range typ.Decl.Specs {
			st, ok := spec.(*ast.TypeSpec).Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, f := range st.Fields.List {
				for _, n := range f.Names {
					c[typ.Name+"."+n.Name] = f.Doc.Text()
				}
			}
		}
	}
	return c
}

// docField is one field of the spec as the reference shows it.
type docField struct {
	path    []string // YAML keys, "hooks[]" for the elements of a list
	typ     reflect.Type
	body    string
	dflt    string
	example string
}

// docObject is one object of the spec (a Go struct) with its fields.
type docObject struct {
	path   []string
	typ    reflect.Type
	fields []docField
}

// walkObjects lists struct t with its fields and then, depth first, the structs under them.
func walkObjects(t reflect.Type, path []string, c comments, out *[]docObject) {
	obj := docObject{path: path, typ: t}
	var children []docObject
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		f := docField{path: append(append([]string(nil), path...), key), typ: sf.Type}
		for _, line := range strings.Split(strings.TrimSpace(c[t.Name()+"."+sf.Name]), "\n") {
			switch {
			case strings.HasPrefix(line, "Default:"):
				f.dflt = strings.TrimSpace(strings.TrimPrefix(line, "Default:"))
			case strings.HasPrefix(line, "Required"):
				f.dflt = "required" + strings.TrimPrefix(strings.TrimSuffix(line, "."), "Required")
			case strings.HasPrefix(line, "Example:"):
				f.example = strings.TrimSpace(strings.TrimPrefix(line, "Example:"))
			default:
				f.body += line + "\n"
			}
		}
		f.body = strings.TrimSpace(f.body)
		obj.fields = append(obj.fields, f)
		elem, sub := sf.Type, append([]string(nil), f.path...)
		for elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		if elem.Kind() == reflect.Slice && elem.Elem().Kind() == reflect.Struct {
			sub[len(sub)-1] += "[]"
			elem = elem.Elem()
		}
		if elem.Kind() == reflect.Struct && elem != reflect.TypeFor[Condition]() {
			children = append(children, docObject{path: sub, typ: elem})
		}
	}
	*out = append(*out, obj)
	for _, ch := range children {
		walkObjects(ch.typ, ch.path, c, out)
	}
}

// renderObjects writes the reference: a section per object with the type's doc, then each of
// its fields with type, default, description and example.
func renderObjects(c comments, objects []docObject) string {
	var b strings.Builder
	for _, o := range objects {
		where := "Top level"
		if len(o.path) > 0 {
			where = "`" + strings.Join(o.path, ".") + "`"
		}
		fmt.Fprintf(&b, "### %s\n\n%s\n\n", where, strings.TrimSpace(c[o.typ.Name()]))
		for _, f := range o.fields {
			fmt.Fprintf(&b, "#### `%s`\n\n", strings.Join(f.path, "."))
			fmt.Fprintf(&b, "*%s* · %s\n\n", typeName(f.typ), defaultText(f.dflt))
			fmt.Fprintf(&b, "%s\n\n", f.body)
			fmt.Fprintf(&b, "```yaml\n%s```\n\n", nest(f.path, f.example))
		}
	}
	return b.String()
}

func defaultText(d string) string {
	if strings.HasPrefix(d, "required") {
		return "**" + d + "**"
	}
	if d == "." { // a directory, not the end of a sentence
		return "default: `.`"
	}
	return "default: " + strings.TrimSuffix(d, ".")
}

// typeName names a field's type for users.
func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return "duration"
	case reflect.TypeFor[Condition]():
		return "condition"
	case reflect.TypeFor[ByteSize]():
		return "size"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Map:
		return "map of " + typeName(t.Key()) + " to " + typeName(t.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "list of objects"
		}
		return "list of " + typeName(t.Elem()) + "s"
	case reflect.Struct:
		return "object"
	}
	return t.String()
}

// nest writes value under its path as YAML: nest([hooks[] http path], "/x") is
// "hooks:\n  - http:\n      path: /x\n".
func nest(path []string, value string) string {
	var b strings.Builder
	indent, dash := 0, false
	for i, seg := range path {
		b.WriteString(strings.Repeat(" ", indent))
		if dash {
			b.WriteString("- ")
			indent += 2
			dash = false
		}
		b.WriteString(strings.TrimSuffix(seg, "[]") + ":")
		if i == len(path)-1 {
			b.WriteString(" " + value)
		}
		b.WriteString("\n")
		indent += 2
		dash = strings.HasSuffix(seg, "[]")
	}
	return b.String()
}

// TestDocsExamples: every complete spec shown in the hand-written part of docs/spec.md (a
// YAML block starting with "app:") parses.
func TestDocsExamples(t *testing.T) {
	data, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	manual, _, _ := strings.Cut(string(data), beginMark)
	n := 0
	for _, block := range strings.Split(manual, "```yaml\n")[1:] {
		src, _, _ := strings.Cut(block, "```")
		if !strings.HasPrefix(src, "app:") {
			continue
		}
		n++
		if _, err := Parse(strings.NewReader(src)); err != nil {
			t.Errorf("example spec %d in %s: %v\n%s", n, docsFile, err, src)
		}
	}
	if n == 0 {
		t.Errorf("no example specs found in %s", docsFile)
	}
}

// checkFieldsJSON holds fields.json (what `cutover validate --explain` prints) to the same
// doc comments as docs/spec.md; -update rewrites it.
func checkFieldsJSON(t *testing.T, fields []docField) {
	t.Helper()
	out := make([]FieldDoc, 0, len(fields))
	for _, f := range fields {
		out = append(out, FieldDoc{Path: strings.Join(f.path, "."), Type: typeName(f.typ), Doc: f.body, Default: f.dflt, Example: nest(f.path, f.example)})
	}
	want, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile("fields.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(fieldsJSON, want) {
		t.Errorf("internal/spec/fields.json is out of date with the spec types; run go test ./internal/spec -run TestDocs -update")
	}
}
