package main

// baseDtypeUsage is the --base-dtype help of the inference commands (generate, its --chat, serve):
// the same values and meaning as train and eval.
const baseDtypeUsage = "memory of the frozen base's matrices: auto (a bf16 checkpoint stays bf16, others float32), f32, bf16 (rounds a float32 checkpoint to nearest even), q8 (GGUF Q8_0 blocks of 32 int8 + one f16 scale)"
