package model

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/safetensors"
)

// randomChunk is how many values NewRandomIn draws into float32 before rounding or quantising
// them (whole rows, at least one): 256 KiB of scratch per worker.
const randomChunk = 1 << 16

// NewRandomIn builds NewRandom's model (same seed, same values) with the frozen base's matrices
// held as base says — auto, f32, bf16, f16 or q8, as LoadWith would hold a checkpoint of cfg's
// declared dtype (auto keeps a "bfloat16" config in bf16, a "float16" one in f16, anything else
// in float32) — drawn directly in that form: each matrix is drawn a chunk of rows at a time into a
// small float32 buffer and rounded to bfloat16 or f16 or quantised to Q8_0 as it is drawn, so a
// 16-bit or q8 base never
// exists in float32 (a 7B model's random base takes ~14.5 GB in bf16, not 29 GB). The result is
// bit for bit FromSourceWith(cfg, NewRandom's tensors, LoadOptions{Base: base}) (tested), except
// that a GPT-2 Conv1D weight held in q8 is drawn whole (its Q8_0 rows run across the
// checkpoint's rows). Matrices are drawn by GOMAXPROCS workers; progress, when not nil, is called
// after each tensor with the values drawn so far and the total (never concurrently).
func NewRandomIn(cfg *Config, seed int64, base BaseDtype, progress func(done, total int64)) (*Model, error) {
	src := newRandomSource(cfg, seed)
	declared := declaredDType(cfg)
	opts := LoadOptions{Base: base}
	m, specs, err := skeleton(cfg, src)
	if err != nil {
		return nil, fmt.Errorf("model: random initialisation: %w", err)
	}
	var total int64
	for _, s := range specs {
		if src.Info(s.name) == nil {
			return nil, fmt.Errorf("model: random initialisation: no tensor %q for %s", s.name, cfg.Architecture)
		}
		total += int64(prod(s.shape))
	}

	var (
		mu         sync.Mutex
		next       int
		done       int64
		firstErr   error
		wg         sync.WaitGroup
		workers    = min(runtime.GOMAXPROCS(0), len(specs))
		takeOrStop = func(n int64) (int, bool) { // report n values done and take the next spec
			mu.Lock()
			defer mu.Unlock()
			if n > 0 {
				done += n
				if progress != nil {
					progress(done, total)
				}
			}
			if next == len(specs) || firstErr != nil {
				return 0, false
			}
			next++
			return next - 1, true
		}
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []float32
			var n int64
			for {
				i, ok := takeOrStop(n)
				if !ok {
					return
				}
				s := specs[i]
				if err := drawSpec(src, s, opts.heldAs(s, declared), &buf); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				n = int64(prod(s.shape))
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("model: random initialisation: %w", firstErr)
	}
	return m, nil
}

// declaredDType is the dtype of a checkpoint of cfg for --base-dtype auto: BF16 when the config
// declares "bfloat16", F16 for "float16", else F32.
func declaredDType(cfg *Config) safetensors.DType {
	switch cfg.WeightDType {
	case "bfloat16":
		return safetensors.BF16
	case "float16":
		return safetensors.F16
	}
	return safetensors.F32
}

// drawSpec fills spec s with its random values held as h, drawing a chunk of rows at a time
// into *buf (grown as needed, reused between calls).
func drawSpec(src *randomSource, s tensorSpec, h held, buf *[]float32) error {
	n := prod(s.shape)
	if s.frozen == nil || (h == heldQ8 && s.trans) {
		// Norms, biases and positions (small), and GPT-2's q8 Conv1D weights: whole, as loaded.
		v, _, err := src.Float32(s.name)
		if err != nil {
			return err
		}
		switch {
		case h == heldQ8:
			*s.frozen = gemm.Weights{Q8: QuantizeQ8(transposed(v, s.shape[0], s.shape[1]))}
		case s.w != nil:
			*s.w = v
		default:
			copy(s.dst, v)
		}
		return nil
	}
	// A matrix, drawn in checkpoint order: rows of row values (Conv1D: one input's outputs).
	row := s.shape[len(s.shape)-1]
	rows := max(1, randomChunk/row)
	if c := min(n, rows*row); cap(*buf) < c {
		*buf = make([]float32, c)
	}
	var put func(off int, v []float32)
	switch h {
	case heldQ8: // rows of (Out, In): blocks never straddle a chunk (In is a multiple of 32)
		q := gemm.Q8{Q: make([]int8, n), D: make([]uint16, n/Q8Block)}
		*s.frozen = gemm.Weights{Q8: q}
		put = func(off int, v []float32) { quantizeQ8At(q, off, v) }
	case heldBF16, heldF16:
		w := make([]uint16, n)
		h.set(s.frozen, w)
		_, round := h.dtype()
		put = func(off int, v []float32) {
			for i, f := range v {
				w[transposedIndex(s, off+i)] = round(f)
			}
		}
	default:
		w := make([]float32, n)
		*s.w = w
		put = func(off int, v []float32) {
			for i, f := range v {
				w[transposedIndex(s, off+i)] = f
			}
		}
	}
	stream := src.normal(s.name)
	for off := 0; off < n; off += rows * row {
		v := (*buf)[:min(rows*row, n-off)]
		stream.fill(v)
		put(off, v)
	}
	return nil
}

// transposedIndex is where checkpoint element k of spec s goes in memory: k itself, or for a
// Conv1D weight stored (in, out) its place in the (out, in) transpose.
func transposedIndex(s tensorSpec, k int) int {
	if !s.trans {
		return k
	}
	in, out := s.shape[0], s.shape[1]
	return (k%out)*in + k/out
}
