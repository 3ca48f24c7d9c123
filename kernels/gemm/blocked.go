package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// config selects the micro-kernel, thread count and blocking of the driver. Sgemm uses
// activeConfig(); tests build their own to reach every path (pure-Go kernel on an AVX2 machine,
// tiny blocks, forced in-place operands).
type config struct {
	name    string     // of the micro-kernel, see Kernels
	kernel  kernelFunc // any strides
	packed  kernelFunc // packed A and B panels only; nil: kernel
	threads int        // 0: GOMAXPROCS
	kc, mc  int        // k and row blocking (mc a multiple of MR)
	ncBytes int        // packed-B budget: columns per block = ncBytes / (4·k)
	kBytes  int        // packed-B budget of one slice of a long k (see kSlice); 0: no slicing
	// inPlace: 0 chooses by shape (skinny operands are read in place), -1 always packs,
	// +1 reads A and B in place wherever the layout allows.
	inPlace int
	// minParallelFlops: products with fewer flops run on the calling goroutine (8 MFLOP: about
	// 80 µs on one core here, against some 10 µs to hand work to another goroutine).
	minParallelFlops int
	// smallM: products with at most smallM rows of C (and float32 B) take the small-m path
	// (small.go) with dot4 / axpy32; 0 disables it.
	smallM int
	dot4   dot4Func
	axpy32 axpy32Func
	// bf16: the micro-kernel of products on bf16 inputs (bf16compute.go), packed word panels only.
	bf16     kernelFunc
	bf16Name string
}

var defaultConfig = config{
	name:             "go",
	kernel:           kernelGo,
	kc:               384,
	mc:               192,
	ncBytes:          16 << 20,
	kBytes:           4 << 20,
	minParallelFlops: 8 << 20,
	smallM:           smallM,
	dot4:             dot4Go,
	axpy32:           axpy32Go,
	bf16:             kernelBF16Go,
	bf16Name:         "go",
}

// active is the configuration Sgemm uses once SetKernel has been called (nil: defaultConfig).
var active atomic.Pointer[config]

func activeConfig() *config {
	if c := active.Load(); c != nil {
		return c
	}
	return &defaultConfig
}

// skinny is the size (rows of C, or columns) up to which the other operand is read in place:
// packing it would cost as much as the product (a LoRA rank r ≤ 64).
const skinny = 64

// call is the state of one product, shared by the goroutines working on it. Pooled with its
// packing buffers so that a call allocates nothing in the steady state.
type call struct {
	cfg            *config
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32 // op(A): (m, k)
	lda            int
	b              Weights // op(B): (k, n)
	ldb            int
	c              []float32 // (m, n) with row stride ldc
	ldc            int
	// bf: the first product runs on bf16 inputs (bf16compute.go); its k1 steps of the packed
	// operands are then words of two bf16 values, ke the first product's k in elements.
	bf bool
	ke int

	// A second product summed into the same C (SgemmSum): k = k1 + t2.K, steps [k1, k) of the
	// packed operands come from t2, its B scaled by s2 = t2.Alpha/alpha while packed. k1 == k
	// and t2.K == 0 for a plain product.
	k1 int
	t2 Term
	s2 float32

	inA, inB bool // read A / B in place instead of packing
	kc, mc   int
	nw       int // goroutines on this call

	j0, nc  int // current block of columns [j0, j0+nc)
	npanels int // NR panels in the block
	ppi     int // panels per work item of the packing phase (4: short rows, good balance)
	chunk   int // panels per work item of the compute phase
	nchunks int
	phase   phase
	sharedA bool         // A (one block of rows) packed once for all of k and shared by all items
	items   int          // work items in the phase
	next    atomic.Int64 // next work item
	wg      sync.WaitGroup
	bufB    []float32   // packed B: npanels × k × NR (in place: the one edge panel)
	bufA    [][]float32 // per goroutine: packed A block, mc(rounded) × kc
	bufAS   []float32   // shared A: panels of block pc at pc·mr, mr = m rounded up to MR
	// per goroutine: MR×NR scratch for edge tiles, and packB's decoding scratch (tileLen floats)
	tile [][]float32
}

// phase is what the work items of call.run do.
type phase int

const (
	packingA  phase = iota // pack one k block of A into bufAS
	packingB               // pack four panels of B into bufB
	computing              // one (row block, panel chunk) of C
	smallCols              // one chunk of columns of the small-m path
)

var callPool = sync.Pool{New: func() any { return new(call) }}

// blocked is the driver. Arguments are already checked.
func blocked(cfg *config, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int) {
	blockedAll(cfg, false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
}

// blockedSum is blocked plus, when t2 is not nil (float32 B only), t2's product added into the
// same C in the same pass: its k steps are packed after the first product's, so the kernel sees
// one product over k + t2.K.
func blockedSum(cfg *config, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int, t2 *Term) {
	blockedAll(cfg, false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, t2)
}

// blockedAll is blockedSum with the first product on bf16 inputs when bf (bf16compute.go): both
// its operands are then packed as bf16 pairs, and the small-m path is not taken (a row's result
// does not depend on how many rows come with it).
func blockedAll(cfg *config, bf bool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b Weights, ldb int, beta float32, c []float32, ldc int, t2 *Term) {
	if m == 0 || n == 0 {
		return
	}
	if t2 != nil && (t2.K == 0 || t2.Alpha == 0) {
		t2 = nil
	}
	if t2 != nil && (k == 0 || alpha == 0 || (!bf && m <= cfg.smallM)) {
		// Nothing to share (or the small-m path): two products, the second one adding.
		blockedAll(cfg, bf, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil)
		blocked(cfg, t2.TransA, t2.TransB, m, n, t2.K, t2.Alpha, t2.A, t2.Lda, t2.B, t2.Ldb, 1, c, ldc)
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	if !bf && m <= cfg.smallM {
		small(cfg, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ks := kSlice(cfg, n, k)
	if bf { // packed bf16 B takes half the bytes: slices of k twice as long
		ks = min(k, 2*kSlice(cfg, n, (k+1)/2))
	}
	if ks < k && t2 == nil {
		// A long k (the LM head's input gradient, K = vocabulary): packed B for all of k would
		// not stay in cache between row blocks, so run slices of k one after the other, each
		// adding into C.
		for k0 := 0; k0 < k; k0 += ks {
			kk := min(ks, k-k0)
			ao, bo := k0, k0*ldb // op(A)(i, k0), op(B)(k0, j)
			if transA {
				ao = k0 * lda
			}
			if transB {
				bo = k0
			}
			blockedAll(cfg, bf, transA, transB, m, n, kk, alpha, a[ao:], lda, b.from(bo), ldb, beta, c, ldc, nil)
			beta = 1
		}
		return
	}
	g := callPool.Get().(*call)
	*g = call{bufB: g.bufB, bufA: g.bufA, bufAS: g.bufAS, tile: g.tile} // keep the buffers, reset the rest
	g.cfg = cfg
	g.bf, g.ke = bf, k
	if bf {
		k = (k + 1) / 2 // words of two steps
	}
	g.transA, g.transB, g.m, g.n, g.k, g.k1 = transA, transB, m, n, k, k
	if t2 != nil {
		g.t2, g.s2 = *t2, t2.Alpha/alpha
		g.k += t2.K
	}
	g.alpha, g.beta = alpha, beta
	g.a, g.lda, g.b, g.ldb, g.c, g.ldc = a, lda, b, ldb, c, ldc
	f32B := b.form() == formF32
	// Even k blocks of at most cfg.kc (a multiple of 8 where possible): K = 576 splits 288 + 288,
	// not 256 + 256 + 64, so C is read and written back fewer times.
	g.kc, g.mc = cfg.kc, cfg.mc
	if nb := (k + cfg.kc - 1) / cfg.kc; nb > 0 {
		g.kc = min(cfg.kc, ((k+nb-1)/nb+7)/8*8)
	}

	switch {
	case t2 != nil || bf: // both products are packed
	case cfg.inPlace > 0:
		g.inA, g.inB = true, f32B && !transB
	case cfg.inPlace == 0:
		g.inA = n <= skinny
		g.inB = m <= skinny && f32B && !transB
	}

	g.nw = cfg.threads
	if g.nw <= 0 {
		g.nw = runtime.GOMAXPROCS(0)
	}
	if 2*float64(m)*float64(n)*float64(k) < float64(cfg.minParallelFlops) {
		g.nw = 1
	}
	// One product at a time uses the worker pool; a product started while another one holds it
	// (callers already parallel, e.g. per attention head) runs on its own goroutine, so no call
	// ever waits for a task queued behind another call's.
	pooled := g.nw > 1 && poolBusy.CompareAndSwap(false, true)
	if !pooled {
		g.nw = 1
	}
	g.nc = n
	if !g.inB {
		// Even column blocks of at most ncBytes of packed B.
		ncmax := max(NR, cfg.ncBytes/(4*g.k)/NR*NR)
		nb := (n + ncmax - 1) / ncmax
		g.nc = ((n+nb-1)/nb + NR - 1) / NR * NR
	}
	if g.inA {
		g.mc = min(g.mc, 8*MR) // nothing to keep in L2: small items balance better
	}
	icb := (m + g.mc - 1) / g.mc
	if g.nw > 1 && icb > 1 && icb%g.nw != 0 {
		// Row blocks in a multiple of the goroutines, so none is left with the last one alone.
		icb = (icb + g.nw - 1) / g.nw * g.nw
		g.mc = ((m+icb-1)/icb + MR - 1) / MR * MR
		icb = (m + g.mc - 1) / g.mc
	}
	// One block of rows split over several items (few rows, or several column blocks): pack A
	// once instead of once per item.
	g.sharedA = !g.inA && icb == 1 && (g.nw > 1 || g.nc < n) && t2 == nil
	g.buffers()

	if g.sharedA {
		g.phase = packingA
		g.items = (k + g.kc - 1) / g.kc
		g.run()
	}
	for g.j0 = 0; g.j0 < n; g.j0 += g.nc {
		nc := min(g.nc, n-g.j0)
		g.npanels = (nc + NR - 1) / NR
		// Phase 1: pack the block of B (in place: only a partial last panel).
		g.phase = packingB
		g.ppi = 4
		g.items = (g.npanels + g.ppi - 1) / g.ppi
		if g.inB {
			g.items = 0
			if nc%NR != 0 {
				g.items = 1
			}
		}
		g.run()
		// Phase 2: (row block, panel chunk) items.
		g.phase = computing
		g.chunk, g.nchunks = g.npanels, 1
		if want := 4 * g.nw; g.nw > 1 && icb < want {
			// Few rows: split the columns too, into a multiple of the goroutines where possible.
			g.nchunks = (want + icb - 1) / icb
			for icb*g.nchunks%g.nw != 0 {
				g.nchunks++
			}
			g.nchunks = min(g.npanels, g.nchunks)
			g.chunk = (g.npanels + g.nchunks - 1) / g.nchunks
			g.nchunks = (g.npanels + g.chunk - 1) / g.chunk
		}
		g.items = icb * g.nchunks
		g.run()
	}
	if pooled {
		poolBusy.Store(false)
	}
	g.a, g.b, g.c = nil, Weights{}, nil
	callPool.Put(g)
}

// kSlice is the length of the slices of k that blocked runs one after the other: k itself unless
// packed B for all of k (k × n floats) exceeds cfg.kBytes. Slices are even, at least 4·kc long
// and a multiple of 8.
func kSlice(cfg *config, n, k int) int {
	if cfg.kBytes <= 0 || 4*k*n <= cfg.kBytes {
		return k
	}
	ks := max(4*cfg.kc, cfg.kBytes/(4*n))
	if ks >= k {
		return k
	}
	nb := (k + ks - 1) / ks
	return min(k, ((k+nb-1)/nb+7)/8*8)
}

// buffers sizes the packing buffers for this call, reusing what the pooled call already holds.
func (g *call) buffers() {
	nb := 0
	if g.inB {
		nb = g.k * NR
	} else {
		nb = (g.nc + NR - 1) / NR * NR * g.k
	}
	if cap(g.bufB) < nb {
		g.bufB = make([]float32, nb)
	}
	na := MR * g.kc
	if !g.inA {
		na = (g.mc + MR - 1) / MR * MR * g.kc
	}
	for len(g.bufA) < g.nw {
		g.bufA = append(g.bufA, nil)
	}
	for len(g.tile) < g.nw {
		g.tile = append(g.tile, make([]float32, tileLen))
	}
	if g.sharedA {
		if nas := (g.m + MR - 1) / MR * MR * g.k; cap(g.bufAS) < nas {
			g.bufAS = make([]float32, nas)
		}
	}
	for w := 0; w < g.nw; w++ {
		if cap(g.bufA[w]) < na {
			g.bufA[w] = make([]float32, na)
		}
	}
}

// run executes the current phase's items on nw goroutines (the caller is one of them).
func (g *call) run() {
	if g.items == 0 {
		return
	}
	g.next.Store(0)
	nw := min(g.nw, g.items)
	if nw == 1 {
		g.work(0)
		return
	}
	startWorkers(nw - 1)
	g.wg.Add(nw - 1)
	for w := 1; w < nw; w++ {
		tasks <- task{g, w}
	}
	g.work(0)
	g.wg.Wait()
}

// work takes items of the current phase until none are left; w names the goroutine's buffers.
func (g *call) work(w int) {
	for {
		it := int(g.next.Add(1) - 1)
		if it >= g.items {
			return
		}
		switch g.phase {
		case packingA:
			pc := it * g.kc
			if g.bf {
				packABF16(g.bufAS[pc*((g.m+MR-1)/MR*MR):], g.a, g.lda, g.transA, 0, g.m, 2*pc, min(2*g.kc, g.ke-2*pc))
				continue
			}
			packA(g.bufAS[pc*((g.m+MR-1)/MR*MR):], g.a, g.lda, g.transA, 0, g.m, pc, min(g.kc, g.k-pc))
		case packingB:
			g.packPanels(w, it)
		case smallCols:
			g.smallCols(w, it)
		default:
			g.compute(w, it)
		}
	}
}

// packPanels packs B panels [ppi·it, ppi·it+ppi) of the current block (in place: the last
// partial one) on goroutine w.
func (g *call) packPanels(w, it int) {
	end := g.j0 + min(g.nc, g.n-g.j0)
	if g.inB {
		j := g.j0 + (g.npanels-1)*NR
		packB(g.bufB, g.b, g.ldb, g.transB, j, end-j, g.k, g.tile[w])
		return
	}
	jp0, jp1 := g.ppi*it, min(g.ppi*(it+1), g.npanels)
	if g.k1 < g.k {
		// Two products: each panel holds the first one's k1 steps, then t2's (scaled).
		t := &g.t2
		for jp := jp0; jp < jp1; jp++ {
			j, d := g.j0+jp*NR, g.bufB[jp*g.k*NR:(jp+1)*g.k*NR]
			g.packFirst(d, j, min(NR, end-j), g.tile[w])
			d2 := d[g.k1*NR:]
			packB(d2, t.B, t.Ldb, t.TransB, j, min(NR, end-j), t.K, g.tile[w])
			if g.s2 != 1 {
				for i := range d2 {
					d2[i] *= g.s2
				}
			}
		}
		return
	}
	if g.b.F32 != nil && !g.transB && !g.bf && g.j0+jp1*NR <= end {
		// Whole panels of an untransposed float32 B: read each row's run once, in order.
		packBRows(g.bufB[jp0*g.k*NR:], g.b.F32, g.ldb, g.j0+jp0*NR, jp1-jp0, g.k)
		return
	}
	for jp := jp0; jp < jp1; jp++ {
		j := g.j0 + jp*NR
		g.packFirst(g.bufB[jp*g.k*NR:], j, min(NR, end-j), g.tile[w])
	}
}

// packFirst packs the first product's panel with columns [j, j+cols) into d: k1 steps of float32,
// or (bf) k1 words of bf16 pairs; tmp is the goroutine's decoding scratch (see packB).
func (g *call) packFirst(d []float32, j, cols int, tmp []float32) {
	if g.bf {
		packBBF16(d, g.b, g.ldb, g.transB, j, cols, g.ke)
		return
	}
	packB(d, g.b, g.ldb, g.transB, j, cols, g.k1, tmp)
}

// compute does one item: rows [i0, i0+mc) of C times the item's chunk of B panels, over all of k.
func (g *call) compute(w, it int) {
	icb, ch := it/g.nchunks, it%g.nchunks
	i0 := icb * g.mc
	mc := min(g.mc, g.m-i0)
	p0, p1 := ch*g.chunk, min(g.npanels, (ch+1)*g.chunk)
	end := g.j0 + min(g.nc, g.n-g.j0)
	bufA, tile := g.bufA[w], g.tile[w]
	kern := g.cfg.kernel
	if g.cfg.packed != nil && !g.inA && !g.inB {
		kern = g.cfg.packed
	}
	a, lda, ldc := g.a, g.lda, g.ldc
	// In-place A strides: op(A)(i, p) = a[i*rsa + p*csa].
	rsa, csa := lda, 1
	if g.transA {
		rsa, csa = 1, lda
	}
	full := mc / MR * MR // rows covered by whole panels
	for pc, kc := 0, 0; pc < g.k; pc += kc {
		kc = min(g.kc, g.k1-pc) // k blocks never straddle the two products
		if pc >= g.k1 {
			kc = min(g.kc, g.k-pc)
		}
		beta := g.beta
		if pc > 0 {
			beta = 1
		}
		kern := kern
		if g.bf && pc < g.k1 {
			kern = g.cfg.bf16
		}
		switch {
		case g.sharedA:
			bufA = g.bufAS[pc*((g.m+MR-1)/MR*MR):]
		case pc >= g.k1:
			packA(bufA, g.t2.A, g.t2.Lda, g.t2.TransA, i0, mc, pc-g.k1, kc)
		case g.bf:
			packABF16(bufA, a, lda, g.transA, i0, mc, 2*pc, min(2*kc, g.ke-2*pc))
		case !g.inA:
			packA(bufA, a, lda, g.transA, i0, mc, pc, kc)
		case full < mc:
			packA(bufA, a, lda, g.transA, i0+full, mc-full, pc, kc)
		}
		for jp := p0; jp < p1; jp++ {
			j := g.j0 + jp*NR
			ncur := min(NR, end-j)
			var bp *float32
			rsb := NR
			switch {
			case !g.inB:
				bp = &g.bufB[jp*g.k*NR+pc*NR]
			case ncur == NR:
				bp, rsb = &g.b.F32[pc*g.ldb+j], g.ldb
			default:
				bp = &g.bufB[pc*NR]
			}
			for ir := 0; ir < mc; ir += MR {
				mr := min(MR, mc-ir)
				var ap *float32
				ra, ca := 1, MR
				switch {
				case g.bf && pc < g.k1: // rows of kc words (bf16compute.go)
					ap, ra, ca = &bufA[ir*kc], kc, 1
				case !g.inA:
					ap = &bufA[ir/MR*kc*MR]
				case mr == MR:
					ap, ra, ca = &a[(i0+ir)*rsa+pc*csa], rsa, csa
				default:
					ap = &bufA[0]
				}
				ci := (i0+ir)*ldc + j
				if mr == MR && ncur == NR {
					kern(kc, ap, ra, ca, bp, rsb, &g.c[ci], ldc, g.alpha, beta)
					continue
				}
				kern(kc, ap, ra, ca, bp, rsb, &tile[0], NR, 1, 0)
				merge(g.c[ci:], ldc, tile, mr, ncur, g.alpha, beta)
			}
		}
	}
}

// merge writes an edge tile: C[r*ldc+j] = alpha·t[r*NR+j] + beta·C[r*ldc+j] for r < mr, j < nr.
func merge(c []float32, ldc int, t []float32, mr, nr int, alpha, beta float32) {
	for r := 0; r < mr; r++ {
		row := c[r*ldc : r*ldc+nr]
		tr := t[r*NR : r*NR+nr]
		if beta == 0 {
			for j, v := range tr {
				row[j] = alpha * v
			}
		} else {
			for j, v := range tr {
				row[j] = alpha*v + beta*row[j]
			}
		}
	}
}

// scale sets C = beta·C (beta == 0: zeros, whatever C held).
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// The worker pool: goroutines started on demand that run items of whichever call sends them.
type task struct {
	g *call
	w int
}

var (
	poolBusy   atomic.Bool // a product is using the workers
	tasks      = make(chan task, 64)
	workersMu  sync.Mutex
	numWorkers atomic.Int64
)

func startWorkers(n int) {
	if int(numWorkers.Load()) >= n {
		return
	}
	workersMu.Lock()
	defer workersMu.Unlock()
	for int(numWorkers.Load()) < n {
		numWorkers.Add(1)
		go func() {
			for t := range tasks {
				t.g.work(t.w)
				t.g.wg.Done()
			}
		}()
	}
}
