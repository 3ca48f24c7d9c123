package gemm

import (
	"math"
	"unsafe"
)

// bf16 compute: C = alpha·op(A)·op(B) + beta·C with both operands rounded to bfloat16 and the
// products accumulated in float32, as PyTorch's CPU autocast runs a linear layer and as the
// AVX512-BF16 instruction VDPBF16PS computes it. The blocked driver runs it with k taken in pairs:
//
//	packed A panel (MR rows, kw = ⌈kc/2⌉ words):  word[q*MR + r]  = bf16(A(r, 2q)) | bf16(A(r, 2q+1))<<16
//	packed B panel (NR columns, ⌈k/2⌉ words):     word[q*NR + jj] = bf16(B(2q, jj)) | bf16(B(2q+1, jj))<<16
//
// (an odd k pads the last pair with a zero), i.e. the float32 panel layouts with half as many
// steps, each 32-bit slot holding two bfloat16 values. The micro-kernel's one step is VDPBF16PS:
//
//	acc = ftz(acc + A(r, 2q+1)·B(2q+1, j));  acc = ftz(acc + A(r, 2q)·B(2q, j))
//
// each product exact (8-bit significands), each sum rounded to nearest even, subnormal inputs
// read as zero (rounding flushes them while packing) and subnormal sums flushed to zero (FTZ).
// kernelBF16Go emulates it step for step, so the portable build gives the same bits as the
// assembly (kernel_bf16_amd64.s), only slower.

// SgemmBF16Compute computes C = alpha·op(A)·op(B) + beta·C on bfloat16-rounded inputs with float32
// accumulation (see above). B is given as float32 (b, rounded while packed) or as bfloat16 bit
// patterns (b16, used as they are); exactly one is non-nil. A is rounded while packed.
//
//	a: (m, k), or (k, m) if transA;  b/b16: (k, n), or (n, k) if transB;  c: (m, n) with row stride ldc
func SgemmBF16Compute(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, b16 []uint16, ldb int, beta float32, c []float32, ldc int) {
	lb := len(b)
	if b16 != nil {
		lb = len(b16)
		b = nil
	}
	checkArgs(transA, transB, m, n, k, len(a), lda, lb, ldb, len(c), ldc)
	blockedAll(activeConfig(), true, transA, transB, m, n, k, alpha, a, lda, b, b16, ldb, beta, c, ldc, nil)
}

// NaiveBF16Compute is the reference of SgemmBF16Compute's arithmetic, not of its order: op(A) and
// op(B) rounded to bfloat16 as packing rounds them (RoundBF16), products summed in float64 in k
// order, then alpha·s + beta·C rounded once to float32. The fast path differs from it by float32
// accumulation (within Naive's bound) and by flushing subnormal partial sums to zero.
func NaiveBF16Compute(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, b16 []uint16, ldb int, beta float32, c []float32, ldc int) {
	lb := len(b)
	if b16 != nil {
		lb = len(b16)
	}
	checkArgs(transA, transB, m, n, k, len(a), lda, lb, ldb, len(c), ldc)
	bv := func(i int) float64 {
		if b16 != nil {
			return float64(BF16ToFloat32(flushBF16(b16[i])))
		}
		return float64(BF16ToFloat32(RoundBF16(b[i])))
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				s += float64(BF16ToFloat32(RoundBF16(a[ai]))) * bv(bi)
			}
			if beta == 0 {
				c[i*ldc+j] = float32(float64(alpha) * s)
			} else {
				c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
			}
		}
	}
}

// RoundBF16 rounds a float32 to bfloat16 as VCVTNE2PS2BF16 does: to nearest, ties to even; a NaN
// stays a (quiet) NaN, ±Inf stays ±Inf, values past the largest bfloat16 become ±Inf, and
// subnormal inputs become ±0 (the hardware treats them as zero).
func RoundBF16(f float32) uint16 {
	u := math.Float32bits(f)
	switch {
	case u&0x7fffffff > 0x7f800000: // NaN
		return uint16(u>>16) | 0x40
	case u&0x7f800000 == 0: // zero or subnormal
		return uint16(u>>16) & 0x8000
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// flushBF16 is a bfloat16 with a subnormal value replaced by zero of the same sign (what
// VDPBF16PS reads it as).
func flushBF16(h uint16) uint16 {
	if h&0x7f80 == 0 {
		return h & 0x8000
	}
	return h
}

// HasBF16 reports whether products on bf16 inputs (SgemmBF16Compute, Term.BF16) run on the
// CPU's AVX512-BF16 instructions; without them they run a portable emulation of the same
// arithmetic: the same results, many times slower than float32.
func HasBF16() bool { return defaultConfig.bf16Name != "go" }

// pairWord packs two bfloat16 values, lo first along k.
func pairWord(lo, hi uint16) uint32 { return uint32(lo) | uint32(hi)<<16 }

// words views a packing buffer as 32-bit words (two bfloat16 values each).
func words(d []float32) []uint32 {
	if len(d) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&d[0])), len(d))
}

// packABF16 packs rows [i0, i0+mc) × steps [p0, p0+kc) of op(A), rounded to bfloat16, into
// ceil(mc/MR) consecutive panels of ⌈kc/2⌉·MR words (layout above; rows past mc and the half
// past an odd kc are zero).
func packABF16(dst []float32, a []float32, lda int, transA bool, i0, mc, p0, kc int) {
	kw := (kc + 1) / 2
	d := words(dst)
	for ir := 0; ir < mc; ir += MR {
		pd := d[(ir/MR)*kw*MR : (ir/MR+1)*kw*MR]
		rows := min(MR, mc-ir)
		if rows < MR {
			clear(pd)
		}
		for r := 0; r < rows; r++ {
			i := i0 + ir + r
			if !transA {
				s := a[i*lda+p0 : i*lda+p0+kc]
				if packRowBF16 != nil && kc >= 32 {
					n := kc &^ 31
					packRowBF16(&pd[r], MR, &s[0], n)
					if n < kc {
						packRowGo(pd[n/2*MR+r:], s[n:])
					}
					continue
				}
				packRowGo(pd[r:], s)
				continue
			}
			for q := 0; q < kw; q++ {
				lo := RoundBF16(a[(p0+2*q)*lda+i])
				var hi uint16
				if 2*q+1 < kc {
					hi = RoundBF16(a[(p0+2*q+1)*lda+i])
				}
				pd[q*MR+r] = pairWord(lo, hi)
			}
		}
	}
}

// packRowGo packs one contiguous row s (len(s) steps) into every MR-th word of d: d[q·MR] =
// pair (s[2q], s[2q+1]), rounded (the reference of packRowBF16).
func packRowGo(d []uint32, s []float32) {
	for q := 0; 2*q < len(s); q++ {
		var hi uint16
		if 2*q+1 < len(s) {
			hi = RoundBF16(s[2*q+1])
		}
		d[q*MR] = pairWord(RoundBF16(s[2*q]), hi)
	}
}

// packRowBF16 is packRowGo for n (a positive multiple of 32) steps with a stride of ld words,
// in assembly (VCVTNE2PS2BF16); nil where the CPU has no AVX512-BF16.
var packRowBF16 func(d *uint32, ld int, s *float32, n int)

// packBBF16 packs the panel of op(B) with columns [j, j+cols) (cols ≤ NR) over all k steps into
// d (⌈k/2⌉·NR words), rounded to bfloat16 from b or taken from b16 (subnormals flushed).
func packBBF16(dst []float32, b []float32, b16 []uint16, ldb int, transB bool, j, cols, k int) {
	kw := (k + 1) / 2
	d := words(dst)[:kw*NR]
	if cols < NR {
		clear(d)
	}
	get := func(p, jj int) uint16 { // op(B)(p, j+jj) as bfloat16; 0 past k
		if p >= k {
			return 0
		}
		i := p*ldb + j + jj
		if transB {
			i = (j+jj)*ldb + p
		}
		if b16 != nil {
			return flushBF16(b16[i])
		}
		return RoundBF16(b[i])
	}
	switch {
	case b16 != nil && transB:
		// A column of op(B) is a row of b16: its pairs are consecutive.
		for jj := 0; jj < cols; jj++ {
			s := b16[(j+jj)*ldb : (j+jj)*ldb+k]
			for q := 0; q < k/2; q++ {
				d[q*NR+jj] = pairWord(flushBF16(s[2*q]), flushBF16(s[2*q+1]))
			}
			if k%2 == 1 {
				d[(kw-1)*NR+jj] = pairWord(flushBF16(s[k-1]), 0)
			}
		}
	case b16 != nil:
		// Two rows of b16 interleaved.
		for q := 0; q < kw; q++ {
			r0 := b16[2*q*ldb+j : 2*q*ldb+j+cols]
			dq := d[q*NR : q*NR+cols]
			if 2*q+1 < k {
				r1 := b16[(2*q+1)*ldb+j : (2*q+1)*ldb+j+cols]
				for jj := range dq {
					dq[jj] = pairWord(flushBF16(r0[jj]), flushBF16(r1[jj]))
				}
				continue
			}
			for jj := range dq {
				dq[jj] = pairWord(flushBF16(r0[jj]), 0)
			}
		}
	default:
		for q := 0; q < kw; q++ {
			for jj := 0; jj < cols; jj++ {
				d[q*NR+jj] = pairWord(get(2*q, jj), get(2*q+1, jj))
			}
		}
	}
}

// kernelBF16Go is the portable bf16 micro-kernel and the reference of the assembly one: over kc
// word steps of packed panels (the strides are those of packed panels and ignored), step q adds
// into the set q%2 of accumulators (the assembly keeps two sets in flight) exactly as VDPBF16PS
// does — odd element of the pair first, each sum rounded and flushed — then
//
//	C = alpha·(set0 + set1)                          (beta == 0, C not read)
//	C = alpha·(set0 + set1) + beta·C                 (each product rounded, then the sum)
func kernelBF16Go(kc int, a *float32, _, _ int, b *float32, _ int, c *float32, ldc int, alpha, beta float32) {
	pa := unsafe.Slice((*uint32)(unsafe.Pointer(a)), kc*MR)
	pb := unsafe.Slice((*uint32)(unsafe.Pointer(b)), kc*NR)
	var acc [2][MR][NR]float32
	for q := 0; q < kc; q++ {
		set := &acc[q&1]
		aq, bq := pa[q*MR:q*MR+MR:q*MR+MR], pb[q*NR:q*NR+NR:q*NR+NR]
		for r := range MR {
			a0, a1 := BF16ToFloat32(uint16(aq[r])), BF16ToFloat32(uint16(aq[r]>>16))
			row := &set[r]
			for jj, w := range bq {
				b0, b1 := BF16ToFloat32(uint16(w)), BF16ToFloat32(uint16(w>>16))
				s := ftz(row[jj] + float32(a1*b1))
				row[jj] = ftz(s + float32(a0*b0))
			}
		}
	}
	cs := unsafe.Slice(c, (MR-1)*ldc+NR)
	zero := math.Float32bits(beta)&0x7fffffff == 0
	for r := range MR {
		row := cs[r*ldc : r*ldc+NR : r*ldc+NR]
		for jj := range row {
			v := float32(alpha * (acc[0][r][jj] + acc[1][r][jj]))
			if !zero {
				v += float32(beta * row[jj])
			}
			row[jj] = v
		}
	}
}

// ftz flushes a subnormal float32 to zero of the same sign.
func ftz(x float32) float32 {
	if u := math.Float32bits(x); u&0x7f800000 == 0 {
		return math.Float32frombits(u & 0x80000000)
	}
	return x
}
