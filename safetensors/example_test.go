package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/moslora/moslora/safetensors"
)

func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Write a bf16 weight and int64 ids into a model folder.
	tensors := []safetensors.Tensor{
		safetensors.FromFloat32As("w", []int{2, 2}, []float32{1, 0.1, -2, 3.14159}, safetensors.BF16),
		safetensors.FromInt64("ids", []int{3}, []int64{5, 6, 7}),
	}
	if err := safetensors.WriteSharded(dir, tensors, map[string]string{"format": "pt"}, 5<<30); err != nil {
		log.Fatal(err)
	}

	// Read them back through the Source interface a model loader takes.
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	var src safetensors.Source = set
	defer src.Close()
	w, info, _ := src.Float32("w")
	ids, _, _ := src.Int64("ids")
	fmt.Println(src.Names(), info.DType, info.Shape, w, ids)
	_, err = os.Stat(filepath.Join(dir, "model.safetensors"))
	fmt.Println("single file:", err == nil)
	// Output:
	// [ids w] BF16 [2 2] [1 0.100097656 -2 3.140625] [5 6 7]
	// single file: true
}
