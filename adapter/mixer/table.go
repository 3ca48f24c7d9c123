package mixer

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Names of the built-in mixers (the moslora_mixer values).
const (
	IdentityName = "identity" // plain LoRA
	DenseName    = "dense"    // MoSLoRA: learnable r×r mixer (lora_AB)
	GlobalName   = "global"   // softmax(π) weights per block of r/K
	GatedName    = "gated"    // softmax(G·x + c) weights per token and block
	FoldedName   = "folded"   // MoSLoRA's initial mixer folded into A and frozen (a control)
	// GatedTopKName is the gated mixer routed to the k largest gates per token (MixLoRA).
	GatedTopKName = "gated-topk"
)

// mixer_init values of the dense mixer.
const (
	InitKaiming    = "kaiming"    // kaiming-uniform(a=√5), the official MoSLoRA default
	InitOrthogonal = "orthogonal" // a random orthogonal matrix (torch.nn.init.orthogonal_)
	InitIdentity   = "identity"   // M = I: starts as plain LoRA
)

// Kind is one row of the table: a mixer, the training method that selects it, and how it appears
// in adapter_config.json.
type Kind struct {
	Name   string // moslora_mixer value
	Method string // training method (moslora train --method)
	// Plain marks plain LoRA: written with no mixer field (the kind of a config that names none).
	Plain bool
	// Official marks the official MoSLoRA mixer: written as "lora_use_mixer": true (the flag the
	// official code reads) instead of moslora_mixer, and implied by that flag.
	Official bool
	// Subspaces marks a mixer shaped by K = moslora_subspaces (required, ≥ 1, dividing every rank).
	Subspaces bool
	// TopK marks a mixer that keeps k of its K subspaces per token: shaped by k = moslora_top_k
	// (1 ≤ k ≤ K; when not set DefaultTopK, or K when K is smaller).
	TopK bool
	// Inits are the mixer_init values it draws by, the default first (nil: it has none; only the
	// generic "kaiming" is then accepted, and nothing is written).
	Inits []string
	// New builds the mixer for a validated Shape (called by the package's New only).
	New func(s Shape) Mixer
	// Doc is one line for --help and errors.
	Doc string
}

// table is the one place mixers and training methods meet: the built-in rows, then registered ones.
var table = []Kind{
	{Name: IdentityName, Method: "lora", Plain: true, New: newIdentity, Doc: "plain LoRA (identity mixer)"},
	{Name: DenseName, Method: "moslora", Official: true, Inits: []string{InitKaiming, InitOrthogonal, InitIdentity},
		New: newDense, Doc: "MoSLoRA: learnable r×r mixer, saved as the official lora_AB"},
	{Name: GlobalName, Method: "global", Subspaces: true, New: newGlobal, Doc: "softmax block weights over K subspaces"},
	{Name: GatedName, Method: "gated", Subspaces: true, New: newGated, Doc: "input-dependent softmax gate over K subspaces"},
	{Name: FoldedName, Method: "moslora-folded", Inits: []string{InitKaiming, InitOrthogonal},
		New: newFolded, Doc: "control: MoSLoRA's initial mixer folded into A and frozen (LoRA from A' = M·A)"},
	{Name: GatedTopKName, Method: "gated-topk", Subspaces: true, TopK: true, New: newTopK,
		Doc: "MixLoRA-style routing: the gated mixer keeping the k largest of K gates per token (softmax over those k)"},
}

var tableMu sync.RWMutex

// Register adds a mixer kind to the table (e.g. from a package's init). The name and the method
// must be new; a registered kind can be neither Plain nor Official (those rows exist).
func Register(k Kind) error {
	tableMu.Lock()
	defer tableMu.Unlock()
	if k.Name == "" || k.Method == "" || k.New == nil {
		return fmt.Errorf("mixer: Register needs a name, a method and a constructor")
	}
	if k.Plain || k.Official {
		return fmt.Errorf("mixer: %s: only the built-in identity and dense mixers are plain or official", k.Name)
	}
	for _, o := range table {
		if o.Name == k.Name || o.Method == k.Method {
			return fmt.Errorf("mixer: %s (method %s) is already registered", k.Name, k.Method)
		}
	}
	table = append(table, k)
	return nil
}

// Lookup returns the kind named name.
func Lookup(name string) (Kind, bool) {
	return find(func(k Kind) bool { return k.Name == name })
}

// ByMethod returns the kind a training method selects.
func ByMethod(method string) (Kind, bool) {
	return find(func(k Kind) bool { return k.Method == method })
}

// Plain returns the plain LoRA kind (identity).
func Plain() Kind { k, _ := find(func(k Kind) bool { return k.Plain }); return k }

// Official returns the official MoSLoRA kind (dense).
func Official() Kind { k, _ := find(func(k Kind) bool { return k.Official }); return k }

func find(match func(Kind) bool) (Kind, bool) {
	tableMu.RLock()
	defer tableMu.RUnlock()
	for _, k := range table {
		if match(k) {
			return k, true
		}
	}
	return Kind{}, false
}

// Kinds lists the table's rows in order.
func Kinds() []Kind {
	tableMu.RLock()
	defer tableMu.RUnlock()
	return slices.Clone(table)
}

// Names lists the mixer names ("identity, dense, global or gated"), for messages.
func Names() string { return list(func(k Kind) string { return k.Name }) }

// Methods lists the training methods ("lora, moslora, global or gated"), for messages.
func Methods() string { return list(func(k Kind) string { return k.Method }) }

func list(f func(Kind) string) string {
	ks := Kinds()
	var s []string
	for _, k := range ks {
		s = append(s, f(k))
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// New builds the mixer named name for shape s. It is where a mixer's settings are validated: an
// unknown name, a mixer_init the kind does not draw by, or a K that is missing or does not divide
// the rank is an error naming the adapter_config.json field.
func New(name string, s Shape) (Mixer, error) {
	k, s, err := check(name, s)
	if err != nil {
		return nil, err
	}
	return k.New(s), nil
}

// Check validates what New validates without building the mixer (so a rank far too large for
// memory is not allocated just to be checked).
func Check(name string, s Shape) error {
	_, _, err := check(name, s)
	return err
}

// check validates s for the mixer named name and returns its kind and s with defaults filled in.
func check(name string, s Shape) (Kind, Shape, error) {
	k, ok := Lookup(name)
	if !ok {
		return Kind{}, s, fmt.Errorf("field \"moslora_mixer\": want %s, got %q", Names(), name)
	}
	if s.Init != "" && s.Init != InitKaiming && !slices.Contains(k.Inits, s.Init) {
		if len(k.Inits) == 0 {
			return Kind{}, s, fmt.Errorf("field \"mixer_init\": %q does not apply to the %s mixer (it has no initialisation to choose)", s.Init, k.Name)
		}
		return Kind{}, s, fmt.Errorf("field \"mixer_init\": want %s for the %s mixer, got %q", strings.Join(k.Inits, ", "), k.Name, s.Init)
	}
	if s.R <= 0 {
		return Kind{}, s, fmt.Errorf("field \"r\": want a positive rank, got %d", s.R)
	}
	if s.K < 0 {
		return Kind{}, s, fmt.Errorf("field \"moslora_subspaces\": want K ≥ 1, got %d", s.K)
	}
	if k.Subspaces {
		switch {
		case s.K == 0:
			return Kind{}, s, fmt.Errorf("field \"moslora_subspaces\": the %s mixer needs the number of subspaces K", k.Name)
		case s.R%s.K != 0:
			return Kind{}, s, fmt.Errorf("field \"moslora_subspaces\": K = %d does not divide the rank %d", s.K, s.R)
		}
	} else {
		s.K = 1
	}
	if k.TopK {
		s.TopK = TopKFor(s.TopK, s.K)
		if s.TopK < 1 || s.TopK > s.K {
			return Kind{}, s, fmt.Errorf("field \"moslora_top_k\": want k from 1 to K = %d (moslora_subspaces) for the %s mixer, got %d", s.K, k.Name, s.TopK)
		}
	} else {
		s.TopK = 0
	}
	if s.Init == "" && len(k.Inits) > 0 {
		s.Init = k.Inits[0]
	}
	return k, s, nil
}
