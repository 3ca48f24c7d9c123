package data

import (
	"errors"
	"fmt"
)

// IgnoreLabel marks a position that takes no loss (prompt, BOS, padding), as in PyTorch's
// CrossEntropyLoss(ignore_index=-100).
const IgnoreLabel = -100

// Tokenizer is what the data package needs from a tokenizer (tokenizer.Tokenizer satisfies it).
type Tokenizer interface {
	// Encode returns the ids of text; addSpecial=false must add no BOS/EOS.
	Encode(text string, addSpecial bool) []int
	BOS() int     // -1 when the tokenizer has none
	EOS() int     // -1 when the tokenizer has none
	AddBOS() bool // whether the tokenizer's post-processor prepends BOS
}

// Example is one tokenized training or evaluation sequence.
type Example struct {
	IDs    []int // (T) token ids
	Labels []int // (T) Labels[t] = IDs[t] where token t is trained on, IgnoreLabel elsewhere
	Row    int   // index of the source row (-1 for packed sequences of several rows)
}

// LossTokens counts the positions that take loss (labels ≠ IgnoreLabel at t ≥ 1; the first token
// is never predicted).
func (e *Example) LossTokens() int {
	n := 0
	for t := 1; t < len(e.Labels); t++ {
		if e.Labels[t] != IgnoreLabel {
			n++
		}
	}
	return n
}

// builder accumulates ids and labels piece by piece.
type builder struct {
	ids, labels []int
}

func (b *builder) add(ids []int, train bool) {
	for _, id := range ids {
		b.ids = append(b.ids, id)
		if train {
			b.labels = append(b.labels, id)
		} else {
			b.labels = append(b.labels, IgnoreLabel)
		}
	}
}

// Encode tokenizes a row into an example of at most maxLen tokens (maxLen ≤ 0: no limit).
// See the package documentation for the layout.
func Encode(tok Tokenizer, r *Row, maxLen int) (Example, error) {
	eos := tok.EOS()
	if eos < 0 {
		return Example{}, errors.New("data: the tokenizer has no EOS token (tokenizer_config.json eos_token); examples need one")
	}
	if maxLen > 0 && maxLen < 2 {
		return Example{}, fmt.Errorf("data: max length %d is too short (need at least 2)", maxLen)
	}
	if r.Chat != nil { // conversational rows: the model's chat template (chat.go)
		if ex, ok, err := encodeChat(tok, r, maxLen); ok {
			return ex, err
		}
	}
	var b builder
	bos := tok.AddBOS() && tok.BOS() >= 0
	if bos {
		b.add([]int{tok.BOS()}, false)
	}
	switch {
	case r.HasText:
		b.add(tok.Encode(r.Text, false), true)
		b.add([]int{eos}, true)
	case r.HasPrompt:
		b.add(tok.Encode(r.Prompt, false), false)
		b.add(tok.Encode(r.Completion, false), true)
		b.add([]int{eos}, true)
	case len(r.Messages) > 0:
		if err := addMessages(tok, &b, r.Messages, 0); err != nil {
			return Example{}, fmt.Errorf("data: %s:%d: %v", r.File, r.Line, err)
		}
	default:
		return Example{}, fmt.Errorf("data: %s:%d: empty row", r.File, r.Line)
	}
	ex := Example{IDs: b.ids, Labels: b.labels}
	Truncate(&ex, maxLen, bos)
	return ex, nil
}

// addMessages adds chat messages in the "### " format (see the package documentation); assistant
// contents from message firstTrained on, with their EOS, take loss.
func addMessages(tok Tokenizer, b *builder, msgs []Message, firstTrained int) error {
	for i, m := range msgs {
		switch m.Role {
		case RoleSystem:
			b.add(tok.Encode("### System:\n"+m.Content+"\n", false), false)
		case RoleUser:
			b.add(tok.Encode("### User:\n"+m.Content+"\n", false), false)
		case RoleAssistant:
			b.add(tok.Encode("### Assistant:", false), false)
			b.add(tok.Encode(" "+m.Content, false), i >= firstTrained)
			b.add([]int{tok.EOS()}, i >= firstTrained)
			b.add(tok.Encode("\n", false), false)
		default:
			return fmt.Errorf("messages[%d]: unknown role %q (expected system, user or assistant; other roles need the model's chat template, and this model has none)", i, m.Role)
		}
	}
	return nil
}

// Truncate cuts ex to maxLen tokens (maxLen ≤ 0: no limit), keeping the first token when keepFirst
// (BOS) and then the last tokens.
func Truncate(ex *Example, maxLen int, keepFirst bool) {
	n := len(ex.IDs)
	if maxLen <= 0 || n <= maxLen {
		return
	}
	if keepFirst {
		cut := n - (maxLen - 1) // drop ids[1:cut]
		ex.IDs = append(ex.IDs[:1], ex.IDs[cut:]...)
		ex.Labels = append(ex.Labels[:1], ex.Labels[cut:]...)
		return
	}
	ex.IDs = ex.IDs[n-maxLen:]
	ex.Labels = ex.Labels[n-maxLen:]
}

// Chunk cuts ex into consecutive pieces of at most maxLen tokens that together hold every token
// (maxLen ≤ 0 or a short example: ex alone). This is how plain-text rows are split for
// pretraining-style packing (Hugging Face's group_texts): no token is dropped, and the first token
// of each later piece serves as context only (its label is never a target, since logits[t] are
// scored against labels[t+1]).
func Chunk(ex Example, maxLen int) []Example {
	if maxLen <= 0 || len(ex.IDs) <= maxLen {
		return []Example{ex}
	}
	var out []Example
	for lo := 0; lo < len(ex.IDs); lo += maxLen {
		hi := min(lo+maxLen, len(ex.IDs))
		if hi-lo < 2 && len(out) > 0 { // a lone trailing token has no target: leave it out
			break
		}
		out = append(out, Example{IDs: ex.IDs[lo:hi:hi], Labels: ex.Labels[lo:hi:hi], Row: ex.Row})
	}
	return out
}

// EncodeAll encodes rows; the i-th example has Row = i.
func EncodeAll(tok Tokenizer, rows []Row, maxLen int) ([]Example, error) {
	out := make([]Example, len(rows))
	for i := range rows {
		ex, err := Encode(tok, &rows[i], maxLen)
		if err != nil {
			return nil, err
		}
		ex.Row = i
		out[i] = ex
	}
	return out, nil
}
