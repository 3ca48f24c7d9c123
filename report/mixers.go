package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/moslora/moslora/safetensors"
	"gonum.org/v1/gonum/mat"
)

// AdapterFile is the adapter tensor file in a cell folder.
const AdapterFile = "adapter_model.safetensors"

// ModuleValues are one vector per adapted module (e.g. its mixer's singular values), averaged
// over the runs of a group, in module order (layer, then name).
type ModuleValues struct {
	Modules []string    // short names: "L<layer>.<module>"
	Values  [][]float64 // per module
	Runs    int         // runs averaged
}

// DenseSpectra reads the dense mixers (lora_AB, r×r) of each run and returns, per module, the
// singular values (descending) averaged over the runs. ok is false when no run holds a dense
// mixer.
func DenseSpectra(runs []*Run) (ModuleValues, bool, error) {
	return perModule(runs, ".lora_AB.weight", func(w []float32, shape []int) ([]float64, error) {
		if len(shape) != 2 || shape[0] != shape[1] {
			return nil, fmt.Errorf("lora_AB of shape %v: expected (r, r)", shape)
		}
		return SingularValues(w, shape[0]), nil
	})
}

// GlobalWeights reads the global mixers' logits π (K) of each run and returns, per module, the
// subspace weights softmax(π) averaged over the runs. ok is false when no run holds one.
func GlobalWeights(runs []*Run) (ModuleValues, bool, error) {
	return perModule(runs, ".lora_global.weight", func(w []float32, shape []int) ([]float64, error) {
		return Softmax(w), nil
	})
}

// perModule applies f to every tensor whose key ends in suffix, in each run's adapter file, and
// averages the results over runs module by module.
func perModule(runs []*Run, suffix string, f func(w []float32, shape []int) ([]float64, error)) (ModuleValues, bool, error) {
	sums := map[string][]float64{}
	n := 0
	for _, r := range runs {
		p := filepath.Join(r.Dir, AdapterFile)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		st, err := safetensors.Open(p)
		if err != nil {
			return ModuleValues{}, false, fmt.Errorf("report: %w", err)
		}
		found := false
		for _, key := range st.Names() {
			if !strings.HasSuffix(key, suffix) {
				continue
			}
			w, info, err := st.Float32(key)
			if err != nil {
				st.Close()
				return ModuleValues{}, false, fmt.Errorf("report: %s: %s: %w", p, key, err)
			}
			v, err := f(w, info.Shape)
			if err != nil {
				st.Close()
				return ModuleValues{}, false, fmt.Errorf("report: %s: %s: %v", p, key, err)
			}
			name := strings.TrimSuffix(strings.TrimPrefix(key, "base_model.model."), suffix)
			if s, ok := sums[name]; ok && len(s) == len(v) {
				for i := range v {
					s[i] += v[i]
				}
			} else {
				sums[name] = v
			}
			found = true
		}
		st.Close()
		if found {
			n++
		}
	}
	if n == 0 {
		return ModuleValues{}, false, nil
	}
	return meanModules(sums, n), true, nil
}

var layerRe = regexp.MustCompile(`layers\.(\d+)\.`)

// moduleLess orders module paths by layer number, then by path.
func moduleLess(a, b string) bool {
	la, lb := layerOf(a), layerOf(b)
	if la != lb {
		return la < lb
	}
	return a < b
}

func layerOf(s string) int {
	m := layerRe.FindStringSubmatch(s)
	if m == nil {
		return -1
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// shortModule names a module path for a figure: "model.layers.3.self_attn.q_proj" → "L3.q_proj".
func shortModule(path string) string {
	last := path[strings.LastIndex(path, ".")+1:]
	if l := layerOf(path); l >= 0 {
		return fmt.Sprintf("L%d.%s", l, last)
	}
	return last
}

// SingularValues are the singular values (descending) of the n×n row-major matrix w.
func SingularValues(w []float32, n int) []float64 {
	d := make([]float64, len(w))
	for i, v := range w {
		d[i] = float64(v)
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(n, n, d), mat.SVDNone) {
		nan := make([]float64, n)
		for i := range nan {
			nan[i] = math.NaN()
		}
		return nan
	}
	return svd.Values(nil)
}

// Softmax is softmax(x) in float64.
func Softmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	out := make([]float64, len(x))
	var s float64
	for i, v := range x {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// meanModules divides each module's summed values by the n runs they came from, in module order.
func meanModules(sums map[string][]float64, n int) ModuleValues {
	names := make([]string, 0, len(sums))
	for k := range sums {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return moduleLess(names[i], names[j]) })
	mv := ModuleValues{Runs: n}
	for _, k := range names {
		v := sums[k]
		for i := range v {
			v[i] /= float64(n)
		}
		mv.Modules = append(mv.Modules, shortModule(k))
		mv.Values = append(mv.Values, v)
	}
	return mv
}
