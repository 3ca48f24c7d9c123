package tokenizer

import (
	"fmt"
	"hash/maphash"
	"strings"
	"unicode/utf8"
)

// bpe is tokenizers' BPE model without dropout: a word is split into characters (or bytes), then
// adjacent symbols are merged by merge rank until no merge applies.
type bpe struct {
	vocab        map[string]int32
	vocabR       []string          // id → token; "" for ids the model does not define
	merges       map[uint64]uint64 // pair a<<32|b → rank<<32|merged id
	unk          int32             // id of unk_token, -1 if none
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	prefix       string // continuing_subword_prefix, added to every non-first character
	suffix       string // end_of_word_suffix, added to the last character
	byteIDs      [256]int32

	// Raw-byte mode, for byte-level tokenizers: words arrive as raw bytes rather than in the
	// byte-level alphabet, so that no mapped copy of the text is made.
	raw      bool
	rawID    [256]int32       // id of the one-rune token for each byte, -1 if absent
	rawVocab map[string]int32 // vocab keyed by the raw bytes of each token

	// splitBefore, when set, is a rune no merge can join to a different rune on its left, so a
	// word can be cut before each run of it and its parts merged on their own with identical
	// results (see findSafeSplit). It turns SentencePiece-style tokenizers, whose whole text is one
	// word, into many short cacheable words.
	splitBefore string

	cache *wordCache
}

// maxCachedWord is the longest word (in bytes) the cache holds, as in tokenizers.
const maxCachedWord = 256

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newBPE builds the model; merges are [left, right] pairs in rank order. A merge whose parts or
// result are not in the vocabulary is an error. A repeated pair keeps its last rank, as in
// tokenizers.
func newBPE(vocab map[string]int32, merges [][2]string, unkToken, prefix, suffix string, fuseUnk, byteFallback, ignoreMerges bool) (*bpe, error) {
	m := &bpe{vocab: vocab, unk: -1, fuseUnk: fuseUnk, byteFallback: byteFallback, ignoreMerges: ignoreMerges,
		prefix: prefix, suffix: suffix, cache: newWordCache()}
	n := int32(0)
	for _, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("model.vocab: negative id %d", id)
		}
		n = max(n, id+1)
	}
	m.vocabR = make([]string, n)
	for tok, id := range vocab {
		m.vocabR[id] = tok
	}
	if unkToken != "" {
		id, ok := vocab[unkToken]
		if !ok {
			return nil, fmt.Errorf("model.unk_token %q is not in model.vocab", unkToken)
		}
		m.unk = id
	}
	for b := 0; b < 256; b++ {
		m.byteIDs[b] = -1
		if id, ok := vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteIDs[b] = id
		}
	}
	m.findSafeSplit(merges)
	m.merges = make(map[uint64]uint64, len(merges))
	for rank, mg := range merges {
		a, okA := vocab[mg[0]]
		b, okB := vocab[mg[1]]
		if !okA || !okB {
			return nil, fmt.Errorf("model.merges[%d] %q %q: token not in model.vocab", rank, mg[0], mg[1])
		}
		right := mg[1]
		if len(right) < len(prefix) {
			return nil, fmt.Errorf("model.merges[%d] %q %q: right part lacks continuing_subword_prefix %q", rank, mg[0], mg[1], prefix)
		}
		merged, ok := vocab[mg[0]+right[len(prefix):]]
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] %q %q: merged token %q not in model.vocab", rank, mg[0], mg[1], mg[0]+right[len(prefix):])
		}
		m.merges[pairKey(a, b)] = uint64(rank)<<32 | uint64(uint32(merged))
	}
	return m, nil
}

// enableRaw switches the model to raw-byte words when it can (no prefix or suffix to add).
func (m *bpe) enableRaw() bool {
	if m.prefix != "" || m.suffix != "" {
		return false
	}
	m.rawVocab = make(map[string]int32, len(m.vocab))
	for tok, id := range m.vocab {
		if raw, ok := byteLevelDecode(tok); ok {
			m.rawVocab[string(raw)] = id
		}
	}
	for b := 0; b < 256; b++ {
		m.rawID[b] = -1
		if id, ok := m.vocab[byteToStr[b]]; ok {
			m.rawID[b] = id
		}
	}
	m.raw = true
	return true
}

// findSafeSplit sets splitBefore to "▁" when cutting words before each run of ▁ cannot change the
// result: the model has ▁ as a token, adds no prefix or suffix, does not look whole words up
// (ignore_merges), and no merge joins a left part ending in another rune to a right part starting
// with ▁. Merging is then local to the parts: every merge happens within one part, in the same
// relative order. (Symbols left of a cut end in the rune before it, or are byte-fallback or unk
// tokens, none of which ends in ▁; symbols right of it start with ▁.)
func (m *bpe) findSafeSplit(merges [][2]string) {
	const sep = "\u2581"
	if _, ok := m.vocab[sep]; !ok || m.prefix != "" || m.suffix != "" || m.ignoreMerges {
		return
	}
	if m.unk >= 0 && strings.HasSuffix(m.vocabR[m.unk], sep) {
		return // an unknown rune before the cut would end in ▁
	}
	for _, mg := range merges {
		if strings.HasPrefix(mg[1], sep) && !strings.HasSuffix(mg[0], sep) {
			return
		}
	}
	m.splitBefore = sep
}

// tokenize appends the ids of word to out.
func (m *bpe) tokenize(out []int32, word string, sc *scratch) []int32 {
	if word == "" {
		return out
	}
	if sep := m.splitBefore; sep != "" {
		// Cut before each ▁ that follows another rune (see findSafeSplit).
		start := 0
		for i := 0; ; {
			k := strings.Index(word[i:], sep)
			if k < 0 {
				break
			}
			p := i + k
			if p > start && !strings.HasSuffix(word[:p], sep) {
				out = m.tokenizeWord(out, word[start:p], sc)
				start = p
			}
			i = p + len(sep)
		}
		return m.tokenizeWord(out, word[start:], sc)
	}
	return m.tokenizeWord(out, word, sc)
}

// tokenizeWord appends the ids of one word to out.
func (m *bpe) tokenizeWord(out []int32, word string, sc *scratch) []int32 {
	if word == "" {
		return out
	}
	if len(word) >= maxCachedWord {
		return m.mergeWord(out, word, sc)
	}
	slot := sc.recent.slot(word)
	if slot.word == word {
		return append(out, slot.ids...)
	}
	ids := m.lookupWord(word, sc)
	slot.word, slot.ids = strings.Clone(word), ids
	return append(out, ids...)
}

// lookupWord returns the ids of a short word from the vocabulary (ignore_merges), the shared cache,
// or by merging (then cached). The result is shared and must not be modified.
func (m *bpe) lookupWord(word string, sc *scratch) []int32 {
	if m.ignoreMerges {
		vocab := m.vocab
		if m.raw {
			vocab = m.rawVocab
		}
		if id, ok := vocab[word]; ok {
			return []int32{id}
		}
	}
	if ids, ok := m.cache.get(word); ok {
		return ids
	}
	sc.ids2 = m.mergeWord(sc.ids2[:0], word, sc)
	return m.cache.put(word, sc.ids2)
}

// recentWords is a small direct-mapped memo of the last words one goroutine tokenized, in front of
// the shared cache: frequent words then cost one hash and one comparison, without locks or the
// cache misses of the large maps.
type recentWords struct {
	seed  maphash.Seed
	slots []recentSlot
}

type recentSlot struct {
	word string
	ids  []int32 // shared with the word cache; never modified
}

const recentSlots = 16384 // a power of two

func (r *recentWords) slot(word string) *recentSlot {
	if r.slots == nil {
		r.seed = maphash.MakeSeed()
		r.slots = make([]recentSlot, recentSlots)
	}
	return &r.slots[maphash.String(r.seed, word)&(recentSlots-1)]
}

// symbol is one node of the doubly linked list of a word being merged.
type symbol struct {
	id         int32
	prev, next int32 // indices into the symbol slice; -1 at the ends
	dead       bool  // merged into its left neighbour
}

// mergeWord splits word into its initial symbols, merges them (mergeAll) and appends the ids to out.
func (m *bpe) mergeWord(out []int32, word string, sc *scratch) []int32 {
	syms := m.splitWord(sc.syms[:0], word)
	sc.heap = m.mergeAll(syms, sc.heap[:0])
	for _, s := range syms {
		if !s.dead {
			out = append(out, s.id)
		}
	}
	sc.syms = syms
	return out
}

// splitWord appends the initial symbols of word to syms, as tokenizers' BPE::merge_word does: one
// per character (per byte in raw mode) found in the vocabulary, else its <0xXX> byte tokens
// (byte_fallback), else unk (runs of unknowns fused into one with fuse_unk), else nothing.
func (m *bpe) splitWord(syms []symbol, word string) []symbol {
	add := func(id int32) {
		n := int32(len(syms))
		syms = append(syms, symbol{id: id, prev: n - 1, next: n + 1})
	}
	pendingUnk := false // an unk symbol not yet added (fuse_unk joins a run of them)
	for i := 0; i < len(word); {
		var id int32 = -1
		var s string
		w := 1
		if m.raw {
			id = m.rawID[word[i]]
			s = byteToStr[word[i]]
		} else {
			_, w = utf8.DecodeRuneInString(word[i:])
			s = word[i : i+w]
			if i > 0 && m.prefix != "" {
				s = m.prefix + s
			}
			if i+w == len(word) && m.suffix != "" {
				s += m.suffix
			}
			if v, ok := m.vocab[s]; ok {
				id = v
			}
		}
		i += w
		if id >= 0 {
			if pendingUnk {
				add(m.unk)
				pendingUnk = false
			}
			add(id)
			continue
		}
		if m.byteFallback && m.allBytesKnown(s) {
			// As in tokenizers, a pending unk is not flushed before byte-fallback tokens.
			for k := 0; k < len(s); k++ {
				add(m.byteIDs[s[k]])
			}
			continue
		}
		if m.unk >= 0 {
			if pendingUnk && !m.fuseUnk {
				add(m.unk)
			}
			pendingUnk = true
		}
	}
	if pendingUnk {
		add(m.unk)
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

func (m *bpe) allBytesKnown(s string) bool {
	for k := 0; k < len(s); k++ {
		if m.byteIDs[s[k]] < 0 {
			return false
		}
	}
	return true
}

// mergeItem is a candidate merge of the symbol at pos with its right neighbour.
type mergeItem struct {
	rank  uint32
	pos   int32
	newID int32
}

func (a mergeItem) less(b mergeItem) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// mergeAll is tokenizers' Word::merge_all: a min-heap of candidate merges ordered by (rank,
// position); a popped candidate is applied if its pair still merges to the same id; each merge
// pushes the new pairs formed with its neighbours. naiveMerge is its reference.
func (m *bpe) mergeAll(syms []symbol, h mergeHeap) mergeHeap {
	for i := 0; i+1 < len(syms); i++ {
		if v, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h = h.push(mergeItem{uint32(v >> 32), int32(i), int32(uint32(v))})
		}
	}
	for len(h) > 0 {
		var top mergeItem
		top, h = h.pop()
		cur := &syms[top.pos]
		if cur.dead || cur.next < 0 {
			continue
		}
		ri := cur.next
		right := syms[ri]
		v, ok := m.merges[pairKey(cur.id, right.id)]
		if !ok || int32(uint32(v)) != top.newID {
			continue // stale candidate
		}
		cur.id = top.newID
		cur.next = right.next
		syms[ri].dead = true
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if v, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				h = h.push(mergeItem{uint32(v >> 32), cur.prev, int32(uint32(v))})
			}
		}
		if cur.next >= 0 {
			if v, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				h = h.push(mergeItem{uint32(v >> 32), top.pos, int32(uint32(v))})
			}
		}
	}
	return h
}

// mergeHeap is a binary min-heap of merge candidates.
type mergeHeap []mergeItem

func (h mergeHeap) push(x mergeItem) mergeHeap {
	h = append(h, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func (h mergeHeap) pop() (mergeItem, mergeHeap) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			c = r
		}
		if !h[c].less(h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	return top, h
}

// naiveMerge is the algorithmic reference of mergeAll: repeatedly merge the leftmost pair of lowest
// rank. It is quadratic and used only by tests.
func (m *bpe) naiveMerge(ids []int32) []int32 {
	ids = append([]int32(nil), ids...)
	for {
		best, bestRank := -1, uint64(1<<63)
		var bestID int32
		for i := 0; i+1 < len(ids); i++ {
			if v, ok := m.merges[pairKey(ids[i], ids[i+1])]; ok && v>>32 < bestRank {
				best, bestRank, bestID = i, v>>32, int32(uint32(v))
			}
		}
		if best < 0 {
			return ids
		}
		ids[best] = bestID
		ids = append(ids[:best+1], ids[best+2:]...)
	}
}
