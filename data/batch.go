package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
)

// Batch is a right-padded (B, T) block of examples.
type Batch struct {
	IDs    []int // (B, T) token ids, padding = the pad id
	Labels []int // (B, T) labels, IgnoreLabel on padding and untrained positions
	B, T   int
	Lens   []int // (B) unpadded length of each row
	Pad    int   // the pad id
	Tokens int   // non-padding tokens
	Loss   int   // positions that take loss (labels ≠ IgnoreLabel at t ≥ 1)
}

// MakeBatch pads exs to the longest one with pad (T = longest length).
func MakeBatch(exs []Example, pad int) Batch {
	if len(exs) == 0 {
		panic("data: MakeBatch of no examples")
	}
	t := 0
	for i := range exs {
		t = max(t, len(exs[i].IDs))
	}
	b := Batch{B: len(exs), T: t, IDs: make([]int, len(exs)*t), Labels: make([]int, len(exs)*t), Lens: make([]int, len(exs)), Pad: pad}
	for i := range exs {
		ids, lab := b.IDs[i*t:(i+1)*t], b.Labels[i*t:(i+1)*t]
		n := copy(ids, exs[i].IDs)
		copy(lab, exs[i].Labels)
		for j := n; j < t; j++ {
			ids[j], lab[j] = pad, IgnoreLabel
		}
		b.Lens[i] = n
		b.Tokens += n
		b.Loss += exs[i].LossTokens()
	}
	return b
}

// Order is the seed-shuffled order of n examples in the given epoch: a pure function of
// (n, seed, epoch), so a resumed run replays the same order.
func Order(n int, seed int64, epoch int) []int {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15^uint64(epoch)))
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	// Fisher–Yates with our own bounded draw so the order does not depend on math/rand internals
	// beyond the PCG stream itself.
	for i := n - 1; i > 0; i-- {
		j := int(r.Uint64() % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// Pack concatenates consecutive examples (in the given order) into sequences of at most maxLen
// tokens. An example longer than maxLen stays on its own (Encode has already truncated it).
// Attention is not blocked between packed examples (as in Hugging Face's packing); each example
// keeps its own BOS, whose label is IgnoreLabel.
func Pack(exs []Example, order []int, maxLen int) []Example {
	var out []Example
	var cur Example
	flush := func() {
		if len(cur.IDs) > 0 {
			out = append(out, cur)
		}
		cur = Example{Row: -1}
	}
	flush()
	for _, i := range order {
		e := exs[i]
		if len(cur.IDs) > 0 && len(cur.IDs)+len(e.IDs) > maxLen {
			flush()
		}
		cur.IDs = append(cur.IDs, e.IDs...)
		cur.Labels = append(cur.Labels, e.Labels...)
		cur.Row = -1
	}
	flush()
	return out
}

// Loader yields the micro-batches of each epoch: shuffle by (Seed, epoch), optionally pack, then
// cut into batches of Batch sequences (the last one may be smaller).
type Loader struct {
	Examples []Example
	Seed     int64
	Batch    int  // sequences per micro-batch
	Pack     bool // concatenate short examples up to MaxLen
	MaxLen   int
	Pad      int // pad id
}

// Validate checks the loader settings (user-facing values).
func (l *Loader) Validate() error {
	if len(l.Examples) == 0 {
		return fmt.Errorf("data: no examples")
	}
	if l.Batch < 1 {
		return fmt.Errorf("data: batch size %d, expected ≥ 1", l.Batch)
	}
	if l.Pack && l.MaxLen < 2 {
		return fmt.Errorf("data: packing needs a max length ≥ 2, got %d", l.MaxLen)
	}
	return nil
}

// Epoch returns the micro-batches of the given epoch (0-based).
func (l *Loader) Epoch(epoch int) []Batch {
	order := Order(len(l.Examples), l.Seed, epoch)
	seqs := make([]Example, 0, len(order))
	if l.Pack {
		seqs = Pack(l.Examples, order, l.MaxLen)
	} else {
		for _, i := range order {
			seqs = append(seqs, l.Examples[i])
		}
	}
	var out []Batch
	for i := 0; i < len(seqs); i += l.Batch {
		out = append(out, MakeBatch(seqs[i:min(i+l.Batch, len(seqs))], l.Pad))
	}
	return out
}

// Split regroups the rows of b into sub-batches of similar length, to cut the padding that a
// single (B, T) block wastes: rows sorted by length are cut where it minimises
// Σ_parts (rows · longest + overhead), overhead being the cost of one more forward pass in token
// equivalents. The parts together hold exactly b's rows (in length order) and targets; a loss
// averaged over b's targets is Σ_p (p.Loss / b.Loss) · loss_p.
func (b *Batch) Split(overhead int) []Batch {
	n := b.B
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return b.Lens[order[x]] < b.Lens[order[y]] })
	// best[j] = min cost of the first j sorted rows; cut[j] = start of the last part.
	best, cut := make([]int, n+1), make([]int, n+1)
	for j := 1; j <= n; j++ {
		best[j] = -1
		for i := 0; i < j; i++ {
			c := best[i] + (j-i)*b.Lens[order[j-1]] + overhead
			if best[j] < 0 || c < best[j] {
				best[j], cut[j] = c, i
			}
		}
	}
	var bounds []int
	for j := n; j > 0; j = cut[j] {
		bounds = append(bounds, j)
	}
	bounds = append(bounds, 0)
	slices.Reverse(bounds)
	parts := make([]Batch, 0, len(bounds)-1)
	for k := 0; k+1 < len(bounds); k++ {
		exs := make([]Example, 0, bounds[k+1]-bounds[k])
		for _, r := range order[bounds[k]:bounds[k+1]] {
			l := b.Lens[r]
			exs = append(exs, Example{IDs: b.IDs[r*b.T : r*b.T+l], Labels: b.Labels[r*b.T : r*b.T+l], Row: -1})
		}
		parts = append(parts, MakeBatch(exs, b.Pad))
	}
	return parts
}
