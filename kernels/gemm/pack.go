package gemm

// Packed layouts (all zero-padded to whole panels):
//
//	A panel (MR rows i0..i0+MR, kc steps):  dst[p*MR + r]   = op(A)(i0+r, p0+p)
//	B panel (NR columns j..j+NR, k steps):  dst[p*NR + jj]  = op(B)(p, j+jj)

// packA6 packs n steps (a positive multiple of 8) of MR = 6 rows of an untransposed A (row r at
// a + r·lda) into an A panel, dst[p*MR + r] = a[r*lda + p], writing 2 floats past dst[MR·n];
// nil where no assembly version exists (the scalar loop of packA is its reference).
var packA6 func(dst *float32, a *float32, lda int, n int)

// transpose8 sets dst[p*ldd + r] = src[r*lds + p] for r < 8, p < n (a positive multiple of 8);
// nil where no assembly version exists (the scalar loop of packB is its reference).
var transpose8 func(dst *float32, ldd int, src *float32, lds int, n int)

// packA packs rows [i0, i0+mc) × steps [p0, p0+kc) of op(A) into ceil(mc/MR) consecutive panels of
// kc·MR floats each.
func packA(dst []float32, a []float32, lda int, transA bool, i0, mc, p0, kc int) {
	if transA {
		// op(A)(i, p) = a[p*lda + i]: one contiguous run of mc floats per step, dealt out to
		// the panels.
		full := mc / MR * MR
		if full < mc {
			clear(dst[full*kc : (full+MR)*kc])
		}
		for p := 0; p < kc; p++ {
			s := a[(p0+p)*lda+i0 : (p0+p)*lda+i0+mc]
			for ir := 0; ir < full; ir += MR {
				d := dst[ir*kc+p*MR : ir*kc+p*MR+MR : ir*kc+p*MR+MR]
				r := s[ir : ir+MR : ir+MR]
				d[0], d[1], d[2], d[3], d[4], d[5] = r[0], r[1], r[2], r[3], r[4], r[5]
			}
			if full < mc {
				copy(dst[full*kc+p*MR:], s[full:])
			}
		}
		return
	}
	for ir := 0; ir < mc; ir += MR {
		d := dst[(ir/MR)*kc*MR : (ir/MR+1)*kc*MR]
		rows := min(MR, mc-ir)
		i := i0 + ir
		// op(A)(i, p) = a[i*lda + p]: MR rows read in step.
		if rows == MR {
			s0 := a[i*lda+p0 : i*lda+p0+kc]
			s1 := a[(i+1)*lda+p0 : (i+1)*lda+p0+kc]
			s2 := a[(i+2)*lda+p0 : (i+2)*lda+p0+kc]
			s3 := a[(i+3)*lda+p0 : (i+3)*lda+p0+kc]
			s4 := a[(i+4)*lda+p0 : (i+4)*lda+p0+kc]
			s5 := a[(i+5)*lda+p0 : (i+5)*lda+p0+kc]
			p8 := 0
			if packA6 != nil && kc > 8 {
				// Whole blocks of 8 steps, leaving at least one step to the loop below so the
				// 2 floats written past the last block stay inside this panel.
				p8 = (kc - 1) &^ 7
				packA6(&d[0], &s0[0], lda, p8)
			}
			for p := p8; p < kc; p++ {
				dp := d[p*MR : p*MR+MR : p*MR+MR]
				dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = s0[p], s1[p], s2[p], s3[p], s4[p], s5[p]
			}
			continue
		}
		clear(d)
		for r := 0; r < rows; r++ {
			s := a[(i+r)*lda+p0 : (i+r)*lda+p0+kc]
			for p, v := range s {
				d[p*MR+r] = v
			}
		}
	}
}

// packBRows packs np whole consecutive panels of an untransposed float32 B, columns
// [j, j+np·NR), into d (np·k·NR floats, panel after panel), walking B row by row so that each
// row's run of np·NR floats is read once and in order.
func packBRows(d []float32, b []float32, ldb, j, np, k int) {
	for p := 0; p < k; p++ {
		s := b[p*ldb+j : p*ldb+j+np*NR]
		for q := 0; q < np; q++ {
			// Through a local: a direct array assignment may overlap and calls memmove.
			t := *(*[NR]float32)(s[q*NR:])
			*(*[NR]float32)(d[q*k*NR+p*NR:]) = t
		}
	}
}

// decodeRun is the number of steps of a transposed non-float32 B that packB decodes at a time
// (into a scratch of NR·decodeRun floats) before transposing them into the panel.
const decodeRun = 64

// tileLen is the length of a goroutine's scratch (call.tile): an MR×NR edge tile, or packB's
// NR·decodeRun decoded steps.
const tileLen = NR * decodeRun

// packB packs the one panel of op(B) with columns [j, j+cols) (cols ≤ NR) over all k steps into
// d (k·NR floats). A B held in bf16, f16 or Q8 is decoded to its float32 values here (Weights);
// a transposed one goes through tmp (tileLen floats): decodeRun steps of each column at a time,
// then the same 8×8 transposes as a float32 B.
func packB(d []float32, b Weights, ldb int, transB bool, j, cols, k int, tmp []float32) {
	d = d[:k*NR]
	if cols < NR {
		clear(d)
	}
	f := b.F32
	switch {
	case b.form() != formF32 && !transB:
		// op(B)(p, j) = element p*ldb + j: a contiguous run per step, decoded in place.
		for p := 0; p < k; p++ {
			b.Decode(d[p*NR:p*NR+cols], p*ldb+j)
		}
	case b.form() != formF32:
		// op(B)(p, j) = element j*ldb + p: runs of decodeRun steps of each column into tmp
		// (row jj at jj·decodeRun), then transposed into the panel.
		tmp = tmp[:NR*decodeRun]
		for p0 := 0; p0 < k; p0 += decodeRun {
			c := min(decodeRun, k-p0)
			for jj := 0; jj < cols; jj++ {
				b.Decode(tmp[jj*decodeRun:jj*decodeRun+c], (j+jj)*ldb+p0)
			}
			transposeInto(d[p0*NR:], tmp, decodeRun, cols, c)
		}
	case !transB:
		// op(B)(p, j) = b[p*ldb + j]: a contiguous run per step.
		if cols == NR {
			for p := 0; p < k; p++ {
				// Through a local: a direct array assignment may overlap and calls memmove.
				t := *(*[NR]float32)(f[p*ldb+j:])
				*(*[NR]float32)(d[p*NR:]) = t
			}
			break
		}
		for p := 0; p < k; p++ {
			copy(d[p*NR:p*NR+cols], f[p*ldb+j:p*ldb+j+cols])
		}
	default:
		// op(B)(p, j) = b[j*ldb + p]: one row of b per panel column.
		transposeInto(d, f[j*ldb:], ldb, cols, k)
	}
}

// transposeInto sets d[p*NR + jj] = s[jj*lds + p] for jj < cols, p < n: cols rows of s become
// the columns of n panel steps, two 8×8 register transposes per 8 steps where there is assembly
// and a whole panel (s then has NR rows), the rest by the scalar loop (its reference).
func transposeInto(d, s []float32, lds, cols, n int) {
	n8 := 0
	if transpose8 != nil && cols == NR && n >= 8 {
		n8 = n &^ 7
		_ = s[(NR-1)*lds+n8-1] // bounds for the assembly
		transpose8(&d[0], NR, &s[0], lds, n8)
		transpose8(&d[8], NR, &s[8*lds], lds, n8)
	}
	for jj := 0; jj < cols; jj++ {
		r := s[jj*lds+n8 : jj*lds+n]
		for p, v := range r {
			d[(n8+p)*NR+jj] = v
		}
	}
}
