package gemm

import (
	"math"
	"unsafe"
)

// bf16 compute: C = alpha·op(A)·op(B) + beta·C with both operands rounded to bfloat16 and the
// products accumulated in float32, as PyTorch's CPU autocast runs a linear layer and as the
// AVX512-BF16 instruction VDPBF16PS computes it. The blocked driver runs it with k taken in pairs,
// each 32-bit word holding two bfloat16 values (an odd k pads the last pair with a zero):
//
//	packed A block (rows of kw = ⌈kc/2⌉ words):  word[r*kw + q]   = bf16(A(r, 2q)) | bf16(A(r, 2q+1))<<16
//	packed B panel (NR columns, ⌈k/2⌉ words):    word[q*NR + jj]  = bf16(B(2q, jj)) | bf16(B(2q+1, jj))<<16
//
// B panels are the float32 layout with half as many steps; A stays row by row (a row is rounded
// with one instruction per 32 values and stored as it comes, no interleaving), read by the
// micro-kernel through a row stride. The micro-kernel's step is VDPBF16PS:
//
//	acc = ftz(acc + A(r, 2q+1)·B(2q+1, j));  acc = ftz(acc + A(r, 2q)·B(2q, j))
//
// each product exact (8-bit significands), each sum rounded to nearest even, subnormal inputs
// read as zero (DAZ) and subnormal sums flushed to zero (FTZ). kernelBF16Go emulates it step for
// step, so the portable build gives the same bits as the assembly (kernel_bf16_amd64.s), only
// slower.

// SgemmBF16Compute computes C = alpha·op(A)·op(B) + beta·C on bfloat16-rounded inputs with float32
// accumulation (see above). B is held in any storage (Weights): bfloat16 bit patterns are used as
// they are, any other storage's float32 values (float32, f16, Q8's f16(scale)·q) are rounded to
// bfloat16 while packed. A is rounded while packed.
//
//	a: (m, k), or (k, m) if transA;  b: (k, n), or (n, k) if transB;  c: (m, n) with row stride ldc
func SgemmBF16Compute(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, b.Len(), ldb, len(c), ldc)
	blockedAll(activeConfig(), true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
}

// NaiveBF16Compute is the reference of SgemmBF16Compute's arithmetic, not of its order: op(A) and
// op(B) rounded to bfloat16 as packing rounds them (RoundBF16), products summed in float64 in k
// order, then alpha·s + beta·C rounded once to float32. The fast path differs from it by float32
// accumulation (within Naive's bound) and by flushing subnormal partial sums to zero.
func NaiveBF16Compute(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, b.Len(), ldb, len(c), ldc)
	bv := func(i int) float64 {
		if b.BF16 != nil {
			return float64(BF16ToFloat32(flushBF16(b.BF16[i])))
		}
		return float64(BF16ToFloat32(RoundBF16(b.at(i))))
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
// VDPBF16PS reads it as: DAZ).
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

// packABF16 packs rows [i0, i0+mc) × steps [p0, p0+kc) of op(A), rounded to bfloat16, into rows
// of kw = ⌈kc/2⌉ words, row r at word r·kw (layout above; the half past an odd kc is zero).
func packABF16(dst []float32, a []float32, lda int, transA bool, i0, mc, p0, kc int) {
	kw := (kc + 1) / 2
	d := words(dst)
	r0 := 0
	if transA { // whole groups of 8 rows by transposes (bf16round.go), the rest below
		r0 = packATransBF16(dst, a, lda, i0, mc, p0, kc)
	}
	for r := r0; r < mc; r++ {
		i, row := i0+r, d[r*kw:(r+1)*kw]
		if !transA {
			s := a[i*lda+p0 : i*lda+p0+kc]
			if n := kc &^ 31; packRowBF16 != nil && n > 0 {
				packRowBF16(&row[0], &s[0], n)
				row, s = row[n/2:], s[n:]
			}
			packRowGo(row, s)
			continue
		}
		for q := range row {
			var hi uint16
			if 2*q+1 < kc {
				hi = RoundBF16(a[(p0+2*q+1)*lda+i])
			}
			row[q] = pairWord(RoundBF16(a[(p0+2*q)*lda+i]), hi)
		}
	}
}

// packRowGo packs one contiguous row s into d: d[q] = pair (s[2q], s[2q+1]) rounded, a zero past
// an odd end (the reference of packRowBF16).
func packRowGo(d []uint32, s []float32) {
	for q := 0; 2*q < len(s); q++ {
		var hi uint16
		if 2*q+1 < len(s) {
			hi = RoundBF16(s[2*q+1])
		}
		d[q] = pairWord(RoundBF16(s[2*q]), hi)
	}
}

// packRowBF16 is packRowGo for n (a positive multiple of 32) values, in assembly
// (VCVTNE2PS2BF16); nil where the CPU has no AVX512-BF16.
var packRowBF16 func(d *uint32, s *float32, n int)

// packPairsBF16 sets d[q*NR + jj] = b[2q·ldb + jj] | b[(2q+1)·ldb + jj]<<16 for q < kw, jj < NR
// (two rows of an untransposed bf16 B interleaved), in assembly; nil where there is none (the
// loop in packBBF16 is its reference).
var packPairsBF16 func(d *uint32, b *uint16, ldb int, kw int)

// packBBF16 packs the panel of op(B) with columns [j, j+cols) (cols ≤ NR) over all k steps into
// d (⌈k/2⌉·NR words): a bf16 B as it is, any other storage's float32 values rounded to bfloat16.
func packBBF16(dst []float32, b Weights, ldb int, transB bool, j, cols, k int) {
	kw := (k + 1) / 2
	d := words(dst)[:kw*NR]
	if cols < NR {
		clear(d)
	}
	b16 := b.BF16
	switch {
	case b16 != nil && transB:
		// A column of op(B) is a row of b16: its pairs are consecutive words when the row
		// starts on a word, so whole blocks of 8 words of 16 rows are two 8×8 transposes.
		q8 := 0
		if transpose8 != nil && cols == NR && ldb%2 == 0 && k >= 16 && uintptr(unsafe.Pointer(&b16[j*ldb]))%4 == 0 {
			q8 = k / 2 &^ 7
			_ = b16[(j+NR-1)*ldb+2*q8-1] // bounds for the assembly
			src := (*float32)(unsafe.Pointer(&b16[j*ldb]))
			transpose8(&dst[0], NR, src, ldb/2, q8)
			transpose8(&dst[8], NR, (*float32)(unsafe.Add(unsafe.Pointer(src), 8*ldb*2)), ldb/2, q8)
		}
		for jj := 0; jj < cols; jj++ {
			s := b16[(j+jj)*ldb : (j+jj)*ldb+k]
			for q := q8; q < kw; q++ {
				var hi uint16
				if 2*q+1 < k {
					hi = s[2*q+1]
				}
				d[q*NR+jj] = pairWord(s[2*q], hi)
			}
		}
	case b16 != nil:
		// Two rows of b16 interleaved.
		q0 := 0
		if packPairsBF16 != nil && cols == NR && k >= 2 {
			q0 = k / 2
			_ = b16[(2*q0-1)*ldb+j+NR-1] // bounds for the assembly
			packPairsBF16(&d[0], &b16[j], ldb, q0)
		}
		for q := q0; q < kw; q++ {
			r0 := b16[2*q*ldb+j : 2*q*ldb+j+cols]
			dq := d[q*NR : q*NR+cols]
			if 2*q+1 < k {
				r1 := b16[(2*q+1)*ldb+j : (2*q+1)*ldb+j+cols]
				for jj := range dq {
					dq[jj] = pairWord(r0[jj], r1[jj])
				}
				continue
			}
			for jj := range dq {
				dq[jj] = pairWord(r0[jj], 0)
			}
		}
	default:
		get := func(p, jj int) uint16 { // op(B)(p, j+jj) rounded; 0 past k
			if p >= k {
				return 0
			}
			if transB {
				return RoundBF16(b.at((j+jj)*ldb + p))
			}
			return RoundBF16(b.at(p*ldb + j + jj))
		}
		for q := 0; q < kw; q++ {
			for jj := 0; jj < cols; jj++ {
				d[q*NR+jj] = pairWord(get(2*q, jj), get(2*q+1, jj))
			}
		}
	}
}

// kernelBF16Go is the portable bf16 micro-kernel and the reference of the assembly one: over kc
// word steps of a packed B panel (rsb = NR, ignored) and A words a(r, q) = a[r·rsa + q·csa], step
// q adds into the set q%2 of accumulators (the assembly keeps two sets in flight) exactly as
// VDPBF16PS does — inputs' subnormals read as zero, odd element of the pair first, each sum
// rounded and flushed — then
//
//	C = alpha·(set0 + set1)                          (beta == 0, C not read)
//	C = alpha·(set0 + set1) + beta·C                 (each product rounded, then the sum)
func kernelBF16Go(kc int, a *float32, rsa, csa int, b *float32, _ int, c *float32, ldc int, alpha, beta float32) {
	pa := unsafe.Slice((*uint32)(unsafe.Pointer(a)), (MR-1)*rsa+(kc-1)*csa+1)
	pb := unsafe.Slice((*uint32)(unsafe.Pointer(b)), kc*NR)
	var acc [2][MR][NR]float32
	for q := 0; q < kc; q++ {
		set := &acc[q&1]
		bq := pb[q*NR : q*NR+NR : q*NR+NR]
		for r := range MR {
			w := pa[r*rsa+q*csa]
			a0, a1 := BF16ToFloat32(flushBF16(uint16(w))), BF16ToFloat32(flushBF16(uint16(w>>16)))
			row := &set[r]
			for jj, w := range bq {
				b0, b1 := BF16ToFloat32(flushBF16(uint16(w))), BF16ToFloat32(flushBF16(uint16(w>>16)))
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
