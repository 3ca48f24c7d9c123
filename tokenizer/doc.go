// Package tokenizer reads a Hugging Face tokenizer.json (plus tokenizer_config.json) and encodes and
// decodes text exactly as the Hugging Face `tokenizers` library does, in pure Go.
//
// It owns the whole text ↔ token-id pipeline:
//
//	text ─ added tokens (raw) ─ normalizer ─ added tokens (normalized) ─ pre-tokenizer ─ BPE ─ post-processor ─ ids
//	ids ─ id→token ─ decoder ─ text
//
// Supported components (anything else is a load error naming the file, the key and the type):
//   - normalizers: Sequence, Prepend, Replace, NFC, NFKC, NFD, NFKD, Lowercase, Strip
//   - pre-tokenizers: ByteLevel, Split, Metaspace, Digits, WhitespaceSplit, Sequence
//   - model: BPE (both merge encodings, byte_fallback, fuse_unk, unk_token, ignore_merges,
//     continuing_subword_prefix, end_of_word_suffix; no dropout)
//   - post-processors: TemplateProcessing, ByteLevel, Sequence, BertProcessing, RobertaProcessing
//   - decoders: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence
//
// The regular expressions that real tokenizers ship (GPT-2, Llama 3, Qwen 2/3) are recognised and run
// by hand-written splitters (splitter.go); any other pattern runs on github.com/dlclark/regexp2, a
// backtracking engine with the look-ahead Go's regexp lacks. The hand-written splitters are tested
// against regexp2 as their reference.
//
// # Invariants
//
//   - A *Tokenizer is immutable after Load and safe for concurrent use; the only shared mutable
//     state is the BPE word cache, which is guarded and never changes results.
//   - Encode never panics on any string, valid UTF-8 or not; invalid bytes are treated as U+FFFD
//     by the character classes but are carried through byte-level tokenizers byte for byte.
//   - For byte-level tokenizers, Decode(Encode(s, false), false) == s for every valid UTF-8 s.
//   - Encode(s, true) differs from Encode(s, false) only by what the post-processor adds.
package tokenizer
