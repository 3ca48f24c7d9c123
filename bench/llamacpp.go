package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/moslora/moslora/export"
	"github.com/moslora/moslora/model"
)

// LlamaCppOptions configure bench --compare llamacpp: the same model, prompt and thread count in
// our KV-cached decoder (what generate runs) and in llama.cpp (node-llama-cpp's prebuilt CPU
// build, driven by tests/llamacpp/run.mjs).
type LlamaCppOptions struct {
	ModelDir string // Hugging Face model folder (exported to GGUF for llama.cpp)
	Dir      string // tests/llamacpp: run.mjs and its node_modules
	Node     string // node executable
	OutTypes []export.GGUFOutType
	Threads  int // for both
	Prompt   int // prompt tokens
	Decode   int // decoded tokens after the prompt
	Rounds   int // alternating rounds; medians are reported
	JSON     bool
}

// LlamaCppRow is one line of the comparison: tokens/s of prompt processing and decoding,
// medians over the rounds.
type LlamaCppRow struct {
	Engine       string  `json:"engine"` // "moslora f32" or "llama.cpp q8_0", …
	Threads      int     `json:"threads"`
	PromptTokens int     `json:"prompt_tokens"`
	PromptTokS   float64 `json:"prompt_tok_s"`
	DecodeTokS   float64 `json:"decode_tok_s"`
	DecodeMsTok  float64 `json:"decode_ms_per_tok"`
}

// RunLlamaCpp measures prompt processing and decoding of o.ModelDir in our decoder (f32 weights)
// and in llama.cpp for each of o.OutTypes, alternating engine by engine for o.Rounds rounds, and
// writes a table (or JSON lines) of the medians to out.
func RunLlamaCpp(ctx context.Context, o LlamaCppOptions, out, log io.Writer) error {
	if _, err := os.Stat(filepath.Join(o.Dir, "node_modules", "node-llama-cpp", "package.json")); err != nil {
		return fmt.Errorf("bench: --compare llamacpp needs node-llama-cpp installed in %s (%s/install.sh)", o.Dir, o.Dir)
	}
	if o.Threads < 1 || o.Prompt < 1 || o.Decode < 1 || o.Rounds < 1 {
		return fmt.Errorf("bench: --threads, --prompt-tokens, --decode-tokens and --rounds must be ≥ 1")
	}
	m, err := model.Load(o.ModelDir)
	if err != nil {
		return err
	}
	if o.Prompt+o.Decode+1 > m.Config.MaxPositionEmbeddings {
		return fmt.Errorf("bench: %d prompt + %d decoded tokens exceed the model's %d positions", o.Prompt, o.Decode, m.Config.MaxPositionEmbeddings)
	}
	prompt := make([]int, o.Prompt)
	for i := range prompt {
		prompt[i] = (7919*i + 13) % m.Config.VocabSize
	}
	tmp, err := os.MkdirTemp("", "moslora-bench-llamacpp")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(tmp)
	files := map[export.GGUFOutType]string{}
	for _, t := range o.OutTypes {
		files[t] = filepath.Join(tmp, "model-"+t.String()+".gguf")
		fmt.Fprintf(log, "bench: exporting %s as GGUF %s\n", o.ModelDir, t)
		if _, err := export.GGUFModel(files[t], o.ModelDir, t, false, nil); err != nil {
			return err
		}
	}
	type sample struct{ prompt, decode []float64 }
	samples := map[string]*sample{}
	add := func(name string, p, d float64) {
		s := samples[name]
		if s == nil {
			s = &sample{}
			samples[name] = s
		}
		s.prompt, s.decode = append(s.prompt, p), append(s.decode, d)
	}
	ours := "moslora f32"
	for r := range o.Rounds {
		fmt.Fprintf(log, "bench: round %d/%d\n", r+1, o.Rounds)
		p, d, err := timeOurs(m, prompt, o.Decode, o.Threads)
		if err != nil {
			return err
		}
		add(ours, p, d)
		for _, t := range o.OutTypes {
			p, d, err := timeLlamaCpp(ctx, o, files[t], prompt)
			if err != nil {
				return err
			}
			add("llama.cpp "+t.String(), p, d)
		}
	}
	names := []string{ours}
	for _, t := range o.OutTypes {
		names = append(names, "llama.cpp "+t.String())
	}
	if !o.JSON {
		fmt.Fprintf(out, "| engine | threads | prompt tok/s (%d tokens) | decode tok/s | decode ms/token |\n|---|---|---|---|---|\n", o.Prompt)
	}
	for _, n := range names {
		s := samples[n]
		row := LlamaCppRow{Engine: n, Threads: o.Threads, PromptTokens: o.Prompt,
			PromptTokS: float64(o.Prompt) / median(s.prompt), DecodeTokS: float64(o.Decode) / median(s.decode),
			DecodeMsTok: 1000 * median(s.decode) / float64(o.Decode)}
		if o.JSON {
			b, _ := json.Marshal(row)
			fmt.Fprintf(out, "%s\n", b)
			continue
		}
		fmt.Fprintf(out, "| %s | %d | %.0f | %.1f | %.2f |\n", row.Engine, row.Threads, row.PromptTokS, row.DecodeTokS, row.DecodeMsTok)
	}
	return nil
}

// timeOurs runs the prompt through a fresh KV cache (as generate does) and then decodes n greedy
// tokens one at a time, on threads goroutines; it returns both durations in seconds.
func timeOurs(m *model.Model, prompt []int, n, threads int) (float64, float64, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	V := m.Config.VocabSize
	kc := m.NewKVCache(len(prompt) + n + 1)
	t0 := time.Now()
	logits, err := m.ForwardCached(prompt, kc)
	if err != nil {
		return 0, 0, err
	}
	next := argmax(logits[len(logits)-V:])
	tp := time.Since(t0).Seconds()
	t0 = time.Now()
	for range n {
		if logits, err = m.ForwardCached([]int{next}, kc); err != nil {
			return 0, 0, err
		}
		next = argmax(logits[len(logits)-V:])
	}
	return tp, time.Since(t0).Seconds(), nil
}

func argmax(x []float32) int {
	return slices.Index(x, slices.Max(x))
}

// timeLlamaCpp runs run.mjs's bench job on the GGUF file.
func timeLlamaCpp(ctx context.Context, o LlamaCppOptions, file string, prompt []int) (float64, float64, error) {
	job := map[string]any{"jobs": []any{map[string]any{"model": file, "threads": o.Threads, "contextSize": len(prompt) + o.Decode + 8,
		"bench": map[string]any{"ids": prompt, "decode": o.Decode}}}}
	b, _ := json.Marshal(job)
	f, err := os.CreateTemp("", "moslora-llamacpp-job*.json")
	if err != nil {
		return 0, 0, fmt.Errorf("bench: %w", err)
	}
	defer os.Remove(f.Name())
	f.Write(b)
	f.Close()
	cmd := exec.CommandContext(ctx, o.Node, filepath.Join(o.Dir, "run.mjs"), f.Name())
	cmd.Stderr = os.Stderr
	res, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("bench: llama.cpp (%s %s): %w", o.Node, filepath.Join(o.Dir, "run.mjs"), err)
	}
	var r struct {
		Results []struct {
			Bench struct {
				PromptSeconds float64 `json:"promptSeconds"`
				DecodeSeconds float64 `json:"decodeSeconds"`
				Decoded       int     `json:"decoded"`
			} `json:"bench"`
		} `json:"results"`
	}
	if err := json.Unmarshal(res, &r); err != nil || len(r.Results) != 1 || r.Results[0].Bench.Decoded != o.Decode {
		return 0, 0, fmt.Errorf("bench: unexpected llama.cpp output %q (%v)", res, err)
	}
	return r.Results[0].Bench.PromptSeconds, r.Results[0].Bench.DecodeSeconds, nil
}
