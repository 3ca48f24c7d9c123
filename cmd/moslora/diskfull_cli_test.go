//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A real full disk during the final write: the output folder is a 512 KiB tmpfs, room for the
// checkpoints and the adapter but not for the 1.1 MB tokenizer.json copied at the end. The run
// fails naming the disk, leaves nothing that looks like a finished adapter, and keeps the finished
// training as a checkpoint that loads as an adapter; with room again, --resume writes the outputs
// byte-identical to an uninterrupted run's. Needs root and mount (skipped elsewhere).
func TestDiskFullDuringFinalWriteKeepsAUsableCheckpoint(t *testing.T) {
	p := extractDefault(t)
	disk := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, b)
	}
	t.Cleanup(func() { exec.Command("umount", disk).Run() })
	out, ref := filepath.Join(disk, "run"), filepath.Join(t.TempDir(), "ref")
	args := []string{"train", "--model", p.ModelDir, "--data", p.Train, "--limit", "16", "--batch", "4", "--steps", "3", "--rank", "2", "--method", "lora"}
	_, err := runCLI(t, append(args, "--out", out)...)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("train onto a full disk: %v", err)
	}
	noGoInternals(t, err.Error())
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "train_config.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("%s is in the output folder after the failed write", f)
		}
	}
	ckpt := filepath.Join(out, "checkpoint-3")
	if _, err := runCLI(t, "eval", "--model", p.ModelDir, "--adapter", ckpt, "--data", p.Test, "--limit", "4"); err != nil {
		t.Fatalf("eval --adapter %s: %v", ckpt, err)
	}
	if b, err := exec.Command("mount", "-o", "remount,size=16m", disk).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, b)
	}
	if _, err := runCLI(t, append(args, "--out", out, "--resume")...); err != nil {
		t.Fatalf("--resume with room again: %v", err)
	}
	if _, err := runCLI(t, append(args, "--out", ref)...); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"adapter_model.safetensors", "tokenizer.json"} {
		if fileSHA(t, filepath.Join(out, f)) != fileSHA(t, filepath.Join(ref, f)) {
			t.Errorf("%s written by --resume differs from the uninterrupted run's", f)
		}
	}
}
