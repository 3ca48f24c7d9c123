package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens: matched in the text before the model
// sees it, and emitted as one id.
type addedToken struct {
	id         int32
	content    string
	singleWord bool // only matches when not inside a word
	lstrip     bool // swallows the whitespace on its left
	rstrip     bool // swallows the whitespace on its right
	normalized bool // matched in the normalized text (else in the raw text)
	special    bool // skipped by Decode(ids, true)
}

// addedMatcher finds added tokens in a text: leftmost match first, longest among those starting
// at the same place (Aho-Corasick LeftmostLongest in tokenizers), via a byte trie.
type addedMatcher struct {
	nodes []trieNode
	first [256]bool // bytes that start some pattern
}

type trieNode struct {
	edges []trieEdge
	tok   *addedToken // token ending here, nil if none
}

type trieEdge struct {
	b    byte
	next int32
}

// newAddedMatcher builds the trie of patterns[i] → toks[i]; it returns nil when there is nothing
// to match. A pattern given twice keeps its first token.
func newAddedMatcher(patterns []string, toks []*addedToken) *addedMatcher {
	m := &addedMatcher{nodes: []trieNode{{}}}
	for i, p := range patterns {
		if p == "" {
			continue
		}
		n := int32(0)
		for k := 0; k < len(p); k++ {
			next := int32(-1)
			for _, e := range m.nodes[n].edges {
				if e.b == p[k] {
					next = e.next
					break
				}
			}
			if next < 0 {
				next = int32(len(m.nodes))
				m.nodes = append(m.nodes, trieNode{})
				m.nodes[n].edges = append(m.nodes[n].edges, trieEdge{p[k], next})
			}
			n = next
		}
		if m.nodes[n].tok == nil {
			m.nodes[n].tok = toks[i]
		}
		m.first[p[0]] = true
	}
	if len(m.nodes) == 1 {
		return nil
	}
	return m
}

// longestAt returns the longest token matching at s[i:], or nil.
func (m *addedMatcher) longestAt(s string, i int) (*addedToken, int) {
	n := int32(0)
	var best *addedToken
	bestEnd := 0
	for k := i; k < len(s); k++ {
		next := int32(-1)
		for _, e := range m.nodes[n].edges {
			if e.b == s[k] {
				next = e.next
				break
			}
		}
		if next < 0 {
			break
		}
		n = next
		if t := m.nodes[n].tok; t != nil {
			best, bestEnd = t, k+1
		}
	}
	return best, bestEnd
}

// addedSplit is a part of a text: an added token (tok != nil) or text to tokenize.
type addedSplit struct {
	start, end int
	tok        *addedToken
}

// split cuts s at the added tokens it holds, applying their single_word, lstrip and rstrip flags
// as AddedVocabulary::find_matches does. The parts cover s; empty text parts are left out.
func (m *addedMatcher) split(dst []addedSplit, s string) []addedSplit {
	startOffset := 0
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		tok, end := m.longestAt(s, i)
		if tok == nil {
			i++
			continue
		}
		start, stop := i, end
		i = end
		if tok.singleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if tok.lstrip {
			start = max(trailingSpaceStart(s[:start]), startOffset)
		}
		if tok.rstrip {
			stop += leadingSpaceEnd(s[stop:])
		}
		if startOffset < start {
			dst = append(dst, addedSplit{startOffset, start, nil})
		}
		dst = append(dst, addedSplit{start, stop, tok})
		startOffset = stop
	}
	if startOffset < len(s) {
		dst = append(dst, addedSplit{startOffset, len(s), nil})
	}
	return dst
}

// isWordRune is the \w class of Rust's regex crate: alphabetic, marks, decimal digits, connector
// punctuation and the joiners.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Nl, r) ||
		unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, w := utf8.DecodeLastRuneInString(s)
	return w > 0 && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, w := utf8.DecodeRuneInString(s)
	return w > 0 && isWordRune(r)
}

// trailingSpaceStart returns where the whitespace run at the end of s starts.
func trailingSpaceStart(s string) int {
	i := len(s)
	for i > 0 {
		r, w := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsSpace(r) {
			break
		}
		i -= w
	}
	return i
}

// leadingSpaceEnd returns where the whitespace run at the start of s ends.
func leadingSpaceEnd(s string) int {
	for i, r := range s {
		if !unicode.IsSpace(r) {
			return i
		}
	}
	return len(s)
}
