package adapter

import "testing"

// The count is what an adapter actually trains, and MoSLoRA's is LoRA's plus r² per module.
func TestTrainableCountIsWhatAnAdapterTrains(t *testing.T) {
	b := llamaLikeBase(1)
	for _, js := range []string{`"lora_use_mixer": true`, `"moslora_mixer": "identity"`, `"moslora_mixer": "folded"`,
		`"moslora_mixer": "global", "moslora_subspaces": 2`, `"moslora_mixer": "gated", "moslora_subspaces": 4`,
		`"moslora_mixer": "dense", "rank_pattern": {"down_proj": 8}`} {
		c := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "k_proj", "down_proj"], `+js+`}`)
		n, err := TrainableCount(c, b)
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(c, llamaLikeBase(1), 0)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, p := range a.Params() {
			if p.G != nil {
				want += len(p.W)
			}
		}
		if n != want {
			t.Errorf("%s: count %d, the adapter trains %d", js, n, want)
		}
	}
	// By hand: q (64→64), k (64→32), down (160→64) in 2 layers, r 4:
	// LoRA 2·4·(128 + 96 + 224) = 3584; MoSLoRA adds 6 modules · 16 = 96.
	lora := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "k_proj", "down_proj"]}`)
	mos := lora
	mos.LoraUseMixer = true
	if n, _ := TrainableCount(lora, b); n != 3584 {
		t.Errorf("LoRA count %d, want 3584", n)
	}
	if n, _ := TrainableCount(mos, b); n != 3584+96 {
		t.Errorf("MoSLoRA count %d, want 3680", n)
	}
}

// Equal-parameter LoRA: the rank whose count is nearest MoSLoRA's r·(in+out) + r² count.
func TestMatchRankFindsTheNearestCount(t *testing.T) {
	b := llamaLikeBase(1)
	lora := mustParse(t, `{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"]}`)
	// q_proj 64→64 in 2 layers: LoRA r·256; MoSLoRA at r = 16: 16·256 + 2·256 = 4608 = LoRA at 18.
	mos := lora
	mos.R, mos.LoraUseMixer = 16, true
	target, err := TrainableCount(mos, b)
	if err != nil || target != 4608 {
		t.Fatalf("MoSLoRA r 16 count %d (%v), want 4608", target, err)
	}
	r, n, err := MatchRank(lora, b, target)
	if err != nil || r != 18 || n != 4608 {
		t.Errorf("matched rank %d with %d parameters (%v), want 18 with 4608", r, n, err)
	}
	// A target between ranks rounds to the nearest count (ties to the smaller rank).
	for _, c := range []struct{ target, rank int }{{256*5 + 100, 5}, {256*5 + 128, 5}, {256*5 + 129, 6}, {1, 1}} {
		if r, _, _ := MatchRank(lora, b, c.target); r != c.rank {
			t.Errorf("target %d: rank %d, want %d", c.target, r, c.rank)
		}
	}
}
