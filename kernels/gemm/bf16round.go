package gemm

import (
	"sync"
	"unsafe"
)

// Rounding whole rows to bfloat16, and packing a transposed A for bf16 compute, with the
// vector instructions the packers already use. Both give exactly the bits of the scalar loops
// (RoundBF16 value by value; packABF16's transposed loop), which stay as their references.

// RoundBF16s sets dst[i] = RoundBF16(src[i]) for i < len(src) (dst at least as long): 32 values
// per VCVTNE2PS2BF16 where the CPU has AVX512-BF16. Callers round an operand once with it and
// pass the bits to SgemmBF16Compute as b16, rather than having every product round it again.
func RoundBF16s(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	if len(src) > 0 && packRowBF16 != nil && uintptr(unsafe.Pointer(&dst[0]))%2 == 0 {
		if uintptr(unsafe.Pointer(&dst[0]))%4 != 0 { // the assembly stores words
			dst[0] = RoundBF16(src[0])
			dst, src = dst[1:], src[1:]
		}
		if n := len(src) &^ 31; n > 0 {
			packRowBF16((*uint32)(unsafe.Pointer(&dst[0])), &src[0], n)
			dst, src = dst[n:], src[n:]
		}
	}
	for i, v := range src {
		dst[i] = RoundBF16(v)
	}
}

// transPool holds the scratch of packATransBF16: rows of op(A), float32.
var transPool = sync.Pool{New: func() any { return new([]float32) }}

// packATransBF16 packs rows [i0, i0+r) × steps [p0, p0+kc) of op(A) = Aᵀ (A stored (k, m) with
// row stride lda) as packABF16 does, for the largest r ≤ mc that is a multiple of 8, and returns
// r (0 where there is no 8×8 transpose: the caller's scalar loop does every row). The r rows are
// first transposed into a float32 scratch (transpose8: one call per 8 steps, all rows), then
// rounded and paired as an untransposed A's rows (packRowBF16; a single call over the whole
// block when kc is a multiple of 32, the rows then being contiguous in both). Rounding is value
// by value, so the words are the scalar loop's.
func packATransBF16(dst []float32, a []float32, lda int, i0, mc, p0, kc int) int {
	r := mc &^ 7
	if transpose8 == nil || r == 0 || kc < 8 {
		return 0
	}
	kw, k8 := (kc+1)/2, kc&^7
	d := words(dst)
	buf := transPool.Get().(*[]float32)
	if cap(*buf) < r*kc {
		*buf = make([]float32, r*kc)
	}
	t := (*buf)[:r*kc]
	_ = a[(p0+k8-1)*lda+i0+r-1] // bounds for the assembly
	for p := 0; p < k8; p += 8 {
		transpose8(&t[p], kc, &a[(p0+p)*lda+i0], lda, r) // t[rr·kc + p + s] = A(p0+p+s, i0+rr)
	}
	for p := k8; p < kc; p++ {
		src := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+r]
		for rr, v := range src {
			t[rr*kc+p] = v
		}
	}
	if kc%32 == 0 && packRowBF16 != nil {
		packRowBF16(&d[0], &t[0], r*kc)
	} else {
		for rr := range r {
			row, s := d[rr*kw:(rr+1)*kw], t[rr*kc:(rr+1)*kc]
			if n := kc &^ 31; packRowBF16 != nil && n > 0 {
				packRowBF16(&row[0], &s[0], n)
				row, s = row[n/2:], s[n:]
			}
			packRowGo(row, s)
		}
	}
	transPool.Put(buf)
	return r
}
