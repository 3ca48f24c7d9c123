package chat

import (
	"fmt"
	"strings"
)

// The names and markers that rewrite puts into a template's source.
const (
	// tojsonVar holds transformers' tojson; the template's "| tojson" filters are renamed to it.
	tojsonVar = "moslora_tojson"
	// genStart and genEnd are printed where a {% generation %} block opens and closes; Render
	// removes them and records the byte range between them. Private-use runes: no tokenizer text.
	genStart = "\uE000moslora:generation\uE001"
	genEnd   = "\uE000moslora:endgeneration\uE001"
)

// rewrite prepares a template's source for the engine: one trailing newline dropped (Jinja's
// keep_trailing_newline=False), every "| tojson" filter in template code renamed to tojsonVar,
// and {% generation %} / {% endgeneration %} blocks turned into marker prints with the same
// whitespace control. hasGeneration reports whether the template has generation blocks.
func rewrite(src string) (out string, hasGeneration bool, err error) {
	src = strings.TrimSuffix(src, "\n")
	var b strings.Builder
	b.Grow(len(src) + 64)
	i := 0
	for i < len(src) {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			b.WriteString(src[i:])
			break
		}
		j += i
		b.WriteString(src[i:j])
		switch src[j+1] {
		case '#':
			end := strings.Index(src[j+2:], "#}")
			if end < 0 {
				return "", false, fmt.Errorf("unclosed comment at byte %d", j)
			}
			end += j + 2 + 2
			b.WriteString(src[j:end])
			i = end
		case '{', '%':
			closer := "}}"
			if src[j+1] == '%' {
				closer = "%}"
			}
			end, err := tagEnd(src, j+2, closer)
			if err != nil {
				return "", false, err
			}
			tag := src[j:end]
			if closer == "%}" {
				left, body, right := splitTag(tag)
				switch body {
				case "raw":
					k := endRaw(src, end)
					if k < 0 {
						return "", false, fmt.Errorf("{%% raw %%} at byte %d has no {%% endraw %%}", j)
					}
					b.WriteString(src[j:k])
					i = k
					continue
				case "generation":
					hasGeneration = true
					fmt.Fprintf(&b, "{%%%s if true %%}{{ '%s' }}{%% if true %s%%}", left, genStart, right)
					i = end
					continue
				case "endgeneration":
					fmt.Fprintf(&b, "{%%%s endif %%}{{ '%s' }}{%% endif %s%%}", left, genEnd, right)
					i = end
					continue
				}
			}
			b.WriteString(renameFilter(tag, "tojson", tojsonVar))
			i = end
		default:
			b.WriteByte('{')
			i = j + 1
		}
	}
	return b.String(), hasGeneration, nil
}

// tagEnd returns the index just past closer, scanning template code from start and skipping
// string literals and dict literals (which may contain the closer).
func tagEnd(src string, start int, closer string) (int, error) {
	depth := 0 // open { of dict literals: their } do not close the tag
	for k := start; k < len(src); k++ {
		if depth == 0 && strings.HasPrefix(src[k:], closer) {
			return k + len(closer), nil
		}
		switch c := src[k]; c {
		case '{':
			depth++
		case '}':
			depth = max(depth-1, 0)
		case '\'', '"':
			k++
			for k < len(src) && src[k] != c {
				if src[k] == '\\' {
					k++
				}
				k++
			}
			if k >= len(src) {
				return 0, fmt.Errorf("unterminated string literal in the tag at byte %d", start-2)
			}
		}
	}
	return 0, fmt.Errorf("unclosed tag at byte %d (expected %q)", start-2, closer)
}

// splitTag splits a {% ... %} tag into its whitespace-control marks and its trimmed body:
// "{%- generation +%}" → ("-", "generation", "+").
func splitTag(tag string) (left, body, right string) {
	inner := tag[2 : len(tag)-2]
	if strings.HasPrefix(inner, "-") || strings.HasPrefix(inner, "+") {
		left, inner = inner[:1], inner[1:]
	}
	if strings.HasSuffix(inner, "-") || strings.HasSuffix(inner, "+") {
		right, inner = inner[len(inner)-1:], inner[:len(inner)-1]
	}
	return left, strings.TrimSpace(inner), right
}

// endRaw returns the index just past the {% endraw %} tag at or after start, or -1.
func endRaw(src string, start int) int {
	for k := start; ; {
		j := strings.Index(src[k:], "{%")
		if j < 0 {
			return -1
		}
		j += k
		e := strings.Index(src[j:], "%}")
		if e < 0 {
			return -1
		}
		e += j + 2
		if _, body, _ := splitTag(src[j:e]); body == "endraw" {
			return e
		}
		k = j + 2
	}
}

// renameFilter renames the filter `from` to `to` in one tag's code: an identifier equal to from
// that follows a "|" (whitespace allowed between), outside string literals.
func renameFilter(tag, from, to string) string {
	var b strings.Builder
	afterPipe := false
	for k := 0; k < len(tag); {
		c := tag[k]
		switch {
		case c == '\'' || c == '"':
			e := k + 1
			for e < len(tag) && tag[e] != c {
				if tag[e] == '\\' {
					e++
				}
				e++
			}
			e = min(e+1, len(tag))
			b.WriteString(tag[k:e])
			k, afterPipe = e, false
		case isIdentStart(c):
			e := k + 1
			for e < len(tag) && isIdentPart(tag[e]) {
				e++
			}
			if afterPipe && tag[k:e] == from {
				b.WriteString(to)
			} else {
				b.WriteString(tag[k:e])
			}
			k, afterPipe = e, false
		default:
			b.WriteByte(c)
			if c == '|' {
				afterPipe = true
			} else if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				afterPipe = false
			}
			k++
		}
	}
	return b.String()
}

func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || '0' <= c && c <= '9' }
