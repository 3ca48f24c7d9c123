package model

// NumParams is the number of parameters of cfg's architecture (tied tensors counted once): the
// sizes of the tensors the loader expects in its checkpoint, as Model.NumParams counts them.
func (c *Config) NumParams() int64 {
	var n int64
	for _, t := range expectedTensors(c) {
		n += int64(prod(t.shape))
	}
	return n
}

// BaseBytes is the memory a model of cfg holds its base in with --base-dtype base (auto: as a
// checkpoint of the config's declared dtype loads, so NewRandomIn's model): what Model.BaseBytes
// reports for that model, computed without allocating a matrix.
func (c *Config) BaseBytes(base BaseDtype) (int64, error) {
	src := newRandomSource(c, 0)
	_, specs, err := skeleton(c, src)
	if err != nil {
		return 0, err
	}
	declared := declaredDType(c)
	opts := LoadOptions{Base: base}
	var n int64
	for _, s := range specs {
		v := int64(prod(s.shape))
		switch opts.heldAs(s, declared) {
		case heldQ8:
			n += v + 2*v/Q8Block
		case heldBF16, heldF16:
			n += 2 * v
		default:
			n += 4 * v
		}
	}
	return n, nil
}
