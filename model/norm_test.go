package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/kernels"
)

// TestNormParallelMatchesKernel checks Norm.forward/backward, which split rows across goroutines
// and sum per-piece weight gradients, against one serial call of the kernels.
func TestNormParallelMatchesKernel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // three pieces, the last one short
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, d = 3*normGrain + 17, 24
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	x, dout, w, b := vec(rows*d), vec(rows*d), vec(d), vec(d)
	for _, layer := range []bool{false, true} {
		n := &Norm{W: &Param{W: w, DW: vec(d)}, Layer: layer, Eps: 1e-5}
		if layer {
			n.B = &Param{W: b, DW: vec(d)}
		}
		want := struct{ out, mean, rstd, dx, dw, db []float32 }{vec(rows * d), make([]float32, rows), make([]float32, rows), vec(rows * d), append([]float32(nil), n.W.DW...), nil}
		got := struct{ out, mean, rstd, dx, dw, db []float32 }{make([]float32, rows*d), make([]float32, rows), make([]float32, rows), append([]float32(nil), want.dx...), nil, nil}
		if layer {
			want.db = append([]float32(nil), n.B.DW...)
			kernels.LayerNormForward(want.out, want.mean, want.rstd, x, w, b, rows, d, n.Eps)
			kernels.LayerNormBackward(want.dx, want.dw, want.db, dout, x, w, want.mean, want.rstd, rows, d)
		} else {
			kernels.RMSNormForward(want.out, want.rstd, x, w, rows, d, n.Eps)
			kernels.RMSNormBackward(want.dx, want.dw, dout, x, w, want.rstd, rows, d)
		}
		n.forward(got.out, got.mean, got.rstd, x, rows, d)
		n.backward(got.dx, dout, x, got.mean, got.rstd, rows, d)
		got.dw = n.W.DW
		if layer {
			got.db = n.B.DW
		}
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"out", got.out, want.out}, {"rstd", got.rstd, want.rstd}, {"dx", got.dx, want.dx}, {"dw", got.dw, want.dw}, {"db", got.db, want.db}} {
			if len(c.got) != len(c.want) {
				t.Fatalf("layer=%v %s: length %d, want %d", layer, c.name, len(c.got), len(c.want))
			}
			for i := range c.want {
				if e := math.Abs(float64(c.got[i] - c.want[i])); e > numtest.F32Model*(1+math.Abs(float64(c.want[i]))) || math.IsNaN(float64(c.got[i])) {
					t.Fatalf("layer=%v %s[%d] = %v, want %v", layer, c.name, i, c.got[i], c.want[i])
				}
			}
		}
	}
}
