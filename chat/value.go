package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ardanlabs/jinja"
)

// decodeJSON parses one JSON value into a template value, keeping object key order and the
// int-vs-float kind of numbers (a number written with '.', 'e' or 'E' is a float, like Python's
// json.loads).
func decodeJSON(b []byte) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return jinja.Value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jinja.Value{}, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (jinja.Value, error) {
	t, err := dec.Token()
	if err != nil {
		return jinja.Value{}, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			d := jinja.NewDict()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return jinja.Value{}, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				d.AsDict().Set(k.(string), v)
			}
			_, err := dec.Token() // }
			return d, err
		case '[':
			items := []jinja.Value{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				items = append(items, v)
			}
			_, err := dec.Token() // ]
			return jinja.NewList(items), err
		}
	case nil:
		return jinja.None(), nil
	case bool:
		return jinja.NewBool(x), nil
	case string:
		return jinja.NewString(x), nil
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := x.Int64(); err == nil {
				return jinja.NewInt(i), nil
			}
		}
		f, err := x.Float64()
		if err != nil {
			return jinja.Value{}, fmt.Errorf("number %s out of range", s)
		}
		return jinja.NewFloat(f), nil
	}
	return jinja.Value{}, fmt.Errorf("unexpected JSON token %v", t)
}

// copyValue returns a deep copy of lists and dicts (scalars are immutable).
func copyValue(v jinja.Value) jinja.Value {
	switch {
	case v.IsList():
		items := make([]jinja.Value, len(v.AsList().Items))
		for i, it := range v.AsList().Items {
			items[i] = copyValue(it)
		}
		return jinja.NewList(items)
	case v.IsDict():
		d := jinja.NewDict()
		src := v.AsDict()
		for _, k := range src.Keys {
			d.AsDict().Set(k, copyValue(src.Data[k]))
		}
		return d
	}
	return v
}

// describe names a value's kind in JSON terms, for errors.
func describe(v jinja.Value) string {
	switch {
	case v.IsNone(), v.IsUndefined():
		return "null"
	case v.IsBool():
		return "a boolean"
	case v.IsNumber():
		return "a number"
	case v.IsString():
		return "a string"
	case v.IsList():
		return "a list"
	case v.IsDict():
		return "an object"
	}
	return "a function"
}
