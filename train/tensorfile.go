package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/moslora/moslora/internal/atomicfile"
	"github.com/moslora/moslora/safetensors"
)

// tensor is a named float32 tensor written to or read from a checkpoint.
type tensor struct {
	name  string
	shape []int
	data  []float32 // (product of shape)
}

// writeTensors writes float32 tensors as a safetensors file, atomically (temporary file in the
// same folder, fsync, rename). Names must be unique.
func writeTensors(path string, ts []tensor, meta map[string]string) error {
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	hdr := map[string]any{}
	if len(meta) > 0 {
		hdr["__metadata__"] = meta
	}
	var off int64
	for _, t := range ts {
		if _, dup := hdr[t.name]; dup {
			panic("train: duplicate tensor name " + t.name)
		}
		n := int64(len(t.data)) * 4
		hdr[t.name] = entry{"F32", slices.Clone(t.shape), [2]int64{off, off + n}}
		off += n
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 { // align the data section, as the reference writer does
		hb = append(hb, ' ')
	}
	err = atomicfile.Write(path, 0o644, func(w *bufio.Writer) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
		w.Write(lenBuf[:])
		w.Write(hb)
		var b [4]byte
		for _, t := range ts {
			for _, v := range t.data {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				w.Write(b[:])
			}
		}
		return nil // atomicfile.Write reports w's first write error
	})
	if err != nil {
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	return nil
}

// readTensorsInto fills each dst[name] from the safetensors file at path; every name must be
// present with exactly the expected number of elements, and the file must hold no other tensor.
func readTensorsInto(path string, dst map[string][]float32) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, name := range f.Names() {
		if _, ok := dst[name]; !ok {
			return fmt.Errorf("train: %s: unexpected tensor %q (checkpoint from a different configuration?)", path, name)
		}
	}
	for name, d := range dst {
		info := f.Info(name)
		if info == nil {
			return fmt.Errorf("train: %s: missing tensor %q", path, name)
		}
		if info.NumElements() != len(d) {
			return fmt.Errorf("train: %s: tensor %q has %d elements, expected %d", path, name, info.NumElements(), len(d))
		}
		v, _, err := f.Float32(name)
		if err != nil {
			return err
		}
		copy(d, v)
	}
	return nil
}
