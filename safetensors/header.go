package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize bounds the JSON header, as the reference implementation does (100 000 000 bytes).
const MaxHeaderSize = 100_000_000

// metadataKey is the header entry holding free-form string metadata rather than a tensor.
const metadataKey = "__metadata__"

// header is a validated safetensors header.
type header struct {
	metadata map[string]string
	infos    map[string]*Info
	names    []string // sorted
}

// parseHeader validates the JSON header hdr of a file whose data section is dataLen bytes. It
// accepts what the reference implementation accepts, except in a few corners where it is
// stricter (duplicate keys, unknown entry fields, a dimension product that overflows even when
// another dimension is zero): UTF-8 JSON starting with '{' (trailing whitespace allowed, as writers pad
// with spaces), an object whose values are tensor entries {"dtype", "shape", "data_offsets"}
// besides an optional "__metadata__" object of strings; known dtypes; non-negative integer
// dimensions; data_offsets [begin, end] with end-begin = product(shape)·dtype size; and tensors
// that, sorted by offset, tile the data section exactly from 0 to dataLen (no overlap, no gap,
// nothing after the last tensor). Errors name the tensor and what was expected.
func parseHeader(hdr []byte, dataLen int64) (*header, error) {
	if !utf8.Valid(hdr) {
		return nil, errors.New("header is not valid UTF-8")
	}
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, errors.New("header is not a JSON object (it must start with '{')")
	}
	if err := checkJSON(hdr); err != nil {
		return nil, fmt.Errorf("header is not a JSON object: %v", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &top); err != nil {
		return nil, fmt.Errorf("header is not a JSON object: %v", err)
	}
	h := &header{infos: make(map[string]*Info, len(top))}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic errors
	for _, key := range keys {
		msg := top[key]
		if key == metadataKey {
			m, err := parseMetadata(msg)
			if err != nil {
				return nil, err
			}
			h.metadata = m
			continue
		}
		t, err := parseEntry(key, msg, dataLen)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %v", key, err)
		}
		h.infos[key] = t
		h.names = append(h.names, key)
	}
	// Sorted by (begin, end), the ranges must tile [0, dataLen): this forbids overlaps, gaps and
	// trailing bytes, and puts an empty tensor only at a boundary between two others.
	byOffset := make([]*Info, 0, len(h.infos))
	for _, name := range h.names {
		byOffset = append(byOffset, h.infos[name])
	}
	sort.SliceStable(byOffset, func(i, j int) bool {
		a, b := byOffset[i], byOffset[j]
		return a.Begin < b.Begin || (a.Begin == b.Begin && a.End < b.End)
	})
	var pos int64
	var prev *Info
	for _, t := range byOffset {
		switch {
		case t.Begin < pos:
			return nil, fmt.Errorf("tensors %q [%d, %d] and %q [%d, %d] overlap", prev.Name, prev.Begin, prev.End, t.Name, t.Begin, t.End)
		case t.Begin > pos:
			return nil, fmt.Errorf("tensor %q begins at data offset %d but the data before it ends at %d: a gap no tensor covers", t.Name, t.Begin, pos)
		}
		pos, prev = t.End, t
	}
	if pos != dataLen {
		return nil, fmt.Errorf("tensors cover %d bytes but the data section holds %d: %d trailing bytes no tensor covers", pos, dataLen, dataLen-pos)
	}
	return h, nil
}

// parseMetadata reads the "__metadata__" entry: null or an object of strings.
func parseMetadata(msg json.RawMessage) (map[string]string, error) {
	if string(msg) == "null" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if len(msg) == 0 || msg[0] != '{' || json.Unmarshal(msg, &raw) != nil {
		return nil, fmt.Errorf("%s must be an object of strings", metadataKey)
	}
	m := make(map[string]string, len(raw))
	for k, v := range raw {
		s, ok := jsonString(v)
		if !ok {
			return nil, fmt.Errorf("%s[%q] must be a string, not %.40s", metadataKey, k, v)
		}
		m[k] = s
	}
	return m, nil
}

// parseEntry validates one tensor entry against a data section of dataLen bytes.
func parseEntry(name string, msg json.RawMessage, dataLen int64) (*Info, error) {
	var fields map[string]json.RawMessage
	if len(msg) == 0 || msg[0] != '{' || json.Unmarshal(msg, &fields) != nil {
		return nil, fmt.Errorf("entry must be an object {\"dtype\", \"shape\", \"data_offsets\"}, not %.40s", msg)
	}
	for k := range fields {
		if k != "dtype" && k != "shape" && k != "data_offsets" {
			return nil, fmt.Errorf("unknown field %q (expected dtype, shape and data_offsets)", k)
		}
	}
	rawDT, ok1 := fields["dtype"]
	rawShape, ok2 := fields["shape"]
	rawOff, ok3 := fields["data_offsets"]
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New("entry needs dtype, shape and data_offsets")
	}
	s, ok := jsonString(rawDT)
	if !ok {
		return nil, fmt.Errorf("dtype must be a string, not %.40s", rawDT)
	}
	dt := DType(s)
	if dt.Size() == 0 {
		return nil, fmt.Errorf("unknown dtype %q", s)
	}
	dims, err := jsonInts(rawShape)
	if err != nil {
		return nil, fmt.Errorf("shape: %v", err)
	}
	offs, err := jsonInts(rawOff)
	if err != nil {
		return nil, fmt.Errorf("data_offsets: %v", err)
	}
	if len(offs) != 2 {
		return nil, fmt.Errorf("data_offsets must be [begin, end], has %d entries", len(offs))
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || end < begin || end > dataLen {
		return nil, fmt.Errorf("data_offsets [%d, %d] outside the data section of %d bytes", begin, end, dataLen)
	}
	// elems = product of all dimensions; nonzero = product of the non-zero ones, which must not
	// overflow either, so that no caller's partial product of an empty tensor's shape overflows.
	elems, nonzero := uint64(1), uint64(1)
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension %d in shape %s", d, fmtDims(dims))
		}
		if d > math.MaxInt {
			return nil, fmt.Errorf("dimension %d in shape %s is too large", d, fmtDims(dims))
		}
		shape[i] = int(d)
		if d == 0 {
			elems = 0
			continue
		}
		hi, lo := bits.Mul64(nonzero, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return nil, fmt.Errorf("shape %s overflows: its product is too large", fmtDims(dims))
		}
		nonzero = lo
		if elems != 0 {
			elems = lo
		}
	}
	hi, want := bits.Mul64(elems, uint64(dt.Size()))
	if hi != 0 || want != uint64(end-begin) {
		return nil, fmt.Errorf("%s shape %s needs %d·%d bytes but data_offsets [%d, %d] give %d (dtype/size mismatch)",
			dt, fmtDims(dims), elems, dt.Size(), begin, end, end-begin)
	}
	if end-begin > math.MaxInt {
		return nil, fmt.Errorf("%d bytes do not fit in memory on this platform", end-begin)
	}
	return &Info{Name: name, DType: dt, Shape: shape, Begin: begin, End: end}, nil
}

// fmtDims prints a shape for an error message, eliding the middle of a long one.
func fmtDims(dims []int64) string {
	if len(dims) <= 8 {
		return fmt.Sprint(dims)
	}
	return fmt.Sprintf("%v ... %v (%d dimensions)", dims[:4], dims[len(dims)-2:], len(dims))
}

// jsonString decodes a raw JSON value that must be a string (null is not).
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonInts decodes a raw JSON value that must be an array of integers (no fractions, exponents or
// strings). raw is valid JSON (checkJSON ran on the whole header), so splitting at commas is safe:
// any piece that is not an integer literal — a nested array, a string — fails to parse.
func jsonInts(raw json.RawMessage) ([]int64, error) {
	b := bytes.TrimSpace(raw)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, fmt.Errorf("must be an array of integers, not %.40s", raw)
	}
	b = bytes.TrimSpace(b[1 : len(b)-1])
	if len(b) == 0 {
		return []int64{}, nil
	}
	out := make([]int64, 0, bytes.Count(b, []byte{','})+1)
	for len(b) > 0 {
		piece := b
		if i := bytes.IndexByte(b, ','); i >= 0 {
			piece, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		piece = bytes.TrimSpace(piece)
		v, err := strconv.ParseInt(string(piece), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%.40q is not an integer in [-2^63, 2^63)", piece)
		}
		out = append(out, v)
	}
	return out, nil
}

// checkJSON verifies that data holds exactly one JSON value (trailing whitespace allowed) with no
// duplicate key in any object. encoding/json would silently keep the last of duplicate keys, so a
// header could otherwise say two things about one tensor. It allocates little beyond the keys of
// large objects.
func checkJSON(data []byte) error {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil { // validates the syntax before decoding
		if se, ok := err.(*json.SyntaxError); ok && bytes.Contains([]byte(se.Error()), []byte("after top-level value")) {
			return fmt.Errorf("unexpected data after the JSON object at byte %d", se.Offset)
		}
		return err
	}
	// data is valid JSON: walk it tracking, per open object, the keys seen so far.
	type frame struct {
		obj   bool
		small [][]byte            // keys of a small object (compared without allocating)
		large map[string]struct{} // keys of an object past 16 keys
	}
	var stack []frame
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			stack = append(stack, frame{obj: true})
			expectKey = true
		case '[':
			stack = append(stack, frame{})
			expectKey = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			expectKey = stack[len(stack)-1].obj
		case '"':
			end := i + 1
			escaped := false
			for data[end] != '"' {
				if data[end] == '\\' {
					escaped = true
					end++
				}
				end++
			}
			if expectKey {
				key := data[i+1 : end]
				if escaped {
					var s string
					json.Unmarshal(data[i:end+1], &s) // valid JSON string
					key = []byte(s)
				}
				top := &stack[len(stack)-1]
				if top.large != nil {
					if _, dup := top.large[string(key)]; dup {
						return fmt.Errorf("duplicate key %q", key)
					}
					top.large[string(key)] = struct{}{}
				} else {
					for _, k := range top.small {
						if bytes.Equal(k, key) {
							return fmt.Errorf("duplicate key %q", key)
						}
					}
					top.small = append(top.small, key)
					if len(top.small) > 16 {
						top.large = make(map[string]struct{}, 32)
						for _, k := range top.small {
							top.large[string(k)] = struct{}{}
						}
						top.small = nil
					}
				}
				expectKey = false
			}
			i = end
		}
	}
	return nil
}
