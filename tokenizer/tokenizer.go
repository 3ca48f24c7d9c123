package tokenizer

import (
	"strings"
	"sync"
)

// Tokenizer encodes text to token ids and decodes ids to text as Hugging Face tokenizers does for
// the tokenizer.json it was loaded from. It is safe for concurrent use.
type Tokenizer struct {
	source     string       // the tokenizer.json it came from, for messages
	normalizer normalizer   // nil: none
	pre        preTokenizer // nil: the whole normalized text is one word
	model      *bpe
	decoder    decoder // nil: tokens are joined with spaces

	addedRaw  *addedMatcher // added tokens matched in the raw text; nil if none
	addedNorm *addedMatcher // added tokens matched in the normalized text; nil if none
	added     map[int32]*addedToken
	addedIDs  map[string]int32
	special   map[string]bool // contents of the special added tokens

	// What the post-processor puts around a single sequence when special tokens are asked for.
	postPrefix, postSuffix []specialPiece

	vocabSize     int
	bos, eos, pad int
	addBOS        bool

	scratch sync.Pool // *scratch
}

// specialPiece is a token the post-processor adds.
type specialPiece struct {
	id    int32
	token string
}

// scratch holds the buffers of one Encode call, reused through a pool.
type scratch struct {
	spans               []span
	segments, segments2 []segment
	pieces              [][]piece // intermediate pre-token lists, two per nesting level of Sequence
	level               int
	words               []piece
	raw, norm           []addedSplit
	syms                []symbol
	heap                mergeHeap
	ids, ids2           []int32
	recent              recentWords
}

func (sc *scratch) pieceBuf(k int) []piece {
	for len(sc.pieces) <= k {
		sc.pieces = append(sc.pieces, nil)
	}
	return sc.pieces[k][:0]
}

func (t *Tokenizer) getScratch() *scratch {
	if sc, ok := t.scratch.Get().(*scratch); ok {
		return sc
	}
	return &scratch{}
}

// Encode returns the token ids of text. addSpecial applies the post-processor (Hugging Face's
// add_special_tokens=True), which for Llama-style tokenizers prepends BOS.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	sc := t.getScratch()
	sc.ids = t.encode(sc.ids[:0], text, sc)
	out := make([]int, 0, len(sc.ids)+len(t.postPrefix)+len(t.postSuffix))
	if addSpecial {
		for _, p := range t.postPrefix {
			out = append(out, int(p.id))
		}
	}
	for _, id := range sc.ids {
		out = append(out, int(id))
	}
	if addSpecial {
		for _, p := range t.postSuffix {
			out = append(out, int(p.id))
		}
	}
	t.scratch.Put(sc)
	return out
}

// EncodeWithTokens is Encode that also returns each id's token string (in the vocabulary's own
// alphabet, e.g. "Ġworld" for byte-level tokenizers).
func (t *Tokenizer) EncodeWithTokens(text string, addSpecial bool) (ids []int, tokens []string) {
	sc := t.getScratch()
	sc.ids = t.encode(sc.ids[:0], text, sc)
	n := len(sc.ids) + len(t.postPrefix) + len(t.postSuffix)
	ids, tokens = make([]int, 0, n), make([]string, 0, n)
	if addSpecial {
		for _, p := range t.postPrefix {
			ids, tokens = append(ids, int(p.id)), append(tokens, p.token)
		}
	}
	for _, id := range sc.ids {
		ids, tokens = append(ids, int(id)), append(tokens, t.IDToToken(int(id)))
	}
	if addSpecial {
		for _, p := range t.postSuffix {
			ids, tokens = append(ids, int(p.id)), append(tokens, p.token)
		}
	}
	t.scratch.Put(sc)
	return ids, tokens
}

// encode appends the ids of text (without post-processing) to out:
// raw added tokens → normalizer → normalized added tokens → pre-tokenizer → model.
func (t *Tokenizer) encode(out []int32, text string, sc *scratch) []int32 {
	if t.addedRaw == nil {
		return t.encodeNormalized(out, text, true, sc)
	}
	sc.raw = t.addedRaw.split(sc.raw[:0], text) // encodeNormalized uses sc.norm, not sc.raw
	for _, part := range sc.raw {
		if part.tok != nil {
			out = append(out, part.tok.id)
			continue
		}
		out = t.encodeNormalized(out, text[part.start:part.end], part.start == 0, sc)
	}
	return out
}

// encodeNormalized encodes a text part free of raw added tokens; first says it starts the input.
func (t *Tokenizer) encodeNormalized(out []int32, text string, first bool, sc *scratch) []int32 {
	if text == "" {
		return out
	}
	if t.normalizer != nil {
		text = t.normalizer.normalize(text)
	}
	if t.addedNorm == nil {
		return t.encodeWords(out, text, first, sc)
	}
	sc.norm = t.addedNorm.split(sc.norm[:0], text)
	for _, part := range sc.norm {
		if part.tok != nil {
			out = append(out, part.tok.id)
			continue
		}
		out = t.encodeWords(out, text[part.start:part.end], first && part.start == 0, sc)
	}
	return out
}

// encodeWords pre-tokenizes a normalized text part and runs the model on each word.
func (t *Tokenizer) encodeWords(out []int32, text string, first bool, sc *scratch) []int32 {
	if text == "" {
		return out
	}
	if t.pre == nil {
		return t.model.tokenize(out, text, sc)
	}
	src := [1]piece{{text, first}}
	sc.words = t.pre.preTokenize(sc.words[:0], src[:], sc)
	for _, w := range sc.words {
		out = t.model.tokenize(out, w.s, sc)
	}
	return out
}

// Decode returns the text of ids. skipSpecial leaves out special added tokens (Hugging Face's
// skip_special_tokens=True). Ids that name no token are skipped.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		tok := t.IDToToken(id)
		if tok == "" || (skipSpecial && t.special[tok]) {
			continue
		}
		toks = append(toks, tok)
	}
	if t.decoder == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.decoder.decodeChain(toks), "")
}

// VocabSize is one more than the largest id the tokenizer can produce (model vocabulary and added
// tokens together).
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// TokenToID returns the id of a token string (added tokens first, then the model vocabulary).
func (t *Tokenizer) TokenToID(tok string) (int, bool) {
	if id, ok := t.addedIDs[tok]; ok {
		return int(id), true
	}
	if id, ok := t.model.vocab[tok]; ok {
		return int(id), true
	}
	return 0, false
}

// IDToToken returns the token string of id, or "" when id names no token.
func (t *Tokenizer) IDToToken(id int) string {
	if id < 0 || id >= 1<<31 {
		return ""
	}
	if a, ok := t.added[int32(id)]; ok {
		return a.content
	}
	if id < len(t.model.vocabR) {
		return t.model.vocabR[id]
	}
	return ""
}

// BOS is the beginning-of-sequence id (tokenizer_config.json bos_token), -1 if none.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS is the end-of-sequence id (tokenizer_config.json eos_token), -1 if none.
func (t *Tokenizer) EOS() int { return t.eos }

// PAD is the padding id (tokenizer_config.json pad_token), -1 if none.
func (t *Tokenizer) PAD() int { return t.pad }

// AddBOS says whether sequences should start with BOS: tokenizer_config.json add_bos_token when
// given, else whether the post-processor adds BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }
