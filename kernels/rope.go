package kernels

// RoPE applies the rotary position embedding of transformers' Llama family (rotate_half layout:
// the pairs are (x[i], x[i+D/2]), not interleaved) to one token row x holding nHeads heads of
// headDim each, contiguous, in place:
//
//	x1' = x1·cos − x2·sin,   x2' = x2·cos + x1·sin        x1 = x[:D/2], x2 = x[D/2:]
//
// cos, sin (headDim/2) are the tables for the token's position. With inverse = true it applies
// the transposed rotation (sin → −sin), which is the backward pass: the rotation is orthogonal,
// so dx = Rᵀ·dy.
func RoPE(x []float32, nHeads, headDim int, cos, sin []float32, inverse bool) {
	half := headDim / 2
	checkLen("rope x", x, nHeads*headDim)
	checkLen("rope cos", cos, half)
	checkLen("rope sin", sin, half)
	for h := 0; h < nHeads; h++ {
		x1 := x[h*headDim : h*headDim+half]
		x2 := x[h*headDim+half : (h+1)*headDim]
		for i := 0; i < half; i++ {
			c, s := cos[i], sin[i]
			if inverse {
				s = -s
			}
			a, b := x1[i], x2[i]
			x1[i] = a*c - b*s
			x2[i] = b*c + a*s
		}
	}
}
