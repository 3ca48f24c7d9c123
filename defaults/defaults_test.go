package defaults

import (
	"testing"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
)

// TestEmbeddedDefaultLoads extracts the embedded default and checks that the model, its tokenizer
// and both task files load, and that the model is the trained one (its loss on a task prompt is far
// below the uniform-guess loss ln(vocab)).
func TestEmbeddedDefaultLoads(t *testing.T) {
	p, err := Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(p.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(p.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != m.Config.VocabSize {
		t.Fatalf("tokenizer has %d tokens, model %d", tok.VocabSize(), m.Config.VocabSize)
	}
	for _, f := range []string{p.Train, p.Test} {
		rows, skipped, err := data.ReadFile(f, false)
		if err != nil || skipped != 0 || len(rows) == 0 {
			t.Fatalf("%s: %d rows, %d skipped, %v", f, len(rows), skipped, err)
		}
	}
	ids := tok.Encode("It was the best of times, and the LORD said unto Moses", true)
	labels := append([]int(nil), ids...)
	out, err := m.Forward(ids, 1, len(ids), false)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := model.Loss(out.Logits, labels, 1, len(ids), m.Config.VocabSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.3f on a literary sentence (uniform guess: 9.70)", loss)
	if !(loss < 8) {
		t.Errorf("loss %.3f: the embedded model does not look trained", loss)
	}
}
