// Package report turns a sweep folder (package sweep: runs/<cell>/ with cell.json, metrics.jsonl,
// train_config.json, eval.json and the adapter) into a self-contained Markdown report with
// figures in PNG and SVG: training-loss curves per group (mean and min–max band over seeds), the
// score of every run per group (box and points), per-task scores with 95% intervals over seeds,
// the dense mixer's singular values per module, the global mixer's subspace weights per module,
// the gated mixer's gate usage (per module and per run) and gate entropy from metrics.jsonl,
// and the tables and paired tests of `compare` for avg_score, balanced_score and NLL.
//
// # Invariants
//
//   - Every number in report.md is read from a run file or computed from run files by a function
//     of package stats or eval (the test checks each one); nothing is typed in.
//   - A figure whose data the run files do not hold (e.g. gate usage of a sweep without a gated
//     mixer) is not drawn; the report says what is missing instead.
//   - The report never overwrites an existing report.md unless asked to (Options.Force).
//   - The sweep folder is only read.
package report
