package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moslora/moslora/eval"
	"github.com/moslora/moslora/report"
	"github.com/moslora/moslora/stats"
)

// TestReportOfATinySweep runs a tiny sweep on the embedded default (LoRA, MoSLoRA and a global
// mixer, two seeds each) and writes its report: every figure is a valid PNG and SVG, and every
// number in report.md is a number of the run files or one computed from them by a tested
// function (eval.Compare, stats.MeanInterval, Report.BootstrapAvgScore), or one of the report's
// two parameters (the 95% level and the bootstrap resamples).
func TestReportOfATinySweep(t *testing.T) {
	if testing.Short() {
		t.Skip("trains six tiny cells")
	}
	t.Setenv("MOSLORA_TEST_AS_CLI", "1")
	in := tinyInputs(t, 3)
	dir := filepath.Join(t.TempDir(), "sweep")
	if out, err := runCLI(t, sweepArgs(in, dir, "--methods", "lora,moslora,global", "--subspaces", "2", "--seeds", "0-1", "--steps", "6", "--jobs", "2")...); err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	checkSameDataOrderPerSeed(t, dir, []string{"lora", "moslora", "global"}, 2)
	rdir := filepath.Join(t.TempDir(), "report")
	if out, err := runCLI(t, "report", dir, "--out", rdir, "--html"); err != nil || !strings.Contains(out, "report of 6 runs in 3 groups") {
		t.Fatalf("report: %v\n%s", err, out)
	}
	html, err := os.ReadFile(filepath.Join(rdir, report.HTMLFile))
	if err != nil || !strings.Contains(string(html), "<table>") || strings.Count(string(html), `src="data:image/svg+xml;base64,`) != 7 || strings.Contains(string(html), `.svg"`) {
		t.Errorf("report.html: %v; want tables and the 7 figures embedded as data URIs", err)
	}
	if _, err := runCLI(t, "report", dir, "--out", rdir); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("a second report into the same folder: %v, want a refusal mentioning --force", err)
	}
	md, err := os.ReadFile(filepath.Join(rdir, report.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report.md:\n%s", md)

	for _, fig := range []string{"scores-avg_score", "scores-balanced_score", "scores-nll", "tasks", "loss", "spectrum-moslora", "global-global"} {
		if !strings.Contains(string(md), "("+fig+".svg)") {
			t.Errorf("report.md does not show %s.svg", fig)
		}
		checkPNG(t, filepath.Join(rdir, fig+".png"))
		checkSVG(t, filepath.Join(rdir, fig+".svg"))
	}
	if !strings.Contains(string(md), "No run in this sweep logged gate usage") {
		t.Error("report.md does not say that gate usage is unavailable")
	}

	known := runFileNumbers(t, dir)
	computed := computedNumbers(t, dir)
	checked := 0
	for _, tok := range strings.FieldsFunc(string(md), func(r rune) bool { return r == ' ' || r == '\n' || r == '|' }) {
		tok = strings.Trim(tok, "[](),;:`*%±!")
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		checked++
		if !matchesAny(tok, known) && !matchesAny(tok, computed) {
			t.Errorf("report.md number %q is neither in the run files nor computed from them", tok)
		}
	}
	if checked < 50 {
		t.Errorf("only %d numbers checked in report.md; the tables should hold many more", checked)
	}
}

func checkPNG(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("%s: not a valid PNG figure (%v)", p, err)
	}
}

func checkSVG(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Error(err)
		return
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: not well-formed XML: %v", p, err)
			return
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q, want svg", p, root)
	}
}

// runFileNumbers collects every JSON number of the sweep's run files (cell.json, eval.json,
// train_config.json, metrics.jsonl).
func runFileNumbers(t *testing.T, dir string) []float64 {
	var out []float64
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case float64:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "*.json*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var v any
			if err := dec.Decode(&v); err != nil {
				break
			}
			walk(v)
		}
	}
	if len(out) == 0 {
		t.Fatal("no numbers in the run files")
	}
	return out
}

// computedNumbers recomputes, from the run files, what the report derives: compare's summaries
// and tests per metric, the per-task t-intervals and the per-run bootstrap intervals.
func computedNumbers(t *testing.T, dir string) []float64 {
	s, err := report.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := []float64{100 * report.Level, eval.BootstrapResamples}
	groups := s.EvalGroups()
	for _, name := range report.ReportMetrics {
		m, _ := eval.MetricByName(name)
		c, err := eval.Compare(groups, eval.CompareOptions{Metric: m})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range c.Groups {
			out = append(out, float64(g.Runs), g.Mean, g.Min, g.Max)
			if g.Std != nil {
				out = append(out, *g.Std)
			}
			for _, ts := range g.Tasks {
				out = append(out, ts.Mean)
				if ts.Std != nil {
					out = append(out, *ts.Std)
				}
			}
		}
		for _, ts := range c.Tests {
			out = append(out, ts.Diff, float64(ts.Paired), ts.PairedDiff, ts.PairedP, ts.WilcoxonP, ts.PairedD, ts.WelchP, ts.MannWhitneyP, ts.CohenD)
		}
		for _, g := range groups {
			for _, r := range g.Runs {
				if v := m.Of(r.Report); v != nil {
					out = append(out, *v)
				}
			}
		}
	}
	for _, g := range groups {
		tasks := map[string][]float64{}
		for _, r := range g.Runs {
			for name, ts := range r.Report.Tasks {
				if ts.MainScore() != nil {
					tasks[name] = append(tasks[name], *ts.MainScore())
				}
			}
			if iv, ok := r.Report.BootstrapAvgScore(eval.BootstrapResamples, report.Level, uint64(*r.Seed)); ok {
				out = append(out, iv.Lo, iv.Hi)
			}
		}
		for _, v := range tasks {
			iv := stats.MeanInterval(v, report.Level)
			out = append(out, iv.Estimate, iv.Lo, iv.Hi)
		}
	}
	return out
}

// matchesAny reports whether some value prints as tok at tok's precision.
func matchesAny(tok string, vals []float64) bool {
	tok = strings.TrimPrefix(tok, "+")
	dec := 0
	if i := strings.IndexByte(tok, '.'); i >= 0 && !strings.ContainsAny(tok, "eE") {
		dec = len(tok) - i - 1
	}
	for _, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		if strings.ContainsAny(tok, "eE") {
			if fmt.Sprintf("%.3g", v) == tok {
				return true
			}
			continue
		}
		if s := strings.TrimPrefix(fmt.Sprintf("%.*f", dec, v), "+"); s == tok || s == "-"+tok && strings.Trim(tok, "0.") == "" {
			return true
		}
	}
	return false
}

// checkSameDataOrderPerSeed: the tokens of every update (metrics.jsonl) are the same for every
// method of a seed — the same batches in the same order, so seeds pair methods — and differ
// between seeds.
func checkSameDataOrderPerSeed(t *testing.T, dir string, methods []string, seeds int) {
	t.Helper()
	tokens := func(cell string) string {
		b, err := os.ReadFile(filepath.Join(dir, "runs", cell, "metrics.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m struct{ Tokens int64 }
			json.Unmarshal([]byte(line), &m)
			out = append(out, fmt.Sprint(m.Tokens))
		}
		return strings.Join(out, ",")
	}
	var first []string
	for s := 0; s < seeds; s++ {
		want := tokens(fmt.Sprintf("%s-seed%d", methods[0], s))
		for _, m := range methods[1:] {
			if got := tokens(fmt.Sprintf("%s-seed%d", m, s)); got != want {
				t.Errorf("seed %d: %s saw tokens %s per update, %s saw %s", s, m, got, methods[0], want)
			}
		}
		first = append(first, want)
	}
	if seeds > 1 && first[0] == first[1] {
		t.Errorf("seeds 0 and 1 saw the same tokens per update (%s): the check cannot tell data orders apart", first[0])
	}
}
