package bench

import (
	"fmt"

	"github.com/moslora/moslora/model"
)

// Method is what a training or forward case measures.
type Method string

// The methods of the training and forward cases.
const (
	MethodLoRA    Method = "lora"    // frozen base, rank-r LoRA on the seven projections
	MethodMoSLoRA Method = "moslora" // as LoRA plus a dense r×r mixer
	MethodFull    Method = "full"    // every base parameter trained
	MethodForward Method = "forward" // inference only: logits of the batch, no adapter
)

// Flops is the useful FLOPs of one token of a step, by part (multiply-adds count as two). See the
// package documentation for the convention.
type Flops struct {
	Forward       float64 // 2 · weights of every linear layer and the LM head
	Attention     float64 // QKᵀ and P·V over the causal (visible) keys only
	InputGrad     float64 // dX = dY·W through every linear and the LM head: = Forward (training only)
	AttentionGrad float64 // dQ, dK, dP, dV: 2 × Attention (training only)
	WeightGrad    float64 // dW = dYᵀ·X of every linear and the LM head: = Forward (full only)
	Adapter       float64 // adapter products, forward and backward (lora, moslora only)
}

// Total is the sum of the parts.
func (f Flops) Total() float64 {
	return f.Forward + f.Attention + f.InputGrad + f.AttentionGrad + f.WeightGrad + f.Adapter
}

// linearShape is one linear layer of a block: y (out) = W (out, in) · x (in).
type linearShape struct{ in, out int }

// blockLinears lists the seven projections of one Llama-family block (q, k, v, o, gate, up,
// down), the modules every adapter case targets.
func blockLinears(c *model.Config) ([]linearShape, error) {
	if c.Family != model.FamilyLlama {
		return nil, fmt.Errorf("bench: FLOP counting supports the Llama family, not %s (%s)", c.Family, c.Architecture)
	}
	C, I := c.HiddenSize, c.IntermediateSize
	return []linearShape{
		{C, c.QDim()}, {C, c.KVDim()}, {C, c.KVDim()}, {c.QDim(), C}, // q, k, v, o
		{C, I}, {C, I}, {I, C}, // gate, up, down
	}, nil
}

// causalKeys is the mean number of keys a query attends to under a causal mask over T positions:
// (1 + 2 + … + T) / T = (T + 1) / 2.
func causalKeys(T int) float64 { return float64(T+1) / 2 }

// Count returns the useful FLOPs per token of one step of method on a model of config c with
// sequences of T tokens and adapters of rank r (ignored for full and forward).
func Count(c *model.Config, method Method, r, T int) (Flops, error) {
	lins, err := blockLinears(c)
	if err != nil {
		return Flops{}, err
	}
	L := float64(c.NumHiddenLayers)
	var weights, adapterIO float64 // per block: Σ in·out, Σ (in + out)
	for _, l := range lins {
		weights += float64(l.in) * float64(l.out)
		adapterIO += float64(l.in + l.out)
	}
	head := float64(c.VocabSize) * float64(c.HiddenSize) // LM head (V, C), tied or not
	var f Flops
	f.Forward = 2 * (L*weights + head)
	// Per layer and query: QKᵀ and P·V each cost 2·keys·(H·D).
	f.Attention = L * 2 * 2 * causalKeys(T) * float64(c.QDim())
	switch method {
	case MethodForward:
		return f, nil
	case MethodLoRA, MethodMoSLoRA, MethodFull:
	default:
		return Flops{}, fmt.Errorf("bench: unknown method %q (want lora, moslora, full or forward)", method)
	}
	f.InputGrad = f.Forward
	f.AttentionGrad = 2 * f.Attention
	switch method {
	case MethodFull:
		f.WeightGrad = f.Forward
	default:
		// Per adapted linear: h = x·Aᵀ (2·r·in), y += s·z·Bᵀ (2·r·out), dense z = h·Mᵀ (2·r²);
		// backward doubles each: dA and dx (2·r·in each), dB and dz (2·r·out each), dM and dh (2·r²).
		perBlock := 2 * float64(r) * adapterIO
		if method == MethodMoSLoRA {
			perBlock += 2 * float64(r) * float64(r) * float64(len(lins))
		}
		f.Adapter = 3 * L * perBlock
	}
	return f, nil
}

// RecomputeFlops is the extra work per token of a training step with --recompute: the forward of
// every block but the last (whose activations are still live) is run again in the backward pass,
// its attention and its linears but o_proj and down_proj, whose outputs the rerun does not need
// (model.SetRecompute; post-norm layouts rerun all seven). MFU leaves it out (it is not the
// model's work); hfu counts it.
func RecomputeFlops(c *model.Config, T int) float64 {
	lins, err := blockLinears(c)
	if err != nil || c.NumHiddenLayers < 2 {
		return 0
	}
	var weights float64
	for i, l := range lins {
		if !c.PostNorms && (i == 3 || i == 6) { // o, down: skipped by the rerun
			continue
		}
		weights += float64(l.in) * float64(l.out)
	}
	L := float64(c.NumHiddenLayers - 1)
	return L * (2*weights + 2*2*causalKeys(T)*float64(c.QDim()))
}
