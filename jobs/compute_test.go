package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/internal/shared"
)

// TestComputeBF16TrainsAndIsRecorded trains base-19m for 3 MoSLoRA updates with float32 and with
// bf16 compute: train_config.json names the compute ("f32", "bf16"); the bf16 adapter differs
// from the float32 one (the setting takes effect) while its final loss stays within
// numtest.BF16Model; holding the base in float32 (--base-dtype f32) under bf16 compute trains the
// byte-identical adapter (rounding at load or while packing is the same); an unknown compute is
// refused naming the setting.
func TestComputeBF16TrainsAndIsRecorded(t *testing.T) {
	base := shared.Path(t, "models", "base-19m")
	dir := t.TempDir()
	data, cfg := countingRun(t, dir)
	type result struct {
		adapter []byte
		loss    float64
		compute string
	}
	run := func(name, compute, baseDtype string) result {
		t.Helper()
		c := cfg
		c.Compute = compute
		out := filepath.Join(dir, name)
		s, err := Train(context.Background(), c, TrainFiles{ModelDir: base, Data: data, Out: out, BaseDtype: baseDtype}, &strings.Builder{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, "adapter_model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		j, err := os.ReadFile(filepath.Join(out, "train_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Config struct {
				Compute string `json:"compute"`
			} `json:"config"`
		}
		if err := json.Unmarshal(j, &info); err != nil {
			t.Fatal(err)
		}
		return result{b, s.Result.FinalLoss, info.Config.Compute}
	}
	f32 := run("f32", "f32", "auto")
	bf := run("bf16", "bf16", "auto")
	bfW32 := run("bf16-w32", "bf16", "f32")
	if f32.compute != "f32" || bf.compute != "bf16" {
		t.Errorf("train_config.json records compute %q and %q, expected f32 and bf16", f32.compute, bf.compute)
	}
	if bytes.Equal(f32.adapter, bf.adapter) {
		t.Error("bf16 compute trained float32 compute's adapter byte for byte")
	}
	if e := math.Abs(bf.loss-f32.loss) / f32.loss; e > numtest.BF16Model {
		t.Errorf("final loss %.5f under bf16, %.5f under float32: relative difference %.3g > %.3g", bf.loss, f32.loss, e, numtest.BF16Model)
	}
	if !bytes.Equal(bf.adapter, bfW32.adapter) {
		t.Error("bf16 compute: the base held in bf16 and in float32 trained different adapters")
	}
	bad := cfg
	bad.Compute = "fp8"
	if _, err := Train(context.Background(), bad, TrainFiles{ModelDir: base, Data: data, Out: filepath.Join(dir, "bad")}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "compute") {
		t.Fatalf("an unknown compute gave %v, expected an error naming the setting", err)
	}
}
