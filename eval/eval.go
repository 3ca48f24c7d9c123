package eval

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/mpi"
)

// LM is what evaluation needs from a model.
type LM interface {
	// Logits returns the (b, t, vocab) logits of the right-padded ids (b, t); row i of the result
	// at position j depends only on ids[i, :j+1].
	Logits(ids []int, b, t int) ([]float32, error)
}

// Options tunes an evaluation run.
type Options struct {
	MaxLen      int // truncate sequences like training examples (0: no limit)
	Limit       int // evaluate only the first Limit rows (0: all)
	BatchTokens int // padded tokens per forward (default 2048)
	MaxBatch    int // sequences per forward (default 16)
	Pad         int // pad id for batching (any valid id; padding never influences scored positions)
	// Progress, when set, is called after each forward with the sequences done and the total.
	Progress func(done, total int)
	// Comm splits the forwards over the ranks of an MPI job (see ranks.go); every rank gets the
	// whole report, equal to a single process's. nil: this process alone.
	Comm mpi.Comm

	eos int // set by Evaluate
}

// request is one teacher-forced sequence to score: Labels ≠ IgnoreLabel mark the scored tokens.
type request struct {
	ex data.Example
}

// result is what a request yields.
type result struct {
	logProb float64 // Σ log p(token) over scored tokens
	tokens  int     // scored tokens
	argmax  bool    // every scored token is the argmax (first index on ties) of its logits
	eosNext float64 // log p(EOS | the whole sequence): the last position's prediction
}

// plan collects unique requests.
type plan struct {
	reqs  []request
	index map[string]int
}

func (p *plan) add(ex data.Example) int {
	var b strings.Builder
	var buf [4]byte
	for i, id := range ex.IDs {
		v := uint32(id)
		if ex.Labels[i] == data.IgnoreLabel {
			v |= 1 << 31
		}
		binary.LittleEndian.PutUint32(buf[:], v)
		b.Write(buf[:])
	}
	k := b.String()
	if i, ok := p.index[k]; ok {
		return i
	}
	p.reqs = append(p.reqs, request{ex})
	p.index[k] = len(p.reqs) - 1
	return len(p.reqs) - 1
}

// candidate builds P + enc(text) (+ EOS), scoring the text (and EOS) tokens.
func candidate(tok data.Tokenizer, prompt, text string, eos bool, maxLen int) data.Example {
	var ex data.Example
	bos := tok.AddBOS() && tok.BOS() >= 0
	if bos {
		ex.IDs = append(ex.IDs, tok.BOS())
		ex.Labels = append(ex.Labels, data.IgnoreLabel)
	}
	for _, id := range tok.Encode(prompt, false) {
		ex.IDs = append(ex.IDs, id)
		ex.Labels = append(ex.Labels, data.IgnoreLabel)
	}
	ids := tok.Encode(text, false)
	if eos {
		ids = append(ids, tok.EOS())
	}
	ex.IDs = append(ex.IDs, ids...)
	ex.Labels = append(ex.Labels, ids...)
	data.Truncate(&ex, maxLen, bos)
	return ex
}

// rowPlan records which requests a row needs.
type rowPlan struct {
	task    string
	nll     int   // request index of the training example (-1: the truth choice + eosNext)
	choices []int // request per choice (choice rows)
	truth   int   // index of the completion in choices
	cands   []int // request per exact-match candidate (generative prompt rows)
}

// Evaluate scores rows with lm. Rows without a task name are reported under "default".
func Evaluate(lm LM, tok data.Tokenizer, rows []data.Row, opt Options) (*Report, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if opt.Limit > 0 && opt.Limit < len(rows) {
		rows = rows[:opt.Limit]
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("eval: no rows to evaluate")
	}
	if tok.EOS() < 0 {
		return nil, fmt.Errorf("eval: the tokenizer has no EOS token")
	}
	opt.eos = tok.EOS()
	p := plan{index: map[string]int{}}
	rps := make([]rowPlan, len(rows))
	for i := range rows {
		r := &rows[i]
		rp := rowPlan{task: r.Task, truth: -1}
		if rp.task == "" {
			rp.task = "default"
		}
		ex, err := data.Encode(tok, r, opt.MaxLen)
		if err != nil {
			return nil, fmt.Errorf("eval: %s:%d: %w", r.File, r.Line, err)
		}
		rp.nll = -1
		switch {
		case r.HasPrompt && len(r.Choices) > 0:
			for j, c := range r.Choices {
				cand := candidate(tok, r.Prompt, c, false, opt.MaxLen)
				rp.choices = append(rp.choices, p.add(cand))
				if c == r.Completion {
					rp.truth = j
					// When the training example is this sequence + EOS (no truncation), the truth's
					// forward also gives the NLL: its last position predicts EOS.
					if len(ex.IDs) != len(cand.IDs)+1 || !slices.Equal(ex.IDs[:len(cand.IDs)], cand.IDs) {
						rp.nll = p.add(ex)
					}
				}
			}
		case r.HasPrompt:
			rp.nll = p.add(ex)
			answers := r.Answers
			if len(answers) == 0 {
				answers = []string{r.Completion}
			}
			for _, a := range answers {
				rp.cands = append(rp.cands, p.add(candidate(tok, r.Prompt, " "+strings.TrimSpace(a), true, opt.MaxLen)))
			}
		default: // text and chat rows: NLL only
			rp.nll = p.add(ex)
		}
		rps[i] = rp
	}
	res, err := run(lm, p.reqs, opt)
	if err != nil {
		return nil, err
	}
	tallies := map[string]*tally{}
	for i := range rps {
		rp := &rps[i]
		t := tallies[rp.task]
		if t == nil {
			t = &tally{}
			tallies[rp.task] = t
		}
		t.n++
		if rp.nll >= 0 {
			t.addNLL(-res[rp.nll].logProb, res[rp.nll].tokens)
		} else {
			q := res[rp.choices[rp.truth]]
			t.addNLL(-(q.logProb + q.eosNext), q.tokens+1)
		}
		if len(rp.choices) > 0 {
			best := 0
			for j, q := range rp.choices {
				if res[q].logProb > res[rp.choices[best]].logProb {
					best = j
				}
			}
			t.addChoice(rows[i].Choices[rp.truth], best == rp.truth)
		} else if len(rp.cands) > 0 {
			ok := false
			for _, q := range rp.cands {
				ok = ok || res[q].argmax
			}
			t.addGen(ok)
		}
	}
	return finish(tallies), nil
}

// run scores every request, batching sequences of similar length.
func run(lm LM, reqs []request, opt Options) ([]result, error) {
	budget, maxB := opt.BatchTokens, opt.MaxBatch
	if budget <= 0 {
		budget = 2048
	}
	if maxB <= 0 {
		maxB = 16
	}
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(reqs[order[a]].ex.IDs) < len(reqs[order[b]].ex.IDs) })
	out := make([]result, len(reqs))
	ran := make([]bool, len(reqs)) // by this rank
	done := 0
	for start, k := 0, 0; start < len(order); k++ {
		// Grow the batch while the padded size (count × longest, the last being longest) fits.
		end := start + 1
		for end < len(order) && end-start < maxB && (end-start+1)*len(reqs[order[end]].ex.IDs) <= budget {
			end++
		}
		idx := order[start:end]
		start = end
		if !mine(opt.Comm, k) {
			continue // another rank's batch
		}
		exs := make([]data.Example, len(idx))
		for j, q := range idx {
			exs[j] = reqs[q].ex
		}
		b := data.MakeBatch(exs, opt.Pad)
		logits, err := lm.Logits(b.IDs, b.B, b.T)
		if err != nil {
			return nil, err
		}
		if len(logits)%(b.B*b.T) != 0 || len(logits) == 0 {
			return nil, fmt.Errorf("eval: model returned %d logits for a (%d, %d) batch", len(logits), b.B, b.T)
		}
		vocab := len(logits) / (b.B * b.T)
		lens := make([]int, len(exs))
		for j := range exs {
			lens[j] = len(exs[j].IDs)
		}
		if err := checkFinite(logits, b.T, vocab, lens); err != nil {
			return nil, err
		}
		for j, q := range idx {
			out[q] = scoreSeq(logits[j*b.T*vocab:(j+1)*b.T*vocab], exs[j], vocab, opt.eos)
			ran[q] = true
		}
		done += len(idx)
		if opt.Progress != nil {
			opt.Progress(done, len(reqs))
		}
	}
	if err := gather(opt.Comm, reqs, out, ran); err != nil {
		return nil, err
	}
	return out, nil
}

// scoreSeq scores one sequence from its (T, vocab) logits: position t predicts token t+1; the
// last position's prediction of eos goes to eosNext.
func scoreSeq(logits []float32, ex data.Example, vocab, eos int) result {
	r := result{argmax: true}
	for t := 1; t < len(ex.IDs); t++ {
		target := ex.Labels[t]
		if target == data.IgnoreLabel {
			continue
		}
		lp, best := logSoftmaxAt(logits[(t-1)*vocab:t*vocab], target)
		r.logProb += lp
		r.tokens++
		if best != target {
			r.argmax = false
		}
	}
	if r.tokens == 0 {
		r.argmax = false
	}
	n := len(ex.IDs)
	r.eosNext, _ = logSoftmaxAt(logits[(n-1)*vocab:n*vocab], eos)
	return r
}

// logSoftmaxAt returns log softmax(row)[target] (accumulated in float64) and the argmax of row
// (first index on ties).
func logSoftmaxAt(row []float32, target int) (float64, int) {
	best := 0
	for v := 1; v < len(row); v++ {
		if row[v] > row[best] {
			best = v
		}
	}
	m := float64(row[best])
	var s float64
	for _, x := range row {
		s += math.Exp(float64(x) - m)
	}
	return float64(row[target]) - m - math.Log(s), best
}
