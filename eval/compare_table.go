package eval

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
)

// WriteTable prints the summaries, the tests and the parity checks.
func (c *Comparison) WriteTable(w io.Writer) error {
	f := c.format
	if f == "" {
		f = "%.2f"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "group\truns\t%s\tstd\tmin\tmax\t\n", c.Metric)
	ci := false
	for _, s := range c.Groups {
		fmt.Fprintf(tw, "%s\t%d\t"+f+"\t%s\t"+f+"\t"+f+"\t\n", s.Name, s.Runs, s.Mean, fmtPtr(s.Std, f), s.Min, s.Max)
		ci = ci || s.CI != nil
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if ci {
		fmt.Fprintf(w, "\nsingle runs, 95%% bootstrap interval over test examples (%d resamples, stratified by task):\n", BootstrapResamples)
		for _, s := range c.Groups {
			if s.CI != nil {
				fmt.Fprintf(w, "  %s: "+f+" ["+f+", "+f+"]\n", s.Name, s.Mean, s.CI[0], s.CI[1])
			}
		}
	}
	var tasks []string
	seen := map[string]bool{}
	for _, s := range c.Groups {
		for name := range s.Tasks {
			if !seen[name] {
				seen[name] = true
				tasks = append(tasks, name)
			}
		}
	}
	sort.Strings(tasks)
	if len(tasks) > 0 {
		what := c.Metric
		if what == "avg_score" {
			what = "accuracy or exact match, %"
		}
		fmt.Fprintf(w, "\nper task (%s, mean ± std over runs):\n", what)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "group\t")
		for _, t := range tasks {
			fmt.Fprintf(tw, "%s\t", t)
		}
		fmt.Fprintln(tw)
		tf := "%.1f"
		if f != "%.2f" {
			tf = f
		}
		for _, s := range c.Groups {
			if s.Tasks == nil {
				continue
			}
			fmt.Fprintf(tw, "%s\t", s.Name)
			for _, t := range tasks {
				if ts, ok := s.Tasks[t]; ok {
					fmt.Fprintf(tw, tf+" ± %s\t", ts.Mean, fmtPtr(ts.Std, f))
				} else {
					fmt.Fprint(tw, "-\t")
				}
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(c.Tests) > 0 {
		fmt.Fprintln(w, "\nagainst the first group (two-sided):")
	}
	for _, t := range c.Tests {
		fmt.Fprintf(w, "  %s − %s: %s;  Welch t = %s (df %s), p = %s;  Mann–Whitney U = %g, p = %s (%s);  Cohen's d = %s\n",
			t.B, t.A, FormatNum(t.Diff, "%+"+f[1:]), FormatNum(t.WelchT, "%.2f"), FormatNum(t.WelchDF, "%.1f"), FormatNum(t.WelchP, "%.3g"),
			t.MannWhitneyU, FormatNum(t.MannWhitneyP, "%.3g"), exactWord(t.ExactRankTest), FormatNum(t.CohenD, "%.2f"))
		if t.Paired > 0 {
			fmt.Fprintf(w, "    paired over %d seeds: %s;  paired t = %s, p = %s;  Wilcoxon T = %s, p = %s (%s);  d_z = %s\n",
				t.Paired, FormatNum(t.PairedDiff, "%+"+f[1:]), FormatNum(t.PairedT, "%.2f"), FormatNum(t.PairedP, "%.3g"),
				FormatNum(t.WilcoxonT, "%g"), FormatNum(t.WilcoxonP, "%.3g"), exactWord(t.ExactWilcoxon), FormatNum(t.PairedD, "%.2f"))
		} else {
			fmt.Fprintln(w, "    paired tests: n/a (no seeds known for both groups; seeds come from train_config.json beside eval.json)")
		}
	}
	if len(c.Parity) > 0 {
		fmt.Fprintln(w, "\nparity (group mean against the reference mean):")
	}
	for _, p := range c.Parity {
		verdict := "OUTSIDE"
		if p.Within {
			verdict = "within"
		}
		ref := fmt.Sprintf("%s "+f, p.Ref, p.RefMean)
		if _, err := strconv.ParseFloat(p.Ref, 64); err == nil {
			ref = p.Ref
		}
		fmt.Fprintf(w, "  %s "+f+" − %s = %s: %s ±%g\n", p.Group, p.Mean, ref, FormatNum(p.Diff, "%+"+f[1:]), verdict, p.Tol)
	}
	return nil
}

func exactWord(exact bool) string {
	if exact {
		return "exact"
	}
	return "normal approx."
}

// fmtPtr prints a summary statistic with format f, or "n/a" when undefined.
func fmtPtr(p *float64, f string) string {
	if p == nil {
		return "n/a"
	}
	return FormatNum(*p, f)
}
