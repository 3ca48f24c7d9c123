package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites text before pre-tokenization. Offsets are not tracked: this package returns
// ids and tokens, never character spans.
type normalizer interface {
	normalize(s string) string
}

type normalizerSequence []normalizer

func (q normalizerSequence) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// prependNormalizer adds a prefix to any non-empty text (the legacy Llama "▁" prefix).
type prependNormalizer struct{ prefix string }

func (p prependNormalizer) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.prefix + s
}

// replaceNormalizer replaces every match of a pattern (literal or regex) with content.
type replaceNormalizer struct {
	pattern splitter
	content string
}

func (r replaceNormalizer) normalize(s string) string { return replaceAll(r.pattern, s, r.content) }

// replaceAll replaces every match of p in s with content.
func replaceAll(p splitter, s, content string) string {
	if lit, ok := p.(stringSplitter); ok {
		if lit.lit == "" {
			return s
		}
		return strings.ReplaceAll(s, lit.lit, content)
	}
	m := p.findAll(nil, s)
	if len(m) == 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, sp := range m {
		b.WriteString(s[prev:sp.start])
		b.WriteString(content)
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

// unicodeNormalizer applies one of the four Unicode normalization forms.
type unicodeNormalizer struct{ form norm.Form }

func (u unicodeNormalizer) normalize(s string) string {
	if u.form.IsNormalString(s) {
		return s
	}
	return u.form.String(s)
}

// lowercaseNormalizer maps each rune to its full lowercase mapping, rune by rune (Rust's
// char::to_lowercase: no context-dependent final sigma; İ becomes i + combining dot above).
type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && w == 1: // keep an invalid byte as it is
			b.WriteByte(s[i])
		case r == 'İ':
			b.WriteString("i\u0307")
		default:
			b.WriteRune(unicode.ToLower(r))
		}
		i += w
	}
	return b.String()
}

// stripNormalizer removes leading and/or trailing White_Space.
type stripNormalizer struct{ left, right bool }

func (p stripNormalizer) normalize(s string) string {
	if p.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if p.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}
