package main

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moslora/moslora/bench"
	"github.com/moslora/moslora/internal/sharedpath"
	"github.com/spf13/cobra"
)

func init() {
	var o bench.Options
	var child bool
	var lc llamaCppFlags
	var inf inferenceFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure GEMM GFLOP/s, training and forward tokens/s, peak RSS and MFU (optionally beside PyTorch)",
		Long: `Measure the GEMM shapes of a 135M Llama, and training steps (lora, moslora, full: batch 4 × 512,
r 16, alpha 32, one AdamW update) and forward steps of base-19m and the 135M shape, each training or
forward case in a child process so its peak RSS is its own. MFU is the step's model FLOPs per second
over the machine peak measured in the same run (see the bench package documentation).

Cases: gemm/NT/2048x1536x576 (or gemm/2048x576x1536 for every form of M×N×K), base-19m/lora,
base-19m/moslora, base-19m/full, base-19m/forward, 135m/lora, …; groups: gemm, base-19m, 135m;
a method (lora, moslora, full, forward) selects it for every model.

Real sizes: --config FILE (a Hugging Face config.json of the Llama, Mistral, Qwen2, Qwen3 or Gemma 3
family) or --preset NAME (` + strings.Join(bench.Presets, ", ") + `) replaces
those cases by NAME/lora, NAME/moslora, NAME/full and NAME/forward on random weights drawn directly
in --base-dtype (auto: as the config's dtype, bf16 for the presets), e.g.

  moslora bench --preset llama-3.2-1b --only lora --batch 4 --seq 512 --recompute --steps 1 --warmup 0

A case whose weights alone exceed the machine's memory (full fine-tuning of a 7B model) is refused.

--inference instead measures the inference cost of base, lora, moslora, global, gated and
gated-topk adapters (r 16 on q,k,v,o,gate,up,down; unmerged and, where possible, merged) relative to
the base model: prompt tokens/s and KV-cached greedy decode tokens/s, alternating the variants in
--rounds rounds on --threads threads (--only base-19m,135m picks the models).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if root := sharedpath.Root(); root != "" { // the defaults, looked up only when bench runs
				if o.ModelDir == "" {
					o.ModelDir = filepath.Join(root, "models", "base-19m")
				}
				if o.TorchScript == "" {
					o.TorchScript = filepath.Join(root, "bench", "torch_anchor.py")
				}
			}
			if child {
				return bench.RunChild(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			if o.Compare == "llamacpp" {
				return lc.run(cmd, o.ModelDir, o.JSON)
			}
			if inf.on {
				return inf.run(cmd, o, lc)
			}
			o.ChildArgs = func(name string) []string {
				a := []string{"bench", "--child", "--only", name, "--model", o.ModelDir,
					"--steps", strconv.Itoa(o.Steps), "--warmup", strconv.Itoa(o.Warmup), "--base-dtype", o.BaseDtype, "--compute", o.Compute}
				if o.Recompute {
					a = append(a, "--recompute")
				}
				a = append(a, "--batch", strconv.Itoa(o.Batch), "--seq", strconv.Itoa(o.Seq))
				if o.ConfigFile != "" {
					a = append(a, "--config", o.ConfigFile)
				}
				if o.Preset != "" {
					a = append(a, "--preset", o.Preset)
				}
				if o.CPUProfile != "" {
					a = append(a, "--cpuprofile", o.CPUProfile+"."+strings.ReplaceAll(name, "/", "_")+".pprof")
				}
				return a
			}
			return bench.Run(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Only, "only", "", "comma-separated cases or groups to run (default: all)")
	fl.IntVar(&o.Steps, "steps", 3, "timed steps of each training / forward case")
	fl.IntVar(&o.Warmup, "warmup", 1, "untimed warm-up steps before the timed ones")
	fl.StringVar(&o.ModelDir, "model", "", "model folder of the base-19m cases (default ../shared/models/base-19m beside the repository, when found)")
	fl.StringVar(&o.Compare, "compare", "", `"torch": run the PyTorch anchor with the same settings and print ratios; "llamacpp": prompt and decode tokens/s of --model in llama.cpp and in our decoder`)
	fl.StringVar(&o.Python, "python", "/usr/bin/python3", "Python interpreter with torch, for --compare torch")
	fl.StringVar(&o.TorchScript, "torch-script", "", "the PyTorch anchor script (default ../shared/bench/torch_anchor.py beside the repository, when found)")
	fl.StringVar(&o.BaseDtype, "base-dtype", "auto", "memory of the frozen base's matrices in the training / forward cases: auto (base-19m's bf16 stays bf16; random weights as their config's dtype: the 135m float32, the presets bf16), f32, bf16, f16, q8 (GGUF Q8_0 blocks)")
	fl.StringVar(&o.Compute, "compute", "f32", "arithmetic of the products with the frozen base and of attention's products in every case (GEMM shapes: SgemmBF16Compute): f32, or bf16 (bf16 inputs, float32 accumulation; the base is then held in bf16 unless --base-dtype says otherwise)")
	fl.StringVar(&o.ConfigFile, "config", "", "a Hugging Face config.json: run its cases (NAME/lora, …) on random weights instead of base-19m and 135m")
	fl.StringVar(&o.Preset, "preset", "", "a named config instead of --config: "+strings.Join(bench.Presets, ", "))
	fl.IntVar(&o.Batch, "batch", bench.Batch, "sequences per step of the training / forward cases")
	fl.IntVar(&o.Seq, "seq", bench.Seq, "tokens per sequence of the training / forward cases")
	fl.BoolVar(&o.Recompute, "recompute", false, "training cases recompute each decoder block's activations in the backward pass")
	fl.BoolVar(&o.JSON, "json", false, "print one JSON object per measurement")
	fl.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of each training / forward case's timed steps to PREFIX.<case>.pprof")
	lc.register(cmd)
	inf.register(cmd)
	fl.BoolVar(&child, "child", false, "internal: run the one case named by --only and print its JSON result")
	_ = fl.MarkHidden("child")
	rootCmd.AddCommand(cmd)
}
