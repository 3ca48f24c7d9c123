// Command gen rebuilds the embedded default's data from ../shared (run from the repository root):
//
//	go run ./defaults/gen                     # the data slices and model folder
//	go run ./defaults/gen -bf16 SRC DST       # a trained model.safetensors stored as bf16
//
// It writes, deterministically:
//   - defaults/corpus.jsonl.gz: the public-domain part of ../shared/corpus/val_lit.txt.gz
//     (Austen's Persuasion, the end of Melville's Moby-Dick and King James Bible chapters; the
//     file's later Brown-corpus part is left out) as {"text"} rows of about 900 characters, the
//     corpus the default base model is pretrained on (see defaults/build.sh);
//   - defaults/tasks/train.jsonl and defaults/tasks/test.jsonl: a small multi-task set drawn from
//     those ../shared/data/tasks sources whose licence allows redistribution (sentiment: MIT;
//     spam: PDDL-1.0/CC0-1.0; quiz: BSD-3-Clause; define: WordNet 3.0 licence; gocode:
//     BSD-3-Clause); see defaults/LICENSES.md;
//   - defaults/model/: config.json of the tiny default model and the tokenizer files of
//     ../shared/models/base-19m.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moslora/moslora/safetensors"
)

// litLines is the number of leading lines of val_lit.txt.gz that are public-domain books; the
// lines after it are Brown-corpus samples, which are not redistributed.
const litLines = 13560

var tasks = []struct {
	name        string
	train, test int
}{
	{"sentiment", 300, 40}, {"spam", 300, 40}, {"quiz", 300, 40}, {"define", 300, 40}, {"gocode", 300, 40},
}

func main() {
	var err error
	if len(os.Args) == 4 && os.Args[1] == "-bf16" {
		err = toBF16(os.Args[2], os.Args[3])
	} else {
		err = run("../shared", "defaults")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(shared, out string) error {
	if err := corpus(filepath.Join(shared, "corpus", "val_lit.txt.gz"), filepath.Join(out, "corpus.jsonl.gz")); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "tasks"), 0o755); err != nil {
		return err
	}
	for _, split := range []string{"train", "test"} {
		var rows []string
		for _, t := range tasks {
			n := t.train
			if split == "test" {
				n = t.test
			}
			lines, err := firstLines(filepath.Join(shared, "data", "tasks", t.name, split+".jsonl"), n)
			if err != nil {
				return err
			}
			rows = append(rows, lines...)
		}
		if split == "train" {
			rows = interleave(rows, len(tasks))
		}
		if err := os.WriteFile(filepath.Join(out, "tasks", split+".jsonl"), []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(out, "model"), 0o755); err != nil {
		return err
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(shared, "models", "base-19m", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "model", f), b, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(out, "model", "config.json"), []byte(modelConfig), 0o644)
}

// modelConfig is the tiny default model: the base-19m tokenizer (16384 tokens) and a 4-layer
// Llama of width 128 (2.8M parameters, most of them the tied embedding).
const modelConfig = `{
  "architectures": ["LlamaForCausalLM"],
  "model_type": "llama",
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 128,
  "intermediate_size": 384,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
  "head_dim": 32,
  "num_hidden_layers": 4,
  "max_position_embeddings": 512,
  "rms_norm_eps": 1e-05,
  "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
  "tie_word_embeddings": true,
  "attention_bias": false,
  "mlp_bias": false,
  "dtype": "bfloat16",
  "vocab_size": 16384
}
`

// corpus writes the public-domain books as {"text"} rows of whole paragraphs, about 900
// characters each.
func corpus(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var b strings.Builder
	var chunk strings.Builder
	flush := func() {
		if t := strings.TrimSpace(chunk.String()); t != "" {
			j, _ := json.Marshal(map[string]string{"text": t})
			b.Write(j)
			b.WriteByte('\n')
		}
		chunk.Reset()
	}
	for n := 0; n < litLines && sc.Scan(); n++ {
		line := sc.Text()
		if line == "" && chunk.Len() >= 900 {
			flush()
			continue
		}
		chunk.WriteString(line)
		chunk.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return err
	}
	flush()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
	if _, err := io.WriteString(zw, b.String()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}

func firstLines(path string, n int) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < n {
		return nil, fmt.Errorf("%s: %d rows, want %d", path, len(lines), n)
	}
	return lines[:n], nil
}

// interleave reorders k equal consecutive groups round-robin so every prefix mixes the tasks.
func interleave(rows []string, k int) []string {
	per := len(rows) / k
	out := make([]string, 0, len(rows))
	for i := 0; i < per; i++ {
		for g := 0; g < k; g++ {
			out = append(out, rows[g*per+i])
		}
	}
	return out
}

// toBF16 rewrites a safetensors file with every floating-point tensor stored as bfloat16 (how the
// default model is shipped: half the bytes; the model computes in float32 either way).
func toBF16(src, dst string) error {
	f, err := safetensors.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	var ts []safetensors.Tensor
	for _, name := range f.Names() {
		v, info, err := f.Float32(name)
		if err != nil {
			return err
		}
		ts = append(ts, safetensors.FromFloat32As(name, info.Shape, v, safetensors.BF16))
	}
	return safetensors.WriteFile(dst, ts, map[string]string{"format": "pt"})
}
