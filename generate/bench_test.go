package generate

import (
	"testing"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
)

// BenchmarkDecodeStep measures one cached greedy decoding step of base-19m (a 16-token prompt,
// 64 new tokens per iteration; reported per token).
func BenchmarkDecodeStep(b *testing.B) {
	m, err := model.Load(shared.Path(b, "models", "base-19m"))
	if err != nil {
		b.Fatal(err)
	}
	prompt := make([]int, 16)
	for i := range prompt {
		prompt[i] = 1 + i*97
	}
	for _, s := range []struct {
		name string
		opt  Sampling
	}{{"greedy", Sampling{}}, {"top-p", Sampling{Temperature: 0.8, TopP: 0.9, Seed: 1}}} {
		b.Run(s.name, func(b *testing.B) {
			const n = 64
			for i := 0; i < b.N; i++ {
				if _, err := Generate(m, prompt, Options{MaxNewTokens: n, Sampling: s.opt}, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e6, "ms/token")
		})
	}
}
