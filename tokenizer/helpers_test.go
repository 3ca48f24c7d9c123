package tokenizer

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/moslora/moslora/internal/shared"
)

var (
	loadedMu sync.Mutex
	loaded   = map[string]*Tokenizer{}
)

func fixtureDir(tb testing.TB, name string) string {
	tb.Helper()
	return shared.Path(tb, "fixtures", "hf", "tokenizers", name)
}

// fixture loads (once per test binary) the tokenizer of fixtures/hf/tokenizers/<name>.
func fixture(tb testing.TB, name string) *Tokenizer {
	tb.Helper()
	dir := shared.Path(tb, "fixtures", "hf", "tokenizers", name)
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if t, ok := loaded[dir]; ok {
		return t
	}
	t, err := Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	loaded[dir] = t
	return t
}

// corpus returns up to limit bytes (0: all) of shared/corpus/<name>.txt.gz, cut at a line end.
func corpus(tb testing.TB, name string, limit int) string {
	tb.Helper()
	p := shared.Path(tb, "corpus", name+".txt.gz")
	f, err := os.Open(p)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("%s: %v", p, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("%s: %v", p, err)
	}
	if limit > 0 && len(data) > limit {
		data = data[:limit]
		for len(data) > 0 && data[len(data)-1] != '\n' {
			data = data[:len(data)-1]
		}
	}
	return string(data)
}

// caseTexts returns the texts of every fixture cases.json.
func caseTexts(tb testing.TB) []string {
	tb.Helper()
	root := shared.Path(tb, "fixtures", "hf", "tokenizers")
	var texts []string
	for _, name := range fixtureTokenizers {
		for _, c := range readCases(tb.(*testing.T), filepath.Join(root, name)) {
			texts = append(texts, c.Text)
		}
	}
	return texts
}
