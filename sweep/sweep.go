package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/moslora/moslora/internal/atomicfile"
)

// Inputs are the files every cell trains and evaluates on.
type Inputs struct {
	Model string `json:"model"`
	Data  string `json:"data"`
	Eval  string `json:"eval"`
}

// Runner trains and evaluates one cell into dir (which exists and holds cell.json), continuing
// from dir's newest checkpoint if there is one, with the given number of threads. It returns
// when the cell finished (dir/eval.json written) or failed; on ctx's cancellation it asks the
// run to stop and save a checkpoint and waits for it.
type Runner interface {
	Run(ctx context.Context, c Cell, in Inputs, dir string, threads int) error
}

// Options tunes Run.
type Options struct {
	Out      string // sweep folder: cells go to Out/runs/<cell>/
	Jobs     int    // cells at once (default 1)
	Threads  int    // threads in all, split among the running cells (default 1)
	Progress io.Writer
	// Every is how often a line lists the running cells and their last logged update
	// (0: only when a cell starts or ends).
	Every time.Duration
}

// RunsDir is the folder of the cells inside a sweep folder.
const RunsDir = "runs"

// CellFile records a cell's spec in its folder.
const CellFile = "cell.json"

// SweepFile records the grid of the latest sweep run into a folder (report orders its groups by it).
const SweepFile = "sweep.json"

// Record is what SweepFile holds.
type Record struct {
	Grid   Grid   `json:"grid"`
	Inputs Inputs `json:"inputs"`
}

// ReadRecord reads a sweep folder's SweepFile.
func ReadRecord(out string) (*Record, error) {
	p := filepath.Join(out, SweepFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	return &r, nil
}

// ErrInterrupted is returned (wrapped) when the sweep was cancelled before every cell finished.
var ErrInterrupted = errors.New("sweep interrupted")

// record is what cell.json holds.
type record struct {
	Cell
	Inputs Inputs `json:"inputs"`
}

// Outcome tells what happened to each cell in one Run.
type Outcome struct {
	Skipped, Ran []string          // cells found finished; cells run (to completion)
	Failed       map[string]string // cell → error (with the log file to read)
}

// Run runs every unfinished cell of the grid (see the package doc) and returns what it did.
func Run(ctx context.Context, g *Grid, in Inputs, r Runner, opt Options) (*Outcome, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if opt.Out == "" {
		return nil, fmt.Errorf("sweep: --out is required")
	}
	jobs, threads := max(1, opt.Jobs), max(1, opt.Threads)
	per := max(1, threads/jobs)
	prog := opt.Progress
	if prog == nil {
		prog = io.Discard
	}
	cells := g.Cells()
	out := &Outcome{Failed: map[string]string{}}
	var todo, fresh []Cell
	for _, c := range cells { // check every cell before writing anything
		done, exists, err := check(filepath.Join(opt.Out, RunsDir, c.Name), record{c, in})
		if err != nil {
			return nil, err
		}
		switch {
		case done:
			out.Skipped = append(out.Skipped, c.Name)
		case exists:
			todo = append(todo, c)
		default:
			todo, fresh = append(todo, c), append(fresh, c)
		}
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	js, _ := json.MarshalIndent(Record{Grid: *g, Inputs: in}, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(opt.Out, SweepFile), append(js, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("sweep: writing %s: %w", filepath.Join(opt.Out, SweepFile), err)
	}
	for _, c := range fresh {
		if err := create(filepath.Join(opt.Out, RunsDir, c.Name), record{c, in}); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(prog, "sweep: %d cells (%d finished, %d to run), %d at a time with %d threads each\n",
		len(cells), len(out.Skipped), len(todo), jobs, per)

	var mu sync.Mutex
	start := time.Now()
	finished := 0
	running := map[string]bool{}
	if opt.Every > 0 {
		tick := time.NewTicker(opt.Every)
		defer tick.Stop()
		stopTick := make(chan struct{})
		defer close(stopTick)
		go func() {
			for {
				select {
				case <-tick.C:
				case <-stopTick:
					return
				}
				mu.Lock()
				var parts []string
				for _, c := range todo {
					if running[c.Name] {
						parts = append(parts, fmt.Sprintf("%s at update %d", c.Name, lastStep(filepath.Join(opt.Out, RunsDir, c.Name))))
					}
				}
				if len(parts) > 0 {
					fmt.Fprintf(prog, "sweep: [%d/%d] running %s; elapsed %s\n", len(out.Skipped)+finished, len(cells),
						strings.Join(parts, ", "), time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		}()
	}
	queue := make(chan Cell)
	var wg sync.WaitGroup
	for w := 0; w < min(jobs, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range queue {
				if ctx.Err() != nil { // handed over while the sweep was being cancelled
					continue
				}
				dir := filepath.Join(opt.Out, RunsDir, c.Name)
				mu.Lock()
				running[c.Name] = true
				fmt.Fprintf(prog, "sweep: start %s\n", c.Name)
				mu.Unlock()
				t0 := time.Now()
				err := r.Run(ctx, c, in, dir, per)
				if err == nil {
					if _, serr := os.Stat(filepath.Join(dir, "eval.json")); serr != nil {
						err = fmt.Errorf("finished without writing %s", filepath.Join(dir, "eval.json"))
					}
				}
				mu.Lock()
				delete(running, c.Name)
				finished++
				switch {
				case err == nil:
					out.Ran = append(out.Ran, c.Name)
				case ctx.Err() != nil:
				default:
					out.Failed[c.Name] = err.Error()
				}
				status := "done"
				if err != nil {
					status = "FAILED: " + err.Error()
					if ctx.Err() != nil {
						status = "stopped"
					}
				}
				elapsed := time.Since(start)
				eta := time.Duration(float64(elapsed) / float64(finished) * float64(len(todo)-finished))
				fmt.Fprintf(prog, "sweep: [%d/%d] %s %s in %s; elapsed %s, eta %s\n", len(out.Skipped)+finished, len(cells),
					c.Name, status, time.Since(t0).Round(time.Second), elapsed.Round(time.Second), eta.Round(time.Second))
				mu.Unlock()
			}
		}()
	}
feed:
	for _, c := range todo {
		if ctx.Err() != nil { // select picks at random among ready cases
			break
		}
		select {
		case queue <- c:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if ctx.Err() != nil {
		return out, fmt.Errorf("%w: %d of %d cells finished; run the same command again to resume", ErrInterrupted,
			len(out.Skipped)+len(out.Ran), len(cells))
	}
	if len(out.Failed) > 0 {
		var lines []string
		for _, c := range cells {
			if e, ok := out.Failed[c.Name]; ok {
				lines = append(lines, fmt.Sprintf("  %s: %s", c.Name, e))
			}
		}
		return out, fmt.Errorf("sweep: %d of %d cells failed (rerun to retry them):\n%s", len(out.Failed), len(cells), strings.Join(lines, "\n"))
	}
	return out, nil
}

// check compares an existing cell folder's cell.json with the cell asked for; it reports whether
// the cell finished and whether its folder exists, and refuses a folder made for another run or
// holding files but no cell.json.
func check(dir string, want record) (done, exists bool, err error) {
	p := filepath.Join(dir, CellFile)
	b, err := os.ReadFile(p)
	switch {
	case os.IsNotExist(err):
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			return false, false, fmt.Errorf("sweep: %s holds files but no %s: not a cell of a sweep; move it away or use another --out", dir, CellFile)
		}
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("sweep: %w", err)
	}
	var have record
	if err := json.Unmarshal(b, &have); err != nil {
		return false, false, fmt.Errorf("sweep: %s: %v", p, err)
	}
	if !reflect.DeepEqual(have, want) {
		return false, false, fmt.Errorf("sweep: %s was made for a different run (%s); this sweep asks for (%s): use another --out, or delete that cell's folder to rerun it",
			dir, describe(have), describe(want))
	}
	_, err = os.Stat(filepath.Join(dir, "eval.json"))
	return err == nil, true, nil
}

// create makes a cell's folder and its cell.json.
func create(dir string, want record) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	js, _ := json.MarshalIndent(want, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(dir, CellFile), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("sweep: writing %s: %w", filepath.Join(dir, CellFile), err)
	}
	return nil
}

// describe prints what distinguishes a cell record.
func describe(r record) string {
	s := fmt.Sprintf("method %s, seed %d, model %s, data %s, eval %s", r.Method, r.Seed, r.Inputs.Model, r.Inputs.Data, r.Inputs.Eval)
	for _, f := range r.Flags {
		s += fmt.Sprintf(", --%s %s", f.Name, f.Value)
	}
	return s
}

// ReadCell reads a cell folder's cell.json.
func ReadCell(dir string) (Cell, Inputs, error) {
	p := filepath.Join(dir, CellFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return Cell{}, Inputs{}, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return Cell{}, Inputs{}, fmt.Errorf("%s: %v", p, err)
	}
	return r.Cell, r.Inputs, nil
}

// lastStep is the step of the last line of a cell's metrics.jsonl (0 when there is none yet).
func lastStep(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return 0
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var m struct {
			Step int `json:"step"`
		}
		if json.Unmarshal([]byte(lines[i]), &m) == nil {
			return m.Step
		}
	}
	return 0
}
