package model

import "math"

// ropeInvFreq returns the rotary inverse frequencies (D/2) as transformers computes them in
// float32: inv_freq[i] = 1 / theta^(2i/D), then rescaled by the rope type:
//
//   - "linear": inv_freq / factor
//   - "llama3": wavelengths longer than original_max_position_embeddings/low_freq_factor are
//     divided by factor, shorter than …/high_freq_factor kept, and the band between blended with
//     smooth = (orig/wavelen − low) / (high − low): (1 − smooth)·f/factor + smooth·f.
func ropeInvFreq(d int, rp RopeParameters) []float32 {
	inv := make([]float32, d/2)
	for i := range inv {
		e := float32(2*i) / float32(d)
		inv[i] = 1 / float32(math.Pow(rp.RopeTheta, float64(e)))
	}
	switch rp.RopeType {
	case "linear":
		for i := range inv {
			inv[i] /= float32(rp.Factor)
		}
	case "llama3":
		orig := float64(rp.OriginalMaxPositionEmbeddings)
		lowWave, highWave := orig/rp.LowFreqFactor, orig/rp.HighFreqFactor
		for i, f32 := range inv {
			f := float64(f32)
			wave := 2 * math.Pi / f
			switch {
			case wave < highWave:
				// high frequency: unchanged
			case wave > lowWave:
				f /= rp.Factor
			default:
				smooth := (orig/wave - rp.LowFreqFactor) / (rp.HighFreqFactor - rp.LowFreqFactor)
				f = (1-smooth)*f/rp.Factor + smooth*f
			}
			inv[i] = float32(f)
		}
	}
	return inv
}

// ropeTable fills cos, sin (D/2) for one position: angle = float32(pos)·inv_freq in float32 as
// transformers does, then cos/sin of that angle.
func ropeTable(cos, sin, inv []float32, pos int) {
	for i, f := range inv {
		a := float64(float32(pos) * f)
		cos[i], sin[i] = float32(math.Cos(a)), float32(math.Sin(a))
	}
}

// ropeTables fills, for each rotary setting in inv, the (n, half) cos and sin tables of positions
// pos0 … pos0+n−1, reusing the buffers of cos and sin where they are large enough.
func ropeTables(inv [][]float32, pos0, n, half int, cos, sin [][]float32) ([][]float32, [][]float32) {
	return ropeTablesOf(inv, n, func(i int) int { return pos0 + i }, half, cos, sin)
}

// ropeTablesAt is ropeTables for the listed positions: row i of each table is position pos[i].
func ropeTablesAt(inv [][]float32, pos []int, half int, cos, sin [][]float32) ([][]float32, [][]float32) {
	return ropeTablesOf(inv, len(pos), func(i int) int { return pos[i] }, half, cos, sin)
}

// ropeTablesOf fills the tables of n rows, row i at position at(i).
func ropeTablesOf(inv [][]float32, n int, at func(int) int, half int, cos, sin [][]float32) ([][]float32, [][]float32) {
	cos, sin = cos[:0], sin[:0]
	for k, f := range inv {
		var c, s []float32
		if k < cap(cos) {
			c, s = cos[:k+1][k], sin[:k+1][k]
		}
		c, s = grow(c, n*half), grow(s, n*half)
		for i := 0; i < n; i++ {
			ropeTable(c[i*half:(i+1)*half], s[i*half:(i+1)*half], f, at(i))
		}
		cos, sin = append(cos, c), append(sin, s)
	}
	return cos, sin
}
