package eval

import (
	"reflect"
	"strings"
	"testing"

	"github.com/moslora/moslora/data"
	"github.com/moslora/moslora/defaults"
	"github.com/moslora/moslora/model"
	"github.com/moslora/moslora/mpi"
	"github.com/moslora/moslora/mpi/mpitest"
	"github.com/moslora/moslora/tokenizer"
)

// An evaluation split over ranks reports exactly what one process reports, on every rank:
// results are gathered by an all-reduce in which each value meets only zeros.
func TestRanksReportExactlyWhatOneProcessReports(t *testing.T) {
	p, err := defaults.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(p.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	all, _, err := data.ReadFile(p.Test, false)
	if err != nil {
		t.Fatal(err)
	}
	var rows []data.Row // every 25th row: every task, choice and generative rows
	for i := 0; i < len(all); i += 25 {
		rows = append(rows, all[i])
	}
	opt := Options{MaxLen: 64, Pad: tok.EOS(), BatchTokens: 256}
	load := func() LM {
		m, err := model.Load(p.ModelDir)
		if err != nil {
			t.Fatal(err)
		}
		return ModelLM{M: m}
	}
	want, err := Evaluate(load(), tok, rows, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 3} {
		lms := make([]LM, n)
		for r := range lms {
			lms[r] = load()
		}
		got := make([]*Report, n)
		forwards := make([]int, n)
		errs := mpitest.Run(n, func(c mpi.Comm) error {
			o := opt
			o.Comm = c
			o.Progress = func(int, int) { forwards[c.Rank()]++ }
			var err error
			got[c.Rank()], err = Evaluate(lms[c.Rank()], tok, rows, o)
			return err
		})
		for r := range got {
			if errs[r] != nil {
				t.Fatalf("%d ranks, rank %d: %v", n, r, errs[r])
			}
			if forwards[r] == 0 {
				t.Errorf("%d ranks: rank %d ran no forward; the test would not split anything", n, r)
			}
			if !reflect.DeepEqual(got[r], want) {
				t.Errorf("%d ranks, rank %d: report %+v, one process %+v", n, r, got[r], want)
			}
		}
	}
}

// A rank that planned other requests makes every rank fail instead of tallying a mixture: here
// the same number of requests (so the all-reduce would line up) with other tokens.
func TestRanksWithOtherRowsFail(t *testing.T) {
	lm := bigramLM{hi: 5, next: map[int]int{id('x'): id(' ')}}
	rows := []data.Row{{Task: "t", HasPrompt: true, Prompt: "x", Completion: "a"}, {Task: "t", HasPrompt: true, Prompt: "x", Completion: "bb"}}
	errs := mpitest.Run(2, func(c mpi.Comm) error {
		_, err := Evaluate(lm, byteTok{}, rows[c.Rank():c.Rank()+1], Options{Comm: c, MaxBatch: 1})
		return err
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "1 of 2 ranks planned other sequences") {
			t.Errorf("rank %d: %v, want an error naming the disagreement", r, err)
		}
	}
}
