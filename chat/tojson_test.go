package chat

import (
	"testing"

	"github.com/ardanlabs/jinja"
)

// The expected strings are what Python 3.11's json.dumps / repr print for the same input.

func TestPythonFloatMatchesPythonRepr(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{3, "3.0"}, {0.5, "0.5"}, {-2, "-2.0"}, {0.1, "0.1"}, {1e15, "1000000000000000.0"},
		{1e16, "1e+16"}, {1.5e16, "1.5e+16"}, {0.0001, "0.0001"}, {0.00001, "1e-05"},
		{1.25e-7, "1.25e-07"}, {123456789.125, "123456789.125"}, {1e100, "1e+100"}, {0, "0.0"},
	} {
		if got := pythonFloat(c.f); got != c.want {
			t.Errorf("pythonFloat(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestTojsonMatchesJSONDumps(t *testing.T) {
	v, err := decodeJSON([]byte(`{"b": 1, "a": [3.0, "x<&>\"\\\n\u0001é😀"], "c": {}, "d": [], "e": null, "f": true}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		kwargs map[string]jinja.Value
		want   string
	}{
		{"defaults", nil,
			`{"b": 1, "a": [3.0, "x<&>\"\\\n\u0001é😀"], "c": {}, "d": [], "e": null, "f": true}`},
		{"indent=2", map[string]jinja.Value{"indent": jinja.NewInt(2)},
			"{\n  \"b\": 1,\n  \"a\": [\n    3.0,\n    \"x<&>\\\"\\\\\\n\\u0001é😀\"\n  ],\n  \"c\": {},\n  \"d\": [],\n  \"e\": null,\n  \"f\": true\n}"},
		{"sort_keys ensure_ascii separators", map[string]jinja.Value{
			"sort_keys": jinja.NewBool(true), "ensure_ascii": jinja.NewBool(true),
			"separators": jinja.NewList([]jinja.Value{jinja.NewString(","), jinja.NewString(":")})},
			`{"a":[3.0,"x<&>\"\\\n\u0001\u00e9\ud83d\ude00"],"b":1,"c":{},"d":[],"e":null,"f":true}`},
	} {
		got, err := tojson([]jinja.Value{v}, c.kwargs)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.AsString() != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got.AsString(), c.want)
		}
	}
	if _, err := tojson([]jinja.Value{v}, map[string]jinja.Value{"indnet": jinja.NewInt(2)}); err == nil {
		t.Error("an unknown keyword argument was accepted")
	}
}
