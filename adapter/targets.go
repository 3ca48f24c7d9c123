package adapter

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Targets is PEFT's target_modules: a list of names (a module matches when its path equals an
// entry or ends with "."+entry), a regular expression that must match the whole path, or the
// special string "all-linear" (every linear layer but the output head).
type Targets struct {
	List    []string
	Regex   string // used when IsRegex
	IsRegex bool
}

// MarshalJSON writes a list or a string.
func (t Targets) MarshalJSON() ([]byte, error) {
	if t.IsRegex {
		return json.Marshal(t.Regex)
	}
	if t.List == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(t.List)
}

// UnmarshalJSON reads a list of strings or a string.
func (t *Targets) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Targets{Regex: s, IsRegex: true}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("want a list of module names or a regex string, got %s", b)
	}
	*t = Targets{List: l}
	return nil
}

// String is the JSON form, for messages.
func (t Targets) String() string {
	b, _ := t.MarshalJSON()
	return string(b)
}

// matches applies PEFT's rule to a module path.
func (t *Targets) matches(path string) bool {
	if t.IsRegex {
		if t.Regex == "all-linear" {
			return lastComponent(path) != "lm_head"
		}
		re, err := regexp.Compile("^(?:" + t.Regex + ")$")
		return err == nil && re.MatchString(path)
	}
	for _, e := range t.List {
		if matchesName(path, e) {
			return true
		}
	}
	return false
}

// matchesName is PEFT's list rule: path == name or path ends with "."+name.
func matchesName(path, name string) bool {
	return path == name || strings.HasSuffix(path, "."+name)
}

func lastComponent(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// patternRegexp compiles a rank_pattern / alpha_pattern key the way PEFT matches it: the key is a
// regex that must match a suffix of the module path starting after a dot (or the whole path).
func patternRegexp(key string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:.*\.)?(?:` + key + `)$`)
}

// patternFor returns the most specific (longest) pattern key matching path, or "".
func patternFor[V any](pattern map[string]V, path string) (string, bool) {
	keys := make([]string, 0, len(pattern))
	for k := range pattern {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		re, err := patternRegexp(k)
		if err == nil && re.MatchString(path) {
			return k, true
		}
	}
	return "", false
}

// RankAlpha returns the rank and alpha for a module path (rank_pattern / alpha_pattern override
// r / lora_alpha).
func (c *Config) RankAlpha(path string) (int, float64) {
	r, alpha := c.R, c.LoraAlpha
	if k, ok := patternFor(c.RankPattern, path); ok {
		r = c.RankPattern[k]
	}
	if k, ok := patternFor(c.AlphaPattern, path); ok {
		alpha = c.AlphaPattern[k]
	}
	return r, alpha
}

// layerIndexRe is PEFT's default pattern for the layer index in a module path.
var layerIndexRe = regexp.MustCompile(`^.*\.[^.]*\.(\d+)\.`)

// selects reports whether the module at path gets an adapter: it matches target_modules, is not
// excluded, and (for a list of targets) its layer index is in layers_to_transform.
func (c *Config) selects(path string) bool {
	if !c.TargetModules.matches(path) {
		return false
	}
	if c.ExcludeModules != nil && c.ExcludeModules.matches(path) {
		return false
	}
	if c.LayersToTransform == nil || c.TargetModules.IsRegex {
		return true
	}
	idx := -1
	if len(c.LayersPattern) == 0 {
		if m := layerIndexRe.FindStringSubmatch(path); m != nil {
			idx, _ = strconv.Atoi(m[1])
		}
	} else {
		for _, p := range c.LayersPattern {
			re, err := regexp.Compile(`^.*\.` + regexp.QuoteMeta(p) + `\.(\d+)\.`)
			if err != nil {
				continue
			}
			if m := re.FindStringSubmatch(path); m != nil {
				idx, _ = strconv.Atoi(m[1])
				break
			}
		}
	}
	if idx < 0 {
		return false
	}
	for _, l := range c.LayersToTransform {
		if l == idx {
			return true
		}
	}
	return false
}

// selectPaths returns the module paths (in the given order) that get an adapter, or an error when
// a target entry matches no linear layer or nothing is selected.
func (c *Config) selectPaths(paths []string) ([]string, error) {
	if !c.TargetModules.IsRegex {
		for _, e := range c.TargetModules.List {
			found := false
			for _, p := range paths {
				if matchesName(p, e) {
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("field \"target_modules\": %q matches no linear layer of the model (its linear layers: %s, or all-linear)", e, leafNames(paths))
			}
		}
	}
	var sel []string
	for _, p := range paths {
		if c.selects(p) {
			sel = append(sel, p)
		}
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("field \"target_modules\": %s selects no linear layer of the model", c.TargetModules)
	}
	return sel, nil
}
