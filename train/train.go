package train

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/internal/setting"
	"github.com/moslora/moslora/kernels"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/mpi"
)

// Model is what the trainer needs from a model (*model.Model satisfies it).
type Model interface {
	adapter.Base
	Params() []model.Param
	EnableFullGrads()
	ZeroGrads()
	// ForwardBackward runs one micro-batch of right-padded (batch, seq) ids and labels and
	// accumulates gradients of the mean cross-entropy of logits[:, t] against labels[:, t+1] over
	// labels ≠ -100; it returns that loss.
	ForwardBackward(ids, labels []int, batch, seq int) (float64, error)
	// ForwardBackwardSum is ForwardBackward for a part of a micro-batch: it returns the sum of the
	// token losses and their number, and accumulates the gradient of scale·sum.
	ForwardBackwardSum(ids, labels []int, batch, seq int, scale float64) (sum float64, count int, err error)
}

// Job is one training run.
type Job struct {
	Config   Config
	Model    Model
	Examples []data.Example // tokenized training set
	Pad      int            // pad id for batching
	Out      string         // output folder (created)
	Resume   bool           // continue from the newest checkpoint in Out
	// SaveEvery writes a checkpoint every N updates (0: only on interruption); Keep is how many
	// checkpoints to keep (default 1).
	SaveEvery, Keep int
	Reporter        Reporter
	// Names, when set, names settings in the messages Run prints (the CLI: as flags); nil: by key.
	Names func(setting string) string
	// AfterStep, when set, runs after every update with the 1-based step (e.g. periodic eval); an
	// error stops training.
	AfterStep func(step int) error
	// Base names the values the frozen base computes with ("f32", "bf16", "q8": jobs.BaseValues),
	// recorded in each checkpoint's state.json; Resume refuses a checkpoint recorded with another
	// (one recorded with none is accepted). "" records nothing.
	Base string
	// Comm, when it has more than one rank, runs the job data-parallel over them (parallel.go):
	// every rank calls Run with the same Job; rank 0 alone reads checkpoints and writes files.
	// nil: this process alone.
	Comm mpi.Comm

	// Test knobs (set by this package's tests only).
	noSplit   bool                   // run each micro-batch as one padded (B, T) block, not length-sorted parts
	stopAfter int                    // > 0: stop with a checkpoint, as on Ctrl-C, after that many updates
	start     func(*adapter.Adapter) // edits the freshly initialised adapter (e.g. another starting A)

	// Extend is the loaded adapter a run with Config.Extend starts from (PrepareExtend).
	Extend *adapter.Adapter

	// BaseModel is recorded as the adapter's base_model_name_or_path (the folder or name given).
	BaseModel string
	// Finish, when set, writes the run's outputs after the last update (on the rank that writes).
	// When it fails, Run saves a checkpoint of the finished training (so --resume writes the
	// outputs without training again) and returns Finish's error.
	Finish func(*Result) error
}

// ErrInterrupted is returned (wrapped) when training stopped early on request, after saving a
// checkpoint.
var ErrInterrupted = errors.New("training interrupted")

// Result summarizes a finished run.
type Result struct {
	Adapter   *adapter.Adapter // nil for full fine-tuning
	Steps     int              // updates done in total
	FinalLoss float64          // loss of the last update
	Tokens    int64
	Elapsed   time.Duration // training time, including the runs this one resumed
	Resumed   int           // step resumed from (0: fresh)
}

// Run trains until the planned number of updates, or until ctx is cancelled (then it saves a
// checkpoint and returns an error wrapping ErrInterrupted). It leaves the trained parameters in
// the model / adapter; see SaveOutputs for the files.
func Run(ctx context.Context, job *Job) (*Result, error) {
	cfg := job.Config.Canonical() // ratios of 1 are the runs from before they existed
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := job.Reporter
	if rep == nil {
		rep = Quiet{}
	}
	cfg, match, err := cfg.ResolveRank(job.Model) // equal-parameter runs: the rank from the model
	if err != nil {
		return nil, err
	}
	keep := max(1, job.Keep)
	par := newDataParallel(job.Comm)
	if !par.writes() {
		rep = Quiet{}
	} else if err := os.MkdirAll(job.Out, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if match != nil {
		rep.Printf("%s", match)
	}
	loader := data.Loader{Examples: job.Examples, Seed: cfg.Seed, Batch: cfg.Batch, Pack: cfg.Pack, MaxLen: cfg.MaxLen, Pad: job.Pad}
	if err := loader.Validate(); err != nil {
		return nil, err
	}

	// Trainable tensors.
	res := &Result{}
	var ps []*trainable
	if cfg.Method == MethodFull {
		job.Model.EnableFullGrads()
		for _, p := range job.Model.Params() {
			ps = append(ps, &trainable{name: p.Name, shape: p.Shape, w: p.W, g: p.DW, decay: len(p.Shape) >= 2, opt: kernels.NewAdamWState(len(p.W))})
		}
	} else {
		a, err := job.newAdapter(cfg) // fresh, or the extension of Job.Extend (extend.go)
		if err != nil {
			return nil, err
		}
		a.SetTraining(true)
		a.Config.BaseModel = job.BaseModel
		res.Adapter = a
		if job.start != nil {
			job.start(a)
		}
		for _, p := range a.Params() {
			if p.G == nil {
				continue // frozen
			}
			ps = append(ps, &trainable{name: p.Key, shape: p.Shape, w: p.W, g: p.G, decay: len(p.Shape) >= 2, group: p.Group, spans: p.Train, opt: kernels.NewAdamWState(len(p.W))})
		}
	}
	if err := checkGroups(cfg, ps); err != nil {
		return nil, err
	}
	if cfg.MixerWarmup > 0 && zeroB(ps) && !job.Resume {
		rep.Printf("mixer warm-up: B starts at zero, so the mixer's gradient is zero until B moves; the first %d updates change the mixer only by weight decay", cfg.MixerWarmup)
	}
	zero := func() {
		if res.Adapter != nil {
			res.Adapter.ZeroGrad()
		} else {
			job.Model.ZeroGrads()
		}
	}
	grads := make([][]float32, len(ps))
	var mixerGrads [][]float32 // what a mixer-only warm-up update clips and trains
	for i, p := range ps {
		grads[i] = p.g
		if p.group == adapter.GroupMixer {
			mixerGrads = append(mixerGrads, p.g)
		}
	}

	// Plan: micro-batches per epoch, updates per epoch (the last group of an epoch may be short).
	epochBatches := func(e int) []data.Batch { return loader.Epoch(e) }
	total := cfg.Steps
	if total <= 0 {
		for e := 0; e < cfg.Epochs; e++ {
			total += ceilDiv(len(epochBatches(e)), cfg.GradAccum)
		}
	}
	dg := dataDigest(job.Examples)
	st := state{Total: total, Config: cfg, Data: dg, Base: job.Base}
	metricsPath := filepath.Join(job.Out, MetricsFile)
	if err := par.checkSame(cfg, dg); err != nil {
		return nil, err
	}
	if job.Resume && par.writes() {
		if dir := LatestCheckpoint(job.Out); dir != "" {
			loaded, err := loadCheckpoint(dir, cfg, dg, job.Base, ps)
			if err != nil {
				return nil, err
			}
			st = loaded
			res.FinalLoss = st.Loss
			res.Resumed = st.Step
			rep.Printf("resuming from %s (step %d of %d)", dir, st.Step, total)
		} else {
			rep.Printf("no checkpoint in %s: starting from scratch", job.Out)
		}
	}
	if err := par.broadcastStart(ps, &st); err != nil {
		return nil, err
	}
	res.Resumed = st.Step
	if !par.writes() {
		metricsPath = "" // rank 0 keeps the log
	} else if err := truncateMetrics(metricsPath, st.Step); err != nil {
		return nil, err
	}

	batches := epochBatches(st.Epoch)
	save := func() (string, error) {
		if !par.writes() {
			return "rank 0's output folder", nil
		}
		return saveCheckpoint(job.Out, st, ps, keep, func(dir string) error {
			if res.Adapter == nil {
				return nil
			}
			return res.Adapter.Save(dir) // a checkpoint is itself a loadable adapter folder
		})
	}
	gs := gatesOf(res.Adapter) // gate entropy and usage per update (gated mixers)
	defer gs.count(false)
	start := time.Now()
	elapsed0 := st.ElapsedS
	warnWarmup(rep, cfg, total, job.Names)
	rep.Start(total, st.Step)
	defer rep.Finish()
	for st.Step < total {
		stop, err := par.anyStop(ctx.Err() != nil || (job.stopAfter > 0 && st.Step >= job.stopAfter))
		if err != nil {
			return nil, fmt.Errorf("train: step %d: %w", st.Step+1, err)
		}
		if stop {
			st.ElapsedS = elapsed0 + time.Since(start).Seconds()
			dir, serr := save()
			if serr != nil {
				return nil, fmt.Errorf("%w at step %d; saving the checkpoint failed: %v", ErrInterrupted, st.Step, serr)
			}
			res.Steps = st.Step
			return res, fmt.Errorf("%w at step %d: checkpoint saved in %s (resume to continue)", ErrInterrupted, st.Step, dir)
		}
		t0 := time.Now()
		zero()
		gs.count(true)
		// One update: up to GradAccum micro-batches from the current epoch.
		var lossSum float64
		used, tokens := 0, 0
		for k := 0; k < cfg.GradAccum && st.Batch < len(batches); k++ {
			b := batches[st.Batch]
			st.Batch++
			tokens += b.Tokens
			if b.Loss == 0 {
				continue // nothing to learn in this micro-batch (cannot happen with Encode's truncation)
			}
			loss, err := par.forwardBackward(job.Model, &b, !job.noSplit)
			if err != nil {
				return nil, fmt.Errorf("train: step %d: %w", st.Step+1, err)
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, fmt.Errorf("train: loss is %v at step %d (epoch %d, micro-batch %d); lower the learning rate (lr) or check the data", loss, st.Step+1, st.Epoch, st.Batch-1)
			}
			lossSum += loss
			used++
		}
		if st.Batch >= len(batches) { // epoch done: the next update starts the next epoch
			st.Epoch++
			st.Batch = 0
			batches = epochBatches(st.Epoch)
		}
		if err := par.reduce(grads, &lossSum); err != nil {
			return nil, fmt.Errorf("train: step %d: %w", st.Step+1, err)
		}
		if used > 1 { // mean of the micro-batch means (Hugging Face Trainer convention)
			scaleGrads(grads, float32(1/float64(used)))
		}
		for _, p := range ps {
			p.maskGrad() // frozen entries of an extended adapter (extend.go)
		}
		warm := st.Step < cfg.MixerWarmup // a mixer-only update: A and B stay as they are
		clipped := grads
		if warm {
			clipped = mixerGrads
		}
		norm := kernels.ClipGradNorm(clipped, cfg.Clip)
		if math.IsNaN(norm) || math.IsInf(norm, 0) {
			return nil, fmt.Errorf("train: gradient norm is %v at step %d; lower the learning rate (lr) or check the data", norm, st.Step+1)
		}
		lr := cfg.LR * LRFactor(cfg.Schedule, st.Step, cfg.Warmup, total)
		for _, p := range ps {
			if warm && p.group != adapter.GroupMixer {
				continue
			}
			wd := 0.0
			if p.decay {
				wd = cfg.WeightDecay
			}
			plr := lr * cfg.lrRatio(p.group) // LoRA+: B and the mixer may take a multiple of lr
			p.step(kernels.AdamWConfig{LR: plr, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps, WeightDecay: wd})
		}
		st.Step++
		st.Tokens += int64(tokens)
		st.ElapsedS = elapsed0 + time.Since(start).Seconds()
		loss := 0.0 // no micro-batch had a target (cannot happen with data.Encode's examples)
		if used > 0 {
			loss = lossSum / float64(used)
		}
		res.FinalLoss, st.Loss = loss, loss
		m := Metric{Step: st.Step, Epoch: float64(st.Epoch) + float64(st.Batch)/float64(len(batches)),
			Loss: loss, LR: lr, GradNorm: norm, TokensPerS: float64(tokens) / time.Since(t0).Seconds(),
			Tokens: st.Tokens, ElapsedS: st.ElapsedS}
		gs.fill(&m)
		if metricsPath != "" {
			if err := appendMetric(metricsPath, m); err != nil {
				return nil, err
			}
		}
		rep.Step(m, total)
		if job.AfterStep != nil {
			if err := job.AfterStep(st.Step); err != nil {
				return nil, err
			}
		}
		if job.SaveEvery > 0 && st.Step%job.SaveEvery == 0 && st.Step < total {
			if _, err := save(); err != nil {
				return nil, err
			}
		}
	}
	if res.Adapter != nil {
		res.Adapter.SetTraining(false)
	}
	res.Steps, res.Tokens, res.Elapsed = st.Step, st.Tokens, time.Duration(st.ElapsedS*float64(time.Second))
	if job.Finish != nil && par.writes() {
		if err := job.Finish(res); err != nil {
			dir, serr := save()
			if serr != nil {
				return nil, fmt.Errorf("%w; saving a checkpoint of the finished training failed too: %v", err, serr)
			}
			return nil, setting.Wrap(err, "", "", nil, "%v\nthe finished training is kept in %s: run the same command with %s to write the outputs without training again", err, dir, setting.Ref("resume"))
		}
	}
	return res, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// splitOverhead is the cost of one more forward/backward call in token equivalents, for
// data.Batch.Split.
const splitOverhead = 32

// forwardBackward adds the gradient of the mean loss over b's targets to the gradients and
// returns that loss. With split, b runs as length-sorted parts p (less padding), each adding the
// gradient of its token-loss sum S_p scaled by 1/b.Loss (ForwardBackwardSum's scale):
//
//	G = Σ_p ∇S_p / b.Loss = ∇(Σ_p S_p / b.Loss),   the gradient of the batch's mean loss
//
// as one padded block gives; no gradient is rescaled after the fact.
func forwardBackward(m Model, b *data.Batch, split bool) (float64, error) {
	if !split {
		return m.ForwardBackward(b.IDs, b.Labels, b.B, b.T)
	}
	return forwardBackwardParts(m, b.Split(splitOverhead), 1/float64(b.Loss))
}

// forwardBackwardParts adds the gradient of scale·Σ_p S_p to the gradients, S_p the token-loss
// sum of part p, and returns scale·Σ_p S_p.
func forwardBackwardParts(m Model, parts []data.Batch, scale float64) (float64, error) {
	var sum float64
	for _, p := range parts {
		if p.Loss == 0 {
			continue
		}
		s, _, err := m.ForwardBackwardSum(p.IDs, p.Labels, p.B, p.T, scale)
		if err != nil {
			return 0, err
		}
		sum += s
	}
	return sum * scale, nil
}

// scaleGrads multiplies every gradient by c.
func scaleGrads(grads [][]float32, c float32) {
	for _, g := range grads {
		for i := range g {
			g[i] *= c
		}
	}
}

// dataDigest hashes the tokenized training set (ids and labels), so a resume on other data fails.
func dataDigest(exs []data.Example) digest {
	h := fnv.New64a()
	var b [8]byte
	for _, e := range exs {
		binary.LittleEndian.PutUint64(b[:], uint64(len(e.IDs)))
		h.Write(b[:])
		for i := range e.IDs {
			binary.LittleEndian.PutUint32(b[:4], uint32(e.IDs[i]))
			binary.LittleEndian.PutUint32(b[4:], uint32(e.Labels[i]))
			h.Write(b[:])
		}
	}
	return digest{Examples: len(exs), Hash: fmt.Sprintf("%016x", h.Sum64())}
}
