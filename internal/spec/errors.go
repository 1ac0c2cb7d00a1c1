package spec

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is wrapped by every *Error, so callers can test errors.Is(err, spec.ErrInvalid).
var ErrInvalid = errors.New("invalid app spec")

// ErrTooLarge is wrapped by an *Error for a spec over MaxSize bytes, MaxNodes values with
// its aliases expanded, or MaxDepth levels: callers that serve many users may refuse it as
// too large (413) rather than list problems.
var ErrTooLarge = errors.New("app spec too large")

// Error lists every problem found in a spec, in the order of the file where lines are known.
type Error struct {
	Problems []Problem
	// TooLarge: the spec was refused for its size before it was decoded (ErrTooLarge).
	TooLarge bool
}

// Problem is one thing wrong with a spec.
type Problem struct {
	// Path names the field in YAML terms, e.g. "strategy.canary.steps[2].weight" or
	// "run.process.env.LOG_LEVEL"; it is empty for problems with the whole file.
	Path string
	// Line is the 1-based line in the YAML source, or 0 when unknown (a missing field, or an
	// App that did not come from a file).
	Line int
	// Message says what is wrong and, where it helps, what is allowed.
	Message string

	tooLarge bool // a size bound, checked before decoding
}

// String formats the problem as "path: message (line N)".
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// Error joins the problems with "; ".
func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("%v: %s", ErrInvalid, strings.Join(parts, "; "))
}

// Unwrap returns ErrInvalid, and ErrTooLarge for a spec refused for its size.
func (e *Error) Unwrap() []error {
	if e.TooLarge {
		return []error{ErrInvalid, ErrTooLarge}
	}
	return []error{ErrInvalid}
}

// checker collects problems found while validating.
type checker struct {
	problems []Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns the collected problems as an *Error, or nil (never a typed nil).
func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return &Error{Problems: c.problems}
}

// exactlyOne reports unless exactly one of the named options is set.
func (c *checker) exactlyOne(path string, names []string, set []bool) {
	var found []string
	for i, s := range set {
		if s {
			found = append(found, names[i])
		}
	}
	switch len(found) {
	case 1:
	case 0:
		if len(names) == 1 {
			c.add(path, "required: %s", names[0])
			return
		}
		c.add(path, "set exactly one of %s", strings.Join(names, ", "))
	default:
		c.add(path, "set exactly one of %s, not %s", strings.Join(names, ", "), strings.Join(found, " and "))
	}
}

// sortProblems orders problems by line, keeping those without a line last and the order of
// equal lines as found.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return lj == 0 && li != 0
		}
		return li < lj
	})
}

// join builds a child path: join("", "app") is "app", join("run", "instances") is
// "run.instances".
func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// keyPath builds the path of a map entry: "run.process.env.LOG_LEVEL", or with a quoted key
// when the key is not a plain word: `run.process.env["a b"]`.
func keyPath(parent, key string) string {
	if key != "" && strings.Trim(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == "" {
		return join(parent, key)
	}
	return fmt.Sprintf("%s[%q]", parent, key)
}

func index(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }
