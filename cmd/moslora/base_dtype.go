package main

// baseDtypeUsage is the --base-dtype help of the inference commands (generate, its --chat, serve):
// the same values and meaning as train and eval.
const baseDtypeUsage = "memory of the frozen base's matrices: auto (a bf16 or f16 checkpoint stays in its 16 bits, others float32), f32, bf16 or f16 (rounds the checkpoint to nearest even; f16: magnitudes from 65520 become ±Inf), q8 (GGUF Q8_0 blocks of 32 int8 + one f16 scale)"
