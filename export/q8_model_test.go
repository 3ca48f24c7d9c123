package export

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"testing"

	"github.com/moslora/moslora/model"
)

// TestModelQ8BlocksMatchGGUFQ8_0 checks that the model's Q8_0 base weights (--base-dtype q8) are
// the very blocks a GGUF q8_0 export writes: scale and quants byte for byte.
func TestModelQ8BlocksMatchGGUFQ8_0(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	w := make([]float32, 40*q8BlockSize)
	for i := range w {
		w[i] = float32(r.NormFloat64() * math.Pow(10, float64(i/q8BlockSize%5-2)))
	}
	var want []byte
	for b := 0; b < len(w)/q8BlockSize; b++ {
		want = quantizeQ8(want, w[b*q8BlockSize:(b+1)*q8BlockSize])
	}
	q := model.QuantizeQ8(w)
	var got []byte
	for b, d := range q.D {
		got = binary.LittleEndian.AppendUint16(got, d)
		for _, v := range q.Q[b*model.Q8Block : (b+1)*model.Q8Block] {
			got = append(got, byte(v))
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the model's Q8_0 blocks differ from the GGUF export's")
	}
}
