package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCellsCrossVariantsAxesAndSeeds(t *testing.T) {
	g := &Grid{
		Variants: []Variant{{Name: "lora", Method: "lora"}, {Name: "wide", Method: "lora", Flags: []Flag{{"rank", "20"}}}},
		Seeds:    []int64{0, 3},
		Fixed:    []Flag{{"steps", "5"}, {"rank", "4"}},
		Vary:     []Axis{{"lr", []string{"1e-3", "2e-3"}}},
	}
	cells := g.Cells()
	var names []string
	for _, c := range cells {
		names = append(names, c.Name)
	}
	want := "lora-lr1e-3-seed0 lora-lr1e-3-seed3 lora-lr2e-3-seed0 lora-lr2e-3-seed3 wide-lr1e-3-seed0 wide-lr1e-3-seed3 wide-lr2e-3-seed0 wide-lr2e-3-seed3"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("cells %s\nwant  %s", got, want)
	}
	// The variant's own flag overrides the fixed one; flags are sorted; the group drops the seed.
	c := cells[7]
	if c.Group != "wide-lr2e-3" || c.Seed != 3 || fmt.Sprint(c.Flags) != "[{lr 2e-3} {rank 20} {steps 5}]" {
		t.Errorf("cell %+v", c)
	}
	if fmt.Sprint(cells[0].Flags) != "[{lr 1e-3} {rank 4} {steps 5}]" {
		t.Errorf("cell %+v", cells[0])
	}
}

func TestSeedsParseRangesAndLists(t *testing.T) {
	s, err := ParseSeeds("0-2,5,1")
	if err != nil || fmt.Sprint(s) != "[0 1 2 5]" {
		t.Errorf("ParseSeeds = %v, %v", s, err)
	}
	for _, bad := range []string{"", "a", "3-1", "-1", "1-"} {
		if _, err := ParseSeeds(bad); err == nil || !strings.Contains(err.Error(), "--seeds") {
			t.Errorf("ParseSeeds(%q): %v, want an error naming --seeds", bad, err)
		}
	}
}

func TestGridFileGivesVariantsSeedsFixedAndVariedFlags(t *testing.T) {
	p := filepath.Join(t.TempDir(), "grid.json")
	os.WriteFile(p, []byte(`{"methods": ["lora", {"name": "lora-r20", "method": "lora", "flags": {"rank": 20}}],
		"seeds": "0-1", "flags": {"steps": 100, "lr": [1e-3, 0.002], "pack": true, "targets": "q,v"}}`), 0o644)
	g, err := ReadGridFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.Variants) != "[{lora lora []} {lora-r20 lora [{rank 20}]}]" || fmt.Sprint(g.Seeds) != "[0 1]" ||
		fmt.Sprint(g.Fixed) != "[{pack true} {steps 100} {targets q,v}]" || fmt.Sprint(g.Vary) != "[{lr [1e-3 0.002]}]" {
		t.Errorf("grid %+v", g)
	}
	os.WriteFile(p, []byte(`{"methods": ["lora"], "seeds": "0", "flags": {"rank": {"x": 1}}}`), 0o644)
	if _, err := ReadGridFile(p); err == nil || !strings.Contains(err.Error(), "flags.rank") || !strings.Contains(err.Error(), p) {
		t.Errorf("bad flag value: %v, want an error naming the file and flags.rank", err)
	}
	os.WriteFile(p, []byte(`{"method": ["lora"]}`), 0o644)
	if _, err := ReadGridFile(p); err == nil || !strings.Contains(err.Error(), `"method"`) {
		t.Errorf("unknown key: %v", err)
	}
}

// fakeRunner "trains" a cell by writing eval.json with a score from the seed, counting calls;
// cells listed in fail fail; block, when set, makes a cell wait for cancellation.
type fakeRunner struct {
	calls   atomic.Int32
	mu      sync.Mutex
	ran     []string
	fail    map[string]bool
	block   map[string]bool
	started chan string
}

func (f *fakeRunner) Run(ctx context.Context, c Cell, in Inputs, dir string, threads int) error {
	f.calls.Add(1)
	f.mu.Lock()
	f.ran = append(f.ran, c.Name)
	f.mu.Unlock()
	if f.started != nil {
		f.started <- c.Name
	}
	if f.block[c.Name] {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.fail[c.Name] {
		return errors.New("boom")
	}
	score := 30 + float64(c.Seed)
	if c.Method == "moslora" {
		score += 0.5
	}
	js, _ := json.Marshal(map[string]any{"tasks": map[string]any{"t": map[string]any{"n": 1, "accuracy": score}}, "avg_score": score})
	return os.WriteFile(filepath.Join(dir, "eval.json"), js, 0o644)
}

func testGrid() *Grid {
	return &Grid{Variants: ParseMethods("lora,moslora"), Seeds: []int64{0, 1, 2}, Fixed: []Flag{{"steps", "3"}}}
}

var in = Inputs{Model: "m", Data: "d", Eval: "e"}

func TestFinishedCellsAreNotRunAgain(t *testing.T) {
	out := t.TempDir()
	f := &fakeRunner{}
	o, err := Run(context.Background(), testGrid(), in, f, Options{Out: out, Jobs: 3, Threads: 6})
	if err != nil || len(o.Ran) != 6 || len(o.Skipped) != 0 || f.calls.Load() != 6 {
		t.Fatalf("first run: %+v, %v, %d calls", o, err, f.calls.Load())
	}
	f2 := &fakeRunner{}
	o, err = Run(context.Background(), testGrid(), in, f2, Options{Out: out, Jobs: 2})
	if err != nil || len(o.Ran) != 0 || len(o.Skipped) != 6 || f2.calls.Load() != 0 {
		t.Errorf("second run: %+v, %v, %d calls; want every cell skipped", o, err, f2.calls.Load())
	}
	// More seeds later: only the new cells run.
	g := testGrid()
	g.Seeds = append(g.Seeds, 3)
	o, err = Run(context.Background(), g, in, f2, Options{Out: out})
	if err != nil || fmt.Sprint(o.Ran) != "[lora-seed3 moslora-seed3]" {
		t.Errorf("added seed 3: ran %v, %v", o.Ran, err)
	}
	groups, err := Groups(g, out)
	if err != nil || len(groups) != 2 || groups[0].Name != "lora" || len(groups[1].Runs) != 4 || *groups[1].Runs[3].Seed != 3 {
		t.Errorf("groups %+v, %v", groups, err)
	}
}

func TestChangedSettingsAreRefused(t *testing.T) {
	out := t.TempDir()
	if _, err := Run(context.Background(), testGrid(), in, &fakeRunner{}, Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	g := testGrid()
	g.Fixed = []Flag{{"steps", "4"}}
	f := &fakeRunner{}
	_, err := Run(context.Background(), g, in, f, Options{Out: out})
	if err == nil || !strings.Contains(err.Error(), "lora-seed0") || !strings.Contains(err.Error(), "--steps 3") || !strings.Contains(err.Error(), "--steps 4") || f.calls.Load() != 0 {
		t.Errorf("changed --steps: %v (%d calls); want a refusal naming the cell and both values", err, f.calls.Load())
	}
	// Nothing was written: a grid with a refused cell and a new one creates no folder for the new one.
	g.Seeds = append(g.Seeds, 9)
	if _, err := Run(context.Background(), g, in, f, Options{Out: out}); err == nil {
		t.Error("changed --steps with a new seed: no refusal")
	}
	if _, err := os.Stat(filepath.Join(out, RunsDir, "lora-seed9")); err == nil {
		t.Error("a refused sweep created the folder of a new cell")
	}
	if rec, err := ReadRecord(out); err != nil || rec.Grid.Fixed[0].Value != "3" {
		t.Errorf("a refused sweep rewrote sweep.json: %+v, %v", rec, err)
	}
	// A folder that is not a cell is never touched.
	stray := filepath.Join(out, RunsDir, "lora-seed5")
	os.MkdirAll(stray, 0o755)
	os.WriteFile(filepath.Join(stray, "notes.txt"), []byte("mine"), 0o644)
	g = testGrid()
	g.Seeds = []int64{5}
	if _, err := Run(context.Background(), g, in, f, Options{Out: out}); err == nil || !strings.Contains(err.Error(), "no cell.json") {
		t.Errorf("stray folder: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(stray, "notes.txt")); string(b) != "mine" {
		t.Error("the stray folder's file changed")
	}
}

func TestFailedCellDoesNotStopTheOthers(t *testing.T) {
	out := t.TempDir()
	f := &fakeRunner{fail: map[string]bool{"lora-seed1": true}}
	o, err := Run(context.Background(), testGrid(), in, f, Options{Out: out, Jobs: 2})
	if err == nil || !strings.Contains(err.Error(), "lora-seed1: boom") || len(o.Ran) != 5 {
		t.Errorf("%+v, %v; want 5 cells done and lora-seed1's failure reported", o, err)
	}
	o, err = Run(context.Background(), testGrid(), in, &fakeRunner{}, Options{Out: out})
	if err != nil || fmt.Sprint(o.Ran) != "[lora-seed1]" {
		t.Errorf("rerun: %+v, %v; want only lora-seed1 run", o, err)
	}
}

func TestCancelStopsRunningCellsAndReportsInterruption(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeRunner{block: map[string]bool{"lora-seed1": true}, started: make(chan string, 10)}
	go func() {
		for name := range f.started {
			if name == "lora-seed1" {
				cancel()
			}
		}
	}()
	o, err := Run(ctx, testGrid(), in, f, Options{Out: out, Jobs: 1})
	close(f.started)
	if !errors.Is(err, ErrInterrupted) || fmt.Sprint(o.Ran) != "[lora-seed0]" || len(o.Failed) != 0 {
		t.Fatalf("%+v, %v; want lora-seed0 done, the sweep interrupted at lora-seed1", o, err)
	}
	f2 := &fakeRunner{}
	o, err = Run(context.Background(), testGrid(), in, f2, Options{Out: out, Jobs: 1})
	if err != nil || len(o.Skipped) != 1 || len(o.Ran) != 5 || f2.ran[0] != "lora-seed1" {
		t.Errorf("resume: %+v, %v, ran %v", o, err, f2.ran)
	}
}

func TestCellCommandLineResumesAndPassesEveryFlag(t *testing.T) {
	c := testGrid().Cells()[4]
	args := Exec{Exe: "moslora", SaveEvery: 50, Extra: []string{"--eval-limit", "9"}}.Args(c, in, "DIR")
	want := "train --model m --data d --eval e --out DIR --method moslora --seed 1 --resume --save-every 50 --steps=3 --eval-limit 9"
	if got := strings.Join(args, " "); got != want {
		t.Errorf("args %s\nwant %s", got, want)
	}
}

func TestProgressListsRunningCells(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeRunner{block: map[string]bool{"lora-seed0": true}, started: make(chan string, 10)}
	var log syncBuffer
	go func() {
		<-f.started
		os.WriteFile(filepath.Join(out, RunsDir, "lora-seed0", "metrics.jsonl"), []byte("{\"step\": 1}\n{\"step\": 7}\n"), 0o644)
		for !strings.Contains(log.String(), "running lora-seed0 at update 7") {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	g := testGrid()
	g.Seeds = []int64{0}
	if _, err := Run(ctx, g, in, f, Options{Out: out, Progress: &log, Every: 10 * time.Millisecond}); !errors.Is(err, ErrInterrupted) {
		t.Errorf("%v\n%s", err, log.String())
	}
}

// syncBuffer is a strings.Builder safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
