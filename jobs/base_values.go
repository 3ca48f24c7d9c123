package jobs

import "github.com/moslora/moslora/model"

// BaseValues names the values a frozen base computes with under --base-dtype base, for a model
// whose config declares dtype declared ("bfloat16", "float16", "float32", …): "q8" (Q8_0
// blocks), "bf16" (a bfloat16 checkpoint with auto or f32 — the same bits whether held in 16 or
// 32 bits — or any checkpoint rounded by bf16), "f16" (a float16 checkpoint with auto or f32, or
// any checkpoint rounded by f16) or "f32". A random initialisation ignores --base-dtype: "f32". Train records it in every
// checkpoint and --resume refuses a checkpoint whose base computed with other values
// (train.Job.Base), and in train_config.json as "base_values" beside "base_dtype".
func BaseValues(base model.BaseDtype, declared string, initRandom bool) string {
	switch {
	case initRandom:
		return "f32"
	case base == model.BaseQ8:
		return "q8"
	case base == model.BaseBF16:
		return "bf16"
	case base == model.BaseF16:
		return "f16"
	case declared == "bfloat16":
		return "bf16"
	case declared == "float16":
		return "f16"
	}
	return "f32"
}
