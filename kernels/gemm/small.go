package gemm

// The small-m path: products with at most smallM rows of C (a decoding step: one token, m = 1)
// skip packing altogether. Packing B would copy the whole weight matrix to use each element once
// (per row of C); here each element of B is read once from memory and used for all m rows.
//
//	NT / TT  (B stored (n, k)): C[i,j] = alpha · dot(op(A) row i, B row j) + beta · C[i,j], four
//	         rows of B at a time (dot4), the four rows staying in L1 while the m rows of A pass.
//	NN / TN  (B stored (k, n)): C[i, j:j+32] = alpha · Σ_p op(A)(i,p) · B[p, j:j+32] + beta · …,
//	         a 32-column strip of B at a time (axpy32); leftover columns are scalar dots.
//
// op(A) with transA is gathered into a contiguous m×k scratch first (m·k floats). Columns are
// split across goroutines for large products. A B held in bf16, f16 or Q8 (Weights) is decoded to
// its float32 values, four rows (NT) or one 32-column strip (NN) at a time, into the goroutine's
// scratch before the same dot4/axpy32, so its results are bit-identical to those of the float32 B
// it stands for.

// smallM is the default row count up to which Sgemm takes the small-m path (config.smallM).
const smallM = 4

// dot4Func sets out[r] = Σ_{p<k} x[p]·w[r·ldw+p] for r < 4 (ldw = 0: four copies of one dot).
// len(x) ≥ k, len(w) ≥ 3·ldw + k.
type dot4Func func(k int, x, w []float32, ldw int, out *[4]float32)

// axpy32Func sets c[j] = Σ_{p<k} a[p·csa]·b[p·ldb+j] for j < 32.
// len(a) > (k-1)·csa, len(b) ≥ (k-1)·ldb + 32, len(c) ≥ 32.
type axpy32Func func(k int, a []float32, csa int, b []float32, ldb int, c []float32)

// dot4Go is the portable dot4 (and the reference of the assembly one).
func dot4Go(k int, x, w []float32, ldw int, out *[4]float32) {
	x = x[:k]
	w0, w1, w2, w3 := w[:k], w[ldw:ldw+k], w[2*ldw:2*ldw+k], w[3*ldw:3*ldw+k]
	var s0, s1, s2, s3 float32
	for p, xv := range x {
		s0 += xv * w0[p]
		s1 += xv * w1[p]
		s2 += xv * w2[p]
		s3 += xv * w3[p]
	}
	*out = [4]float32{s0, s1, s2, s3}
}

// axpy32Go is the portable axpy32 (and the reference of the assembly one).
func axpy32Go(k int, a []float32, csa int, b []float32, ldb int, c []float32) {
	var acc [32]float32
	for p := 0; p < k; p++ {
		av := a[p*csa]
		row := b[p*ldb : p*ldb+32]
		for j, bv := range row {
			acc[j] += av * bv
		}
	}
	copy(c[:32], acc[:])
}

// small runs the small-m path (the driver's phase smallCols does one chunk of columns).
// Arguments are checked; m ≥ 1, n ≥ 1, k ≥ 1, alpha ≠ 0.
func small(cfg *config, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int) {
	g := callPool.Get().(*call)
	*g = call{bufB: g.bufB, bufA: g.bufA, bufAS: g.bufAS, tile: g.tile}
	g.cfg = cfg
	g.transB, g.m, g.n, g.k = transB, m, n, k
	g.alpha, g.beta = alpha, beta
	g.a, g.lda, g.b, g.ldb, g.c, g.ldc = a, lda, b, ldb, c, ldc
	if transA {
		// op(A) (m, k) from A stored (k, m): gather the m rows contiguously.
		if cap(g.bufAS) < m*k {
			g.bufAS = make([]float32, m*k)
		}
		ga := g.bufAS[:m*k]
		for i := 0; i < m; i++ {
			for p := 0; p < k; p++ {
				ga[i*k+p] = a[p*lda+i]
			}
		}
		g.a, g.lda = ga, k
	}
	g.nw = cfg.threads
	if g.nw <= 0 {
		g.nw = 1
		// Memory-bound (each element of B used m times): worth splitting from a quarter of the
		// blocked path's threshold (the LM head of a decoding step, not a 384×384 projection).
		if 8*float64(m)*float64(n)*float64(k) >= float64(cfg.minParallelFlops) {
			g.nw = min(runtimeProcs(), (n+31)/32)
		}
	}
	pooled := g.nw > 1 && poolBusy.CompareAndSwap(false, true)
	if !pooled {
		g.nw = 1
	}
	for len(g.tile) < g.nw {
		g.tile = append(g.tile, make([]float32, tileLen))
	}
	if b.form() != formF32 {
		// Per goroutine: four decoded rows of B (NT) or one decoded 32-column strip (NN).
		for len(g.bufA) < g.nw {
			g.bufA = append(g.bufA, nil)
		}
		for w := 0; w < g.nw; w++ {
			if cap(g.bufA[w]) < 32*k {
				g.bufA[w] = make([]float32, 32*k)
			}
		}
	}
	// Chunks of columns: a multiple of 4 (NT) or 32 (NN), about 4 per goroutine.
	unit := 4
	if !transB {
		unit = 32
	}
	g.chunk = n
	if g.nw > 1 {
		g.chunk = ((n+4*g.nw-1)/(4*g.nw) + unit - 1) / unit * unit
	}
	g.phase = smallCols
	g.items = (n + g.chunk - 1) / g.chunk
	g.run()
	if pooled {
		poolBusy.Store(false)
	}
	g.a, g.b, g.c = nil, Weights{}, nil
	callPool.Put(g)
}

// smallCols computes columns [it·chunk, (it+1)·chunk) of C on the small-m path.
func (g *call) smallCols(w, it int) {
	j0 := it * g.chunk
	j1 := min(g.n, j0+g.chunk)
	m, k, a, lda, ldb, c, ldc := g.m, g.k, g.a, g.lda, g.ldb, g.c, g.ldc
	b, f32 := g.b.F32, g.b.form() == formF32
	put := func(ci int, s float32) {
		if g.beta == 0 {
			c[ci] = g.alpha * s
		} else {
			c[ci] = g.alpha*s + g.beta*c[ci]
		}
	}
	if g.transB {
		dot4 := g.cfg.dot4
		// Results live in the goroutine's tile (a local array would escape through dot4).
		out, one := (*[4]float32)(g.tile[w][0:4]), (*[4]float32)(g.tile[w][4:8])
		for j := j0; j < j1; j += 4 {
			nr := min(4, j1-j)
			bj, ld := b[min(j*ldb, len(b)):], ldb
			if !f32 {
				// Decode rows j..j+nr of B into the scratch (row stride k).
				bj, ld = g.bufA[w][:4*k], k
				for r := 0; r < nr; r++ {
					g.b.Decode(bj[r*k:(r+1)*k], (j+r)*ldb)
				}
			}
			for i := 0; i < m; i++ {
				x := a[i*lda : i*lda+k]
				if nr == 4 {
					dot4(k, x, bj, ld, out)
				} else {
					for r := 0; r < nr; r++ {
						dot4(k, x, bj[r*ld:], 0, one)
						out[r] = one[0]
					}
				}
				for r := 0; r < nr; r++ {
					put(i*ldc+j+r, out[r])
				}
			}
		}
		return
	}
	axpy := g.cfg.axpy32
	tmp := g.tile[w][:32]
	if !f32 {
		// Strip by strip (each decoded once into the scratch, row stride 32), rows inside.
		strip := g.bufA[w][:32*k]
		j := j0
		for ; j+32 <= j1; j += 32 {
			g.b.decodeStrip(strip, j, ldb, k)
			for i := 0; i < m; i++ {
				axpy(k, a[i*lda:i*lda+k], 1, strip, 32, tmp)
				for r, s := range tmp {
					put(i*ldc+j+r, s)
				}
			}
		}
		for ; j < j1; j++ {
			for i := 0; i < m; i++ {
				var s float32
				for p, xv := range a[i*lda : i*lda+k] {
					s += xv * g.b.at(p*ldb+j)
				}
				put(i*ldc+j, s)
			}
		}
		return
	}
	for i := 0; i < m; i++ {
		x := a[i*lda : i*lda+k]
		j := j0
		for ; j+32 <= j1; j += 32 {
			axpy(k, x, 1, b[j:], ldb, tmp)
			for r, s := range tmp {
				put(i*ldc+j+r, s)
			}
		}
		for ; j < j1; j++ {
			var s float32
			for p, xv := range x {
				s += xv * b[p*ldb+j]
			}
			put(i*ldc+j, s)
		}
	}
}
