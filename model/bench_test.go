package model

import (
	"fmt"
	"math/rand"
	"testing"
)

// benchConfig has the shape of models/base-19m (random weights, so no shared data is needed).
const benchConfig = `{"architectures":["LlamaForCausalLM"],"vocab_size":16384,"hidden_size":384,"intermediate_size":1024,
	"num_hidden_layers":8,"num_attention_heads":6,"num_key_value_heads":2,"head_dim":64,"rms_norm_eps":1e-5,
	"rope_parameters":{"rope_type":"default","rope_theta":10000.0},"tie_word_embeddings":true,"dtype":"float32"}`

func benchModel(b *testing.B) *Model {
	cfg, err := ParseConfig([]byte(benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	m, err := FromSource(cfg, specSource(b, cfg, 1))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkForwardBackward is one training step of a base-19m-shaped model with a rank-8 LoRA on
// every linear (frozen base), reporting tokens per second.
func BenchmarkForwardBackward(b *testing.B) {
	m := benchModel(b)
	r := rand.New(rand.NewSource(1))
	attachLoRA(m, r, 8)
	for _, shape := range [][2]int{{4, 128}} {
		B, T := shape[0], shape[1]
		b.Run(fmt.Sprintf("B%d_T%d", B, T), func(b *testing.B) {
			ids, labels := tinyBatch(r, m.Config.VocabSize, B, T)
			if _, err := m.ForwardBackward(ids, labels, B, T); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.ForwardBackward(ids, labels, B, T); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// BenchmarkForwardCached is one decoding step (one new token after a 64-token prompt).
func BenchmarkForwardCached(b *testing.B) {
	m := benchModel(b)
	kc := m.NewKVCache(1 << 12)
	prompt := make([]int, 64)
	for i := range prompt {
		prompt[i] = i
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if kc.Len+1 > kc.Cap || i == 0 {
			kc.Reset()
			if _, err := m.ForwardCached(prompt, kc); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := m.ForwardCached([]int{7}, kc); err != nil {
			b.Fatal(err)
		}
	}
}
