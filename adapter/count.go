package adapter

import (
	"fmt"

	"github.com/moslora/moslora/adapter/mixer"
)

// TrainableCount is the number of trainable parameters cfg gives an adapter on m, without
// drawing one: per adapted module of rank r, r·(in + out) for A and B plus the mixer's trainable
// tensors (dense r², global K, gated K·(in + 1), identity and folded none). For MoSLoRA on
// modules m with a uniform rank r that is
//
//	Σ_m r·(in_m + out_m) + r²        (LoRA: Σ_m r·(in_m + out_m))
func TrainableCount(cfg Config, m Base) (int, error) {
	if err := cfg.Validate(); err != nil {
		return 0, fmt.Errorf("adapter: %w", err)
	}
	lins := m.Linears()
	paths := make([]string, len(lins))
	for i, l := range lins {
		paths[i] = l.Path
	}
	sel, err := cfg.selectPaths(paths)
	if err != nil {
		return 0, fmt.Errorf("adapter: %w", err)
	}
	selected := map[string]bool{}
	for _, p := range sel {
		selected[p] = true
	}
	n := 0
	for _, l := range lins {
		if !selected[l.Path] {
			continue
		}
		r, _ := cfg.RankAlpha(l.Path)
		mx, err := mixer.New(cfg.MixerKind(), mixer.Shape{R: r, In: l.In, K: cfg.Subspaces, TopK: cfg.TopK, Init: cfg.MixerInit})
		if err != nil {
			return 0, fmt.Errorf("adapter: %s: %w", l.Path, err)
		}
		n += r * (l.In + l.Out)
		for _, p := range mx.Params() {
			if p.G != nil {
				n += len(p.W)
			}
		}
	}
	return n, nil
}

// MatchRank returns the rank r (≥ 1) at which cfg's adapter on m has the trainable count closest
// to target (the smaller rank on a tie), with that count. Only r changes: rank_pattern entries
// keep their own ranks.
func MatchRank(cfg Config, m Base, target int) (rank, count int, err error) {
	best, bestN := 0, 0
	for r := 1; ; r++ {
		cfg.R = r
		n, err := TrainableCount(cfg, m)
		if err != nil {
			return 0, 0, err
		}
		if best == 0 || abs(n-target) < abs(bestN-target) {
			best, bestN = r, n
		}
		if n >= target {
			return best, bestN, nil
		}
		if r > 1<<20 {
			return 0, 0, fmt.Errorf("adapter: no rank reaches %d trainable parameters", target)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
