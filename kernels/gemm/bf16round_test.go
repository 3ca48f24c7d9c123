package gemm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRoundBF16sRoundsEachValue: the vector rounding of a row gives RoundBF16 of every value —
// random bit patterns (NaNs, infinities, subnormals, ties), lengths around the 32-value step,
// and a destination starting off a word — and writes nothing past len(src).
func TestRoundBF16sRoundsEachValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, n := range []int{0, 1, 31, 32, 33, 64, 65, 100, 257} {
		for _, off := range []int{0, 1} {
			src := make([]float32, n)
			for i := range src {
				src[i] = math.Float32frombits(rng.Uint32())
			}
			if n > 3 {
				src[1], src[2], src[3] = math.Float32frombits(0x3f808000), math.Float32frombits(0x00000123), float32(math.NaN())
			}
			dst := make([]uint16, n+off+1)
			dst[n+off] = 0xabcd // must stay
			RoundBF16s(dst[off:], src)
			for i, v := range src {
				if got, want := dst[off+i], RoundBF16(v); got != want {
					t.Fatalf("n=%d off=%d: value %d (%#08x) rounded to %#04x, RoundBF16 gives %#04x", n, off, i, math.Float32bits(v), got, want)
				}
			}
			if dst[n+off] != 0xabcd {
				t.Fatalf("n=%d off=%d: wrote past the end", n, off)
			}
		}
	}
}

// TestBF16TransposedPackingMatchesTheScalarLoop: a transposed A packed for bf16 compute by 8×8
// transposes and vector rounding (packATransBF16) gives the scalar loop's words — random bit
// patterns, row counts around the group of 8, steps around the transpose's 8 and the rounding's
// 32, offsets into A — and writes nothing past the packed block.
func TestBF16TransposedPackingMatchesTheScalarLoop(t *testing.T) {
	if transpose8 == nil {
		t.Skip("no 8×8 transpose on this CPU: the scalar loop is the only packer of a transposed A")
	}
	rng := rand.New(rand.NewPCG(43, 44))
	scalar := func(f func()) {
		pr, tr := packRowBF16, transpose8
		packRowBF16, transpose8 = nil, nil
		defer func() { packRowBF16, transpose8 = pr, tr }()
		f()
	}
	for _, mc := range []int{1, 7, 8, 9, 16, 23, 64} {
		for _, kc := range []int{1, 7, 8, 9, 31, 32, 33, 64, 100} {
			const i0, p0 = 3, 2
			lda := i0 + mc + 5
			a := make([]float32, (p0+kc)*lda)
			for i := range a {
				a[i] = math.Float32frombits(rng.Uint32())
			}
			kw := (kc + 1) / 2
			got, want := make([]float32, mc*kw+1), make([]float32, mc*kw+1)
			got[mc*kw], want[mc*kw] = 42, 42
			packABF16(got, a, lda, true, i0, mc, p0, kc)
			scalar(func() { packABF16(want, a, lda, true, i0, mc, p0, kc) })
			if !slices.Equal(words(got), words(want)) || got[mc*kw] != 42 {
				t.Fatalf("mc=%d kc=%d: transposed A packed by transposes differs from the scalar loop (or it wrote past the block)", mc, kc)
			}
		}
	}
}
