package generate

import (
	"slices"

	"github.com/moslora/moslora/model"
)

// Options are the settings of one generation.
type Options struct {
	Sampling
	MaxNewTokens int   // token budget for the continuation (> 0)
	StopIDs      []int // generation ends after emitting one of these (EOS); may be empty
}

// Stop reasons reported in Result.
const (
	StopEOS     = "eos"     // a stop id was generated
	StopLength  = "length"  // MaxNewTokens reached
	StopContext = "context" // the model's position limit (GPT-2 n_positions) reached
)

// Result is what a generation produced.
type Result struct {
	IDs    []int  // prompt ids followed by the generated ids
	Prompt int    // number of prompt ids at the start of IDs
	Stop   string // StopEOS, StopLength or StopContext
}

// Generated returns the generated ids (without the prompt).
func (r *Result) Generated() []int { return r.IDs[r.Prompt:] }

// StepFunc is called after each generated token with the token id and its step logits (V), which
// are valid only during the call. Returning an error stops the generation with that error.
type StepFunc func(id int, logits []float32) error

// Generate continues prompt with the model: it runs the prompt through a fresh KV cache in one
// call, then decodes one token per step until a stop id, MaxNewTokens or the context limit.
// onStep (may be nil) sees every generated token as it is chosen.
func Generate(m *model.Model, prompt []int, opt Options, onStep StepFunc) (*Result, error) {
	c := m.Config
	if err := Check(c, prompt, opt); err != nil {
		return nil, err
	}
	total := len(prompt) + opt.MaxNewTokens
	if limit := PositionLimit(c); limit > 0 {
		total = min(total, limit)
	}
	kc := m.NewKVCache(total)
	res := &Result{IDs: append(make([]int, 0, total), prompt...), Prompt: len(prompt), Stop: StopLength}
	s := NewSampler(opt.Sampling)
	V := c.VocabSize

	logits, err := m.ForwardCached(prompt, kc)
	if err != nil {
		return nil, err
	}
	last := logits[(len(prompt)-1)*V:]
	for step := 0; ; step++ {
		if err := checkLogits(last, len(res.IDs)); err != nil {
			return res, err
		}
		id := s.Next(last)
		res.IDs = append(res.IDs, id)
		if onStep != nil {
			if err := onStep(id, last); err != nil {
				return res, err
			}
		}
		switch {
		case slices.Contains(opt.StopIDs, id):
			res.Stop = StopEOS
			return res, nil
		case step+1 >= opt.MaxNewTokens:
			return res, nil
		case len(res.IDs) >= total:
			res.Stop = StopContext
			return res, nil
		}
		if last, err = m.ForwardCached(res.IDs[len(res.IDs)-1:], kc); err != nil {
			return res, err
		}
	}
}
