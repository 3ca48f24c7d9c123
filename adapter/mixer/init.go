package mixer

import (
	"math"
	"math/rand/v2"
)

// The initialisers adapters and mixers draw by (PyTorch's, for parity with PEFT and the official code).

// KaimingUniform fills w (rows, fanIn) like torch.nn.init.kaiming_uniform_(w, a=√5), the default
// of nn.Linear: gain = √(2/(1+a²)) = √(1/3), bound = gain·√(3/fan_in) = 1/√fan_in, w ~ U(-bound, bound).
func KaimingUniform(w []float32, fanIn int, rng *rand.Rand) {
	a := math.Sqrt(5)
	gain := math.Sqrt(2 / (1 + a*a))
	bound := gain * math.Sqrt(3/float64(fanIn))
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// Gaussian fills w with N(0, std²) (PEFT's init_lora_weights="gaussian" uses std = 1/r for A).
func Gaussian(w []float32, std float64, rng *rand.Rand) {
	for i := range w {
		w[i] = float32(rng.NormFloat64() * std)
	}
}

// Orthogonal fills w (n, n) with a random orthogonal matrix as torch.nn.init.orthogonal_ does:
// the Q of the QR decomposition of a standard normal matrix, with column signs fixed so that
// diag(R) > 0 (Haar-distributed). Modified Gram–Schmidt in float64 on the columns.
func Orthogonal(w []float32, n int, rng *rand.Rand) {
	q := make([]float64, n*n) // (n, n), columns are orthonormalised in turn
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	for j := 0; j < n; j++ {
		for k := 0; k < j; k++ {
			var dot float64
			for i := 0; i < n; i++ {
				dot += q[i*n+k] * q[i*n+j]
			}
			for i := 0; i < n; i++ {
				q[i*n+j] -= dot * q[i*n+k]
			}
		}
		var norm float64
		for i := 0; i < n; i++ {
			norm += q[i*n+j] * q[i*n+j]
		}
		norm = math.Sqrt(norm)
		for i := 0; i < n; i++ {
			q[i*n+j] /= norm // R_jj = norm > 0: the sign convention of orthogonal_
		}
	}
	for i := range q {
		w[i] = float32(q[i])
	}
}

// Eye fills w (n, n) with the identity.
func Eye(w []float32, n int) {
	clear(w)
	for i := 0; i < n; i++ {
		w[i*n+i] = 1
	}
}

// Softmax writes softmax(in) to out (same length; may alias) with float64 exponentials and sum,
// without allocating (the gated mixer calls it once per token).
func Softmax(out, in []float32) {
	mx := math.Inf(-1)
	for _, v := range in {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for i, v := range in {
		e := math.Exp(float64(v) - mx)
		out[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := range out {
		out[i] = float32(float64(out[i]) * inv)
	}
}
