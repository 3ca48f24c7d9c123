package train

import (
	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
)

// gates are the adapter's mixers that weigh subspaces per token (mixer.UsageCounter: the gated
// mixer), whose stability signals every metrics.jsonl line carries:
//
//	gate_entropy        mean over modules of the mean per-token entropy −Σ_k g_k·ln g_k (nats)
//	gate_usage          (K) mean over modules of each subspace's mean gate
//	gate_usage_modules  module path → (K) that module's mean gate
//
// counted over every token row of the update's forward passes (padding rows included). In a
// data-parallel job (Job.Comm) rank 0 writes the line, so the counts are over rank 0's share of
// the update's rows.
//
// Gates is exported for the per-task measurement after training (package jobs).
type Gates = gates

// GatesOf returns the adapter's gated mixers (none for other mixers or a nil adapter).
func GatesOf(a *adapter.Adapter) Gates { return gatesOf(a) }

// Any reports whether the adapter has a mixer that counts gates.
func (g gates) Any() bool { return len(g.cs) > 0 }

// Count starts (true) or stops counting, from zero.
func (g gates) Count(on bool) { g.count(on) }

// Fill sets m's gate fields from what was counted since Count(true).
func (g gates) Fill(m *Metric) { g.fill(m) }

type gates struct {
	paths []string
	cs    []mixer.UsageCounter
}

func gatesOf(a *adapter.Adapter) gates {
	var g gates
	if a == nil {
		return g
	}
	for _, l := range a.Linears {
		if c, ok := l.Mixer.(mixer.UsageCounter); ok {
			g.paths, g.cs = append(g.paths, l.Path), append(g.cs, c)
		}
	}
	return g
}

// count starts (true) or stops counting.
func (g gates) count(on bool) {
	for _, c := range g.cs {
		c.CountUsage(on)
	}
}

// fill sets m's gate fields from what was counted since count(true).
func (g gates) fill(m *Metric) {
	if len(g.cs) == 0 {
		return
	}
	var ent float64
	m.GateUsageModules = make(map[string][]float64, len(g.cs))
	for i, c := range g.cs {
		u, _ := c.Usage()
		e, _ := c.Entropy()
		ent += e
		m.GateUsageModules[g.paths[i]] = u
		if m.GateUsage == nil {
			m.GateUsage = make([]float64, len(u))
		}
		for k := range u {
			if k < len(m.GateUsage) {
				m.GateUsage[k] += u[k] / float64(len(g.cs))
			}
		}
	}
	ent /= float64(len(g.cs))
	m.GateEntropy = &ent
}
