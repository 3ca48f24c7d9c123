package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/moslora/moslora/defaults"

	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/mpi"
	"github.com/moslora/moslora/train"
	"github.com/spf13/cobra"
)

func init() {
	cfg := train.DefaultConfig()
	var f jobs.TrainFiles
	var targets, initMode string
	cmd := &cobra.Command{
		Use:   "train --model DIR --data FILE --out DIR [flags]",
		Short: "Train a LoRA / MoSLoRA adapter (or fully fine-tune) on JSONL data",
		Long: `Train an adapter (lora, moslora, global, gated) or all weights (full) of a Hugging Face
decoder model on JSONL rows ({"text"}, {"prompt","completion"} or {"messages"}).

The output folder receives the PEFT adapter (adapter_config.json, adapter_model.safetensors) or,
with --method full, config.json + model.safetensors; the tokenizer files; metrics.jsonl (one line
per update); train_config.json; checkpoints (checkpoint-<step>) every --save-every updates and on
Ctrl-C or SIGTERM. --resume continues from the newest checkpoint to the same result as an
uninterrupted run; each checkpoint-<step> of an adapter run is itself a loadable adapter folder.
--batch is the micro-batch; the effective batch is batch × grad-accum.

An --out that holds an earlier run (adapter, model, checkpoints or metrics.jsonl) is refused
unless --resume (continue it) or --force (start over: its checkpoints and metrics go at once, its
outputs when this run finishes). The finished outputs appear together at the end; while a run
holds the folder, .moslora.lock names its process and a second training into it is refused.

The embedded default (package defaults, the model and tasks 'moslora demo' uses: a 2.9M-parameter
Llama pretrained by this project) needs no download: --model default trains on it, --data default
and --eval default name its task set, e.g.
  moslora train --model default --data default --eval default --out runs/first
` + extendHelp + ranksHelp,
		Args: cobra.NoArgs,
		RunE: withRanks(func(cmd *cobra.Command, c mpi.Comm) error {
			f.Comm = c
			if f.ModelDir == "" || f.Data == "" || f.Out == "" {
				return fmt.Errorf("train: --model, --data and --out are required")
			}
			warnings, err := train.CheckFlags(cfg, f.Keep, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(os.Stderr, w.Render(flagName))
			}
			if err := checkExtendFlags(cmd, f.Extend); err != nil {
				return err
			}
			f.CommandLine, f.BaseModelName, f.Names = os.Args, f.ModelDir, flagName
			cleanup, err := defaults.Use(&f.ModelDir, &f.Data, &f.Eval)
			if err != nil {
				return err
			}
			defer cleanup()
			switch initMode {
			case "pretrained":
			case "random":
				f.InitRandom = true
			default:
				return fmt.Errorf("train: --init %q: expected pretrained or random", initMode)
			}
			cfg.Targets = strings.Split(targets, ",")
			if !cmd.Flags().Changed("lr") {
				cfg.LR = train.DefaultLR(cfg.Method)
			}
			if cmd.Flags().Changed("steps") {
				cfg.Epochs = 0
			}
			for _, r := range []struct {
				flag string
				v    float64
			}{{"lr-ratio-b", cfg.LRRatioB}, {"lr-ratio-mixer", cfg.LRRatioMixer}} {
				if !(r.v > 0) {
					return fmt.Errorf("train: --%s %v: expected a positive multiplier of --lr (1: the same rate)", r.flag, r.v)
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
			defer stop()
			w := cmd.OutOrStdout()
			s, err := jobs.Train(ctx, cfg, f, os.Stderr)
			if err != nil {
				return err
			}
			r := s.Result
			fmt.Fprintf(w, "trained %s: %d updates, final loss %.4f, %d tokens in %s (%.0f tokens/s)\n",
				s.Config.Method, r.Steps, r.FinalLoss, r.Tokens, r.Elapsed.Round(1e9), float64(r.Tokens)/max(1e-9, r.Elapsed.Seconds()))
			fmt.Fprintf(w, "rows %d (skipped %d, truncated to %d tokens: %d), trainable parameters %d\n", s.Rows, s.Skipped, cfg.MaxLen, s.Truncated, s.Trainable)
			fmt.Fprintf(w, "output: %s\n", f.Out)
			if s.Eval != nil {
				fmt.Fprintf(w, "evaluation of %s (also in %s/eval.json):\n", f.Eval, f.Out)
				return s.Eval.WriteTable(w)
			}
			return nil
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ModelDir, "model", "", "Hugging Face model folder (config.json, model.safetensors, tokenizer.json), or \"default\" for the embedded model")
	fl.StringVar(&f.Data, "data", "", "training JSONL file, or \"default\" for the embedded task set")
	fl.StringVar(&f.Eval, "eval", "", "evaluation JSONL file, scored after training (eval.json), or \"default\" for the embedded held-out rows")
	fl.StringVar(&f.Out, "out", "", "output folder")
	fl.StringVar(&cfg.Method, "method", cfg.Method, train.Methods()+" (an adapter whose mixer the method selects, or full fine-tuning)")
	fl.IntVar(&cfg.Rank, "rank", cfg.Rank, "adapter rank r")
	fl.Float64Var(&cfg.Alpha, "alpha", cfg.Alpha, "lora_alpha (scaling alpha/r)")
	fl.IntVar(&cfg.Subspaces, "subspaces", cfg.Subspaces, "K subspaces of r/K for the global and gated mixers")
	fl.IntVar(&cfg.TopK, "top-k", 0, "gated-topk: each token keeps the k largest of its --subspaces K gates, 1 ≤ k ≤ K (0: MixLoRA's 2, or K when K < 2)")
	fl.StringVar(&targets, "targets", strings.Join(cfg.Targets, ","), "modules to adapt: q,k,v,o,gate,up,down, module names, or all-linear (every linear layer but the output head)")
	fl.StringVar(&cfg.MixerInit, "mixer-init", "", "moslora mixer initialisation: kaiming (default), orthogonal, identity")
	fl.Float64Var(&cfg.LR, "lr", cfg.LR, "peak learning rate (default 1e-3; 3e-4 for --method full)")
	fl.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs over the data (ignored with --steps)")
	fl.IntVar(&cfg.Steps, "steps", 0, "optimizer updates (overrides --epochs)")
	fl.IntVar(&cfg.Batch, "batch", cfg.Batch, "sequences per micro-batch")
	fl.IntVar(&cfg.GradAccum, "grad-accum", cfg.GradAccum, "micro-batches per update")
	fl.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "linear warm-up updates")
	fl.StringVar(&cfg.Schedule, "schedule", cfg.Schedule, "cosine | linear | constant (after warm-up)")
	fl.Float64Var(&cfg.Clip, "clip", cfg.Clip, "max global gradient norm (0: off)")
	fl.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "AdamW decoupled weight decay (matrices only)")
	fl.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of initialisation and data order")
	fl.IntVar(&cfg.MaxLen, "max-len", cfg.MaxLen, "max tokens per example (keeps BOS and the last tokens)")
	fl.BoolVar(&cfg.Pack, "pack", false, "pack short examples into sequences of --max-len")
	fl.Float64Var(&cfg.LRRatioB, "lr-ratio-b", 1, "LoRA+: B's learning rate is lr × this")
	fl.Float64Var(&cfg.LRRatioMixer, "lr-ratio-mixer", 1, "LoRA+-style: the mixer's learning rate is lr × this")
	fl.StringVar(&cfg.MatchParams, "match-params", "", "train at the rank whose trainable parameter count is nearest this method's at --rank (e.g. --method lora --match-params moslora)")
	fl.IntVar(&cfg.MixerWarmup, "mixer-warmup", 0, "the first N updates train only the mixer (A and B frozen)")
	fl.StringVar(&f.Extend, "extend", "", "continual learning: start from this adapter folder and train only --extend-rank new subspaces (see above)")
	fl.IntVar(&f.ExtendRank, "extend-rank", -1, "rank of the subspaces --extend appends (-1: the adapter's own r; 0: none, train the adapter itself)")
	fl.BoolVar(&f.SkipBad, "skip-bad", false, "skip (and count) bad JSONL lines instead of failing")
	fl.BoolVar(&f.Resume, "resume", false, "continue from the newest checkpoint in --out")
	fl.BoolVar(&f.Force, "force", false, "start over in an --out that holds an earlier run")
	fl.IntVar(&f.SaveEvery, "save-every", 0, "write a checkpoint every N updates (0: only on Ctrl-C)")
	fl.IntVar(&f.Keep, "keep", 1, "checkpoints to keep (≥ 1)")
	fl.IntVar(&f.LogEvery, "log-every", 10, "progress line every N updates when not on a terminal")
	fl.IntVar(&f.Limit, "limit", 0, "train on the first N rows only")
	fl.IntVar(&f.EvalLimit, "eval-limit", 0, "evaluate the first N rows of --eval only")
	fl.StringVar(&f.BaseDtype, "base-dtype", "auto", "memory of the frozen base's matrices: auto (a bf16 or f16 checkpoint stays in its 16 bits, others float32), f32, bf16 or f16 (rounds the checkpoint to nearest even; f16: magnitudes from 65520 become ±Inf), q8 (GGUF Q8_0 blocks of 32 int8 + one f16 scale)")
	fl.StringVar(&cfg.Compute, "compute", "f32", "arithmetic of the products with the frozen base and of attention's products: f32, or bf16 (inputs rounded to bfloat16, float32 accumulation, as PyTorch's CPU autocast; AVX512-BF16, else a slow exact emulation; adapters, norms, softmax, loss and optimizer stay float32)")
	fl.BoolVar(&f.Recompute, "recompute", false, "keep only each decoder block's input and mid residual and recompute the rest of the block (all but its o_proj and down_proj products) in the backward pass (bit-identical gradients, about 1/4 more compute, far less activation memory)")
	fl.StringVar(&initMode, "init", "pretrained", "pretrained | random (train a base model from config.json; --method full)")
	rootCmd.AddCommand(cmd)
}
