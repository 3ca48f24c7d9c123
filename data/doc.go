// Package data turns JSONL training and evaluation files into token ids, loss labels and padded
// batches.
//
// # Row shapes
//
// Every line of a JSONL file is one JSON object in exactly one of three shapes (unknown fields are
// errors; "task" and "domain" may accompany any shape and only label the row):
//
//	{"text": "..."}                                   loss on every token after BOS (and on EOS)
//	{"prompt": "...", "completion": "...",
//	 "choices": [...]?, "answers": [...]?}            loss on the completion and EOS only
//	{"messages": [{"role": "...", "content": "..."}]} loss on assistant contents and their EOS
//
// # Example layout
//
// An example is  [BOS] + enc(prompt) + enc(completion) + EOS, with prompt and completion tokenized
// separately (so the boundary never merges across them, as in the PyTorch reference). BOS is added
// only when the tokenizer's post-processor adds one (Tokenizer.AddBOS). Labels are aligned with ids:
// Labels[t] = IDs[t] where token t is trained on and IgnoreLabel (-100) elsewhere; the model's loss
// compares logits[t] with Labels[t+1].
//
// # Chat format
//
// A messages row is rendered in the same "### " style as the task prompts:
//
//	[BOS] "### System:\n" content "\n"          (system, no loss)
//	      "### User:\n" content "\n"            (user, no loss)
//	      "### Assistant:" | " " content | EOS "\n"   (header no loss; content and EOS trained)
//
// Each piece is tokenized separately. Roles other than system, user and assistant are errors, and a
// conversation needs at least one assistant message with non-empty content.
//
// # Invariants
//
//   - Truncation to MaxLen keeps BOS (when present) and then the last MaxLen-1 tokens, so the
//     completion and EOS — what is learned — survive.
//   - Batches are right-padded with the pad id; padding labels are IgnoreLabel.
//   - Epoch order is a pure function of (seed, epoch): a resumed run sees the same order.
//   - A bad line is an error naming file:line and the reason, or (SkipBad) is skipped and counted.
package data
