package export

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// More value encoders beside gguf.go's str and f32: the types llama.cpp's loader expects for each
// key (gguf-py's GGUFWriter: counts and ids uint32, epsilons and rope values float32, flags bool,
// token lists arrays of strings, token types an array of int32, scores an array of float32).

func (kv *ggufKV) key(key string, typ uint32) {
	putString(&kv.buf, key)
	binary.Write(&kv.buf, binary.LittleEndian, typ)
	kv.n++
}

func (kv *ggufKV) u32(key string, v uint32) {
	kv.key(key, ggufTypeUint32)
	binary.Write(&kv.buf, binary.LittleEndian, v)
}

func (kv *ggufKV) boolean(key string, v bool) {
	kv.key(key, ggufTypeBool)
	b := byte(0)
	if v {
		b = 1
	}
	kv.buf.WriteByte(b)
}

func (kv *ggufKV) strs(key string, v []string) {
	kv.key(key, ggufTypeArray)
	binary.Write(&kv.buf, binary.LittleEndian, uint32(ggufTypeString))
	binary.Write(&kv.buf, binary.LittleEndian, uint64(len(v)))
	for _, s := range v {
		putString(&kv.buf, s)
	}
}

func (kv *ggufKV) i32s(key string, v []int32) {
	kv.key(key, ggufTypeArray)
	binary.Write(&kv.buf, binary.LittleEndian, uint32(ggufTypeInt32))
	binary.Write(&kv.buf, binary.LittleEndian, uint64(len(v)))
	binary.Write(&kv.buf, binary.LittleEndian, v)
}

func (kv *ggufKV) f32s(key string, v []float32) {
	kv.key(key, ggufTypeArray)
	binary.Write(&kv.buf, binary.LittleEndian, uint32(ggufTypeFloat32))
	binary.Write(&kv.buf, binary.LittleEndian, uint64(len(v)))
	binary.Write(&kv.buf, binary.LittleEndian, v)
}

// ggufOut is one tensor of a model file: its GGUF name, numpy shape (slowest first), type, and a
// function producing its float32 values (numpy order) when the data section is written, so that
// only one tensor is held in memory at a time.
type ggufOut struct {
	name  string
	shape []int
	typ   GGMLType
	load  func() ([]float32, error)
}

func (t ggufOut) bytes() uint64 {
	n, _ := t.typ.rowBytes(uint64(t.shape[len(t.shape)-1]))
	for _, d := range t.shape[:len(t.shape)-1] {
		n *= uint64(d)
	}
	return n
}

// writeGGUFStream writes a GGUF v3 file to w: header, key-values, tensor infos (dims fastest
// first, offsets relative to the data section, each aligned to 32 bytes), then each tensor's data,
// loaded and encoded one at a time. progress, if not nil, is called after each tensor.
func writeGGUFStream(w io.Writer, kv ggufKV, ts []ggufOut, progress func(i int, t ggufOut)) error {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString(ggufMagic)
	binary.Write(&b, le, uint32(ggufVersion))
	binary.Write(&b, le, uint64(len(ts)))
	binary.Write(&b, le, uint64(kv.n))
	b.Write(kv.buf.Bytes())
	var off uint64
	for _, t := range ts {
		putString(&b, t.name)
		binary.Write(&b, le, uint32(len(t.shape)))
		for i := len(t.shape) - 1; i >= 0; i-- {
			binary.Write(&b, le, uint64(t.shape[i]))
		}
		binary.Write(&b, le, uint32(t.typ))
		binary.Write(&b, le, off)
		off = uint64(alignUp(int(off+t.bytes()), ggufAlignment))
	}
	b.Write(make([]byte, alignUp(b.Len(), ggufAlignment)-b.Len()))
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	var buf []byte
	for i, t := range ts {
		x, err := t.load()
		if err != nil {
			return err
		}
		buf = appendEncoded(buf[:0], x, t.typ)
		if uint64(len(buf)) != t.bytes() {
			return fmt.Errorf("export: internal error: tensor %s encoded to %d bytes, expected %d", t.name, len(buf), t.bytes())
		}
		buf = append(buf, make([]byte, alignUp(len(buf), ggufAlignment)-len(buf))...)
		if _, err := w.Write(buf); err != nil {
			return err
		}
		if progress != nil {
			progress(i, t)
		}
	}
	return nil
}
