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
//	{"messages": [{"role": "...", "content": "..."}],
//	 "tools": [...]?}                                 loss on the assistant turns
//	{"prompt": [messages], "completion": [messages],
//	 "tools": [...]?}                                 TRL's conversational form: loss on the completion
//
// # Example layout
//
// An example is  [BOS] + enc(prompt) + enc(completion) + EOS, with prompt and completion tokenized
// separately (so the boundary never merges across them, as in the PyTorch reference). BOS is added
// only when the tokenizer's post-processor adds one (Tokenizer.AddBOS). Labels are aligned with ids:
// Labels[t] = IDs[t] where token t is trained on and IgnoreLabel (-100) elsewhere; the model's loss
// compares logits[t] with Labels[t+1].
//
// # Chat rows
//
// With a tokenizer from WithChatTemplate (the model has a chat template), conversational rows are
// rendered by the model's own template exactly as transformers' apply_chat_template renders them
// (package chat) and tokenized without added special tokens (the template writes BOS and the
// end-of-turn tokens). Loss falls on the assistant turns: the {% generation %} blocks where the
// template has them, otherwise the text each assistant message adds when the conversation is
// rendered message by message (after the header add_generation_prompt writes; up to and including
// the end-of-turn token). A completion is located the same way. Each trained span and the text
// between spans are tokenized separately. Text a template writes after every conversation (Phi-3's
// EOS) is context, not part of the last turn. A turn that renders differently once later turns
// follow (Qwen3 drops earlier turns' thinking) is found by anchoring its content; a turn that cannot
// be located is an error naming the line and the message, never a guessed mask (chat.go).
//
// Without a template, a messages row (role and text content only) is rendered in the same "### "
// style as the task prompts:
//
//	[BOS] "### System:\n" content "\n"          (system, no loss)
//	      "### User:\n" content "\n"            (user, no loss)
//	      "### Assistant:" | " " content | EOS "\n"   (header no loss; content and EOS trained)
//
// Each piece is tokenized separately. A TRL prompt/completion row takes loss only on the
// completion's assistant contents. Roles other than system, user and assistant, and messages with
// more than a role and a text content (tool calls, content lists), are errors that ask for a chat
// template. Every conversation needs an assistant message.
//
// # Invariants
//
//   - Truncation to MaxLen keeps BOS (when present) and then the last MaxLen-1 tokens, so the
//     completion and EOS — what is learned — survive.
//   - Batches are right-padded with the pad id; padding labels are IgnoreLabel.
//   - Epoch order is a pure function of (seed, epoch): a resumed run sees the same order.
//   - A bad line is an error naming file:line and the reason, or (SkipBad) is skipped and counted.
package data
