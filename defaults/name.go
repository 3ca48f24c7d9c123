package defaults

import (
	"fmt"
	"os"
)

// Name is the word that stands for the embedded default in --model (the model folder), --data
// (its training set) and --eval / --test (its held-out set), unless a file or folder of that name
// exists in the working directory.
const Name = "default"

// Use extracts the embedded default into a new temporary folder when any of the pointed-to
// values is Name (and no such path exists), replacing each by its extracted path: model by the
// model folder, train by the training set, test by the held-out set (nil pointers are skipped).
// cleanup removes the folder; it is a no-op when nothing was extracted.
func Use(model, train, test *string) (cleanup func(), err error) {
	cleanup = func() {}
	wants := func(p *string) bool {
		if p == nil || *p != Name {
			return false
		}
		_, err := os.Stat(Name)
		return err != nil
	}
	if !wants(model) && !wants(train) && !wants(test) {
		return cleanup, nil
	}
	dir, err := os.MkdirTemp("", "moslora-default-")
	if err != nil {
		return cleanup, fmt.Errorf("defaults: %w", err)
	}
	p, err := Extract(dir)
	if err != nil {
		os.RemoveAll(dir)
		return cleanup, err
	}
	for _, s := range []struct {
		v    *string
		path string
	}{{model, p.ModelDir}, {train, p.Train}, {test, p.Test}} {
		if wants(s.v) {
			*s.v = s.path
		}
	}
	return func() { os.RemoveAll(dir) }, nil
}
