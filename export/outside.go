package export

import (
	"fmt"

	"github.com/moslora/moslora/internal/within"
)

// CheckOutside refuses an output path that is one of the input folders or lies inside one: with
// --force, writing it would replace the files being read (the model or adapter itself). op names
// the command ("merge", "export") and inputs map each input flag to its folder.
func CheckOutside(op, out string, inputs map[string]string) error {
	for _, flag := range []string{"model", "adapter"} {
		dir, ok := inputs[flag]
		if !ok || dir == "" {
			continue
		}
		if within.Dir(out, dir) {
			return fmt.Errorf("%s: --out %s is the --%s folder %s or inside it; writing there would replace what is being read (even with --force): choose another --out", op, out, flag, dir)
		}
	}
	return nil
}
