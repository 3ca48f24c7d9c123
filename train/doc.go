// Package train owns the training loop and nothing else: adapter (any method of the mixer
// table: lora, moslora, global, gated, …) or full fine-tuning with AdamW,
// warm-up + cosine/linear/constant learning-rate schedules, gradient accumulation and clipping,
// metrics.jsonl, checkpoints and resumption, and the output folders. Loading a model folder,
// reading and encoding data, the demo and the evaluation after training are jobs (package jobs).
//
// # One update
//
//	zero grads
//	for each of up to GradAccum micro-batches of the current epoch:
//	    loss_i = model.ForwardBackward(batch)          (mean CE over the batch's target tokens;
//	                                                   split into length-sorted parts, each part
//	                                                   ForwardBackwardSum(part, 1/targets(batch));
//	                                                   over N ranks, each runs its rows' parts)
//	sum gradients and losses over the ranks            (Job.Comm, parallel.go; alone: nothing)
//	g = mean over micro-batches of their gradients     (Hugging Face Trainer convention)
//	norm = ‖g‖₂; g *= min(1, clip/(norm + 1e-6))      (torch clip_grad_norm_)
//	lr = LR · LRFactor(schedule, step, warmup, total)  (transformers' schedules, step 0-based)
//	AdamW (torch.optim.AdamW) on every trainable tensor; weight decay only on matrices;
//	    B's and the mixer's rate is lr·lr_ratio_b, lr·lr_ratio_mixer (LoRA+; 1 by default);
//	    during the first mixer_warmup updates only the mixer's tensors are clipped and stepped;
//	    an extended adapter's frozen entries (adapter.Param.Train) get a zero gradient before
//	    clipping and no AdamW step (extend.go)
//
// An epoch is the seed-shuffled order of the examples (data.Order), optionally packed, cut into
// micro-batches; the last update of an epoch may have fewer micro-batches. Steps counts updates
// and runs through as many epochs as needed.
//
// # Invariants
//
//   - Resumption is exact: a checkpoint holds every trainable tensor, both AdamW moments, the
//     update count and the data position (epoch, micro-batch); data order is a pure function of
//     (seed, epoch) and initialisation of the seed, so a run interrupted at step k and resumed
//     produces bit-identical parameters to an uninterrupted run (as long as the model's own
//     arithmetic is deterministic). A resume with other settings or other data is an error.
//   - Every file is written atomically (temporary file or folder in the destination, then
//     rename); metrics lines are appended with one write each, and a resume drops the lines
//     after the checkpoint's step.
//   - A non-finite loss or gradient norm is an error naming the step; nothing is saved over the
//     last good checkpoint.
//   - Cancelling the context (Ctrl-C) saves a checkpoint at the next update boundary and returns
//     an error wrapping ErrInterrupted.
//   - Data parallel (Job.Comm with N > 1 ranks, parallel.go): every rank walks the same
//     micro-batches, runs its rows of each, and the summed gradients and losses make each update
//     equal the single-process one up to float summation order; all ranks hold identical
//     parameters after every update; only rank 0 reads checkpoints and writes files; a stop
//     (Ctrl-C) on any rank stops every rank at the same update.
//   - An extending run (Config.Extend, extend.go) changes only the entries of its new subspaces:
//     the old adapter's entries are bit-identical after any number of updates, weight decay
//     included, and its resume is exact like any other (the checkpoint's settings record the
//     source adapter's folder, rank and weights hash).
//   - An output folder is held by one run at a time (OpenOut's lock file); a folder holding an
//     earlier run is refused unless the run resumes or replaces it; the finished outputs appear
//     together (OutDir.Commit), and when writing them fails, the finished training is kept as a
//     checkpoint. Every adapter checkpoint is itself a loadable adapter folder.
package train
