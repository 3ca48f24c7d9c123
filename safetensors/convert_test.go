package safetensors

import (
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"
)

// halfTable is an independent description of a 16-bit float format: the value of every
// non-negative finite bit pattern (ascending in both pattern and value), plus the infinity pattern
// standing for the first value past the largest finite one, as IEEE rounding treats it.
type halfTable struct {
	name     string
	patterns []uint16
	values   []float64
	inf      uint16
	widen    func(uint16) float32
	narrow   func(float32) uint16
}

func newF16Table() halfTable {
	t := halfTable{name: "F16", inf: 0x7c00, widen: F16ToFloat32, narrow: Float32ToF16}
	for h := 0; h <= 0x7c00; h++ {
		e, m := h>>10, h&0x3ff
		var v float64
		switch {
		case h == 0x7c00:
			v = 65536 // 2^16: where Inf sits for rounding
		case e == 0:
			v = math.Ldexp(float64(m), -24)
		default:
			v = math.Ldexp(float64(1024+m), e-25)
		}
		t.patterns = append(t.patterns, uint16(h))
		t.values = append(t.values, v)
	}
	return t
}

func newBF16Table() halfTable {
	t := halfTable{name: "BF16", inf: 0x7f80, widen: BF16ToFloat32, narrow: Float32ToBF16}
	for h := 0; h <= 0x7f80; h++ {
		e, m := h>>7, h&0x7f
		var v float64
		switch {
		case h == 0x7f80:
			v = math.Ldexp(1, 128)
		case e == 0:
			v = math.Ldexp(float64(m), -133)
		default:
			v = math.Ldexp(float64(128+m), e-134)
		}
		t.patterns = append(t.patterns, uint16(h))
		t.values = append(t.values, v)
	}
	return t
}

// round is the reference: nearest representable value computed exactly with math/big, ties to the
// even pattern, magnitudes at or past the infinity slot becoming infinity.
func (t halfTable) round(x float32) uint16 {
	var sign uint16
	if math.Signbit(float64(x)) {
		sign = 0x8000
	}
	a := math.Abs(float64(x))
	i := sort.SearchFloat64s(t.values, a) // first value >= a
	if i == len(t.values) {
		return sign | t.inf
	}
	if t.values[i] == a {
		return sign | t.patterns[i]
	}
	lo, hi := t.values[i-1], t.values[i]
	ax := new(big.Float).SetPrec(400).SetFloat64(a)
	d1 := new(big.Float).SetPrec(400).Sub(ax, new(big.Float).SetFloat64(lo))
	d2 := new(big.Float).SetPrec(400).Sub(new(big.Float).SetFloat64(hi), ax)
	switch d1.Cmp(d2) {
	case -1:
		return sign | t.patterns[i-1]
	case 1:
		return sign | t.patterns[i]
	}
	if t.patterns[i-1]&1 == 0 {
		return sign | t.patterns[i-1]
	}
	return sign | t.patterns[i]
}

func TestHalfWidenMatchesIndependentFormulaForAllPatterns(t *testing.T) {
	for _, tab := range []halfTable{newF16Table(), newBF16Table()} {
		for h := 0; h < 1<<16; h++ {
			got := tab.widen(uint16(h))
			mag := uint16(h) & 0x7fff
			switch {
			case mag > tab.inf:
				if !math.IsNaN(float64(got)) {
					t.Fatalf("%s %#04x: got %v, want NaN", tab.name, h, got)
				}
				continue
			case mag == tab.inf:
				if !math.IsInf(float64(got), 0) || math.Signbit(float64(got)) != (h&0x8000 != 0) {
					t.Fatalf("%s %#04x: got %v, want signed Inf", tab.name, h, got)
				}
				continue
			}
			want := tab.values[mag]
			if h&0x8000 != 0 {
				want = -want
			}
			if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
				t.Fatalf("%s %#04x: widened to %v, want %v", tab.name, h, got, want)
			}
			// Exact round trip of every non-NaN pattern, -0 included.
			if back := tab.narrow(got); back != uint16(h) {
				t.Fatalf("%s %#04x: round trip gave %#04x", tab.name, h, back)
			}
		}
	}
}

func TestHalfNarrowRoundsToNearestEven(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tab := range []halfTable{newF16Table(), newBF16Table()} {
		var inputs []float32
		// Every midpoint between neighbours (exact in float32: at most 12 significant bits), and
		// the float32 just below and above it; these exercise ties, subnormals and the overflow
		// threshold.
		for i := 1; i < len(tab.values); i++ {
			mid := float32((tab.values[i-1] + tab.values[i]) / 2)
			if float64(mid) != (tab.values[i-1]+tab.values[i])/2 {
				t.Fatalf("%s: midpoint %d not exact in float32", tab.name, i)
			}
			inputs = append(inputs, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, float32(math.Inf(1))))
		}
		for range 200000 {
			inputs = append(inputs, math.Float32frombits(rng.Uint32()))
		}
		inputs = append(inputs, math.SmallestNonzeroFloat32, math.MaxFloat32, 65504, 65519.996, 65520, 1e-8, 3e-8)
		checked := 0
		for _, x := range inputs {
			for _, v := range []float32{x, -x} {
				if math.IsNaN(float64(v)) {
					continue
				}
				got, want := tab.narrow(v), tab.round(v)
				if got != want {
					t.Fatalf("%s: narrow(%g = %#08x) = %#04x, want %#04x", tab.name, v, math.Float32bits(v), got, want)
				}
				checked++
			}
		}
		t.Logf("%s: %d values checked against math/big rounding, %d of them exact ties", tab.name, checked, 2*(len(tab.values)-1))
	}
}

func TestHalfNarrowSpecialValues(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct {
		x        float32
		f16, b16 uint16
	}{
		{0, 0, 0},
		{float32(math.Copysign(0, -1)), 0x8000, 0x8000},
		{inf, 0x7c00, 0x7f80},
		{-inf, 0xfc00, 0xff80},
		{1, 0x3c00, 0x3f80},
		{65504, 0x7bff, 0x4780},
		{65520, 0x7c00, 0x4780},                  // F16: the first tie past the max rounds to Inf
		{float32(math.Ldexp(1, -24)), 1, 0x3380}, // smallest F16 subnormal
		{float32(math.Ldexp(1, -25)), 0, 0x3300}, // tie between 0 and 2^-24: to even (0)
		{float32(math.Ldexp(3, -25)), 2, 0x33c0}, // tie between 1 and 2 ·2^-24: to even (2)
	}
	for _, c := range cases {
		if got := Float32ToF16(c.x); got != c.f16 {
			t.Errorf("Float32ToF16(%g) = %#04x, want %#04x", c.x, got, c.f16)
		}
		if got := Float32ToBF16(c.x); got != c.b16 {
			t.Errorf("Float32ToBF16(%g) = %#04x, want %#04x", c.x, got, c.b16)
		}
	}
	for _, v := range []float32{nan, -nan, math.Float32frombits(0x7f800001), math.Float32frombits(0xff800001)} {
		if h := Float32ToF16(v); !math.IsNaN(float64(F16ToFloat32(h))) {
			t.Errorf("Float32ToF16(NaN %#08x) = %#04x, not NaN", math.Float32bits(v), h)
		}
		if h := Float32ToBF16(v); !math.IsNaN(float64(BF16ToFloat32(h))) {
			t.Errorf("Float32ToBF16(NaN %#08x) = %#04x, not NaN", math.Float32bits(v), h)
		}
	}
}

func TestF8WidenMatchesDefinition(t *testing.T) {
	for b := 0; b < 256; b++ {
		// E5M2: sign, 5 exponent bits (bias 15), 2 mantissa bits, IEEE Inf/NaN.
		e, m := (b>>2)&0x1f, b&3
		var want float64
		switch {
		case e == 0x1f && m == 0:
			want = math.Inf(1)
		case e == 0x1f:
			want = math.NaN()
		case e == 0:
			want = math.Ldexp(float64(m), -16)
		default:
			want = math.Ldexp(float64(4+m), e-17)
		}
		if b&0x80 != 0 {
			want = -want
		}
		checkF8(t, "E5M2", b, float32Of(t, []byte{byte(b)}, F8E5M2), want)
		// E4M3FN: 4 exponent bits (bias 7), 3 mantissa bits, no Inf, S.1111.111 NaN.
		e, m = (b>>3)&0xf, b&7
		switch {
		case e == 0xf && m == 7:
			want = math.NaN()
		case e == 0:
			want = math.Ldexp(float64(m), -9)
		default:
			want = math.Ldexp(float64(8+m), e-10)
		}
		if b&0x80 != 0 {
			want = -want
		}
		checkF8(t, "E4M3", b, float32Of(t, []byte{byte(b)}, F8E4M3), want)
	}
	if got := F8E4M3ToFloat32(0x7e); got != 448 {
		t.Errorf("largest E4M3 = %v, want 448", got)
	}
}

func checkF8(t *testing.T, name string, b int, got float32, want float64) {
	t.Helper()
	if math.IsNaN(want) != math.IsNaN(float64(got)) || !math.IsNaN(want) && float64(got) != want {
		t.Fatalf("%s %#02x: got %v, want %v", name, b, got, want)
	}
}

func float32Of(t *testing.T, buf []byte, dt DType) float32 {
	t.Helper()
	v, err := ToFloat32(buf, dt)
	if err != nil || len(v) != 1 {
		t.Fatalf("ToFloat32(%v, %s) = %v, %v", buf, dt, v, err)
	}
	return v[0]
}
