package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Flag is one train flag and its value, as train's command line takes it (without the dashes).
type Flag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Variant is one entry of the method axis: a name (the cell's prefix), train's --method and
// flags of its own (e.g. an equal-parameter LoRA: method lora, flags {"match-params": "moslora"}).
type Variant struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Flags  []Flag `json:"flags,omitempty"`
}

// Axis is a train flag taking several values, one per cell.
type Axis struct {
	Flag   string   `json:"flag"`
	Values []string `json:"values"`
}

// Grid is the whole sweep: every variant × every combination of the axes' values × every seed,
// with Fixed flags common to all cells.
type Grid struct {
	Variants []Variant `json:"variants"`
	Seeds    []int64   `json:"seeds"`
	Fixed    []Flag    `json:"fixed,omitempty"`
	Vary     []Axis    `json:"vary,omitempty"`
}

// Cell is one training run of the grid.
type Cell struct {
	Name    string `json:"name"`
	Group   string `json:"group"` // Name without the seed
	Variant string `json:"variant"`
	Method  string `json:"method"`
	Seed    int64  `json:"seed"`
	Flags   []Flag `json:"flags"` // every train flag of the cell, sorted by name
}

// Validate checks the grid a user wrote.
func (g *Grid) Validate() error {
	if len(g.Variants) == 0 {
		return fmt.Errorf("sweep: no methods")
	}
	if len(g.Seeds) == 0 {
		return fmt.Errorf("sweep: no seeds")
	}
	seen := map[string]bool{}
	for _, v := range g.Variants {
		if v.Name == "" || v.Method == "" {
			return fmt.Errorf("sweep: a method entry needs a name and a method (got name %q, method %q)", v.Name, v.Method)
		}
		if safe(v.Name) != v.Name {
			return fmt.Errorf("sweep: method name %q: use letters, digits, '.', '_' and '-' only", v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("sweep: method name %q appears twice", v.Name)
		}
		seen[v.Name] = true
	}
	reserved := map[string]bool{"model": true, "data": true, "eval": true, "out": true, "method": true, "seed": true, "resume": true}
	varied := map[string]bool{}
	for _, a := range g.Vary {
		if reserved[a.Flag] {
			return fmt.Errorf("sweep: --%s is set by the sweep itself and cannot vary", a.Flag)
		}
		if varied[a.Flag] {
			return fmt.Errorf("sweep: --%s varies twice", a.Flag)
		}
		if len(a.Values) == 0 {
			return fmt.Errorf("sweep: --%s has no values", a.Flag)
		}
		varied[a.Flag] = true
	}
	for _, f := range g.Fixed {
		if reserved[f.Name] {
			return fmt.Errorf("sweep: --%s is set by the sweep itself", f.Name)
		}
	}
	return nil
}

// Cells lists the grid's cells: variants outermost (in order), then the axes' values, then seeds.
func (g *Grid) Cells() []Cell {
	var cells []Cell
	combos := [][]Flag{nil}
	for _, a := range g.Vary {
		var next [][]Flag
		for _, c := range combos {
			for _, v := range a.Values {
				next = append(next, append(append([]Flag(nil), c...), Flag{a.Flag, v}))
			}
		}
		combos = next
	}
	for _, v := range g.Variants {
		for _, combo := range combos {
			group := v.Name
			for _, f := range combo {
				group += "-" + safe(f.Name+f.Value)
			}
			flags := map[string]string{}
			for _, f := range g.Fixed {
				flags[f.Name] = f.Value
			}
			for _, f := range v.Flags {
				flags[f.Name] = f.Value
			}
			for _, f := range combo {
				flags[f.Name] = f.Value
			}
			var fl []Flag
			for k, val := range flags {
				fl = append(fl, Flag{k, val})
			}
			sort.Slice(fl, func(i, j int) bool { return fl[i].Name < fl[j].Name })
			for _, s := range g.Seeds {
				cells = append(cells, Cell{Name: fmt.Sprintf("%s-seed%d", group, s), Group: group, Variant: v.Name,
					Method: v.Method, Seed: s, Flags: fl})
			}
		}
	}
	return cells
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safe makes s usable in a folder name.
func safe(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// ParseSeeds reads "0-4", "0,2,7" or a mix ("0-2,5").
func ParseSeeds(s string) ([]int64, error) {
	var out []int64
	seen := map[int64]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 64)
		b := a
		if err == nil && isRange {
			b, err = strconv.ParseInt(hi, 10, 64)
		}
		if err != nil || a < 0 || b < a || b-a > 10000 {
			return nil, fmt.Errorf("sweep: --seeds %q: %q is not a seed (N ≥ 0) or a range (A-B, A ≤ B)", s, part)
		}
		for x := a; x <= b; x++ {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	return out, nil
}

// ParseMethods reads "lora,moslora": each a variant named after its method.
func ParseMethods(s string) []Variant {
	var out []Variant
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, Variant{Name: m, Method: m})
		}
	}
	return out
}

// SplitValues splits a flag's value into the values a sweep takes: at commas, except for flags
// whose single value is itself a comma list (--targets), whose alternatives are separated by ';'.
func SplitValues(flag, value string) []string {
	sep := ","
	if flag == "targets" {
		sep = ";"
	}
	return strings.Split(value, sep)
}

// gridFile is the JSON form of a grid file:
//
//	{"methods": ["lora", {"name": "lora-r20", "method": "lora", "flags": {"rank": 20}}],
//	 "seeds": "0-4",
//	 "flags": {"steps": 100, "rank": [4, 8]}}
//
// Methods are names or {name, method, flags}; seeds a string for ParseSeeds or a list of numbers;
// a flag with a list value varies over it, any other value is fixed.
type gridFile struct {
	Methods []json.RawMessage          `json:"methods"`
	Seeds   json.RawMessage            `json:"seeds"`
	Flags   map[string]json.RawMessage `json:"flags"`
}

// ReadGridFile reads a JSON grid file; errors name the file and the key.
func ReadGridFile(path string) (*Grid, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var gf gridFile
	if err := dec.Decode(&gf); err != nil {
		return nil, fmt.Errorf("sweep: %s: %v (expected {\"methods\": [...], \"seeds\": \"0-4\", \"flags\": {...}})", path, err)
	}
	g := &Grid{}
	for i, raw := range gf.Methods {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			g.Variants = append(g.Variants, Variant{Name: name, Method: name})
			continue
		}
		var v struct {
			Name   string                     `json:"name"`
			Method string                     `json:"method"`
			Flags  map[string]json.RawMessage `json:"flags"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("sweep: %s: methods[%d]: expected a method name or {\"name\", \"method\", \"flags\"}", path, i)
		}
		vr := Variant{Name: v.Name, Method: v.Method}
		for _, k := range sortedKeys(v.Flags) {
			s, err := scalar(v.Flags[k])
			if err != nil {
				return nil, fmt.Errorf("sweep: %s: methods[%d].flags.%s: %v", path, i, k, err)
			}
			vr.Flags = append(vr.Flags, Flag{k, s})
		}
		g.Variants = append(g.Variants, vr)
	}
	if len(gf.Seeds) > 0 {
		var s string
		var list []int64
		switch {
		case json.Unmarshal(gf.Seeds, &s) == nil:
			if g.Seeds, err = ParseSeeds(s); err != nil {
				return nil, fmt.Errorf("%s: seeds: %w", path, err)
			}
		case json.Unmarshal(gf.Seeds, &list) == nil:
			g.Seeds = list
		default:
			return nil, fmt.Errorf("sweep: %s: seeds: expected \"0-4\" or a list of integers", path)
		}
	}
	for _, k := range sortedKeys(gf.Flags) {
		raw := gf.Flags[k]
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil {
			a := Axis{Flag: k}
			for j, r := range list {
				s, err := scalar(r)
				if err != nil {
					return nil, fmt.Errorf("sweep: %s: flags.%s[%d]: %v", path, k, j, err)
				}
				a.Values = append(a.Values, s)
			}
			g.Vary = append(g.Vary, a)
			continue
		}
		s, err := scalar(raw)
		if err != nil {
			return nil, fmt.Errorf("sweep: %s: flags.%s: %v", path, k, err)
		}
		g.Fixed = append(g.Fixed, Flag{k, s})
	}
	return g, nil
}

// scalar turns a JSON string, number or boolean into the text of a flag value.
func scalar(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strings.TrimSpace(string(raw)), nil // the number as written (1e-3 stays 1e-3)
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("expected a string, number or boolean, got %s", raw)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
