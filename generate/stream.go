package generate

import (
	"strings"
	"unicode/utf8"
)

// Decoder turns ids into text (tokenizer.Tokenizer satisfies it).
type Decoder interface {
	Decode(ids []int, skipSpecial bool) string
}

// TextStream turns a growing id sequence into text pieces. It decodes the whole sequence each
// time (decoders such as SentencePiece's strip or merge across token boundaries, so decoding a
// suffix alone is not the same text) and emits what is new, holding back a piece while it ends in
// an incomplete character (U+FFFD from a partial byte sequence) or while earlier text changed.
// The pieces concatenate to Decode(all ids).
type TextStream struct {
	dec     Decoder
	ids     []int
	emitted string // text already handed out
}

// NewTextStream starts a stream whose text begins with the decoding of prefix (e.g. the prompt,
// which is not emitted).
func NewTextStream(dec Decoder, prefix []int) *TextStream {
	ts := &TextStream{dec: dec, ids: append([]int(nil), prefix...)}
	ts.emitted = dec.Decode(ts.ids, true)
	return ts
}

// Text is the text of the prefix handed to NewTextStream and the pieces emitted since.
func (ts *TextStream) Text() string { return ts.emitted }

// Add appends id and returns the new text piece ("" while held back).
func (ts *TextStream) Add(id int) string {
	ts.ids = append(ts.ids, id)
	full := ts.dec.Decode(ts.ids, true)
	if !strings.HasPrefix(full, ts.emitted) {
		return ""
	}
	if r, _ := utf8.DecodeLastRuneInString(full); r == utf8.RuneError {
		return ""
	}
	piece := full[len(ts.emitted):]
	ts.emitted = full
	return piece
}

// Flush returns whatever text is still held back (call once at the end).
func (ts *TextStream) Flush() string {
	full := ts.dec.Decode(ts.ids, true)
	if !strings.HasPrefix(full, ts.emitted) {
		return ""
	}
	piece := full[len(ts.emitted):]
	ts.emitted = full
	return piece
}
