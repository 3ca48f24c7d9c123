package kernels

import "math"

// CrossEntropy returns −log softmax(logits)[target] for one row of logits (V), computed with the
// max subtracted, exponentials by Exp and their sum in float64. When dlogits is non-nil it is OVERWRITTEN with the
// gradient of scale·loss:
//
//	dlogits = scale·(softmax(logits) − onehot(target))
//
// dlogits may alias logits (the row is then replaced by its gradient).
func CrossEntropy(dlogits, logits []float32, target int, scale float32) float64 {
	lt := logits[target] // read before a possibly aliased dlogits overwrites it
	mx := logits[0]
	for _, v := range logits[1:] {
		if v > mx {
			mx = v
		}
	}
	var s float64
	if dlogits == nil {
		for _, v := range logits {
			s += float64(Exp(v - mx))
		}
	} else {
		for i, v := range logits {
			e := Exp(v - mx)
			dlogits[i] = e
			s += float64(e)
		}
		inv := scale / float32(s)
		for i := range dlogits[:len(logits)] {
			dlogits[i] *= inv
		}
		dlogits[target] -= scale
	}
	return float64(mx) + math.Log(s) - float64(lt)
}
