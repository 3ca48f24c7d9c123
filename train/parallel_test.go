package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/internal/numtest"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/mpi"
	"github.com/moslora/moslora/mpi/mpitest"
)

// A data-parallel run against a single process with the same global batch (issue 19) adds the
// same per-token gradients in another order, so each step's loss is within numtest.F32 (another
// float32 summation order) and each trained tensor, which AdamW's normalised steps carry that
// rounding into over the run, within numtest.F32Model (relative L2).

// runRanks runs job(r) on n in-process ranks; a rank whose Run fails aborts the group (as the
// CLI does with MPI_Abort), so no rank waits for it. It returns each rank's result and error.
func runRanks(t *testing.T, n int, job func(r int) *Job) ([]*Job, []*Result, []error) {
	t.Helper()
	jobs := make([]*Job, n)
	for r := range jobs {
		jobs[r] = job(r)
	}
	res := make([]*Result, n)
	errs := make([]error, n)
	mpitest.Run(n, func(c mpi.Comm) error {
		r := c.Rank()
		jobs[r].Comm = c
		res[r], errs[r] = Run(context.Background(), jobs[r])
		if errs[r] != nil && !errors.Is(errs[r], ErrInterrupted) {
			c.Abort(1)
		}
		return nil
	})
	return jobs, res, errs
}

// mixedExamples lengthens some prompts so that micro-batches mix lengths and ranks get unequal
// shares.
func mixedExamples() []data.Example {
	exs := tinyExamples(22)
	for i := 0; i < len(exs); i += 3 {
		n := 5 + i%13
		long, lab := make([]int, n), make([]int, n)
		for j := range long {
			long[j], lab[j] = 3+(7*j+i)%45, data.IgnoreLabel
		}
		exs[i].IDs = append(append([]int{1}, long...), exs[i].IDs[1:]...)
		exs[i].Labels = append(append([]int{data.IgnoreLabel}, lab...), exs[i].Labels[1:]...)
	}
	return exs
}

func TestDataParallelMatchesOneProcess(t *testing.T) {
	for _, method := range []string{MethodMoSLoRA, MethodLoRA, MethodFull} {
		for _, ranks := range []int{2, 3} {
			t.Run(method+"/"+string(rune('0'+ranks))+"ranks", func(t *testing.T) {
				dir := t.TempDir()
				one := tinyJob(t, method, filepath.Join(dir, "one"))
				one.Examples = mixedExamples()
				want, err := Run(context.Background(), one)
				if err != nil {
					t.Fatal(err)
				}
				jobs, res, errs := runRanks(t, ranks, func(r int) *Job {
					j := tinyJob(t, method, filepath.Join(dir, "rank", string(rune('0'+r))))
					j.Examples = mixedExamples()
					return j
				})
				for r, err := range errs {
					if err != nil {
						t.Fatalf("rank %d: %v", r, err)
					}
				}
				wantM := readMetrics(t, filepath.Join(one.Out, MetricsFile))
				gotM := readMetrics(t, filepath.Join(jobs[0].Out, MetricsFile))
				if len(gotM) != len(wantM) {
					t.Fatalf("rank 0 logged %d steps, one process %d", len(gotM), len(wantM))
				}
				worst := 0.0
				for i := range wantM {
					rel := math.Abs(gotM[i].Loss-wantM[i].Loss) / math.Abs(wantM[i].Loss)
					worst = math.Max(worst, rel)
					if rel > numtest.F32 || gotM[i].Tokens != wantM[i].Tokens {
						t.Errorf("step %d: loss %.8g (tokens %d), one process %.8g (tokens %d)", i+1, gotM[i].Loss, gotM[i].Tokens, wantM[i].Loss, wantM[i].Tokens)
					}
				}
				w1 := trained(one, want)
				worstW := 0.0
				for r := range jobs {
					w := trained(jobs[r], res[r])
					for name, ref := range w1 {
						e := numtest.RelL2(w[name], ref)
						worstW = math.Max(worstW, e)
						if e > numtest.F32Model {
							t.Errorf("rank %d, %s: relative L2 %.3g from one process", r, name, e)
						}
						if r > 0 && numtest.RelL2(w[name], trained(jobs[0], res[0])[name]) != 0 {
							t.Errorf("rank %d's %s differs from rank 0's: the ranks drifted apart", r, name)
						}
					}
				}
				t.Logf("%d ranks vs one process: worst loss rel %.2g, worst tensor rel L2 %.2g", ranks, worst, worstW)
				for r := 1; r < ranks; r++ {
					if _, err := os.Stat(jobs[r].Out); !os.IsNotExist(err) {
						t.Errorf("rank %d created its output folder %s; only rank 0 writes", r, jobs[r].Out)
					}
				}
			})
		}
	}
}

// Rank 0's starting point reaches every rank: rank 1 loads a different model (another random
// draw) for full fine-tuning and still trains exactly what rank 0 would with a copy of itself.
func TestRankZeroStartingPointReachesEveryRank(t *testing.T) {
	dir := t.TempDir()
	ref, resRef, errs := runRanks(t, 2, func(r int) *Job { return tinyJob(t, MethodFull, filepath.Join(dir, "same", string(rune('0'+r)))) })
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	jobs, res, errs := runRanks(t, 2, func(r int) *Job {
		j := tinyJob(t, MethodFull, filepath.Join(dir, "other", string(rune('0'+r))))
		if r == 1 {
			cfg, _ := model.ParseConfig([]byte(tinyConfig))
			m, err := model.NewRandom(cfg, 99)
			if err != nil {
				t.Fatal(err)
			}
			j.Model = m
		}
		return j
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	want := trained(ref[0], resRef[0])
	for r := range jobs {
		for name, w := range trained(jobs[r], res[r]) {
			if e := numtest.RelL2(w, want[name]); e != 0 {
				t.Errorf("rank %d, %s: relative L2 %.3g from a run whose ranks loaded the same model", r, name, e)
			}
		}
	}
}

// An interrupted 2-rank run resumed by 2 fresh ranks ends bit-identical to an uninterrupted
// 2-rank run, although only rank 0 has the checkpoint.
func TestDataParallelResumeIsBitIdentical(t *testing.T) {
	dir := t.TempDir()
	job := func(out string) func(r int) *Job {
		return func(r int) *Job {
			j := tinyJob(t, MethodMoSLoRA, filepath.Join(dir, out, string(rune('0'+r))))
			j.Examples = mixedExamples()
			return j
		}
	}
	full, resFull, errs := runRanks(t, 2, job("full"))
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	_, _, errs = runRanks(t, 2, func(r int) *Job { j := job("resumed")(r); j.stopAfter = 4; return j })
	for r, err := range errs {
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("rank %d of the interrupted run: %v, want ErrInterrupted", r, err)
		}
	}
	if got := LatestCheckpoint(filepath.Join(dir, "resumed", "0")); filepath.Base(got) != "checkpoint-4" {
		t.Fatalf("rank 0's latest checkpoint %q, want checkpoint-4", got)
	}
	jobs, res, errs := runRanks(t, 2, func(r int) *Job { j := job("resumed")(r); j.Resume = true; return j })
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	want := trained(full[0], resFull[0])
	for r := range jobs {
		if res[r].Resumed != 4 {
			t.Errorf("rank %d resumed at step %d, want 4", r, res[r].Resumed)
		}
		for name, w := range trained(jobs[r], res[r]) {
			if e := numtest.RelL2(w, want[name]); e != 0 {
				t.Errorf("rank %d, %s: relative L2 %.3g from the uninterrupted run", r, name, e)
			}
		}
	}
	a := readMetrics(t, filepath.Join(full[0].Out, MetricsFile))
	b := readMetrics(t, filepath.Join(jobs[0].Out, MetricsFile))
	if len(a) != len(b) || a[len(a)-1].Loss != b[len(b)-1].Loss {
		t.Errorf("metrics: %d lines ending at loss %v, want %d ending at %v", len(b), b[len(b)-1].Loss, len(a), a[len(a)-1].Loss)
	}
}

func TestRankWithOtherSettingsFailsWithoutHanging(t *testing.T) {
	dir := t.TempDir()
	_, _, errs := runRanks(t, 2, func(r int) *Job {
		j := tinyJob(t, MethodMoSLoRA, filepath.Join(dir, string(rune('0'+r))))
		if r == 1 {
			j.Config.Seed = 5
		}
		return j
	})
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "rank 1 has other settings or training data than rank 0") {
		t.Fatalf("rank 1: %v, want an error naming the mismatch", errs[1])
	}
}

// Every row of a micro-batch goes to exactly one rank, and the deal is balanced: no rank's
// tokens exceed another's by more than the longest row.
func TestOwnersDealEveryRowOnceAndBalance(t *testing.T) {
	l := data.Loader{Examples: mixedExamples(), Batch: 7, Pad: 0}
	for _, b := range l.Epoch(0) {
		longest := 0
		for _, n := range b.Lens {
			longest = max(longest, n)
		}
		for _, n := range []int{1, 2, 3, 8} {
			own := owners(&b, n)
			load := make([]int, n)
			for i, r := range own {
				if r < 0 || r >= n {
					t.Fatalf("row %d dealt to rank %d of %d", i, r, n)
				}
				load[r] += b.Lens[i]
			}
			lo, hi := load[0], load[0]
			for _, x := range load {
				lo, hi = min(lo, x), max(hi, x)
			}
			if hi-lo > longest {
				t.Errorf("%d rows over %d ranks: loads %v differ by more than the longest row %d", b.B, n, load, longest)
			}
		}
	}
}
