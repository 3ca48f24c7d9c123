package model

import (
	"math"
	"math/rand"
	"testing"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/safetensors"
)

func TestQ8BlocksAreWithinTheQ8Bound(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	w := make([]float32, 64*Q8Block)
	for i := range w {
		w[i] = float32(r.NormFloat64() * math.Pow(10, float64(i/Q8Block%7-3))) // scales 1e-3 … 1e3
	}
	copy(w[5*Q8Block:6*Q8Block], make([]float32, Q8Block)) // an all-zero block: d = 0
	q := QuantizeQ8(w)
	got := make([]float32, len(w))
	gemm.Weights{Q8: q}.Decode(got, 0)
	for b := 0; b < len(w)/Q8Block; b++ {
		var amax float64
		for _, v := range w[b*Q8Block : (b+1)*Q8Block] {
			amax = max(amax, math.Abs(float64(v)))
		}
		// f16 rounding of d: half an ulp, 2⁻¹¹ relative, 2⁻²⁵ absolute below f16's normal range.
		dErr := max(amax/127/2048, math.Ldexp(1, -25))
		bound := amax/254 + 127*dErr
		for i := b * Q8Block; i < (b+1)*Q8Block; i++ {
			if e := math.Abs(float64(got[i]) - float64(w[i])); e > bound {
				t.Fatalf("value %d: %v dequantised to %v, error %.3g over the Q8_0 bound %.3g", i, w[i], got[i], e, bound)
			}
		}
		if d := safetensors.F16ToFloat32(q.D[b]); math.Abs(float64(d)-amax/127) > dErr*(1+1e-6) {
			t.Fatalf("block %d: scale %v, expected f16(%v)", b, d, amax/127)
		}
	}
}

func TestQ8BaseComputesWithItsDequantisedWeights(t *testing.T) {
	smallAttnBlocks(t)
	for _, fam := range []string{"llama", "gpt2"} { // gpt2: Conv1D weights, transposed before quantising
		t.Run(fam, func(t *testing.T) {
			cfg := `{"architectures":["LlamaForCausalLM"],"vocab_size":23,"hidden_size":32,"intermediate_size":64,
				"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"rms_norm_eps":1e-5,
				"rope_theta":10000,"tie_word_embeddings":false}`
			if fam == "gpt2" {
				cfg = `{"architectures":["GPT2LMHeadModel"],"vocab_size":23,"n_embd":32,"n_layer":2,"n_head":2,"n_inner":64,
					"n_positions":8,"layer_norm_epsilon":1e-5,"activation_function":"gelu_new"}`
			}
			c, err := ParseConfig([]byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			src := specSource(t, c, 2)
			mq, err := FromSourceWith(c, src, LoadOptions{Base: BaseQ8})
			if err != nil {
				t.Fatal(err)
			}
			mw, err := FromSourceWith(c, src, LoadOptions{Base: BaseQ8})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range mq.Linears() {
				if l.Frozen.Q8.Q == nil || l.W != nil {
					t.Fatalf("%s not held in Q8_0", l.Path)
				}
			}
			mw.Widen()
			if mw.Linears()[0].Frozen.Len() != 0 {
				t.Fatal("Widen left a Q8_0 weight")
			}
			if q, f := mq.BaseBytes(), mw.BaseBytes(); float64(q) > 0.55*float64(f) {
				t.Errorf("Q8_0 base takes %d bytes, float32 %d", q, f)
			}
			sameRuns(t, runBF16Case(t, mq, 2, 7), runBF16Case(t, mw, 2, 7))
		})
	}
}
