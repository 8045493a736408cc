package config

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// maxValues bounds the values one file may decode to, so that aliases that
// fan out (a list of a hundred aliases of a list of a hundred ...) cannot
// make loading a small file take forever.
const maxValues = 100_000

// decoder walks a yaml.Node tree into the Config structs by their yaml tags,
// collecting problems instead of stopping at the first.
type decoder struct {
	file     string
	env      func(string) (string, bool)
	problems []Problem
	// nodes maps the path of every key given a non-null value (and every
	// list item) to its key node (item node), for presence and lines.
	nodes map[string]*yaml.Node
	// bad marks paths whose node had the wrong shape; validation skips them
	// so that one mistake is reported once.
	bad    map[string]bool
	budget int
	// uses says which parts the process uses: a problem anywhere else (an
	// unset ${NAME}, a missing credential) is skipped, not reported, and
	// its key left at its default.
	uses    Uses
	skipped []Problem
}

func (d *decoder) add(n *yaml.Node, key, reason string) {
	p := Problem{File: d.file, Key: key, Reason: reason}
	if n != nil {
		p.Line = n.Line
	}
	d.problems = append(d.problems, p)
}

func (d *decoder) addf(n *yaml.Node, key, format string, args ...any) {
	d.add(n, key, fmt.Sprintf(format, args...))
}

// spend counts one value or key against maxValues, and reports false (and
// a problem, once) when they are used up.
func (d *decoder) spend(n *yaml.Node) bool {
	if d.budget--; d.budget == 0 {
		d.addf(n, "", "more than %d values (aliases that fan out?); not read further", maxValues)
	}
	return d.budget > 0
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// defaulter is a struct that list items and pointers start from.
type defaulter interface{ setDefaults() }

// decode sets v from n. n is neither null nor an alias (resolve first).
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n) {
		return
	}
	t := v.Type()
	if t == durationType {
		if s, ok := d.scalar(n, path, "a duration"); ok {
			dur, err := time.ParseDuration(s)
			if err != nil {
				d.addf(n, path, "invalid duration %q (use Go syntax like \"30s\" or \"72h\")", s)
				d.bad[path] = true // the one problem to report there
				return
			}
			v.SetInt(int64(dur))
		}
		return
	}
	if t == timeType {
		if s, ok := d.scalar(n, path, "a date"); ok {
			tm, err := parseDate(s)
			if err != nil {
				d.addf(n, path, "invalid date %q (use RFC 3339: 2026-01-31 or 2026-01-31T00:00:00Z)", s)
				d.bad[path] = true
				return
			}
			v.Set(reflect.ValueOf(tm))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if n.Kind != yaml.MappingNode { // only pointers to structs occur
			d.shape(n, path, "a mapping")
			return
		}
		if v.IsNil() {
			p := reflect.New(t.Elem())
			if df, ok := p.Interface().(defaulter); ok {
				df.setDefaults()
			}
			v.Set(p)
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			// Base 10: YAML 1.2 and operators read 010 as ten.
			i, err := strconv.ParseInt(s, 10, t.Bits())
			if err != nil {
				d.addf(n, path, "expected an integer, got %q", s)
				return
			}
			v.SetInt(i)
		}
	case reflect.Float32, reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := parseFloat(s)
			if err != nil {
				d.addf(n, path, "expected a number, got %q", s)
				return
			}
			v.SetFloat(f)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			switch s {
			case "true", "True", "TRUE":
				v.SetBool(true)
			case "false", "False", "FALSE":
				v.SetBool(false)
			default:
				d.addf(n, path, "expected true or false, got %q", s)
			}
		}
	default:
		panic(fmt.Sprintf("config: no decoder for %s at %s", t, path))
	}
}

// parseFloat is strconv.ParseFloat refusing NaN and infinities.
func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, strconv.ErrSyntax
	}
	return f, nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.shape(n, path, "a mapping")
		return
	}
	fields := fieldsOf(v.Type())
	for _, e := range d.entries(n, path, nil) {
		name := e.key.Value
		child := joinKey(path, quoteKey(name))
		i, ok := fieldIndex(fields, name)
		if !ok && path == "" && strings.HasPrefix(name, "x-") {
			continue // a home for YAML anchors, as in Compose files
		}
		if !ok {
			d.addf(e.key, child, "unknown key (known: %s)", strings.Join(fieldNames(fields), ", "))
			continue
		}
		val := resolve(e.value)
		if isNull(val) {
			continue // as if absent: the default stays
		}
		d.nodes[child] = e.key
		d.decode(val, v.Field(fields[i].index), child)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.shape(n, path, "a list")
		return
	}
	t := v.Type()
	s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, item := range n.Content {
		child := path + "[" + strconv.Itoa(i) + "]"
		d.nodes[child] = item
		item = resolve(item)
		if isNull(item) {
			d.add(item, child, "empty list item")
			d.bad[child] = true
			continue
		}
		ev := s.Index(i)
		if df, ok := ev.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(item, ev, child)
	}
	v.Set(s)
}

// decodeMap decodes a mapping into a map with string keys, adding to (or
// replacing) the entries it already holds: the defaults. Each value starts
// from its type's defaults, not from the entry it replaces; a null value is
// as if absent.
func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.shape(n, path, "a mapping")
		return
	}
	t := v.Type()
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	for _, e := range d.entries(n, path, nil) {
		child := joinKey(path, quoteKey(e.key.Value))
		val := resolve(e.value)
		if isNull(val) {
			continue
		}
		d.nodes[child] = e.key
		ev := reflect.New(t.Elem()).Elem()
		if df, ok := ev.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(val, ev, child)
		v.SetMapIndex(reflect.ValueOf(e.key.Value).Convert(t.Key()), ev)
	}
}

// shape reports a node of the wrong kind, without its value: it could be a
// secret put under the wrong key.
func (d *decoder) shape(n *yaml.Node, path, want string) {
	d.bad[path] = true
	got := "a value"
	switch n.Kind {
	case yaml.MappingNode:
		got = "a mapping"
	case yaml.SequenceNode:
		got = "a list"
	}
	d.addf(n, path, "expected %s, got %s", want, got)
}

// scalar returns the ${NAME}-expanded text of a scalar node.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.shape(n, path, want)
		return "", false
	}
	s, ok := d.expand(n, path)
	if !ok {
		d.bad[path] = true
	}
	return s, ok
}

// expand replaces ${NAME} with the variable's value, ${NAME:-default}
// with the value or, when the variable is unset or empty, the default, and
// $$ with $ in the node's text. The values are not expanded again, so a
// secret may hold any characters; a default is taken literally too (up to
// the first }, with $$ for a $). Every missing variable is a problem (or,
// in a part the process does not use, skipped); so is any other $, since
// "$NAME" or "pa$word" is more likely a mistake than meant literally.
func (d *decoder) expand(n *yaml.Node, path string) (string, bool) {
	s := n.Value
	if !strings.Contains(s, "$") {
		return s, true
	}
	var b strings.Builder
	ok, reported := true, false
	syntax := func(reason string) { // once per value
		if !reported {
			// Not quoting the text: it may be a secret.
			d.add(n, path, reason)
		}
		ok, reported = false, true
	}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		switch rest := s[i+1:]; {
		case strings.HasPrefix(rest, "$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				syntax("unterminated ${ (write $$ for a literal $)")
				return "", false
			}
			name, def, hasDef := strings.Cut(rest[1:end], ":-")
			i += 1 + end + 1
			if !isVarName(name) {
				syntax("invalid ${NAME}: a name is letters, digits and _, not starting with a digit (write $$ for a literal $)")
				continue
			}
			if hasDef {
				var good bool
				if def, good = unescapeDefault(def); !good {
					syntax("invalid ${NAME:-default}: the default is taken literally and holds no ${NAME} (write $$ for a literal $)")
					continue
				}
			}
			val, found := d.env(name)
			switch {
			case hasDef && (!found || val == ""):
				b.WriteString(def)
			case !found:
				d.unset(n, path, name)
				ok = false
			default:
				b.WriteString(val)
			}
		default:
			syntax("a $ must start ${NAME} or be doubled ($$ for a literal $)")
			i++
		}
	}
	return b.String(), ok
}

// unescapeDefault turns $$ into $ in a ${NAME:-default}'s default; any
// other $ makes it invalid.
func unescapeDefault(s string) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) || s[i+1] != '$' {
			return "", false
		}
		b.WriteByte('$')
		i++
	}
	return b.String(), true
}

// unset records a ${NAME} that is set nowhere: a problem where the process
// uses the key, skipped where it does not (see Uses).
func (d *decoder) unset(n *yaml.Node, path, name string) {
	if d.uses.Needs(path) {
		d.add(n, path, d.unsetReason(name))
		return
	}
	d.skip(n, path, d.unsetReason(name))
}

// skip records a problem in a part of the file the process does not use.
func (d *decoder) skip(n *yaml.Node, path, reason string) {
	p := Problem{File: d.file, Key: path, Reason: reason}
	if n != nil {
		p.Line = n.Line
	}
	d.skipped = append(d.skipped, p)
}

// unsetReason names the places a variable was looked for: the environment
// and, under systemd with credentials (WithCredentials), the file of that
// name in $CREDENTIALS_DIRECTORY.
func (d *decoder) unsetReason(name string) string {
	dir, ok := d.env("CREDENTIALS_DIRECTORY")
	if !ok || dir == "" || !filepath.IsAbs(dir) {
		return fmt.Sprintf("environment variable %s is not set", name)
	}
	return fmt.Sprintf("%s is not set: not in the environment, and no readable file %s in $CREDENTIALS_DIRECTORY (%s)", name, name, dir)
}

func isVarName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

type entry struct{ key, value *yaml.Node }

// entries lists the keys of mapping n once each: duplicates are problems,
// and "<<" merge keys add the keys of the merged mappings that n does not set
// itself (the first merged mapping wins, as YAML 1.1 says). merging holds the
// mappings being merged, to stop a mapping that merges itself.
func (d *decoder) entries(n *yaml.Node, path string, merging map[*yaml.Node]bool) []entry {
	var out, merges []entry
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k, path, "a key must be a plain string")
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, entry{k, v})
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.addf(k, joinKey(path, quoteKey(k.Value)), "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{k, v})
	}
	if len(merges) == 0 {
		return out
	}
	if merging == nil {
		merging = make(map[*yaml.Node]bool)
	}
	merging[n] = true
	defer delete(merging, n)
	for _, merge := range merges {
		m := resolve(merge.value)
		maps := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			maps = make([]*yaml.Node, len(m.Content))
			for i, c := range m.Content {
				maps[i] = resolve(c)
			}
		}
		for _, mm := range maps {
			if mm.Kind != yaml.MappingNode {
				d.add(merge.key, path, "<< takes a mapping or a list of mappings")
				continue
			}
			if merging[mm] {
				d.add(merge.key, path, "<< merges a mapping into itself")
				continue
			}
			for _, e := range d.entries(mm, path, merging) {
				if !d.spend(e.key) {
					return out
				}
				if _, set := seen[e.key.Value]; !set {
					seen[e.key.Value] = e.key
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" ||
		n.Kind == yaml.AliasNode // an alias without a target
}

type field struct {
	name  string
	index int
}

// fieldsOf lists the yaml keys of struct type t in declaration order, so
// that adding a field to a struct is all it takes to accept its key.
func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs = append(fs, field{name, i})
	}
	return fs
}

func fieldIndex(fs []field, name string) (int, bool) {
	for i, f := range fs {
		if f.name == name {
			return i, true
		}
	}
	return 0, false
}

func fieldNames(fs []field) []string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return names
}

// quoteKey quotes a key that could not be told apart in a dotted path or
// that would break a problem line: only unknown keys can be like that.
func quoteKey(k string) string {
	if k == "" || strings.ContainsFunc(k, func(r rune) bool {
		return r == '.' || r == '[' || r == '"' || !unicode.IsPrint(r) || unicode.IsSpace(r)
	}) {
		return strconv.Quote(k)
	}
	return k
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parentKey is the path one level up: a.b[2].c -> a.b[2] -> a.b -> a -> "".
func parentKey(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// has reports whether the key at path was given a (non-null) value.
func (d *decoder) has(path string) bool { _, ok := d.nodes[path]; return ok }

// node is the node of path or of its nearest ancestor that is in the file,
// for the line of a problem about a missing key.
func (d *decoder) node(path string) *yaml.Node {
	for p := path; p != ""; p = parentKey(p) {
		if n, ok := d.nodes[p]; ok {
			return n
		}
	}
	return nil
}
