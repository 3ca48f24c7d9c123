package eval

import (
	"testing"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/generate"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/tokenizer"
)

// TestTeacherForcedArgmaxIsGreedyDecoding checks the exact-match definition on the real base
// model: the tokens that greedy generation (KV cache, one token per step) emits are exactly the
// ones whose teacher-forced argmax check passes, and changing one token makes it fail.
func TestTeacherForcedArgmaxIsGreedyDecoding(t *testing.T) {
	dir := shared.Path(t, "models", "base-19m")
	path := shared.Path(t, "data", "tasks", "translate", "test.jsonl")
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := data.ReadFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	const k = 6
	for _, r := range rows[:3] {
		prompt := append([]int{tok.BOS()}, tok.Encode(r.Prompt, false)...)
		g, err := generate.Generate(m, prompt, generate.Options{MaxNewTokens: k}, nil)
		if err != nil {
			t.Fatal(err)
		}
		gen := g.Generated()
		ex := data.Example{IDs: append(append([]int(nil), prompt...), gen...)}
		for i := range ex.IDs {
			ex.Labels = append(ex.Labels, data.IgnoreLabel)
			if i >= len(prompt) {
				ex.Labels[i] = ex.IDs[i]
			}
		}
		bad := data.Example{IDs: append([]int(nil), ex.IDs...), Labels: append([]int(nil), ex.Labels...)}
		last := len(bad.IDs) - 1
		bad.IDs[last] = (bad.IDs[last] + 1) % m.Config.VocabSize
		bad.Labels[last] = bad.IDs[last]
		res, err := run(ModelLM{m}, []request{{ex}, {bad}}, Options{eos: tok.EOS()})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%q → greedy %q: teacher-forced argmax %v, altered %v", r.Prompt[len(r.Prompt)-30:], tok.Decode(gen, false), res[0].argmax, res[1].argmax)
		if !res[0].argmax || res[1].argmax || res[0].tokens != len(gen) {
			t.Errorf("greedy continuation: argmax check %v (want true), altered %v (want false), %d tokens scored of %d", res[0].argmax, res[1].argmax, res[0].tokens, len(gen))
		}
	}
}
