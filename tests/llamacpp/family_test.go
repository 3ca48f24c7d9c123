package llamacpp

import (
	"path/filepath"
	"testing"

	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/internal/tinymodel"
	"github.com/moslora/moslora/model"
)

// TestLlamaCppRunsEveryFamily: the tiny Llama (q/k permutation), Llama 3 (llama3 rope scaling
// as rope_freqs; its original context of 16 positions puts the prompts in the scaled range), Qwen2 (q/k/v biases, no
// permutation) and GPT-2 (Conv1D transposes, learned positions, LayerNorm biases) fixtures,
// exported as f32 GGUF models, give in llama.cpp the greedy ids and logits we compute, from raw
// token ids (their tokenizers are synthetic).
func TestLlamaCppRunsEveryFamily(t *testing.T) {
	llamaCpp(t)
	families := []struct{ family, pre string }{
		{"llama", tinymodel.PreQwen2}, {"llama3", tinymodel.PreQwen2}, {"qwen2", tinymodel.PreQwen2}, {"gpt2", tinymodel.PreGPT2},
	}
	s := &setup{dir: t.TempDir()}
	var jobs []job
	var models []*model.Model
	var setups []*setup
	for _, f := range families {
		dir := tinymodel.Folder(t, f.family, f.pre)
		m, err := model.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		fs := &setup{base: dir, m: m, dir: s.dir}
		V := m.Config.VocabSize
		for p := range 5 {
			ids := make([]int, 6+p)
			for i := range ids {
				ids[i] = (37*p + 11*i*i + 5) % V
			}
			fs.prompts = append(fs.prompts, ids)
		}
		out := filepath.Join(s.dir, f.family+".gguf")
		if _, err := export.GGUFModel(out, dir, export.OutF32, false, nil); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, fs.genJob(t, job{Model: out}, true))
		models = append(models, m)
		setups = append(setups, fs)
	}
	rs := run(t, jobs)
	for i, f := range families {
		t.Run(f.family, func(t *testing.T) {
			setups[i].check(t, f.family, models[i], jobs[i], rs[i], 0)
		})
	}
}
