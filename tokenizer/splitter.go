package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// span is a [start, end) byte range of a match.
type span struct{ start, end int }

// splitter finds the non-overlapping matches of one pattern in s, scanning left to right and taking
// at each position the first alternative that matches (Oniguruma's find_iter, which tokenizers uses).
type splitter interface {
	// findAll appends the matches in s to dst, in order.
	findAll(dst []span, s string) []span
}

// The pre-tokenizer regexes shipped by real tokenizers, recognised verbatim and run by hand.
const (
	patternGPT2   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patternQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// newRegexSplitter returns the hand-written splitter for a known pattern, else a regexp2 one.
func newRegexSplitter(pattern string) (splitter, error) {
	switch pattern {
	case patternGPT2:
		return gpt2Splitter{}, nil
	case patternLlama3:
		return llama3Splitter{maxDigits: 3}, nil
	case patternQwen2:
		return llama3Splitter{maxDigits: 1}, nil
	}
	return newRegexp2Splitter(pattern)
}

// regexp2Splitter runs any pattern on the backtracking regexp2 engine (.NET syntax, which shares
// with Oniguruma the constructs tokenizer.json files use: \p{..} classes, look-around, (?i:..)).
type regexp2Splitter struct{ re *regexp2.Regexp }

func newRegexp2Splitter(pattern string) (regexp2Splitter, error) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return regexp2Splitter{}, fmt.Errorf("regex %q: %w", pattern, err)
	}
	return regexp2Splitter{re: re}, nil
}

func (r regexp2Splitter) findAll(dst []span, s string) []span {
	// Errors come only from time-outs, which are not set.
	idx, _ := r.re.FindAllStringIndex(s, -1)
	for _, m := range idx {
		dst = append(dst, span{m[0], m[1]})
	}
	return dst
}

// stringSplitter matches a literal string (the String form of Split and Replace patterns).
type stringSplitter struct{ lit string }

func (p stringSplitter) findAll(dst []span, s string) []span {
	if p.lit == "" {
		return dst
	}
	off := 0
	for {
		i := strings.Index(s[off:], p.lit)
		if i < 0 {
			return dst
		}
		dst = append(dst, span{off + i, off + i + len(p.lit)})
		off += i + len(p.lit)
	}
}

// runeSplitter matches every single rune for which match is true (tokenizers' Fn(char) patterns).
type runeSplitter struct{ match func(rune) bool }

func (p runeSplitter) findAll(dst []span, s string) []span {
	for i, r := range s {
		if p.match(r) {
			dst = append(dst, span{i, i + utf8.RuneLen(r)})
		}
	}
	return dst
}

// Character classes of the known patterns. An invalid UTF-8 byte decodes as U+FFFD (class other).
const (
	clsOther uint8 = iota
	clsLetter
	clsNumber
	clsSpace
)

var asciiClass [128]uint8

func init() {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			asciiClass[c] = clsLetter
		case c >= '0' && c <= '9':
			asciiClass[c] = clsNumber
		case c == ' ', c >= '\t' && c <= '\r':
			asciiClass[c] = clsSpace
		}
	}
}

// classAt decodes the rune at s[i] and returns its class and width. \s is Unicode White_Space,
// \p{L} any letter, \p{N} any number, as in Oniguruma.
func classAt(s string, i int) (cls uint8, r rune, w int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], rune(c), 1
	}
	r, w = utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		return clsLetter, r, w
	case unicode.IsNumber(r):
		return clsNumber, r, w
	case unicode.IsSpace(r):
		return clsSpace, r, w
	}
	return clsOther, r, w
}

// runEnd returns the end of the run of runes of class cls starting at i.
func runEnd(s string, i int, cls uint8) int {
	for i < len(s) {
		c, _, w := classAt(s, i)
		if c != cls {
			break
		}
		i += w
	}
	return i
}

// lastRuneStart returns the start of the last rune in s[i:j] (j > i).
func lastRuneStart(s string, i, j int) int {
	_, w := utf8.DecodeLastRuneInString(s[i:j])
	return j - w
}

// contraction returns the length of a contraction ('s 't 're 've 'm 'll 'd) right after the
// apostrophe at s[i-1], or 0. fold makes it case-insensitive, with Unicode simple case folding
// (so ſ, U+017F, folds to s as in Oniguruma).
func contraction(s string, i int, fold bool) int {
	if i >= len(s) {
		return 0
	}
	lower := func(c byte) byte {
		if fold && c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	c := lower(s[i])
	switch c {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if i+1 < len(s) && lower(s[i+1]) == 'e' {
			return 2
		}
	case 'l':
		if i+1 < len(s) && lower(s[i+1]) == 'l' {
			return 2
		}
	case 0xC5: // ſ is C5 BF
		if fold && i+1 < len(s) && s[i+1] == 0xBF {
			return 2
		}
	}
	return 0
}

// whitespaceEnd handles the trailing alternatives `\s+(?!\S)|\s+` at i (a whitespace rune): the
// whitespace run ending at j is taken whole when it ends the text, else all but its last rune (which
// then prefixes the next word), unless that leaves nothing.
func whitespaceEnd(s string, i, j int) int {
	if j == len(s) {
		return j
	}
	if last := lastRuneStart(s, i, j); last > i {
		return last
	}
	return j
}

// gpt2Splitter runs patternGPT2:
//
//	's|'t|'re|'ve|'m|'ll|'d | ␠?\p{L}+ | ␠?\p{N}+ | ␠?[^\s\p{L}\p{N}]+ | \s+(?!\S) | \s+
type gpt2Splitter struct{}

func (gpt2Splitter) findAll(dst []span, s string) []span {
	for i := 0; i < len(s); {
		j := gpt2MatchAt(s, i)
		dst = append(dst, span{i, j})
		i = j
	}
	return dst
}

// gpt2MatchAt returns the end of the match starting at i (one always exists: every rune is in one
// of the classes).
func gpt2MatchAt(s string, i int) int {
	if s[i] == '\'' {
		if n := contraction(s, i+1, false); n > 0 {
			return i + 1 + n
		}
	}
	if s[i] == ' ' && i+1 < len(s) {
		if c, _, _ := classAt(s, i+1); c != clsSpace {
			return runEnd(s, i+1, c)
		}
	}
	c, _, _ := classAt(s, i)
	if c != clsSpace {
		return runEnd(s, i, c)
	}
	return whitespaceEnd(s, i, runEnd(s, i, clsSpace))
}

// llama3Splitter runs patternLlama3 (maxDigits 3) and patternQwen2 (maxDigits 1):
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,maxDigits} |
//	␠?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
type llama3Splitter struct{ maxDigits int }

func (p llama3Splitter) findAll(dst []span, s string) []span {
	for i := 0; i < len(s); {
		j := p.matchAt(s, i)
		dst = append(dst, span{i, j})
		i = j
	}
	return dst
}

func (p llama3Splitter) matchAt(s string, i int) int {
	b := s[i]
	if b == '\'' {
		if n := contraction(s, i+1, true); n > 0 {
			return i + 1 + n
		}
	}
	c, _, w := classAt(s, i)
	switch c {
	case clsLetter:
		return runEnd(s, i, clsLetter)
	case clsNumber:
		j := i
		for n := 0; n < p.maxDigits && j < len(s); n++ {
			cj, _, wj := classAt(s, j)
			if cj != clsNumber {
				break
			}
			j += wj
		}
		return j
	}
	// c is space or other: [^\r\n\p{L}\p{N}]?\p{L}+ with the optional rune taken.
	if b != '\r' && b != '\n' && i+w < len(s) {
		if cn, _, _ := classAt(s, i+w); cn == clsLetter {
			return runEnd(s, i+w, clsLetter)
		}
	}
	// ␠?[^\s\p{L}\p{N}]+[\r\n]*
	start := -1
	if c == clsOther {
		start = i
	} else if b == ' ' && i+1 < len(s) {
		if cn, _, _ := classAt(s, i+1); cn == clsOther {
			start = i + 1
		}
	}
	if start >= 0 {
		j := runEnd(s, start, clsOther)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// c is space. \s*[\r\n]+ : up to and including the run's last \r or \n.
	j := runEnd(s, i, clsSpace)
	for k := j - 1; k >= i; k-- {
		if s[k] == '\r' || s[k] == '\n' {
			return k + 1
		}
	}
	return whitespaceEnd(s, i, j)
}
