// Package jsonerr rewrites encoding/json errors in the terms of the file's author: the key, the
// JSON type expected and the one found, the byte offset of a syntax error, never the Go types
// the decoder fills.
//
// # Invariants
//
//   - Describe never returns text naming a Go type ("Go struct field", "[]string", "int64"), for
//     any error encoding/json returns.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Describe returns err's message in JSON terms.
func Describe(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		got := map[string]string{"number": "a number", "string": "a string", "array": "a list", "object": "an object", "bool": "true/false"}[te.Value]
		if got == "" {
			if strings.HasPrefix(te.Value, "number") {
				got = "the number " + strings.TrimSpace(strings.TrimPrefix(te.Value, "number"))
			} else {
				got = te.Value
			}
		}
		field := te.Field
		if field == "" {
			return fmt.Sprintf("expected %s, got %s (at byte %d)", Kind(te.Type), got, te.Offset)
		}
		return fmt.Sprintf("%q must be %s, got %s", field, Kind(te.Type), got)
	case errors.As(err, &se) && strings.Contains(se.Error(), "unexpected end"):
		return "invalid JSON: the text ends before the JSON value is closed"
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, errEOF) || strings.Contains(err.Error(), "unexpected end of JSON input"):
		return "invalid JSON: the text ends before the JSON value is closed"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.Contains(msg, "Go ") { // any other decoder message that speaks Go
		return "invalid JSON value"
	}
	return msg
}

var errEOF = errors.New("unexpected end of JSON input")

// Kind names the JSON type that fills a Go type: a string, a number, true/false, a list, an object.
func Kind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true/false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(Kind(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a JSON value"
}
