package mixer

import (
	"math"
	"strings"
	"testing"

	"github.com/moslora/moslora/internal/numtest"
)

func TestTableMapsEachMethodToOneMixer(t *testing.T) {
	want := map[string]string{"lora": IdentityName, "moslora": DenseName, "global": GlobalName, "gated": GatedName, "gated-topk": GatedTopKName}
	for method, name := range want {
		k, ok := ByMethod(method)
		if !ok || k.Name != name {
			t.Errorf("method %s selects %q (found %v), want %s", method, k.Name, ok, name)
		}
	}
	if Plain().Name != IdentityName || Official().Name != DenseName {
		t.Errorf("plain %s, official %s; want identity, dense", Plain().Name, Official().Name)
	}
	if err := Register(Kind{Name: DenseName, Method: "other", New: newDense}); err == nil {
		t.Error("registering a second dense mixer succeeded")
	}
	if err := Register(Kind{Name: "other", Method: "lora", New: newDense}); err == nil {
		t.Error("registering a second lora method succeeded")
	}
}

func TestNewErrorsNameTheConfigField(t *testing.T) {
	cases := []struct {
		name  string
		s     Shape
		field string
	}{
		{"fancy", Shape{R: 4}, "moslora_mixer"},
		{GlobalName, Shape{R: 4}, "moslora_subspaces"},
		{GatedName, Shape{R: 4, K: 3}, "moslora_subspaces"},
		{GatedTopKName, Shape{R: 4}, "moslora_subspaces"},
		{GatedTopKName, Shape{R: 4, K: 2, TopK: 4}, "moslora_top_k"},
		{GlobalName, Shape{R: 4, K: -1}, "moslora_subspaces"},
		{DenseName, Shape{R: 4, Init: "xavier"}, "mixer_init"},
		{GlobalName, Shape{R: 4, K: 2, Init: InitOrthogonal}, "mixer_init"},
		{IdentityName, Shape{R: 0}, `"r"`},
	}
	for _, c := range cases {
		_, err := New(c.name, c.s)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("New(%s, %+v): want an error naming %s, got %v", c.name, c.s, c.field, err)
		}
	}
	if _, err := New(GlobalName, Shape{R: 4, K: 2, Init: InitKaiming}); err != nil {
		t.Errorf("the generic kaiming init is refused for the global mixer: %v", err)
	}
}

// TestMatrixIsTheForwardMap checks, for every mixer with a matrix, that Forward(h) = h·Mᵀ.
func TestMatrixIsTheForwardMap(t *testing.T) {
	const r, n = 6, 3
	h := make([]float32, n*r)
	for i := range h {
		h[i] = float32(i%7) - 2.5
	}
	for _, k := range Kinds() {
		m, err := New(k.Name, Shape{R: r, In: 5, K: 3})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range m.Params() {
			for j := range p.W {
				p.W[j] = float32((i+1)*(j%5)) * 0.1
			}
		}
		mat, ok := m.Matrix()
		if !ok {
			continue
		}
		z := m.Forward(h, make([]float32, n*5), n)
		for i := 0; i < n; i++ {
			for j := 0; j < r; j++ {
				var want float64
				for q := 0; q < r; q++ {
					want += float64(mat[j*r+q]) * float64(h[i*r+q])
				}
				if math.Abs(float64(z[i*r+j])-want) > numtest.F32 {
					t.Fatalf("%s: z[%d,%d] = %v, h·Mᵀ = %v", k.Name, i, j, z[i*r+j], want)
				}
			}
		}
	}
}

// TestGateUsageIsTheMeanGate checks the gated mixer's usage statistics: with G = 0 every token's
// gate is softmax(c), so the mean over any tokens is softmax(c).
func TestGateUsageIsTheMeanGate(t *testing.T) {
	mx, err := New(GatedName, Shape{R: 4, In: 3, K: 2})
	if err != nil {
		t.Fatal(err)
	}
	g := mx.(*Gated)
	g.C[0], g.C[1] = 0, math.Ln2 // softmax = (1/3, 2/3)
	g.CountUsage(true)
	g.Forward(make([]float32, 5*4), make([]float32, 5*3), 5)
	g.Forward(make([]float32, 2*4), make([]float32, 2*3), 2)
	mean, tokens := g.Usage()
	if tokens != 7 || math.Abs(mean[0]-1.0/3) > numtest.F32 || math.Abs(mean[1]-2.0/3) > numtest.F32 {
		t.Fatalf("usage %v over %d tokens, want [1/3 2/3] over 7", mean, tokens)
	}
}
