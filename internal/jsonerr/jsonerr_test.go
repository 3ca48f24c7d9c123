package jsonerr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDescribeSpeaksJSONNotGo(t *testing.T) {
	var v struct {
		Arch  []string          `json:"architectures"`
		N     int               `json:"n"`
		Names map[string]string `json:"names"`
	}
	for in, want := range map[string]string{
		`{"architectures": 0}`: `"architectures" must be a list of strings, got a number`,
		`{"n": "x"}`:           `"n" must be an integer, got a string`,
		`{"n": 1.5}`:           `"n" must be an integer, got the number 1.5`,
		`{"names": [1]}`:       `"names" must be an object, got a list`,
		`{"n": 1,}`:            `invalid JSON at byte`,
		`{"n": `:               `ends before`,
		`[1]`:                  `expected an object, got a list`,
	} {
		err := json.Unmarshal([]byte(in), &v)
		if err == nil {
			t.Fatalf("%s: decoded", in)
		}
		got := Describe(err)
		if !strings.Contains(got, want) || strings.Contains(got, "Go ") {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
