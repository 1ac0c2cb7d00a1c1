// Package spec owns the user's app spec: the YAML file that says what an app is (its name,
// its routes, how to run and health-check its instances) and how a new release of it is
// deployed (strategy, hooks, analysis, deadlines).
//
// Parse reads a spec strictly and reports everything wrong with it at once: unknown fields,
// wrong types and invalid values each become a Problem with its path, like
// "strategy.canary.steps[2].weight", and its line in the file. Defaults are filled by
// App.Default and described in each field's doc comment, from which docs/spec.md is
// generated. Strategy.Steps flattens every strategy and preset into the list of traffic
// steps the engine walks.
//
// The package only describes what the user asked for. It must not know the deployment
// engine, the runtimes, the router or the store; they read an *App.
package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// MaxSize is the largest spec Parse accepts, in bytes.
const MaxSize = 1 << 20

// Parse reads one app spec in YAML, fills its defaults and validates it. Any problem, from a
// YAML syntax error to an unknown field or an invalid value, is returned in one *Error that
// lists all of them, each with its path and, where it can be told, its line. Errors reading
// r are returned wrapped as they are.
func Parse(r io.Reader) (*App, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read app spec: %w", err)
	}
	if len(data) > MaxSize {
		return nil, &Error{Problems: []Problem{{Message: fmt.Sprintf("the spec is larger than %d bytes", MaxSize)}}, TooLarge: true}
	}
	root, p := parseYAML(data)
	if p != nil {
		return nil, &Error{Problems: []Problem{*p}, TooLarge: p.tooLarge}
	}
	var a App
	d := newDecoder()
	d.decode("", root, reflect.ValueOf(&a).Elem())
	a.Default()
	problems := d.problems
	var verr *Error
	if errors.As(a.Validate(), &verr) {
		for _, p := range verr.Problems {
			if d.covers(p.Path) {
				continue // the value did not decode; that is already reported
			}
			p.Line = d.line(p.Path)
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, &Error{Problems: capProblems(problems, d.dropped)}
	}
	return &a, nil
}

var syntaxRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML reads the single YAML document in data and returns its root node.
func parseYAML(data []byte) (root *yaml.Node, problem *Problem) {
	defer func() {
		// The YAML library is not ours; a panic in it must not take a server down.
		if r := recover(); r != nil {
			root, problem = nil, &Problem{Message: fmt.Sprintf("the YAML could not be read: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Problem{Message: "the spec is empty"}
		}
		return nil, syntaxProblem(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxProblem(err)
		}
		return nil, &Problem{Line: extra.Line, Message: "a spec is one YAML document; this file holds more"}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, &Problem{Message: "the spec is empty"}
	}
	if p := checkShape(doc.Content[0]); p != nil {
		return nil, p
	}
	return doc.Content[0], nil
}

func syntaxProblem(err error) *Problem {
	if m := syntaxRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Problem{Line: line, Message: "YAML syntax: " + m[2]}
	}
	return &Problem{Message: "YAML syntax: " + trimYAML(err.Error())}
}

func trimYAML(s string) string {
	if len(s) > 6 && s[:6] == "yaml: " {
		return s[6:]
	}
	return s
}

// Marshal writes the spec as YAML, two-space indented, fields in the order of this package's
// types and unset optional fields left out. Parse reads the result back to an equal App.
func (a *App) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(a); err != nil {
		return nil, fmt.Errorf("marshal app spec %q: %w", a.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal app spec %q: %w", a.Name, err)
	}
	return buf.Bytes(), nil
}
