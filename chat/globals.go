package chat

import (
	"errors"
	"fmt"
	"time"

	"github.com/ardanlabs/jinja"
)

// maxRange is the Jinja2 sandbox's MAX_RANGE: range() may not make longer lists.
const maxRange = 100000

// globals are the functions transformers' environment gives a template, for one render of the
// template from source with strftime_now's clock at now (zero: time.Now()): raise_exception,
// strftime_now, the sandbox's bounded range, and transformers' tojson under tojsonVar (rewrite
// points the template's tojson filter at it).
func globals(source string, now time.Time) map[string]jinja.Value {
	return map[string]jinja.Value{
		"raise_exception": jinja.NewCallable("raise_exception", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			msg := ""
			if len(args) > 0 {
				msg = plain(args[0])
			}
			return jinja.Value{}, &TemplateError{Source: source, Msg: msg}
		}),
		"strftime_now": jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || !args[0].IsString() {
				return jinja.Value{}, errors.New("strftime_now takes one format string")
			}
			at := now
			if at.IsZero() {
				at = time.Now()
			}
			return jinja.NewString(strftime(args[0].AsString(), at)), nil
		}),
		"range":   jinja.NewCallable("range", sandboxRange),
		tojsonVar: jinja.NewCallable("tojson", tojson),
	}
}

// sandboxRange is Python's range(stop) / range(start, stop[, step]) over integers, refusing more
// than maxRange items as Jinja2's sandbox does (a template cannot exhaust memory with range).
func sandboxRange(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	var n [3]int64
	for i, a := range args {
		switch {
		case i >= 3:
			return jinja.Value{}, fmt.Errorf("range expected at most 3 arguments, got %d", len(args))
		case a.IsInt():
			n[i] = a.AsInt()
		case a.IsBool() && a.AsBool():
			n[i] = 1
		case a.IsBool():
		default:
			return jinja.Value{}, fmt.Errorf("range() needs integers, not %s", describe(a))
		}
	}
	start, stop, step := int64(0), n[0], int64(1)
	switch len(args) {
	case 0:
		return jinja.Value{}, errors.New("range expected at least 1 argument, got 0")
	case 2, 3:
		start, stop = n[0], n[1]
		if len(args) == 3 {
			step = n[2]
		}
	}
	if step == 0 {
		return jinja.Value{}, errors.New("range() arg 3 must not be zero")
	}
	count := int64(0)
	if step > 0 && stop > start {
		count = (stop - start + step - 1) / step
	} else if step < 0 && start > stop {
		count = (start - stop - step - 1) / -step
	}
	if count > maxRange {
		return jinja.Value{}, fmt.Errorf("Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", maxRange)
	}
	items := make([]jinja.Value, count)
	for i := range items {
		items[i] = jinja.NewInt(start + int64(i)*step)
	}
	return jinja.NewList(items), nil
}

// plain is a value as the template prints it (a string without quotes).
func plain(v jinja.Value) string {
	if v.IsString() {
		return v.AsString()
	}
	return v.String()
}
