// Package jobs is the one home of what the CLI runs: open a model folder with its tokenizer and
// adapter once (Open), then train (Train: data, the training loop of package train, outputs and
// the evaluation after it), the demo, evaluate, generate, merge, export and forward. The CLI holds
// only flags and printing; package train only the training loop. OnRanks runs a job as one rank of
// an MPI job (Train and Evaluate split their work over its communicator: TrainFiles.Comm,
// eval.Options.Comm).
//
// ModelDir is the one place a --model argument becomes a folder (today a local path; a hub
// resolver that maps model names to the Hugging Face cache plugs in there).
//
// # Invariants
//
//   - Every job loads a model folder through Open, so loading, adapter attachment and merging
//     happen in one place, in one order (tokenizer, model, adapter).
//   - Errors name the file, the key or the setting in the user's terms, never a CLI flag: the same
//     job runs from the CLI, a sweep or a test.
//   - Jobs write outputs by temporary file and rename; nothing a user wrote is replaced unless
//     the job is told to (Force).
//   - Over several MPI ranks, rank 0 alone writes files and reports progress; a job failing on
//     any rank ends every rank (OnRanks), so none waits forever for it.
package jobs
