package kernels

import "math"

// CrossEntropy returns −log softmax(logits)[target] for one row of logits (V), computed with the
// max subtracted, exponentials by expShiftSum (Exp on 8 lanes) and their sum in float64. When
// dlogits is non-nil it is OVERWRITTEN with the gradient of scale·loss:
//
//	dlogits = scale·(softmax(logits) − onehot(target))
//
// dlogits may alias logits (the row is then replaced by its gradient).
func CrossEntropy(dlogits, logits []float32, target int, scale float32) float64 {
	lt := logits[target] // read before a possibly aliased dlogits overwrites it
	mx := maxOf(logits)
	var s float64
	if dlogits == nil {
		var buf [256]float32 // exponentials of one chunk
		for c := 0; c < len(logits); c += len(buf) {
			chunk := logits[c:min(c+len(buf), len(logits))]
			s += expShiftSum(buf[:], chunk, mx)
		}
	} else {
		s = expShiftSum(dlogits, logits, mx)
		inv := scale / float32(s)
		for i := range dlogits[:len(logits)] {
			dlogits[i] *= inv
		}
		dlogits[target] -= scale
	}
	return float64(mx) + math.Log(s) - float64(lt)
}
