package train

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"sort"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/mpi"
)

// Data parallelism: every rank of an MPI job (Job.Comm) holds the whole model, the whole
// training set and the same trainable tensors, and walks the same epochs and micro-batches as a
// single process would. Each micro-batch b (L = b.Loss targets) is dealt out by rows; rank r runs
// its rows S_r (L_r targets) and adds its share of the gradient of b's mean loss:
//
//	g_b = (1/L) Σ_{t ∈ b} ∇ℓ_t = Σ_r (L_r/L) · g_{S_r}       g_S: gradient of the mean loss over S
//	loss_b = Σ_r (L_r/L) · loss_{S_r}
//
// After an update's micro-batches, one all-reduce (sum) of the gradients and one of (Σ loss,
// targets run) give every rank Σ_k g_{b_k} and Σ_k loss_{b_k}, exactly what the single-process
// loop holds at that point (up to float summation order); the rest of the update — the mean over
// micro-batches, the global-norm clip, AdamW — is the same arithmetic on the same numbers on every
// rank, so the ranks' parameters stay equal without being sent again. Rank 0 alone reads the
// checkpoint and writes files; it broadcasts the starting parameters (drawn or resumed), the
// optimizer moments and the data position before the first update.

// dataParallel is the training loop's view of the job: nil Comm (or size 1) means this process
// alone, and every method is then what the single-process loop does.
type dataParallel struct {
	comm   mpi.Comm
	bucket []float32 // gradients packed for one all-reduce (small tensors; see reduceGrads)
	// want, ran count the loss targets of the current update's micro-batches and of this rank's
	// shares of them; reduce checks that the shares add up.
	want, ran int
}

// gradBucket is the most gradient elements packed into one all-reduce (16 MiB of float32, like
// PyTorch DDP's 25 MB buckets): small adapter tensors travel together, a tensor larger than this
// is reduced in place, so packing never doubles a full fine-tune's gradient memory.
const gradBucket = 4 << 20

func newDataParallel(c mpi.Comm) *dataParallel { return &dataParallel{comm: c} }

// many reports whether more than one rank shares the work.
func (d *dataParallel) many() bool { return d.comm != nil && d.comm.Size() > 1 }

// writes reports whether this rank writes files (metrics, checkpoints, outputs): rank 0.
func (d *dataParallel) writes() bool { return mpi.IsRoot(d.comm) }

// owners deals the rows of b to n ranks: longest rows first, each to the rank with the fewest
// tokens so far (lowest rank on ties), so the ranks' forward/backward work is balanced. It is a
// pure function of b, so every rank computes the same deal.
func owners(b *data.Batch, n int) []int {
	order := make([]int, b.B)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return b.Lens[order[x]] > b.Lens[order[y]] })
	load := make([]int, n)
	own := make([]int, b.B)
	for _, i := range order {
		r := 0
		for q := 1; q < n; q++ {
			if load[q] < load[r] {
				r = q
			}
		}
		own[i] = r
		load[r] += b.Lens[i]
	}
	return own
}

// share returns the rows of b that this rank runs, in b's order, as a batch of their own
// (ok false when it runs none).
func (d *dataParallel) share(b *data.Batch) (sub data.Batch, ok bool) {
	own := owners(b, d.comm.Size())
	var exs []data.Example
	for i, r := range own {
		if r == d.comm.Rank() {
			l := b.Lens[i]
			exs = append(exs, data.Example{IDs: b.IDs[i*b.T : i*b.T+l], Labels: b.Labels[i*b.T : i*b.T+l], Row: -1})
		}
	}
	if len(exs) == 0 {
		return data.Batch{}, false
	}
	return data.MakeBatch(exs, b.Pad), true
}

// forwardBackward adds this rank's share of the gradient of b's mean loss to the gradients and
// returns its share of that loss (alone: the whole of both, as forwardBackward). The share is the
// gradient of the rank's token-loss sum over L, b's target count — ForwardBackwardSum's scale
// 1/L on each part of the rank's rows S_r:
//
//	(1/L) Σ_{t ∈ S_r} ∇ℓ_t = (L_r/L) · g_{S_r}        loss share (1/L) Σ_{t ∈ S_r} ℓ_t
//
// the same per-token scale the single process gives every part of b, so no gradient is rescaled.
// Without split, the rank's rows run as one padded block.
func (d *dataParallel) forwardBackward(m Model, b *data.Batch, split bool) (float64, error) {
	if !d.many() {
		return forwardBackward(m, b, split)
	}
	sub, ok := d.share(b)
	d.want += b.Loss
	if ok {
		d.ran += sub.Loss
	}
	if !ok || sub.Loss == 0 {
		return 0, nil
	}
	parts := []data.Batch{sub}
	if split {
		parts = sub.Split(splitOverhead)
	}
	return forwardBackwardParts(m, parts, 1/float64(b.Loss))
}

// reduce sums the update's gradients and losses over the ranks, and checks that the targets the
// ranks ran add up to the update's (every rank dealt the same rows). Alone it does nothing.
func (d *dataParallel) reduce(grads [][]float32, lossSum *float64) error {
	if !d.many() {
		return nil
	}
	if err := d.reduceGrads(grads); err != nil {
		return err
	}
	buf := []float64{*lossSum, float64(d.ran)}
	if err := d.comm.AllreduceFloat64(buf); err != nil {
		return err
	}
	if int(buf[1]) != d.want {
		return fmt.Errorf("train: the ranks ran %d loss targets of the update's %d; every rank must run the same build on the same data", int(buf[1]), d.want)
	}
	*lossSum = buf[0]
	d.want, d.ran = 0, 0
	return nil
}

// reduceGrads all-reduces every gradient, packing consecutive small tensors into one buffer of
// at most gradBucket elements per call.
func (d *dataParallel) reduceGrads(grads [][]float32) error {
	var pending [][]float32
	n := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if len(pending) == 1 {
			err := d.comm.AllreduceFloat32(pending[0])
			pending, n = pending[:0], 0
			return err
		}
		if cap(d.bucket) < n {
			d.bucket = make([]float32, n)
		}
		buf := d.bucket[:n]
		off := 0
		for _, g := range pending {
			off += copy(buf[off:], g)
		}
		if err := d.comm.AllreduceFloat32(buf); err != nil {
			return err
		}
		off = 0
		for _, g := range pending {
			off += copy(g, buf[off:])
		}
		pending, n = pending[:0], 0
		return nil
	}
	for _, g := range grads {
		if n+len(g) > gradBucket {
			if err := flush(); err != nil {
				return err
			}
		}
		pending = append(pending, g)
		n += len(g)
	}
	return flush()
}

// anyStop is true on every rank when stop is true on any: an interruption (Ctrl-C reaches the
// ranks at different moments) must stop them all at the same update boundary.
func (d *dataParallel) anyStop(stop bool) (bool, error) {
	if !d.many() {
		return stop, nil
	}
	buf := []int64{0}
	if stop {
		buf[0] = 1
	}
	if err := d.comm.AllreduceInt64(buf); err != nil {
		return false, err
	}
	return buf[0] > 0, nil
}

// checkSame fails on a rank whose settings or training data differ from rank 0's: their
// fingerprints (an FNV-64a hash of the Config and the data digest) are compared against rank 0's,
// broadcast.
func (d *dataParallel) checkSame(cfg Config, dg digest) error {
	if !d.many() {
		return nil
	}
	h := fnv.New64a()
	b, _ := json.Marshal(cfg)
	h.Write(b)
	b, _ = json.Marshal(dg)
	h.Write(b)
	mine := int64(h.Sum64())
	buf := []int64{mine}
	if err := d.comm.BcastInt64(buf, 0); err != nil {
		return err
	}
	if buf[0] != mine {
		return fmt.Errorf("train: rank %d has other settings or training data than rank 0 (%d examples, hash %s); start every rank with the same command line and files", d.comm.Rank(), dg.Examples, dg.Hash)
	}
	return nil
}

// broadcastStart makes every rank start from rank 0's parameters, optimizer moments and data
// position: the adapter rank 0 drew (or the model it loaded) or, after a resume, the checkpoint
// only rank 0 read.
func (d *dataParallel) broadcastStart(ps []*trainable, st *state) error {
	if !d.many() {
		return nil
	}
	pos := []int64{int64(st.Step), int64(st.Epoch), int64(st.Batch), st.Tokens, int64(math.Float64bits(st.ElapsedS))}
	if err := d.comm.BcastInt64(pos, 0); err != nil {
		return err
	}
	st.Step, st.Epoch, st.Batch, st.Tokens, st.ElapsedS = int(pos[0]), int(pos[1]), int(pos[2]), pos[3], math.Float64frombits(uint64(pos[4]))
	for _, p := range ps {
		if err := d.comm.BcastFloat32(p.w, 0); err != nil {
			return err
		}
		if st.Step == 0 {
			continue // fresh moments are zero everywhere
		}
		if err := d.comm.BcastFloat32(p.opt.M, 0); err != nil {
			return err
		}
		if err := d.comm.BcastFloat32(p.opt.V, 0); err != nil {
			return err
		}
		p.opt.Step = st.Step
	}
	return nil
}
