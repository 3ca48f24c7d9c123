package export

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// peftConfigFields are the fields of PEFT's LoraConfig, read from an adapter_config.json that
// PEFT itself wrote (save_pretrained writes every field).
func peftConfigFields(t *testing.T) map[string]bool {
	t.Helper()
	var doc map[string]any
	shared.ReadJSON(t, filepath.Join(shared.Path(t, "fixtures", "hf", "llama", "lora_r4"), "adapter_config.json"), &doc)
	if v, _ := doc["peft_version"].(string); v == "" {
		t.Fatal("the PEFT fixture config has no peft_version: not written by PEFT")
	}
	out := map[string]bool{}
	for k := range doc {
		out[k] = true
	}
	return out
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestPEFTExportIsStockLoRA: exporting MoSLoRA to the peft form writes only lora_A / lora_B keys
// and a config with only LoraConfig fields, and loading it gives the unfolded logits.
func TestPEFTExportIsStockLoRA(t *testing.T) {
	for _, family := range []string{"llama", "qwen2"} {
		t.Run(family, func(t *testing.T) {
			baseDir, m, a, ids, B, T := fixture(t, family, "moslora_r4")
			unfolded := logits(t, m, ids, B, T)
			n := len(a.Linears)
			out := filepath.Join(t.TempDir(), "peft")
			if err := PEFT(out, a, false); err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Open(filepath.Join(out, adapter.WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, k := range f.Names() {
				if !strings.HasSuffix(k, ".lora_A.weight") && !strings.HasSuffix(k, ".lora_B.weight") {
					t.Errorf("peft export holds %q", k)
				}
			}
			if len(f.Names()) != 2*n {
				t.Errorf("%d tensors, want %d (A and B of %d modules)", len(f.Names()), 2*n, n)
			}
			fields := peftConfigFields(t)
			for k := range readJSON(t, filepath.Join(out, adapter.ConfigFile)) {
				if !fields[k] {
					t.Errorf("adapter_config.json field %q is not a PEFT LoraConfig field", k)
				}
			}
			fresh, err := model.Load(baseDir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := adapter.Load(out, fresh); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "peft export vs unfolded logits", logits(t, fresh, ids, B, T), unfolded, tolFolded)
		})
	}
}

// TestPEFTMoSLoRAExportRoundTrips: the official form keeps lora_AB bit for bit and
// "lora_use_mixer": true; other mixers are refused with a pointer to the peft form.
func TestPEFTMoSLoRAExportRoundTrips(t *testing.T) {
	root := shared.Path(t, "fixtures", "hf", "llama")
	baseDir, m, a, ids, B, T := fixture(t, "llama", "moslora_r4")
	want := logits(t, m, ids, B, T)
	out := filepath.Join(t.TempDir(), "moslora")
	if err := PEFTMoSLoRA(out, a, false); err != nil {
		t.Fatal(err)
	}
	if cfg := readJSON(t, filepath.Join(out, adapter.ConfigFile)); cfg["lora_use_mixer"] != true {
		t.Errorf("lora_use_mixer = %v, want true", cfg["lora_use_mixer"])
	}
	src, err := safetensors.Open(filepath.Join(root, "moslora_r4", adapter.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := safetensors.Open(filepath.Join(out, adapter.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	ab := 0
	for _, k := range src.Names() {
		sb, _, _ := src.Bytes(k)
		gb, _, err := got.Bytes(k)
		if err != nil || !bytes.Equal(sb, gb) {
			t.Errorf("%s did not round-trip (%v)", k, err)
		}
		if strings.HasSuffix(k, ".lora_AB.weight") {
			ab++
		}
	}
	if ab == 0 || len(got.Names()) != len(src.Names()) {
		t.Errorf("%d lora_AB tensors; %d tensors written, source %d", ab, len(got.Names()), len(src.Names()))
	}
	fresh, err := model.Load(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adapter.Load(out, fresh); err != nil {
		t.Fatal(err)
	}
	checkClose(t, "peft-moslora reload", logits(t, fresh, ids, B, T), want, 0)

	_, m2, plain, _, _, _ := fixture(t, "llama", "lora_r4")
	_ = m2
	err = PEFTMoSLoRA(filepath.Join(t.TempDir(), "x"), plain, false)
	if err == nil || !strings.Contains(err.Error(), "peft form") {
		t.Errorf("peft-moslora of a plain LoRA adapter: %v, want an error pointing to the peft form", err)
	}
}
