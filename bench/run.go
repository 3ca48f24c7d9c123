package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/kernels/gemm/openblas"
	"github.com/moslora/moslora/model"
)

// Options configures a bench run.
type Options struct {
	Only        string // comma-separated cases or groups (Select); empty: all
	Warmup      int    // untimed steps before the timed ones
	Steps       int    // timed steps of each training / forward case
	ModelDir    string // the base-19m model folder
	Compare     string // "" or "torch"
	Python      string // interpreter of the PyTorch anchor
	TorchScript string // path of torch_anchor.py
	JSON        bool   // one JSON object per measurement instead of aligned text
	CPUProfile  string // child mode: write a CPU profile of the timed steps to this file
	BaseDtype   string // frozen base storage of the training / forward cases (model.ParseBaseDtype)
	Recompute   bool   // training cases recompute each block's activations in the backward pass
	Compute     string // arithmetic of the base products (model.ParseCompute), GEMM cases included
	ConfigFile  string // --config: a Hugging Face config.json whose cases replace the default ones
	Preset      string // --preset: a named config (Presets), as ConfigFile
	Batch, Seq  int    // step shape of the training / forward cases (--batch, --seq; default Batch, Seq)

	// ChildArgs returns the arguments that make this program's executable run exactly one
	// training / forward case in child mode (RunChild), e.g. ["bench", "--only", name, "--child",
	// …]. Each such case runs in its own process so its peak RSS is its own.
	ChildArgs func(name string) []string
}

// Measurement is one reported number. Ratio, when set, is ours / theirs.
type Measurement struct {
	Name  string   `json:"name"`
	Value float64  `json:"value"`
	Unit  string   `json:"unit"`
	Ratio *float64 `json:"ratio,omitempty"`
}

// Validate checks the options a user sets.
func (o *Options) Validate() error {
	if o.Steps < 1 || o.Warmup < 0 {
		return fmt.Errorf("bench: --steps must be ≥ 1 and --warmup ≥ 0 (got %d, %d)", o.Steps, o.Warmup)
	}
	if o.Batch < 1 || o.Seq < 2 {
		return fmt.Errorf("bench: --batch must be ≥ 1 and --seq ≥ 2 (got %d, %d)", o.Batch, o.Seq)
	}
	if _, err := model.ParseBaseDtype(o.BaseDtype); err != nil {
		return fmt.Errorf("bench: --base-dtype: %w", err)
	}
	if _, err := model.ParseCompute(o.Compute); err != nil {
		return fmt.Errorf("bench: --compute: %w", err)
	}
	if o.Compare != "" && o.Compare != "torch" {
		return fmt.Errorf("bench: --compare %q: only \"torch\" is supported", o.Compare)
	}
	if o.Compare == "torch" && (o.ConfigFile != "" || o.Preset != "" || o.Batch != Batch || o.Seq != Seq) {
		return fmt.Errorf("bench: --compare torch runs the default cases at 4 × 512 only (not with --config, --preset, --batch or --seq)")
	}
	if o.Compare == "torch" {
		if _, err := os.Stat(o.TorchScript); err != nil {
			return fmt.Errorf("bench: --compare torch needs the anchor script (--torch-script): %w", err)
		}
	}
	return nil
}

// RunChild runs the single case named by o.Only in this process and writes its StepResult as one
// JSON line to w.
func RunChild(o Options, w, log io.Writer) error {
	all, err := o.Cases()
	if err != nil {
		return err
	}
	c, err := LookupIn(all, o.Only)
	if err != nil {
		return err
	}
	var prof io.Writer
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer f.Close()
		prof = f
	}
	r, err := RunStep(c, o, log, prof)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(r)
}

// Run measures the selected cases and writes their measurements to out (progress goes to log):
// GEMM shapes in this process, then each training / forward case in a child process, with the
// PyTorch anchor after it when o.Compare is "torch".
func Run(ctx context.Context, o Options, out, log io.Writer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	all, err := o.Cases()
	if err != nil {
		return err
	}
	cases, err := SelectFrom(all, o.Only)
	if err != nil {
		return err
	}
	batch, seq := o.Batch, o.Seq
	threads := runtime.GOMAXPROCS(0)
	emit := func(m Measurement) {
		if o.JSON {
			b, _ := json.Marshal(m)
			fmt.Fprintf(out, "%s\n", b)
			return
		}
		fmt.Fprintf(out, "%-40s %12s %-12s", m.Name, format(m.Value), m.Unit)
		if m.Ratio != nil {
			fmt.Fprintf(out, " ratio %.3f", *m.Ratio)
		}
		fmt.Fprintln(out)
	}
	ratio := func(ours, theirs float64) *float64 { r := ours / theirs; return &r }
	fmt.Fprintf(log, "bench: %d threads (GOMAXPROCS), %s/%s, gemm micro-kernel %s, OpenBLAS linked: %v\n",
		threads, runtime.GOOS, runtime.GOARCH, gemm.KernelName(), openblas.Available)

	compute, _ := model.ParseCompute(o.Compute) // checked by Validate
	// The product the GEMM cases and the peak time: the arithmetic of the training cases, so MFU
	// under --compute bf16 is against the bf16 peak, not float32's (which would exceed 100%).
	product := gemm.Sgemm
	if compute == model.ComputeBF16 { // B rounded while packed
		product = func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			gemm.SgemmBF16Compute(ta, tb, m, n, k, alpha, a, lda, gemm.Weights{F32: b}, ldb, beta, c, ldc)
		}
	}
	// GEMM shapes.
	best, bestOB := map[string]gemmTiming{}, map[string]gemmTiming{} // shape name → our / OpenBLAS's timing
	for _, c := range cases {
		if c.Shape == nil {
			continue
		}
		s := *c.Shape
		fmt.Fprintf(log, "bench: %s (%.2f GFLOP)\n", c.Name, s.Flops()/1e9)
		o := newOperands(s)
		reps, dur := gemmReps(s)
		tm := timeGemm(s, o, product, reps, dur)
		ours := tm.GFLOPS(s)
		emit(Measurement{Name: c.Name, Value: ours, Unit: "GFLOP/s"})
		emit(Measurement{Name: c.Name + "/per_cpu_s", Value: tm.CPUGFLOPS(s), Unit: "GFLOP/CPU-s"})
		best[s.Name()] = tm
		if openblas.Available {
			openblas.SetThreads(threads)
			tt := timeGemm(s, o, openblas.Sgemm, reps, dur)
			theirs := tt.GFLOPS(s)
			emit(Measurement{Name: c.Name + "/openblas", Value: theirs, Unit: "GFLOP/s", Ratio: ratio(ours, theirs)})
			emit(Measurement{Name: c.Name + "/openblas/per_cpu_s", Value: tt.CPUGFLOPS(s), Unit: "GFLOP/CPU-s", Ratio: ratio(tm.CPUGFLOPS(s), tt.CPUGFLOPS(s))})
			bestOB[s.Name()] = tt
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}

	// Training and forward cases.
	var peak Peak
	steps := map[string][2]float64{} // case name → median step wall and CPU seconds, for MoSLoRA vs LoRA
	for _, c := range cases {
		if c.Shape != nil {
			continue
		}
		if peak.GFLOPS == 0 {
			peak = betterPeak(peakFrom(best, "ours"), peakFrom(bestOB, "openblas"))
			if peak.GFLOPS == 0 {
				fmt.Fprintf(log, "bench: measuring the machine peak (large GEMM shapes)\n")
				peak = measurePeak(threads, product)
			}
			emit(Measurement{Name: "peak/" + peak.Source + "/" + peak.Shape, Value: peak.GFLOPS, Unit: "GFLOP/s"})
			emit(Measurement{Name: "peak/" + peak.Source + "/per_cpu_s", Value: peak.CPUGFLOPS, Unit: "GFLOP/CPU-s"})
		}
		cfg, err := caseConfig(c, o.ModelDir)
		if err != nil {
			return err
		}
		fl, err := Count(cfg, c.Method, Rank, seq)
		if err != nil {
			return err
		}
		need, err := o.checkMemory(c, cfg)
		if err != nil {
			return err
		}
		perTok := fl.Total()
		fmt.Fprintf(log, "bench: %s (%.1f MFLOP/token, batch %d × %d, base weights %.2f GiB, %d warm-up + %d timed steps, child process)\n",
			c.Name, perTok/1e6, batch, seq, float64(need)/(1<<30), o.Warmup, o.Steps)
		r, err := runChild(ctx, o, c, log)
		if err != nil {
			return err
		}
		step := median(r.StepS)
		tps := float64(r.Tokens) / step
		mfu := func(tokensPerS float64) float64 { return 100 * tokensPerS * perTok / (peak.GFLOPS * 1e9) }
		emit(Measurement{Name: c.Name + "/tokens_per_s", Value: tps, Unit: "tokens/s"})
		emit(Measurement{Name: c.Name + "/step_s", Value: step, Unit: "s"})
		emit(Measurement{Name: c.Name + "/step_s_min", Value: slices.Min(r.StepS), Unit: "s"})
		emit(Measurement{Name: c.Name + "/cpu_per_step", Value: median(r.CPUS), Unit: "CPU-s"})
		emit(Measurement{Name: c.Name + "/peak_rss", Value: r.PeakRSSMiB, Unit: "MiB"})
		emit(Measurement{Name: c.Name + "/flops_per_token", Value: perTok / 1e6, Unit: "MFLOP/token"})
		emit(Measurement{Name: c.Name + "/model_flops", Value: tps * perTok / 1e9, Unit: "GFLOP/s"})
		emit(Measurement{Name: c.Name + "/mfu", Value: mfu(tps), Unit: "%"})
		if o.Recompute && c.Method != MethodForward {
			// The recomputed block forwards are work the hardware did but the model's FLOPs omit.
			emit(Measurement{Name: c.Name + "/hfu", Value: mfu(tps) * (perTok + RecomputeFlops(cfg, seq)) / perTok, Unit: "%"})
		}
		if cpu := median(r.CPUS); cpu > 0 && peak.CPUGFLOPS > 0 {
			emit(Measurement{Name: c.Name + "/cpu_mfu", Value: 100 * float64(r.Tokens) * perTok / cpu / (peak.CPUGFLOPS * 1e9), Unit: "%"})
		}
		steps[c.Name] = [2]float64{step, median(r.CPUS)}
		if c.Method == MethodMoSLoRA {
			if lora, ok := steps[c.Model+"/"+string(MethodLoRA)]; ok {
				emit(Measurement{Name: c.Name + "/lora/step_s", Value: lora[0], Unit: "s", Ratio: ratio(step, lora[0])})
				if lora[1] > 0 {
					emit(Measurement{Name: c.Name + "/lora/cpu_per_step", Value: lora[1], Unit: "CPU-s", Ratio: ratio(median(r.CPUS), lora[1])})
				}
			}
		}
		if o.Compare == "torch" {
			fmt.Fprintf(log, "bench: %s with the PyTorch anchor\n", c.Name)
			t, err := runTorch(ctx, o.Python, o.TorchScript, c, o.ModelDir, o.Warmup, o.Steps, threads, log)
			if err != nil {
				return err
			}
			ttps := float64(r.Tokens) / t.StepSMedian
			emit(Measurement{Name: c.Name + "/torch/tokens_per_s", Value: ttps, Unit: "tokens/s", Ratio: ratio(tps, ttps)})
			emit(Measurement{Name: c.Name + "/torch/step_s", Value: t.StepSMedian, Unit: "s", Ratio: ratio(step, t.StepSMedian)})
			emit(Measurement{Name: c.Name + "/torch/peak_rss", Value: t.PeakRSSMiB, Unit: "MiB", Ratio: ratio(r.PeakRSSMiB, t.PeakRSSMiB)})
			emit(Measurement{Name: c.Name + "/torch/mfu", Value: mfu(ttps), Unit: "%", Ratio: ratio(mfu(tps), mfu(ttps))})
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// peakFrom is the best rate among the large shapes when all of them were measured, else zero.
func peakFrom(best map[string]gemmTiming, source string) Peak {
	p := Peak{Source: source}
	for _, s := range peakShapes() {
		t, ok := best[s.Name()]
		if !ok {
			return Peak{}
		}
		if g := t.GFLOPS(s); g > p.GFLOPS {
			p.GFLOPS, p.Shape = g, s.Name()
		}
		p.CPUGFLOPS = max(p.CPUGFLOPS, t.CPUGFLOPS(s))
	}
	return p
}

// betterPeak is the peak with the higher wall-clock rate (the machine's peak is the best either
// GEMM reached), its CPU rate the higher of the two.
func betterPeak(a, b Peak) Peak {
	cpu := max(a.CPUGFLOPS, b.CPUGFLOPS)
	if b.GFLOPS > a.GFLOPS {
		a = b
	}
	a.CPUGFLOPS = cpu
	return a
}

// caseConfig is the model config of a training / forward case (the parent counts FLOPs from it
// without loading weights).
func caseConfig(c Case, modelDir string) (*model.Config, error) {
	if c.Config != nil {
		return c.Config, nil
	}
	if c.Model == Model135M {
		return Parse135M(), nil
	}
	cfg, err := model.LoadConfig(modelDir + "/config.json")
	if err != nil {
		return nil, fmt.Errorf("bench: case %s needs a model folder (--model): %w", c.Name, err)
	}
	return cfg, nil
}

// runChild runs case c in a child process of this executable and parses its StepResult.
func runChild(ctx context.Context, o Options, c Case, log io.Writer) (*StepResult, error) {
	if o.ChildArgs == nil {
		return nil, fmt.Errorf("bench: no child command configured for %s", c.Name)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: locating this executable for the child process: %w", err)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, exe, o.ChildArgs(c.Name)...)
	cmd.Stderr = log
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bench: child process for %s: %w", c.Name, err)
	}
	var r StepResult
	if err := json.Unmarshal(lastLine(b), &r); err != nil || len(r.StepS) == 0 {
		return nil, fmt.Errorf("bench: child process for %s: want a JSON StepResult line, got %q", c.Name, lastLine(b))
	}
	if c.Method == MethodForward {
		fmt.Fprintf(log, "bench: %s done in %.1f s\n", c.Name, time.Since(start).Seconds())
	} else {
		fmt.Fprintf(log, "bench: %s done in %.1f s (last loss %.4f)\n", c.Name, time.Since(start).Seconds(), r.Loss)
	}
	return &r, nil
}

// median of v (the upper middle for an even count); v is not modified.
func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// format prints a value with 4–5 significant digits without an exponent for the usual ranges.
func format(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	default:
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
}
