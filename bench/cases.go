package bench

import (
	"fmt"
	"strings"

	"github.com/moslora/moslora/kernels/gemm"
	"github.com/moslora/moslora/model"
)

// Case is one measurement family: a GEMM shape (Shape set) or a training / forward step of a model
// (Model and Method set).
type Case struct {
	Name   string        // "gemm/NT/2048x1536x576", "base-19m/lora", "135m/forward", "llama-3.2-1b/lora"
	Shape  *gemm.Shape   // GEMM cases
	Model  string        // ModelBase19M, Model135M or a ConfigModel's name
	Method Method        //
	Config *model.Config // a --config / --preset case: random weights of this config
}

// The models of the training and forward cases.
const (
	ModelBase19M = "base-19m" // the pretrained model folder (--model)
	Model135M    = "135m"     // the 135M Llama shape with random weights
)

// The default step shape (--batch, --seq) and the adapter of every training case: batch 4 × 512
// tokens, r = 16, alpha = 32.
const (
	Batch = 4
	Seq   = 512
	Rank  = 16
	Alpha = 32
)

// Config135M is the shape of a 135M Llama (SmolLM-135M): vocabulary 49152, hidden 576,
// intermediate 1536, 30 layers, 9 query heads and 3 key/value heads of 64, tied embeddings.
const Config135M = `{"architectures":["LlamaForCausalLM"],"vocab_size":49152,"hidden_size":576,
	"intermediate_size":1536,"num_hidden_layers":30,"num_attention_heads":9,"num_key_value_heads":3,
	"rms_norm_eps":1e-5,"rope_theta":100000.0,"tie_word_embeddings":true,"dtype":"float32"}`

// Parse135M returns the parsed Config135M.
func Parse135M() *model.Config {
	c, err := model.ParseConfig([]byte(Config135M))
	if err != nil {
		panic("bench: Config135M does not parse: " + err.Error())
	}
	return c
}

var methods = []Method{MethodLoRA, MethodMoSLoRA, MethodFull, MethodForward}

// AllCases lists every case in run order: the GEMM shapes, then base-19m, then 135m.
func AllCases() []Case {
	var cs []Case
	for i := range gemm.BenchShapes {
		s := &gemm.BenchShapes[i]
		cs = append(cs, Case{Name: "gemm/" + s.Name(), Shape: s})
	}
	for _, m := range []string{ModelBase19M, Model135M} {
		for _, meth := range methods {
			cs = append(cs, Case{Name: m + "/" + string(meth), Model: m, Method: meth})
		}
	}
	return cs
}

// ConfigCases lists the four cases of a --config / --preset model: "<name>/lora", "/moslora",
// "/full", "/forward".
func ConfigCases(cm *ConfigModel) []Case {
	var cs []Case
	for _, meth := range methods {
		cs = append(cs, Case{Name: cm.Name + "/" + string(meth), Model: cm.Name, Method: meth, Config: cm.Config})
	}
	return cs
}

// Select returns the cases named by only, a comma-separated list (empty: every case), among
// AllCases (SelectFrom).
func Select(only string) ([]Case, error) { return SelectFrom(AllCases(), only) }

// SelectFrom returns the cases of all named by only, a comma-separated list (empty: every case).
// Each entry is a case name ("base-19m/lora", "gemm/NT/2048x1536x576"), a group ("gemm",
// "base-19m", "135m", a preset's name), a method ("lora": that method of every model), or a GEMM
// shape without its form, M×N×K ("gemm/2048x576x1536": every form of that shape). Cases keep
// all's order and appear once.
func SelectFrom(all []Case, only string) ([]Case, error) {
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	want := make([]bool, len(all))
	for _, e := range strings.Split(only, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		found := false
		for i, c := range all {
			if matches(c, e) {
				want[i], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("bench: --only %q names no case (want one of %s, a method: lora, moslora, full, forward, or a GEMM shape such as gemm/2048x576x1536)", e, caseList(all))
		}
	}
	var cs []Case
	for i, c := range all {
		if want[i] {
			cs = append(cs, c)
		}
	}
	return cs, nil
}

// matches reports whether the --only entry e names case c.
func matches(c Case, e string) bool {
	if c.Name == e || strings.HasPrefix(c.Name, e+"/") || (c.Method != "" && string(c.Method) == e) {
		return true
	}
	if c.Shape != nil {
		return e == fmt.Sprintf("gemm/%dx%dx%d", c.Shape.M, c.Shape.N, c.Shape.K)
	}
	return false
}

// caseList names the training / forward cases of all and its GEMM group, for messages.
func caseList(all []Case) string {
	var ns []string
	for _, c := range all {
		if c.Shape == nil {
			ns = append(ns, c.Name)
		} else if len(ns) == 0 || ns[0] != "gemm" {
			ns = append([]string{"gemm"}, ns...)
		}
	}
	return strings.Join(ns, ", ")
}

// Lookup returns the case of an exact name among AllCases (LookupIn).
func Lookup(name string) (Case, error) { return LookupIn(AllCases(), name) }

// LookupIn returns the case of all with an exact name (the child process's --only).
func LookupIn(all []Case, name string) (Case, error) {
	for _, c := range all {
		if c.Name == name {
			return c, nil
		}
	}
	return Case{}, fmt.Errorf("bench: no case named %q", name)
}
