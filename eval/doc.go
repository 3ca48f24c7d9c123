// Package eval scores a language model (optionally with an adapter) on JSONL task rows: completion
// negative log-likelihood, multiple-choice accuracy and balanced accuracy, and generative exact
// match, per task and overall.
//
// # Definitions
//
// For a row with prompt p, P = [BOS] + enc(p) (BOS when the tokenizer adds one); every sequence is
// truncated like a training example (keep BOS, then the last tokens, see data.Truncate).
//
//   - nll: the training loss of the row — the mean, over all scored tokens of the task, of
//     -log p(token | prefix), where the scored tokens are those the training loss uses
//     (completion + EOS for prompt/completion rows; see package data).
//   - accuracy (rows with "choices"): the prediction is argmax over choices c of
//     Σ log p(enc(c) | P) — the summed log-probability of the choice tokens, no EOS, no length
//     normalisation (ties go to the first choice); the truth is the row's completion.
//   - balanced_accuracy: the mean over the classes present in the task's truths of the recall
//     (correct / rows) of that class.
//   - exact_match (rows without "choices"): 1 when, for some candidate a in "answers" (else the
//     completion), greedy decoding from P would emit enc(" " + strings.TrimSpace(a)) followed by
//     EOS — checked with one teacher-forced forward: at every candidate position the argmax of the
//     logits (first index on ties) equals the next token.
//   - avg_score: the mean over tasks of accuracy (tasks with choice rows) or exact match (the
//     others).
//
// Accuracy, balanced accuracy, exact match and avg_score are percentages (0–100); a metric with no
// row to measure it is null in JSON. Each task also keeps its per-row scores ("examples": summed
// NLL and scored tokens of every row, correctness and truth class of choice rows, exact match of
// generative rows, in file order) so that a single run's score gets a bootstrap interval over the
// test examples; reports written without them still read.
//
// # Comparing runs
//
// Compare summarises groups of runs (one per seed) under one Metric (avg_score, balanced_score,
// nll, accuracy, exact_match) and tests each group against the first: Welch and Mann–Whitney as
// independent samples, and — over the seeds both groups ran, read from train_config.json beside
// each eval.json — the paired t-test, the Wilcoxon signed-rank test and d_z, since the same seed
// gives every method the same data order. A parity check compares a group's mean with a reference
// mean within a tolerance.
//
// # Invariants
//
//   - Identical scored sequences are run once (a generative row's completion serves both its NLL
//     and its exact match).
//   - Results do not depend on batch composition beyond float rounding of the model's forward.
package eval
