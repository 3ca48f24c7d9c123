package tokenizer

import (
	"strings"
	"testing"
	"time"
)

// documents cuts a corpus into paragraphs (blank-line separated), the unit a data loader encodes.
func documents(text string) []string {
	var docs []string
	for _, d := range strings.Split(text, "\n\n") {
		if d != "" {
			docs = append(docs, d)
		}
	}
	return docs
}

// BenchmarkEncode measures encode throughput (MB/s of UTF-8 input) on the held-out corpora, one
// paragraph per Encode call, after a warm-up pass that fills the word cache:
//
//	go test -run '^$' -bench Encode -cpu 1 ./tokenizer/
func BenchmarkEncode(b *testing.B) {
	for _, name := range []string{"llama3", "llama2"} {
		for _, corpusName := range []string{"val_lit", "val_code"} {
			b.Run(name+"/"+corpusName, func(b *testing.B) {
				tok := fixture(b, name)
				docs := documents(corpus(b, corpusName, 0))
				n := 0
				for _, d := range docs {
					n += len(d)
					tok.Encode(d, false) // warm the cache
				}
				b.SetBytes(int64(n))
				b.ResetTimer()
				cpu0 := processCPUTime()
				for i := 0; i < b.N; i++ {
					for _, d := range docs {
						tok.Encode(d, false)
					}
				}
				reportCPU(b, cpu0, n)
			})
		}
	}
}

// BenchmarkSplit compares the hand-written pre-tokenizer splitters with regexp2 running the same
// pattern (the engine used for patterns without a hand-written splitter).
func BenchmarkSplit(b *testing.B) {
	patterns := []struct{ name, pattern string }{{"gpt2", patternGPT2}, {"llama3", patternLlama3}}
	for _, corpusName := range []string{"val_lit", "val_code"} {
		for _, p := range patterns {
			hand, _ := newRegexSplitter(p.pattern)
			ref, err := newRegexp2Splitter(p.pattern)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range []struct {
				name string
				s    splitter
			}{{"handwritten", hand}, {"regexp2", ref}} {
				b.Run(corpusName+"/"+p.name+"/"+e.name, func(b *testing.B) {
					docs := documents(corpus(b, corpusName, 1_000_000))
					n := 0
					for _, d := range docs {
						n += len(d)
					}
					b.SetBytes(int64(n))
					b.ResetTimer()
					cpu0 := processCPUTime()
					var buf []span
					for i := 0; i < b.N; i++ {
						for _, d := range docs {
							buf = e.s.findAll(buf[:0], d)
						}
					}
					reportCPU(b, cpu0, n)
				})
			}
		}
	}
}

// reportCPU adds the throughput per CPU-second of this process (MB/cpu-s) since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration, bytesPerOp int) {
	if cpu0 == 0 {
		return
	}
	if d := processCPUTime() - cpu0; d > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/1e6/d.Seconds(), "MB/cpu-s")
	}
}

// BenchmarkLoad measures reading and building the Llama 3 tokenizer (128k vocabulary, 280k merges).
func BenchmarkLoad(b *testing.B) {
	dir := fixtureDir(b, "llama3")
	for i := 0; i < b.N; i++ {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}
