package chat

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/ardanlabs/jinja"
)

// tojson is transformers' tojson filter:
//
//	def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
//	    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
//
// Arguments may be given by position or by keyword, as in Python.
func tojson(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Value{}, fmt.Errorf("tojson: no value to encode")
	}
	names := []string{"ensure_ascii", "indent", "separators", "sort_keys"}
	opt := map[string]jinja.Value{}
	for i, a := range args[1:] {
		if i >= len(names) {
			return jinja.Value{}, fmt.Errorf("tojson: takes at most %d arguments", len(names))
		}
		opt[names[i]] = a
	}
	for k, v := range kwargs {
		known := false
		for _, n := range names {
			known = known || n == k
		}
		if !known {
			return jinja.Value{}, fmt.Errorf("tojson: unexpected keyword argument %q", k)
		}
		opt[k] = v
	}
	e := jsonEncoder{item: ", ", key: ": "}
	e.ascii = opt["ensure_ascii"].IsTruthy()
	e.sortKeys = opt["sort_keys"].IsTruthy()
	switch ind := opt["indent"]; {
	case ind.IsInt():
		e.indent, e.indented = strings.Repeat(" ", int(max(ind.AsInt(), 0))), true
	case ind.IsString():
		e.indent, e.indented = ind.AsString(), true
	case ind.IsNone(), ind.IsUndefined():
	default:
		return jinja.Value{}, fmt.Errorf("tojson: indent must be a number or a string, not %s", describe(ind))
	}
	if e.indented {
		e.item = "," // Python: separators default to (',', ': ') when indent is set
	}
	if sep := opt["separators"]; !sep.IsNone() && !sep.IsUndefined() {
		if !sep.IsList() || len(sep.AsList().Items) != 2 || !sep.AsList().Items[0].IsString() || !sep.AsList().Items[1].IsString() {
			return jinja.Value{}, fmt.Errorf("tojson: separators must be a pair of strings")
		}
		e.item, e.key = sep.AsList().Items[0].AsString(), sep.AsList().Items[1].AsString()
	}
	var b strings.Builder
	if err := e.encode(&b, args[0], 0); err != nil {
		return jinja.Value{}, err
	}
	return jinja.NewString(b.String()), nil
}

// jsonEncoder writes values as Python's json.dumps does.
type jsonEncoder struct {
	item, key string // separators
	indent    string // one level of indentation (when indented)
	indented  bool
	ascii     bool // ensure_ascii: non-ASCII as \uXXXX
	sortKeys  bool
}

func (e *jsonEncoder) newline(b *strings.Builder, level int) {
	if e.indented {
		b.WriteByte('\n')
		for range level {
			b.WriteString(e.indent)
		}
	}
}

func (e *jsonEncoder) encode(b *strings.Builder, v jinja.Value, level int) error {
	switch {
	case v.IsNone(), v.IsUndefined():
		b.WriteString("null")
	case v.IsBool():
		if v.AsBool() {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case v.IsInt():
		b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		b.WriteString(pythonFloat(v.AsFloat()))
	case v.IsString():
		e.str(b, v.AsString())
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteString(e.item)
			}
			e.newline(b, level+1)
			if err := e.encode(b, it, level+1); err != nil {
				return err
			}
		}
		e.newline(b, level)
		b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		if len(d.Keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := d.Keys
		if e.sortKeys {
			keys = append([]string(nil), keys...)
			sort.Strings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(e.item)
			}
			e.newline(b, level+1)
			e.str(b, k)
			b.WriteString(e.key)
			if err := e.encode(b, d.Data[k], level+1); err != nil {
				return err
			}
		}
		e.newline(b, level)
		b.WriteByte('}')
	default:
		return fmt.Errorf("tojson: a function is not JSON serializable")
	}
	return nil
}

// str writes s as a JSON string the way Python's json module does: ", \ and control characters
// escaped (\n \r \t \b \f, others \u00XX), nothing else unless ensure_ascii.
func (e *jsonEncoder) str(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case e.ascii && r > 0x7e && r <= 0xffff:
				fmt.Fprintf(b, `\u%04x`, r)
			case e.ascii && r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// pythonFloat formats f as Python's float.__repr__ (what json.dumps writes): the shortest digits
// that round-trip, positional when the decimal exponent is in [-4, 16) (always with a fraction,
// "3.0"), scientific otherwise ("1e+16", "1.5e-07"); NaN and infinities as json.dumps spells them.
func pythonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // "-d.ddde±XX"
	mant, exps, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(exps)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	p := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(p, '.') {
		p += ".0"
	}
	return p
}
