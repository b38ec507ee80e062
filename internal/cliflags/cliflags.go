// Package cliflags declares command-line flags once, in the struct tags of
// the options struct that consumes them, and fills that struct after
// parsing (as kong and go-arg do, on top of urfave/cli/v2).
//
// A field is bound to a flag by its tags:
//
//	flag:"name"          the flag's name (required to bind the field)
//	usage:"text"         declares the flag; without it the field reads a
//	                     flag declared elsewhere (another field, or a flag
//	                     the command builds itself and passes With)
//	alias:"a,b"          other names
//	env:"A,B"            environment variables that set it
//	default:"value"      its default (else the field's value when Flags
//	                     is called, e.g. from a DefaultOptions constructor)
//	placeholder:"NAME"   the value's name in --help (the first NAME in the
//	                     usage text)
//	required:"true"      the command fails without it
//	hidden:"true"        left out of --help
//	set:"a,b"            not a flag: a bool field is true when any of the
//	                     named flags was given, a string field is the name
//	                     of the first of them that was given
//
// A struct that implements UsageVars fills {name} in its fields' usage
// texts (texts computed at run time, such as a list of defaults).
//
// Supported field types: string, bool, int, int64, uint64, float64,
// time.Duration and []string; *int and *time.Duration stay nil unless the
// flag was given. Struct fields without a flag tag are walked (nested
// option groups); other fields are ignored.
package cliflags

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// An Option changes the flags Flags builds for one command.
type Option func(*config)

type config struct {
	usage  map[string]string // flag name → replacement usage
	prefix map[string]string // flag name → text before the usage
	extra  []cli.Flag
}

// Usage replaces the usage text of the flag name (a command that words a
// shared flag its own way).
func Usage(name, text string) Option {
	return func(c *config) { c.usage[name] = text }
}

// Prefix puts text before the declared usage of the flag name (a shared
// flag that each command introduces in its own words).
func Prefix(name, text string) Option {
	return func(c *config) { c.prefix[name] = text }
}

// With adds flags the command builds itself; fields may read them.
func With(flags ...cli.Flag) Option {
	return func(c *config) { c.extra = append(c.extra, flags...) }
}

// UsageVars is implemented by option structs whose usage texts name
// values computed at run time: {name} in a usage tag becomes vars[name].
type UsageVars interface {
	UsageVars() map[string]string
}

var durationType = reflect.TypeOf(time.Duration(0))

// field is one tagged struct field.
type field struct {
	v    reflect.Value
	tag  reflect.StructTag
	name string
	vars map[string]string // of the struct that holds the field
}

// walk calls fn for every field of the struct v points to (nested structs
// included) that has a flag or set tag.
func walk(v any, fn func(f field)) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("cliflags: want a pointer to a struct, got %T", v))
	}
	walkStruct(rv.Elem(), fn)
}

func walkStruct(s reflect.Value, fn func(f field)) {
	var vars map[string]string
	if uv, ok := s.Addr().Interface().(UsageVars); ok {
		vars = uv.UsageVars()
	}
	t := s.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, ok := sf.Tag.Lookup("flag")
		if !ok {
			if _, set := sf.Tag.Lookup("set"); set {
				fn(field{v: s.Field(i), tag: sf.Tag, vars: vars})
			} else if sf.Type.Kind() == reflect.Struct {
				walkStruct(s.Field(i), fn)
			}
			continue
		}
		fn(field{v: s.Field(i), tag: sf.Tag, name: name, vars: vars})
	}
}

// Flags returns the flags the fields of v (a pointer to a struct) declare,
// in field order, followed by those of With. A default tag is stored into
// its field first. Two fields declaring the same flag, a field reading a
// flag that neither a field nor With declares, or a Usage or Prefix for a
// flag no field declares is a programming error and panics (so building a
// command checks its bindings).
func Flags(v any, opts ...Option) []cli.Flag {
	cfg := config{usage: map[string]string{}, prefix: map[string]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	var flags []cli.Flag
	declared := map[string]bool{}
	for _, f := range cfg.extra {
		for _, n := range f.Names() {
			declared[n] = true
		}
	}
	var refs []string
	walk(v, func(f field) {
		text, ok := f.tag.Lookup("usage")
		switch {
		case f.name == "":
			refs = append(refs, list(f.tag.Get("set"))...)
			return
		case !ok:
			refs = append(refs, f.name)
			return
		case declared[f.name]:
			panic("cliflags: flag --" + f.name + " declared twice")
		}
		declared[f.name] = true
		if d, ok := f.tag.Lookup("default"); ok {
			if err := setString(f.v, d); err != nil {
				panic(fmt.Sprintf("cliflags: --%s: default %q: %v", f.name, d, err))
			}
		}
		for k, v := range f.vars {
			text = strings.ReplaceAll(text, "{"+k+"}", v)
		}
		if u, ok := cfg.usage[f.name]; ok {
			text = u
		}
		text = cfg.prefix[f.name] + text
		if p := f.tag.Get("placeholder"); p != "" {
			text = strings.Replace(text, p, "`"+p+"`", 1)
		}
		flags = append(flags, newFlag(f, text))
	})
	for _, r := range refs {
		if !declared[r] {
			panic("cliflags: a field reads --" + r + ", which no field and no With flag declares")
		}
	}
	for _, m := range []map[string]string{cfg.usage, cfg.prefix} {
		for name := range m {
			if !declared[name] {
				panic("cliflags: Usage or Prefix names --" + name + ", which no field declares")
			}
		}
	}
	return append(flags, cfg.extra...)
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// newFlag builds the urfave/cli flag of f with the field's value as default.
func newFlag(f field, usage string) cli.Flag {
	name, aliases, env := f.name, list(f.tag.Get("alias")), list(f.tag.Get("env"))
	req, hidden := f.tag.Get("required") == "true", f.tag.Get("hidden") == "true"
	v := f.v
	if v.Kind() == reflect.Pointer {
		v = reflect.Zero(v.Type().Elem())
	}
	switch {
	case v.Type() == durationType:
		return &cli.DurationFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: req, Hidden: hidden, Value: time.Duration(v.Int())}
	case v.Kind() == reflect.String:
		return &cli.StringFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: req, Hidden: hidden, Value: v.String()}
	case v.Kind() == reflect.Bool:
		return &cli.BoolFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: req, Hidden: hidden, Value: v.Bool()}
	case v.Kind() == reflect.Int:
		return &cli.IntFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: req, Hidden: hidden, Value: int(v.Int())}
	case v.Kind() == reflect.Int64:
		return &cli.Int64Flag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: req, Hidden: hidden, Value: v.Int()}
	case v.Kind() == reflect.Uint64:
		return &cli.Uint64Flag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: req, Hidden: hidden, Value: v.Uint()}
	case v.Kind() == reflect.Float64:
		return &cli.Float64Flag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: req, Hidden: hidden, Value: v.Float()}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		f := &cli.StringSliceFlag{Name: name, Aliases: aliases, EnvVars: env, Usage: usage, Required: req, Hidden: hidden}
		if v.Len() > 0 {
			f.Value = cli.NewStringSlice(v.Interface().([]string)...)
		}
		return f
	}
	panic(fmt.Sprintf("cliflags: --%s: unsupported field type %s", name, f.v.Type()))
}

// setString parses s into v (for default tags).
func setString(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(s)
		v.SetInt(int64(d))
		return err
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		v.SetBool(b)
		return err
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 0, 64)
		v.SetInt(n)
		return err
	case v.Kind() == reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, 64)
		v.SetUint(n)
		return err
	case v.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		v.SetFloat(x)
		return err
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		v.Set(reflect.ValueOf(list(s)))
	default:
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}

// Load copies the parsed flags of c's command into the fields of v bound
// to them. Fields whose flag the command does not have keep their value.
func Load(c *cli.Context, v any) {
	have := map[string]bool{}
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			have[n] = true
		}
	}
	walk(v, func(f field) {
		if f.name == "" {
			loadSet(c, f)
			return
		}
		if !have[f.name] {
			return
		}
		if f.v.Kind() == reflect.Pointer {
			if !c.IsSet(f.name) {
				f.v.Set(reflect.Zero(f.v.Type()))
				return
			}
			p := reflect.New(f.v.Type().Elem())
			load(c, f.name, p.Elem())
			f.v.Set(p)
			return
		}
		load(c, f.name, f.v)
	})
}

// loadSet fills a set-tagged field.
func loadSet(c *cli.Context, f field) {
	first := ""
	for _, n := range list(f.tag.Get("set")) {
		if c.IsSet(n) {
			first = n
			break
		}
	}
	switch f.v.Kind() {
	case reflect.Bool:
		f.v.SetBool(first != "")
	case reflect.String:
		f.v.SetString(first)
	default:
		panic(fmt.Sprintf("cliflags: set tag on a %s field; want bool or string", f.v.Type()))
	}
}

func load(c *cli.Context, name string, v reflect.Value) {
	switch {
	case v.Type() == durationType:
		v.SetInt(int64(c.Duration(name)))
	case v.Kind() == reflect.String:
		v.SetString(c.String(name))
	case v.Kind() == reflect.Bool:
		v.SetBool(c.Bool(name))
	case v.Kind() == reflect.Int:
		v.SetInt(int64(c.Int(name)))
	case v.Kind() == reflect.Int64:
		v.SetInt(c.Int64(name))
	case v.Kind() == reflect.Uint64:
		v.SetUint(c.Uint64(name))
	case v.Kind() == reflect.Float64:
		v.SetFloat(c.Float64(name))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		v.Set(reflect.ValueOf(c.StringSlice(name)))
	default:
		panic(fmt.Sprintf("cliflags: --%s: unsupported field type %s", name, v.Type()))
	}
}

// Action returns a cli.ActionFunc that loads the flags into v, then runs fn.
func Action(v any, fn cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		Load(c, v)
		return fn(c)
	}
}
