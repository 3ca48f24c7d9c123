package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/adapter/mixer"
	"github.com/moslora/moslora/kernels"
	"github.com/moslora/moslora/model"
)

// StepResult is what a child process measures for one training or forward case; it travels to
// the parent as one JSON line on the child's standard output.
type StepResult struct {
	Case       string    `json:"case"`
	Tokens     int       `json:"tokens"`       // per step: --batch × --seq
	Trainable  int       `json:"trainable"`    // trained parameters (0 for forward)
	StepS      []float64 `json:"step_s"`       // wall seconds of each timed step
	CPUS       []float64 `json:"cpu_s"`        // CPU seconds (all threads) of each timed step
	PeakRSSMiB float64   `json:"peak_rss_mib"` // the child's peak resident set, loading included
	Loss       float64   `json:"loss"`         // loss of the last training step (a sanity value)
}

// Targets are the seven projections every adapter case adapts.
var Targets = []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

// trainable is one trained tensor with its AdamW state.
type trainable struct {
	w, g []float32
	opt  *kernels.AdamWState
}

// loadModel builds the model of a case: the folder modelDir for base-19m, random weights for 135m
// and the --config / --preset cases, drawn directly in the base's dtype (model.NewRandomIn).
// base chooses how the frozen base is held (model.LoadOptions); log receives progress lines.
func loadModel(c Case, modelDir string, base model.BaseDtype, log io.Writer) (*model.Model, error) {
	if cfg := c.Config; cfg != nil || c.Model == Model135M {
		if cfg == nil {
			cfg = Parse135M()
		}
		start, next := time.Now(), int64(0)
		return model.NewRandomIn(cfg, 1, base, func(done, total int64) {
			if done >= next || done == total {
				fmt.Fprintf(log, "bench: %s: random weights %3.0f%% of %.2fB parameters (%.0f s)\n",
					c.Name, 100*float64(done)/float64(total), float64(total)/1e9, time.Since(start).Seconds())
				next = done + total/10
			}
		})
	}
	if _, err := model.LoadConfig(filepath.Join(modelDir, "config.json")); err != nil {
		return nil, fmt.Errorf("bench: case %s needs a model folder (--model): %w", c.Name, err)
	}
	return model.LoadWith(modelDir, model.LoadOptions{Base: base})
}

// RunStep loads the case's model and times o.Warmup + o.Steps steps of it at o.Batch × o.Seq
// tokens (training: forward, backward and one AdamW update with torch's defaults at lr 1e-4, as
// the PyTorch anchor does; forward: the logits of the batch), writing progress to log. Run it in
// a fresh process so PeakRSSMiB is this case's. With a non-nil profile, the timed steps are
// CPU-profiled (pprof format) into it. o.Compute sets the arithmetic of the base products
// (model.SetCompute); with bf16 and base auto the base is held in bf16 (rounded once, as train does).
func RunStep(c Case, o Options, log io.Writer, profile io.Writer) (*StepResult, error) {
	if c.Shape != nil || c.Method == "" {
		return nil, fmt.Errorf("bench: %s is not a training or forward case", c.Name)
	}
	base, err := model.ParseBaseDtype(o.BaseDtype)
	if err != nil {
		return nil, fmt.Errorf("bench: --base-dtype: %w", err)
	}
	compute, err := model.ParseCompute(o.Compute)
	if err != nil {
		return nil, fmt.Errorf("bench: --compute: %w", err)
	}
	if base == model.BaseAuto && compute == model.ComputeBF16 && c.Method != MethodFull {
		base = model.BaseBF16 // held in bf16, rounded once, as train does
	}
	batch, seq := o.Batch, o.Seq
	m, err := loadModel(c, o.ModelDir, base, log)
	if err != nil {
		return nil, err
	}
	m.SetRecompute(o.Recompute)
	m.SetCompute(compute)
	var ps []trainable
	var zero func()
	switch c.Method {
	case MethodFull:
		m.EnableFullGrads()
		for _, p := range m.Params() {
			ps = append(ps, trainable{w: p.W, g: p.DW, opt: kernels.NewAdamWState(len(p.W))})
		}
		zero = m.ZeroGrads
	case MethodForward: // nothing is trained
	default: // an adapter whose mixer the method selects (the mixer table)
		kind, ok := mixer.ByMethod(string(c.Method))
		if !ok {
			return nil, fmt.Errorf("bench: case %s: no adapter method %q", c.Name, c.Method)
		}
		cfg := adapter.DefaultConfig()
		cfg.R, cfg.LoraAlpha = Rank, Alpha
		cfg.TargetModules = adapter.Targets{List: Targets}
		cfg.Mixer = kind.Name
		a, err := adapter.New(cfg, m, 1)
		if err != nil {
			return nil, err
		}
		a.SetTraining(true)
		for _, p := range a.Params() {
			ps = append(ps, trainable{w: p.W, g: p.G, opt: kernels.NewAdamWState(len(p.W))})
		}
		zero = a.ZeroGrad
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, batch*seq) // (batch, seq) random tokens; labels = ids (next-token loss)
	for i := range ids {
		ids[i] = rng.IntN(m.Config.VocabSize)
	}
	opt := kernels.DefaultAdamW()
	opt.LR = 1e-4
	res := &StepResult{Case: c.Name, Tokens: batch * seq}
	for _, p := range ps {
		res.Trainable += len(p.w)
	}
	warmup, steps := o.Warmup, o.Steps
	for i := 0; i < warmup+steps; i++ {
		if i == warmup && profile != nil {
			if err := pprof.StartCPUProfile(profile); err != nil {
				return nil, fmt.Errorf("bench: CPU profile: %w", err)
			}
			defer pprof.StopCPUProfile()
		}
		t0, c0 := time.Now(), cpuSeconds()
		stop := ticker(log, fmt.Sprintf("%s: step %d of %d", c.Name, i+1, warmup+steps), 30*time.Second)
		if c.Method == MethodForward {
			if _, err := m.Forward(ids, batch, seq, false); err != nil {
				stop()
				return nil, err
			}
		} else {
			zero()
			loss, err := m.ForwardBackward(ids, ids, batch, seq)
			if err != nil {
				stop()
				return nil, err
			}
			for _, p := range ps {
				kernels.AdamWStep(p.w, p.g, p.opt, opt)
			}
			res.Loss = loss
		}
		stop()
		if i >= warmup {
			res.StepS = append(res.StepS, time.Since(t0).Seconds())
			res.CPUS = append(res.CPUS, cpuSeconds()-c0)
		}
	}
	res.PeakRSSMiB = peakRSSMiB()
	return res, nil
}

// ticker writes "bench: <what>: N s, peak RSS so far …" to log every period until the returned stop is called, so a
// step of minutes shows it is alive. Nothing is written for work shorter than one period.
func ticker(log io.Writer, what string, period time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				rss := ""
				if mib := peakRSSMiB(); mib > 0 {
					rss = fmt.Sprintf(", peak RSS so far %.2f GiB", mib/1024)
				}
				fmt.Fprintf(log, "bench: %s: %.0f s%s\n", what, time.Since(start).Seconds(), rss)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
