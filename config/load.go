package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads and validates the configuration file at path. env looks up the
// variables that ${NAME} refers to: os.LookupEnv in production, and when env
// is nil. A file that cannot be read gives that error; everything wrong
// inside the file gives one *Error listing every problem.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	return LoadFor(path, env, UsesAll)
}

// LoadFor is Load for a process that uses only some parts of the file
// (see Uses): a problem in a part it does not use, such as a ${NAME} set
// nowhere or an empty credential, is no error, and Config.Skipped lists it.
func LoadFor(path string, env func(string) (string, bool), uses Uses) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseFor(path, data, env, uses)
}

// Parse is Load for a file already read; name is the file path used in
// problems. On any problem it returns a nil Config and an *Error.
//
// Absent and null keys take their defaults; keys given a value, even "", are
// validated as given. Anchors, aliases and << merge keys work; top-level keys
// that start with "x-" are ignored, as a place to put anchors.
func Parse(name string, data []byte, env func(string) (string, bool)) (*Config, error) {
	return ParseFor(name, data, env, UsesAll)
}

// ParseFor is Parse for a process that uses only some parts of the file:
// see LoadFor.
func ParseFor(name string, data []byte, env func(string) (string, bool), uses Uses) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	d := &decoder{
		file:   name,
		env:    env,
		nodes:  make(map[string]*yaml.Node),
		bad:    make(map[string]bool),
		budget: maxValues,
		uses:   uses,
	}
	cfg := Default()
	if root := d.parse(data); root != nil {
		d.decode(resolve(root), reflect.ValueOf(cfg).Elem(), "")
		d.validate(cfg)
	}
	if len(d.problems) > 0 {
		sortProblems(d.problems)
		return nil, &Error{Problems: d.problems}
	}
	sortProblems(d.skipped)
	d.settleSkipped(cfg)
	return cfg, nil
}

// sortProblems puts problems in file order; the few without a line (some
// YAML errors) go last.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return lj == 0 && li != 0
		}
		return li < lj
	})
}

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string
	// Line is 1-based; 0 when unknown.
	Line int
	// Key is the dotted path with list indexes, e.g. providers[1].endpoint;
	// empty for problems with the file as a whole.
	Key    string
	Reason string
}

// String formats p as file:line: key: reason, leaving out an unknown line
// and an empty key.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Error is every problem found in a configuration file, in file order.
// Load and Parse return it as *Error; use errors.As to get at it.
type Error struct {
	Problems []Problem
}

// Error returns one line per problem.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse turns data into the root node of its one document: nil for an empty
// file or one that does not parse (a problem is recorded then).
func (d *decoder) parse(data []byte) (root *yaml.Node) {
	// yaml.v3 should not panic, but a config loader must not take the
	// process down with it if it does.
	defer func() {
		if r := recover(); r != nil {
			d.problems = append(d.problems, Problem{File: d.file, Reason: fmt.Sprintf("YAML parser failed: %v", r)})
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.yamlError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.add(&next, "", "more than one YAML document; put everything in one")
		return nil
	case !errors.Is(err, io.EOF):
		d.yamlError(err)
		return nil
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && !isNull(doc.Content[0]) {
		return doc.Content[0]
	}
	return nil // "---" or "~" alone: nothing set
}

// parserProblems are the yaml.v3 parser's (not scanner's) messages. It
// reports their lines 0-based, and leaves out line 0.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

func (d *decoder) yamlError(err error) {
	p := Problem{File: d.file, Reason: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Reason = m[2]
	}
	if parserProblems[p.Reason] {
		p.Line++
	}
	d.problems = append(d.problems, p)
}
