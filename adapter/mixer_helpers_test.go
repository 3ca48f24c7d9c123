package adapter

import (
	"fmt"
	"strings"

	"github.com/moslora/moslora/adapter/mixer"
)

// mixerW returns the value of the mixer tensor whose key ends in suffix ("lora_AB.weight"), or
// nil when the mixer has none; mixerG its gradient.
func mixerW(l *Linear, suffix string) []float32 {
	for _, p := range l.Mixer.Params() {
		if strings.HasSuffix(p.Key, suffix) {
			return p.W
		}
	}
	return nil
}

func mixerG(l *Linear, suffix string) []float32 {
	for _, p := range l.Mixer.Params() {
		if strings.HasSuffix(p.Key, suffix) {
			return p.G
		}
	}
	return nil
}

// The file keys of the built-in mixers' tensors.
const (
	keyM  = "lora_AB.weight"
	keyPi = "lora_global.weight"
	keyG  = "lora_gate.weight"
	keyC  = "lora_gate.bias"
)

// testLinear builds a Linear with the named mixer (k subspaces) and zero parameters.
func testLinear(name string, in, out, r, k int, scale float32) *Linear {
	mx, err := mixer.New(name, mixer.Shape{R: r, In: in, K: k})
	if err != nil {
		panic(fmt.Sprintf("test mixer %s: %v", name, err))
	}
	if mx.Name() == mixer.IdentityName || mx.Name() == mixer.DenseName {
		k = 1
	}
	return newLinear("test.proj", in, out, r, k, mx, scale, 0)
}
