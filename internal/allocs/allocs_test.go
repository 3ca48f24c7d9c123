package allocs

import "testing"

var sink []byte

func TestCheckCatchesAnAllocationBeyondTheBound(t *testing.T) {
	b := Bound{PerByte: 4, Fixed: 1 << 10}
	if err := b.Check("big", 100, func() { sink = make([]byte, 1<<20) }); err == nil {
		t.Fatal("a 1 MiB allocation passed a bound of 4·100 + 1 KiB")
	}
	if err := b.Check("small", 1000, func() { sink = make([]byte, 256) }); err != nil {
		t.Fatal(err)
	}
}
