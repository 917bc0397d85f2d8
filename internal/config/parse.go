package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with the configuration: the key (its YAML
// path, or the variable that set it), what is wrong, and the line of the
// file it is on (0: not from the file).
type Problem struct {
	Key  string
	Msg  string
	Line int
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s: %s (line %d)", p.Key, p.Msg, p.Line)
	}
	return p.Key + ": " + p.Msg
}

// Problems are every problem found, in file order (then the environment's
// and the rest, in the order of the keys): the same every run.
type Problems []Problem

func (ps Problems) Error() string {
	if len(ps) == 1 {
		return "config: " + ps[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d problems:", len(ps))
	for _, p := range ps {
		b.WriteString("\n  " + p.Error())
	}
	return b.String()
}

// err is ps in order as an error, or nil.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Line, ps[j].Line
		return a > 0 && (b == 0 || a < b)
	})
	return ps
}

// ParseFile reads YAML from path over c.
func (c *Config) ParseFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return c.Parse(b)
}

// Parse reads YAML over c, key by key from the table (keys.go). Unknown
// keys, values of the wrong type and keys given twice are problems, each
// with its full path and line; all of them come back together.
func (c *Config) Parse(b []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	if c.lines == nil {
		c.lines = map[string]int{}
	}
	var ps Problems
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return Problems{{Key: "(file)", Msg: "must be a mapping of keys (key: value)", Line: root.Line}}.err()
	}
	c.parseMapping(root, "", &ps)
	return ps.err()
}

// groups are the paths of the nested mappings (wechat, tokens, …).
func groups() []string {
	var gs []string
	for _, k := range keys {
		if i := strings.LastIndexByte(k.Path, '.'); i > 0 && !slices.Contains(gs, k.Path[:i]) {
			gs = append(gs, k.Path[:i])
		}
	}
	return gs
}

// children are the names allowed directly under prefix.
func children(prefix string) []string {
	var out []string
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k.Path, prefix)
		if prefix != "" && !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if prefix == "" {
		out = append(out, "apps", "service_keys")
		out = append(out, "oidc") // OpenID Provider (oidc.go)
	}
	return out
}

func (c *Config) parseMapping(m *yaml.Node, prefix string, ps *Problems) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		path := prefix + k.Value
		if first, dup := seen[k.Value]; dup {
			*ps = append(*ps, Problem{Key: path, Msg: fmt.Sprintf("given twice (first on line %d)", first), Line: k.Line})
			continue
		}
		seen[k.Value] = k.Line
		c.lines[path] = k.Line
		switch {
		case path == "apps":
			c.parseApps(v, ps)
		case path == "service_keys":
			c.parseServiceKeys(v, ps)
		case path == "oidc":
			c.parseOIDC(v, ps)
		case slices.Contains(groups(), path):
			if v.Kind != yaml.MappingNode {
				*ps = append(*ps, Problem{Key: path, Msg: "must be a mapping of keys", Line: v.Line})
				continue
			}
			c.parseMapping(v, path+".", ps)
		default:
			key, ok := keyAt(path)
			if !ok {
				*ps = append(*ps, unknownKey(path, k, children(prefix)))
				continue
			}
			if err := key.setNode(c, v); err != nil {
				*ps = append(*ps, Problem{Key: path, Msg: err.Error(), Line: v.Line})
			}
		}
	}
}

func keyAt(path string) (Key, bool) {
	for _, k := range keys {
		if k.Path == path {
			return k, true
		}
	}
	return Key{}, false
}

// setNode stores a YAML value.
func (k Key) setNode(c *Config, v *yaml.Node) error {
	if k.kind == list {
		if v.Kind != yaml.SequenceNode {
			return errors.New("must be a list, e.g. [\"a\", \"b\"]")
		}
		var out []string
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("item on line %d must be a string", item.Line)
			}
			out = append(out, item.Value)
		}
		*k.ref(c).(*[]string) = out
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		return errors.New("must be a single value, not a list or a mapping")
	}
	return k.set(c, v.Value)
}

// set stores a value written as text (a YAML scalar, a variable).
func (k Key) set(c *Config, s string) error {
	switch p := k.ref(c).(type) {
	case *string:
		*p = s
	case *Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 2h or 30s", s)
		}
		*p = Duration(d)
	case *[]string:
		*p = splitList(s)
	}
	return nil
}

// eachEntry walks a list of mappings (apps, service_keys): it refuses
// another shape with form named (notMapping for an entry that is not a
// mapping), records lines, refuses a key given twice,
// and hands every other key of entry i to field.
func (c *Config) eachEntry(v *yaml.Node, key, form, notMapping string, ps *Problems, entry func(i int), field func(path string, k, val *yaml.Node)) {
	if v.Kind != yaml.SequenceNode {
		*ps = append(*ps, Problem{Key: key, Msg: "must be a list: " + form, Line: v.Line})
		return
	}
	for i, item := range v.Content {
		prefix := fmt.Sprintf("%s[%d]", key, i)
		c.lines[prefix] = item.Line
		if item.Kind != yaml.MappingNode {
			*ps = append(*ps, Problem{Key: prefix, Msg: notMapping, Line: item.Line})
			continue
		}
		entry(i)
		seen := map[string]bool{}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, val := item.Content[j], item.Content[j+1]
			path := prefix + "." + k.Value
			if seen[k.Value] {
				*ps = append(*ps, Problem{Key: path, Msg: "given twice", Line: k.Line})
				continue
			}
			seen[k.Value] = true
			c.lines[path] = k.Line
			field(path, k, val)
		}
	}
}

// scalars reads a list value: a YAML sequence of single values, or (for
// convenience) one comma-separated string.
func (c *Config) scalars(path string, val *yaml.Node, ps *Problems) []string {
	switch val.Kind {
	case yaml.ScalarNode:
		return splitList(val.Value)
	case yaml.SequenceNode:
	default:
		*ps = append(*ps, Problem{Key: path, Msg: "must be a list", Line: val.Line})
		return nil
	}
	var out []string
	for n, e := range val.Content {
		item := fmt.Sprintf("%s[%d]", path, n)
		if e.Kind != yaml.ScalarNode {
			*ps = append(*ps, Problem{Key: item, Msg: "must be a single value", Line: e.Line})
			continue
		}
		c.lines[item] = e.Line
		out = append(out, e.Value)
	}
	return out
}

func unknownKey(path string, k *yaml.Node, names []string) Problem {
	msg := "unknown key"
	if s := suggest(k.Value, names); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return Problem{Key: path, Msg: msg, Line: k.Line}
}

func (c *Config) parseApps(v *yaml.Node, ps *Problems) {
	names := make([]string, len(appKeys))
	for i, k := range appKeys {
		names[i] = k.Path
	}
	c.Apps = nil
	c.eachEntry(v, "apps", "{name, kind, appid, secret}", "must be a mapping {name, kind, appid, secret}", ps,
		func(int) { c.Apps = append(c.Apps, App{}) },
		func(path string, k, val *yaml.Node) {
			a := &c.Apps[len(c.Apps)-1]
			field, list := appField(a, k.Value), appList(a, k.Value)
			switch {
			case list != nil:
				*list = c.scalars(path, val, ps)
			case field == nil:
				*ps = append(*ps, unknownKey(path, k, names))
			case val.Kind != yaml.ScalarNode:
				*ps = append(*ps, Problem{Key: path, Msg: "must be a single value", Line: val.Line})
			default:
				*field = val.Value
			}
		})
}

// serviceKeysForm is the form of service_keys, for the problems that
// name it.
const serviceKeysForm = `service_keys: [{name: billing, scopes: [introspect, revocations]}] with the key in WXAUTH_SERVICE_KEY_BILLING`

// parseServiceKeys reads service_keys: a list of {name, scopes}. The old
// form, a list of bare keys, is refused with the new form named: a key
// in the file would keep a secret there and give it every scope.
func (c *Config) parseServiceKeys(v *yaml.Node, ps *Problems) {
	c.ServiceKeys = nil
	c.eachEntry(v, "service_keys", serviceKeysForm,
		"bare keys are no longer accepted; name the key and its scopes, "+serviceKeysForm, ps,
		func(int) { c.ServiceKeys = append(c.ServiceKeys, ServiceKey{}) },
		func(path string, k, val *yaml.Node) {
			sk := &c.ServiceKeys[len(c.ServiceKeys)-1]
			switch {
			case k.Value == "name" && val.Kind == yaml.ScalarNode:
				sk.Name = val.Value
			case k.Value == "name":
				*ps = append(*ps, Problem{Key: path, Msg: "must be a single value", Line: val.Line})
			case k.Value == "scopes" && val.Kind == yaml.SequenceNode:
				sk.Scopes = c.scalars(path, val, ps)
			case k.Value == "scopes":
				*ps = append(*ps, Problem{Key: path, Msg: "must be a list, e.g. [introspect, revocations]", Line: val.Line})
			case k.Value == "secret":
				*ps = append(*ps, Problem{Key: path, Msg: fmt.Sprintf("not read from the file; set WXAUTH_SERVICE_KEY_%s", strings.ToUpper(sk.Name)), Line: k.Line})
			default:
				*ps = append(*ps, unknownKey(path, k, []string{"name", "scopes"}))
			}
		})
}

// Env is the process environment, by name (os.Environ as a map).
type Env map[string]string

// EnvFrom reads "NAME=value" entries (os.Environ()).
func EnvFrom(environ []string) Env {
	e := Env{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e[k] = v
		}
	}
	return e
}

// Lookup is os.LookupEnv on e.
func (e Env) Lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// ApplyEnv overrides c with the WXAUTH_* variables of env. A variable
// that is no key's (a typo) is a problem, named with a suggestion; so is
// a bad value. The tests' and CI's own variables (exemptEnv) are left
// alone.
func (c *Config) ApplyEnv(env Env) error {
	var ps Problems
	names := make([]string, 0, len(env))
	for name := range env {
		if strings.HasPrefix(name, "WXAUTH_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	known := make([]string, 0, len(keys))
	for _, k := range keys {
		known = append(known, k.Env)
	}
	for _, name := range names {
		v := env[name]
		if i := slices.IndexFunc(keys, func(k Key) bool { return k.Env == name }); i >= 0 {
			if err := keys[i].set(c, v); err != nil {
				ps = append(ps, Problem{Key: name, Msg: err.Error()})
			}
			continue
		}
		if f, ok := smsCredentials[name]; ok {
			*f(&c.SMS) = v
			continue
		}
		if app, field, ok := appPushVar(name); ok {
			if !c.setAppPush(app, field, v) && len(c.Apps) > 0 {
				ps = append(ps, Problem{Key: name, Msg: fmt.Sprintf("no app %q is configured", app)})
			}
			continue
		}
		if app, ok := appSecretVar(name); ok {
			if !c.setAppSecret(app, v) && len(c.Apps) > 0 {
				ps = append(ps, Problem{Key: name, Msg: fmt.Sprintf("no app %q is configured", app)})
			}
			continue
		}
		if name == "WXAUTH_SERVICE_KEYS" {
			ps = append(ps, Problem{Key: name, Msg: "bare keys are no longer accepted; name each key and its scopes in the file, " + serviceKeysForm})
			continue
		}
		if key, ok := serviceKeyVar(name); ok {
			if !c.setServiceKeySecret(key, v) {
				ps = append(ps, Problem{Key: name, Msg: fmt.Sprintf("no service key %q is configured in service_keys", key)})
			}
			continue
		}
		if matched, ok := c.setOIDCSecret(name, v); matched {
			if !ok {
				ps = append(ps, Problem{Key: name, Msg: "no client in oidc.clients has this variable's id"})
			}
			continue
		}
		if slices.ContainsFunc(exemptEnv, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		msg := "unknown variable"
		if s := suggest(name, known); s != "" {
			msg += "; did you mean " + s + "?"
		}
		ps = append(ps, Problem{Key: name, Msg: msg})
	}
	return ps.err()
}

// appSecretVar reads WXAUTH_APP_<NAME>_SECRET.
func appSecretVar(name string) (app string, ok bool) {
	rest, ok := strings.CutPrefix(name, "WXAUTH_APP_")
	if !ok {
		return "", false
	}
	app, ok = strings.CutSuffix(rest, "_SECRET")
	return strings.ToLower(app), ok && app != ""
}

func (c *Config) setAppSecret(app, secret string) bool {
	for i := range c.Apps {
		if c.Apps[i].Name == app {
			c.Apps[i].Secret = secret
			return true
		}
	}
	return false
}

// serviceKeyVar reads WXAUTH_SERVICE_KEY_<NAME>.
func serviceKeyVar(name string) (key string, ok bool) {
	rest, ok := strings.CutPrefix(name, "WXAUTH_SERVICE_KEY_")
	return strings.ToLower(rest), ok && rest != ""
}

func (c *Config) setServiceKeySecret(name, secret string) bool {
	for i := range c.ServiceKeys {
		if c.ServiceKeys[i].Name == name {
			c.ServiceKeys[i].Secret = secret
			return true
		}
	}
	return false
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
