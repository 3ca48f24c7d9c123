package tokenizer

import (
	"strings"
	"unicode"
)

// piece is one pre-token: a substring handed to the model on its own.
type piece struct {
	s     string
	first bool // the piece starts at offset 0 of the original text (Metaspace prepend_scheme "first")
}

// preTokenizer splits each piece of src further and appends the results to dst. Empty pieces are
// dropped, as tokenizers' PreTokenizedString does.
type preTokenizer interface {
	preTokenize(dst, src []piece, sc *scratch) []piece
}

// splitBehavior says what happens to a delimiter match (tokenizers' SplitDelimiterBehavior).
type splitBehavior uint8

const (
	behaviorRemoved splitBehavior = iota
	behaviorIsolated
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

var splitBehaviors = map[string]splitBehavior{
	"Removed": behaviorRemoved, "Isolated": behaviorIsolated, "MergedWithPrevious": behaviorMergedWithPrevious,
	"MergedWithNext": behaviorMergedWithNext, "Contiguous": behaviorContiguous,
}

// segment is a [start, end) range of a piece with whether it is a delimiter match (or, after the
// behavior is applied, whether it is removed).
type segment struct {
	start, end int
	flag       bool
}

// splitPiece applies a pattern and a behavior to one piece, as NormalizedString::split does, and
// appends the non-empty parts to dst.
func splitPiece(dst []piece, p piece, pat splitter, behavior splitBehavior, invert bool, sc *scratch) []piece {
	s := p.s
	sc.spans = pat.findAll(sc.spans[:0], s)
	if behavior == behaviorIsolated { // every match and every gap is its own piece
		prev := 0
		for _, m := range sc.spans {
			if m.start > prev {
				dst = append(dst, piece{s[prev:m.start], p.first && prev == 0})
			}
			if m.end > m.start {
				dst = append(dst, piece{s[m.start:m.end], p.first && m.start == 0})
			}
			prev = m.end
		}
		if prev < len(s) {
			dst = append(dst, piece{s[prev:], p.first && prev == 0})
		}
		return dst
	}
	// Pattern::find_matches: the matches and the gaps between them, covering s.
	ms := sc.segments[:0]
	if len(s) == 0 {
		ms = append(ms, segment{0, 0, false})
	}
	prev := 0
	for _, m := range sc.spans {
		if prev != m.start {
			ms = append(ms, segment{prev, m.start, false})
		}
		ms = append(ms, segment{m.start, m.end, true})
		prev = m.end
	}
	if len(s) > 0 && prev != len(s) {
		ms = append(ms, segment{prev, len(s), false})
	}
	if invert {
		for i := range ms {
			ms[i].flag = !ms[i].flag
		}
	}
	// The behavior turns "is a match" into "is removed".
	out := sc.segments2[:0]
	switch behavior {
	case behaviorRemoved:
		out = append(out, ms...)
	case behaviorContiguous:
		prevMatch := false
		for _, m := range ms {
			if m.flag == prevMatch && len(out) > 0 {
				out[len(out)-1].end = m.end
			} else {
				out = append(out, segment{m.start, m.end, false})
			}
			prevMatch = m.flag
		}
	case behaviorMergedWithPrevious:
		prevMatch := false
		for _, m := range ms {
			if m.flag && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = m.end
			} else {
				out = append(out, segment{m.start, m.end, false})
			}
			prevMatch = m.flag
		}
	case behaviorMergedWithNext: // built right to left, then reversed
		prevMatch := false
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.flag && !prevMatch && len(out) > 0 {
				out[len(out)-1].start = m.start
			} else {
				out = append(out, segment{m.start, m.end, false})
			}
			prevMatch = m.flag
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	for _, o := range out {
		if !o.flag && o.end > o.start {
			dst = append(dst, piece{s[o.start:o.end], p.first && o.start == 0})
		}
	}
	sc.segments, sc.segments2 = ms, out
	return dst
}

// splitPreTokenizer is tokenizers' Split: a pattern, a behavior and an invert flag.
type splitPreTokenizer struct {
	pattern  splitter
	behavior splitBehavior
	invert   bool
}

func (p splitPreTokenizer) preTokenize(dst, src []piece, sc *scratch) []piece {
	for _, in := range src {
		dst = splitPiece(dst, in, p.pattern, p.behavior, p.invert, sc)
	}
	return dst
}

// byteLevelPreTokenizer optionally prefixes a space, optionally splits with the GPT-2 regex, and
// maps bytes to the byte-level alphabet. When it is the last pre-tokenizer the mapping is deferred
// to the model, which then works on raw bytes (deferMap): this saves a copy of every piece.
type byteLevelPreTokenizer struct {
	addPrefixSpace bool
	useRegex       bool
	deferMap       bool
}

func (p byteLevelPreTokenizer) preTokenize(dst, src []piece, sc *scratch) []piece {
	start := len(dst)
	for _, in := range src {
		if p.addPrefixSpace && !strings.HasPrefix(in.s, " ") {
			in.s = " " + in.s
		}
		if p.useRegex {
			dst = splitPiece(dst, in, gpt2Splitter{}, behaviorIsolated, false, sc)
		} else if in.s != "" {
			dst = append(dst, in)
		}
	}
	if !p.deferMap {
		for i := start; i < len(dst); i++ {
			dst[i].s = byteLevelEncode(dst[i].s)
		}
	}
	return dst
}

// metaspacePreTokenizer replaces spaces with the replacement rune (▁), may prepend one, and may
// split before each replacement rune.
type metaspacePreTokenizer struct {
	replacement string
	prepend     string // "always", "first" or "never"
	split       bool
	splitter    runeSplitter
}

func newMetaspacePreTokenizer(replacement rune, prepend string, split bool) metaspacePreTokenizer {
	return metaspacePreTokenizer{
		replacement: string(replacement), prepend: prepend, split: split,
		splitter: runeSplitter{func(r rune) bool { return r == replacement }},
	}
}

func (p metaspacePreTokenizer) preTokenize(dst, src []piece, sc *scratch) []piece {
	for _, in := range src {
		s := strings.ReplaceAll(in.s, " ", p.replacement)
		if (p.prepend == "always" || (p.prepend == "first" && in.first)) && !strings.HasPrefix(s, p.replacement) {
			s = p.replacement + s
		}
		in.s = s
		if p.split {
			dst = splitPiece(dst, in, p.splitter, behaviorMergedWithNext, false, sc)
		} else if s != "" {
			dst = append(dst, in)
		}
	}
	return dst
}

// preTokenizerSequence applies its members in order.
type preTokenizerSequence []preTokenizer

func (q preTokenizerSequence) preTokenize(dst, src []piece, sc *scratch) []piece {
	if len(q) == 0 {
		for _, in := range src {
			if in.s != "" {
				dst = append(dst, in)
			}
		}
		return dst
	}
	level := sc.level // nested sequences use their own pair of buffers
	sc.level++
	defer func() { sc.level-- }()
	cur := src
	for i, p := range q {
		if i == len(q)-1 {
			dst = p.preTokenize(dst, cur, sc)
			break
		}
		k := 2*level + i%2
		next := p.preTokenize(sc.pieceBuf(k), cur, sc)
		sc.pieces[k] = next
		cur = next
	}
	return dst
}

// Rune predicates of the Digits and WhitespaceSplit pre-tokenizers (Rust's char::is_numeric and
// char::is_whitespace).
var (
	numericRunes    = runeSplitter{unicode.IsNumber}
	whitespaceRunes = runeSplitter{unicode.IsSpace}
)

// digitsPreTokenizer isolates digits, one by one or in runs.
type digitsPreTokenizer struct{ individual bool }

func (p digitsPreTokenizer) preTokenize(dst, src []piece, sc *scratch) []piece {
	b := behaviorContiguous
	if p.individual {
		b = behaviorIsolated
	}
	for _, in := range src {
		dst = splitPiece(dst, in, numericRunes, b, false, sc)
	}
	return dst
}

// whitespaceSplitPreTokenizer splits on whitespace and drops it.
type whitespaceSplitPreTokenizer struct{}

func (whitespaceSplitPreTokenizer) preTokenize(dst, src []piece, sc *scratch) []piece {
	for _, in := range src {
		dst = splitPiece(dst, in, whitespaceRunes, behaviorRemoved, false, sc)
	}
	return dst
}
