package bench

import (
	"slices"
	"strings"
	"testing"

	"github.com/moslora/moslora/kernels/gemm"
)

func names(cs []Case) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestSelect(t *testing.T) {
	all := AllCases()
	if got, err := Select(""); err != nil || len(got) != len(all) {
		t.Fatalf("Select(\"\") = %d cases, %v; want all %d", len(got), err, len(all))
	}
	if len(all) != len(gemm.BenchShapes)+8 {
		t.Errorf("AllCases has %d cases, want %d shapes + 2 models × 4 methods", len(all), len(gemm.BenchShapes))
	}
	one, err := Select("base-19m/lora")
	if err != nil || len(one) != 1 || one[0].Model != ModelBase19M || one[0].Method != MethodLoRA {
		t.Errorf("Select(base-19m/lora) = %v, %v", names(one), err)
	}
	group, err := Select("135m")
	if err != nil || len(group) != 4 {
		t.Errorf("Select(135m) = %v, %v", names(group), err)
	}
	for _, c := range group {
		if c.Model != Model135M || !strings.HasPrefix(c.Name, "135m/") {
			t.Errorf("Select(135m) returned %s", c.Name)
		}
	}
	gs, err := Select("gemm")
	if err != nil || len(gs) != len(gemm.BenchShapes) {
		t.Errorf("Select(gemm) = %d cases, %v", len(gs), err)
	}
	// A shape without its form selects every form of it.
	want := 0
	for _, s := range gemm.BenchShapes {
		if s.M == 2048 && s.N == 576 && s.K == 1536 {
			want++
		}
	}
	forms, err := Select("gemm/2048x576x1536")
	if err != nil || len(forms) != want || want == 0 {
		t.Errorf("Select(gemm/2048x576x1536) = %v, %v; want %d forms", names(forms), err, want)
	}
	for _, c := range forms {
		if c.Shape == nil || c.Shape.M != 2048 || c.Shape.N != 576 || c.Shape.K != 1536 {
			t.Errorf("Select(gemm/2048x576x1536) returned %s", c.Name)
		}
	}
	exact := "gemm/" + gemm.BenchShapes[0].Name()
	if got, err := Select(exact); err != nil || len(got) != 1 || got[0].Name != exact {
		t.Errorf("Select(%s) = %v, %v", exact, names(got), err)
	}
	// Lists keep AllCases's order and do not repeat a case.
	list, err := Select(" base-19m/forward, base-19m ,gemm/" + gemm.BenchShapes[1].Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 5 || list[0].Shape == nil || list[1].Name != "base-19m/lora" || list[4].Name != "base-19m/forward" {
		t.Errorf("Select(list) = %v", names(list))
	}
	for _, bad := range []string{"nope", "base-19m/sgd", "gemm/1x2x3", "base"} {
		if got, err := Select(bad); err == nil {
			t.Errorf("Select(%q) = %v, want an error", bad, names(got))
		}
	}
}

func TestLookup(t *testing.T) {
	for _, c := range AllCases() {
		got, err := Lookup(c.Name)
		if err != nil || got.Name != c.Name {
			t.Errorf("Lookup(%s) = %v, %v", c.Name, got.Name, err)
		}
	}
	if _, err := Lookup("135m"); err == nil {
		t.Error("Lookup of a group: no error")
	}
}

func TestTorchArgs(t *testing.T) {
	c, _ := Lookup("135m/moslora")
	a := torchArgs("anchor.py", c, "/m", 1, 3, 2)
	if !slices.Contains(a, "smollm-135m") || slices.Contains(a, "--model") || !slices.Contains(a, "moslora") {
		t.Errorf("135m args: %v", a)
	}
	c, _ = Lookup("base-19m/full")
	a = torchArgs("anchor.py", c, "/m", 1, 3, 2)
	i := slices.Index(a, "--model")
	if i < 0 || a[i+1] != "/m" || slices.Contains(a, "--shape") || !slices.Contains(a, "full") {
		t.Errorf("base-19m args: %v", a)
	}
}

func TestMedianAndLastLine(t *testing.T) {
	v := []float64{3, 1, 2}
	if m := median(v); m != 2 || v[0] != 3 {
		t.Errorf("median = %g (input now %v)", m, v)
	}
	if l := string(lastLine([]byte("noise\n{\"a\":1}\n\n"))); l != `{"a":1}` {
		t.Errorf("lastLine = %q", l)
	}
}

// TestBetterPeak: the machine peak is whichever GEMM reached the higher wall-clock rate; an
// unmeasured source (zero) never wins.
func TestBetterPeak(t *testing.T) {
	ours := Peak{GFLOPS: 300, CPUGFLOPS: 150, Source: "ours", Shape: "NT/a"}
	ob := Peak{GFLOPS: 190, CPUGFLOPS: 95, Source: "openblas", Shape: "NT/b"}
	if p := betterPeak(ours, ob); p.Source != "ours" || p.GFLOPS != 300 || p.CPUGFLOPS != 150 {
		t.Errorf("betterPeak(ours 300, openblas 190) = %+v", p)
	}
	if p := betterPeak(Peak{GFLOPS: 100, CPUGFLOPS: 120, Source: "ours"}, ob); p.Source != "openblas" || p.GFLOPS != 190 || p.CPUGFLOPS != 120 {
		t.Errorf("betterPeak(ours 100, openblas 190) = %+v", p)
	}
	if p := betterPeak(ours, Peak{}); p != ours {
		t.Errorf("betterPeak(ours, none) = %+v", p)
	}
}
