package model

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

// BenchmarkBatcherDecode measures one decode step of `rows` sequences (each at position 64, half
// of them with one of two LoRA adapters) on base-19m; tokens/s = rows / (time per step).
func BenchmarkBatcherDecode(b *testing.B) {
	m, err := Load(shared.Path(b, "models", "base-19m"))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	ds := []Deltas{nil, detachedLoRA(m, r, 8), detachedLoRA(m, r, 8)}
	for _, rows := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			bt := m.NewBatcher()
			steps := make([]Step, rows)
			prompt := make([]int, 64)
			for i := range prompt {
				prompt[i] = (i*31 + 7) % m.Config.VocabSize
			}
			for i := range steps {
				kc := m.NewKVCache(64 + b.N + 1)
				steps[i] = Step{IDs: prompt, Cache: kc, Deltas: ds[i%len(ds)]}
				if _, err := bt.Step(steps[i : i+1]); err != nil {
					b.Fatal(err)
				}
				steps[i].IDs = []int{1}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := bt.Step(steps); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
