package model

import "math"

// ropeInvFreq returns the rotary inverse frequencies (D/2) as transformers computes them in
// float32: inv_freq[i] = 1 / theta^(2i/D), then rescaled by the rope type:
//
//   - "linear": inv_freq / factor
//   - "llama3": wavelengths longer than original_max_position_embeddings/low_freq_factor are
//     divided by factor, shorter than …/high_freq_factor kept, and the band between blended with
//     smooth = (orig/wavelen − low) / (high − low): (1 − smooth)·f/factor + smooth·f.
func ropeInvFreq(c *Config) []float32 {
	d := c.HeadDim
	rp := c.Rope
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
