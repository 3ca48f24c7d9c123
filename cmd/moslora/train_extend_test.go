package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrainExtendWritesAnOrdinaryLargerAdapterThatMergesAndExports(t *testing.T) {
	p := extractDefault(t)
	dir := t.TempDir()
	first := filepath.Join(dir, "task1")
	if _, err := trainSmall(t, p, first, "--method", "moslora", "--rank", "4", "--alpha", "8", "--steps", "2", "--warmup", "0"); err != nil {
		t.Fatal(err)
	}
	seq := filepath.Join(dir, "seq")
	if _, err := trainSmall(t, p, seq, "--method", "lora", "--rank", "4", "--steps", "1", "--warmup", "0"); err != nil {
		t.Fatal(err)
	}
	// The default --method is moslora: the printed method must be the adapter's (lora).
	if out, err := trainSmall(t, p, filepath.Join(dir, "seq2"), "--extend", seq, "--extend-rank", "0", "--steps", "1", "--warmup", "0"); err != nil || !strings.Contains(out, "trained lora:") {
		t.Errorf("sequential fine-tuning of a lora adapter printed %q (%v), want \"trained lora:\"", out, err)
	}
	second := filepath.Join(dir, "task2")
	out, err := trainSmall(t, p, second, "--extend", first, "--extend-rank", "2", "--steps", "2", "--warmup", "0", "--weight-decay", "0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "trained moslora") {
		t.Errorf("output does not name the adapter's method:\n%s", out)
	}
	c := readAdapterConfig(t, second)
	if c["r"] != 6.0 || c["lora_alpha"] != 12.0 || c["lora_use_mixer"] != true {
		t.Errorf("extended adapter_config.json: r %v lora_alpha %v lora_use_mixer %v; want 6, 12 (scaling 8/4 = 12/6), true", c["r"], c["lora_alpha"], c["lora_use_mixer"])
	}
	b, err := os.ReadFile(filepath.Join(second, "train_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tc struct {
		Config struct {
			Extend struct {
				Dir     string `json:"dir"`
				Rank    int    `json:"rank"`
				NewRank int    `json:"new_rank"`
			} `json:"extend"`
		} `json:"config"`
		Trainable int `json:"trainable_params"`
	}
	if err := json.Unmarshal(b, &tc); err != nil {
		t.Fatal(err)
	}
	if e := tc.Config.Extend; filepath.Base(e.Dir) != "task1" || e.Rank != 4 || e.NewRank != 2 {
		t.Errorf("train_config.json extend = %+v, want task1, rank 4, new_rank 2", e)
	}
	for _, args := range [][]string{
		{"merge", "--model", p.ModelDir, "--adapter", second, "--out", filepath.Join(dir, "merged")},
		{"export", "--model", p.ModelDir, "--adapter", second, "--format", "peft", "--out", filepath.Join(dir, "peft")},
	} {
		if _, err := runCLI(t, args...); err != nil {
			t.Errorf("%s of the extended adapter: %v", args[0], err)
		}
	}
	if c := readAdapterConfig(t, filepath.Join(dir, "peft")); c["r"] != 6.0 || c["lora_alpha"] != 12.0 || c["lora_use_mixer"] == true {
		t.Errorf("exported (folded) adapter: r %v lora_alpha %v lora_use_mixer %v", c["r"], c["lora_alpha"], c["lora_use_mixer"])
	}
}

func TestTrainExtendRefusesTheFlagsItTakesFromTheAdapter(t *testing.T) {
	p := extractDefault(t)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--extend", dir, "--rank", "4"}, "leave --rank out"},
		{[]string{"--extend", dir, "--method", "lora", "--alpha", "3"}, "--method, --alpha"},
		{[]string{"--extend-rank", "4"}, "--extend-rank needs --extend"},
		{[]string{"--extend", filepath.Join(dir, "missing")}, "--extend " + filepath.Join(dir, "missing") + ": no such folder"},
	} {
		_, err := trainSmall(t, p, filepath.Join(dir, "out"), append(c.args, "--steps", "1")...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error saying %q", c.args, err, c.want)
		}
	}
}
