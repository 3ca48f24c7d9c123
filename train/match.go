package train

import (
	"fmt"

	"github.com/moslora/moslora/adapter"
)

// Match is the outcome of an equal-parameter rank: Rank is the rank trained, Count its trainable
// parameters, Target the count of method Of at rank Of Rank.
type Match struct {
	Of            string
	OfRank, Rank  int
	Count, Target int
}

// ResolveRank returns c with Rank set by MatchParams on m (c unchanged when MatchParams is ""),
// and what was matched. The count is adapter.TrainableCount's: r·(in+out) per module plus the
// mixer's trainable tensors (MoSLoRA: r² per module), so equal-parameter LoRA for MoSLoRA at r
// is the uniform rank r' nearest r + N·r²/Σ(in+out) over the N adapted modules.
func (c Config) ResolveRank(m adapter.Base) (Config, *Match, error) {
	if c.MatchParams == "" {
		return c, nil, nil
	}
	of := c
	of.Method, of.MatchParams = c.MatchParams, ""
	target, err := adapter.TrainableCount(of.AdapterConfig(), m)
	if err != nil {
		return c, nil, fmt.Errorf("train: match_params %s: %w", c.MatchParams, err)
	}
	r, n, err := adapter.MatchRank(c.AdapterConfig(), m, target)
	if err != nil {
		return c, nil, fmt.Errorf("train: match_params %s: %w", c.MatchParams, err)
	}
	mt := &Match{Of: c.MatchParams, OfRank: c.Rank, Rank: r, Count: n, Target: target}
	c.Rank = r
	return c, mt, nil
}

// String is the line train prints.
func (mt *Match) String() string {
	return fmt.Sprintf("equal parameters: rank %d gives %d trainable parameters, %s at rank %d has %d (%+.2f%%)",
		mt.Rank, mt.Count, mt.Of, mt.OfRank, mt.Target, 100*float64(mt.Count-mt.Target)/float64(mt.Target))
}
