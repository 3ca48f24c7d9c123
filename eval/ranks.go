package eval

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/moslora/moslora/mpi"
)

// An evaluation over the ranks of an MPI job: every rank plans the same requests and cuts them
// into the same batches as a single process; rank r runs batches k with k mod size = r, and one
// all-reduce hands every rank every request's result. Each result is sent by exactly one rank and
// the others contribute zeros, so the sum is that rank's value exactly (x + 0 = x in floating
// point): the report is then tallied from the same numbers in the same order as a single
// process's, and equals it bit for bit when the model's forward of a batch is deterministic.

// mine reports whether this rank runs batch k.
func mine(c mpi.Comm, k int) bool { return c == nil || k%c.Size() == c.Rank() }

// resultFields is the number of float64s a result travels as: its four fields and a 1 from the
// rank that ran it.
const resultFields = 5

// gather gives every rank every result: out holds this rank's results where ran is true (and
// zeros elsewhere). It fails on every rank unless every rank planned the same requests (checked
// first, so that no rank all-reduces a buffer of another length) and each request was run by
// exactly one rank. Alone it does nothing.
func gather(c mpi.Comm, reqs []request, out []result, ran []bool) error {
	if c == nil || c.Size() == 1 {
		return nil
	}
	if err := samePlan(c, reqs); err != nil {
		return err
	}
	buf := make([]float64, resultFields*len(out))
	for i, r := range out {
		if !ran[i] {
			continue
		}
		argmax := 0.0
		if r.argmax {
			argmax = 1
		}
		copy(buf[resultFields*i:], []float64{r.logProb, float64(r.tokens), argmax, r.eosNext, 1})
	}
	if err := c.AllreduceFloat64(buf); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	for i := range out {
		f := buf[resultFields*i : resultFields*(i+1)]
		if f[4] != 1 {
			return fmt.Errorf("eval: request %d was run by %d ranks, not 1; every rank must plan the same requests (same build, model and data)", i, int(f[4]))
		}
		out[i] = result{logProb: f[0], tokens: int(f[1]), argmax: f[2] == 1, eosNext: f[3]}
	}
	return nil
}

// samePlan fails on every rank when any rank's requests differ from rank 0's: rank 0 broadcasts
// an FNV-64a hash of its requests, and the ranks sum their disagreements.
func samePlan(c mpi.Comm, reqs []request) error {
	h := fnv.New64a()
	var b [8]byte
	for _, q := range reqs {
		binary.LittleEndian.PutUint64(b[:], uint64(len(q.ex.IDs)))
		h.Write(b[:])
		for i, id := range q.ex.IDs {
			binary.LittleEndian.PutUint32(b[:4], uint32(id))
			binary.LittleEndian.PutUint32(b[4:], uint32(q.ex.Labels[i]))
			h.Write(b[:])
		}
	}
	mine := int64(h.Sum64())
	root := []int64{mine}
	if err := c.BcastInt64(root, 0); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	differ := []int64{0}
	if root[0] != mine {
		differ[0] = 1
	}
	if err := c.AllreduceInt64(differ); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if differ[0] > 0 {
		return fmt.Errorf("eval: %d of %d ranks planned other sequences than rank 0; run every rank with the same model, data and flags", differ[0], c.Size())
	}
	return nil
}
