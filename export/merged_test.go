package export

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/safetensors"
)

// TestMergedFolderReloadsWithAdapterLogits: the merged folder loads with model.Load and gives the
// adapter-applied logits; it holds the base's tensor names and dtypes (tied embeddings stay tied,
// GPT-2 Conv1D weights stay (in, out)), untouched tensors byte for byte, and the base's other files.
func TestMergedFolderReloadsWithAdapterLogits(t *testing.T) {
	for _, c := range []struct{ family, dir string }{
		{"llama", "moslora_r4"}, {"qwen2", "moslora_r4"}, {"gpt2", "lora_r4"},
		{"qwen3", "lora_r4"}, {"gemma3", "lora_r4"},
	} {
		t.Run(c.family+"/"+c.dir, func(t *testing.T) {
			baseDir, m, a, ids, B, T := fixture(t, c.family, c.dir)
			want := logits(t, m, ids, B, T)
			out := filepath.Join(t.TempDir(), "merged")
			if err := Merged(out, baseDir, m, a, false); err != nil {
				t.Fatal(err)
			}
			if got := logits(t, m, ids, B, T); numtest.MaxAbsDiff(got, want) != 0 {
				t.Error("Merged changed the model or the adapter")
			}
			mm, err := model.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "merged checkpoint vs adapter-applied logits", logits(t, mm, ids, B, T), want, tolMerged)
			compareCheckpoints(t, baseDir, out, a)
		})
	}
}

// compareCheckpoints checks the merged folder against the base folder.
func compareCheckpoints(t *testing.T, baseDir, out string, a *adapter.Adapter) {
	t.Helper()
	base, err := safetensors.OpenDir(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	got, err := safetensors.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if !slices.Equal(base.Names(), got.Names()) {
		t.Fatalf("merged tensors %v, base %v", got.Names(), base.Names())
	}
	adapted := map[string]bool{}
	for _, l := range a.Linears {
		adapted[l.Path+".weight"] = true
		adapted[strings.TrimPrefix(l.Path, "transformer.")+".weight"] = true
	}
	changed := 0
	for _, name := range base.Names() {
		bi, gi := base.Info(name), got.Info(name)
		if bi.DType != gi.DType || !slices.Equal(bi.Shape, gi.Shape) {
			t.Errorf("%s: %s %v in the merged folder, base %s %v", name, gi.DType, gi.Shape, bi.DType, bi.Shape)
		}
		bb, _, _ := base.Bytes(name)
		gb, _, _ := got.Bytes(name)
		same := bytes.Equal(bb, gb)
		if adapted[name] && same {
			t.Errorf("%s: adapted weight unchanged", name)
		}
		if !adapted[name] && !same {
			t.Errorf("%s: not adapted but its bytes changed", name)
		}
		if !same {
			changed++
		}
	}
	if changed != len(a.Linears) {
		t.Errorf("%d tensors changed, the adapter has %d modules", changed, len(a.Linears))
	}
	for _, name := range entries(t, baseDir) {
		if isWeightFile(name) {
			continue
		}
		wb, _ := os.ReadFile(filepath.Join(baseDir, name))
		gb, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(wb, gb) {
			t.Errorf("%s was not copied unchanged (%v)", name, err)
		}
	}
	if es := entries(t, filepath.Dir(out)); len(es) != 1 {
		t.Errorf("the destination folder's parent holds %v, expected only the merged folder", es)
	}
}

// TestMergedKeepsBF16 merges a small random adapter into the bf16 base-19m: the merged folder is
// bf16 and every adapted tensor is exactly bf16(W + ΔW).
func TestMergedKeepsBF16(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the 19M-parameter base model")
	}
	dir := shared.Path(t, "models", "base-19m")
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := adapter.DefaultConfig()
	cfg.R, cfg.LoraAlpha = 2, 4
	cfg.TargetModules = adapter.Targets{List: []string{"v_proj"}}
	a, err := adapter.New(cfg, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range a.Linears {
		for i := range l.B {
			l.B[i] = float32(i%7-3) * 0.01
		}
	}
	out := filepath.Join(t.TempDir(), "merged")
	if err := Merged(out, dir, m, a, false); err != nil {
		t.Fatal(err)
	}
	got, err := safetensors.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	for _, l := range a.Linears {
		name := l.Path + ".weight"
		info := got.Info(name)
		if info.DType != safetensors.BF16 {
			t.Fatalf("%s written as %s, base is BF16", name, info.DType)
		}
		dw, _ := l.DeltaW()
		ml := m.Linear(l.Path)
		ml.Widen() // base-19m's weights are held in bf16; the float32 values are exact
		base := ml.W
		v, _, err := got.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range v {
			if want := safetensors.BF16ToFloat32(safetensors.Float32ToBF16(base[i] + dw[i])); v[i] != want {
				t.Fatalf("%s[%d] = %v, want bf16(W + ΔW) = %v", name, i, v[i], want)
			}
		}
	}
	if _, err := model.Load(out); err != nil {
		t.Fatal(err)
	}
}

// TestMergeErrorsWriteNothing: a gated adapter, an existing folder without force, and force
// replacing a folder.
func TestMergeErrorsWriteNothing(t *testing.T) {
	baseDir, m, a, _, _, _ := fixture(t, "llama", "lora_r4")
	parent := t.TempDir()
	out := filepath.Join(parent, "merged")

	a.Detach()
	cfg := adapter.DefaultConfig()
	cfg.R, cfg.Mixer, cfg.Subspaces = 4, adapter.MixerGated, 2
	cfg.TargetModules = adapter.Targets{List: []string{"q_proj"}}
	g, err := adapter.New(cfg, m, 3)
	if err != nil {
		t.Fatal(err)
	}
	err = Merged(out, baseDir, m, g, false)
	if err == nil || !strings.Contains(err.Error(), "gated") {
		t.Errorf("merging a gated adapter: %v, want an error explaining the gated mixer", err)
	}
	if es := entries(t, parent); len(es) != 0 {
		t.Errorf("a failed merge left %v", es)
	}
	g.Detach()
	if err := a.Attach(); err != nil {
		t.Fatal(err)
	}

	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "keep"), []byte("x"), 0o644)
	err = Merged(out, baseDir, m, a, false)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("merging into an existing folder: %v, want an error naming --force", err)
	}
	if es := entries(t, out); !slices.Equal(es, []string{"keep"}) {
		t.Errorf("the existing folder now holds %v", es)
	}
	if err := Merged(out, baseDir, m, a, true); err != nil {
		t.Fatal(err)
	}
	if es := entries(t, out); slices.Contains(es, "keep") || !slices.Contains(es, "model.safetensors") {
		t.Errorf("with force the folder holds %v, want the merged model only", es)
	}
	if es := entries(t, parent); len(es) != 1 {
		t.Errorf("parent holds %v after a forced merge", es)
	}
}

// TestMergedCopiesFilesOfACacheSnapshot: a base model in the Hugging Face cache is a folder of
// symlinks to blobs; the merged folder still receives its config and tokenizer files, as files.
func TestMergedCopiesFilesOfACacheSnapshot(t *testing.T) {
	baseDir, m, a, _, _, _ := fixture(t, "llama", "moslora_r4")
	tmp := t.TempDir()
	blobs, snap := filepath.Join(tmp, "blobs"), filepath.Join(tmp, "snapshots", "c0ffee")
	for _, d := range []string{blobs, snap} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range entries(t, baseDir) {
		b, err := os.ReadFile(filepath.Join(baseDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(blobs, "blob-"+name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", "blob-"+name), filepath.Join(snap, name)); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "merged")
	if err := Merged(out, snap, m, a, false); err != nil {
		t.Fatal(err)
	}
	copied := 0
	for _, name := range entries(t, baseDir) {
		if isWeightFile(name) {
			continue
		}
		want, _ := os.ReadFile(filepath.Join(baseDir, name))
		st, err := os.Lstat(filepath.Join(out, name))
		got, _ := os.ReadFile(filepath.Join(out, name))
		if err != nil || !st.Mode().IsRegular() || !bytes.Equal(got, want) {
			t.Errorf("%s of the snapshot was not copied as a file (%v)", name, err)
		}
		copied++
	}
	if copied == 0 {
		t.Fatal("the fixture has no non-weight files to copy")
	}
}
