// Command loadtest measures `moslora serve` under load: it starts the server in this process on
// the loopback interface, with the base model and N random adapters written to a temporary folder,
// sends a fixed number of greedy completion requests at a fixed concurrency spread round-robin
// over the base and the adapters, and reports errors, latency percentiles, output tokens per
// second and the process's peak RSS (server and client together).
//
//	go run ./tools/loadtest --model ../shared/models/base-19m --requests 1000 --concurrency 32 --max-batch 32
//	go run ./tools/loadtest --model ../shared/models/base-19m --requests 1000 --concurrency 32 --max-batch 1
//
// It never connects anywhere but 127.0.0.1, and stops after --requests or --time-limit.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/jobs"
	"github.com/moslora/moslora/serve"
)

var prompts = []string{
	"The President said that", "Once upon a time there was", "func main() {", "In the year of our Lord",
	"The meaning of the word", "It was a dark and stormy night", "Fellow citizens, the state of", "package http\n\nimport",
}

func main() {
	modelDir := flag.String("model", "", "model folder (base-19m)")
	nAdapters := flag.Int("adapters", 4, "random adapters to serve beside the base")
	requests := flag.Int("requests", 1000, "requests to send")
	conc := flag.Int("concurrency", 32, "requests in flight at once")
	maxBatch := flag.Int("max-batch", 32, "the server's --max-batch (1 = batching off)")
	maxTokens := flag.Int("max-tokens", 32, "max_tokens of each request")
	limit := flag.Duration("time-limit", 20*time.Minute, "stop sending after this long")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()
	if *modelDir == "" {
		log.Fatal("loadtest: --model is required")
	}
	dir, err := os.MkdirTemp("", "moslora-loadtest-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	names, err := writeAdapters(*modelDir, dir, *nAdapters)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := serve.New(serve.Options{ModelDir: *modelDir, AdaptersDir: dir, MaxBatch: *maxBatch, MaxQueue: *conc * 2, Timeout: *limit})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	url := "http://" + ln.Addr().String() + "/v1/completions"
	models := append([]string{filepath.Base(filepath.Clean(*modelDir))}, names...)

	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []float64
	var errs, tokens int
	var firstErr string
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *requests || ctx.Err() != nil {
					return
				}
				body, _ := json.Marshal(map[string]any{"model": models[i%len(models)], "prompt": prompts[(i/len(models))%len(prompts)],
					"max_tokens": *maxTokens, "temperature": 0})
				start := time.Now()
				n, err := complete(ctx, client, url, body)
				d := time.Since(start).Seconds()
				mu.Lock()
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
				} else {
					lat = append(lat, d)
					tokens += n
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0).Seconds()
	hs.Close()
	srv.Close()
	slices.Sort(lat)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds() // the machine may be shared: CPU time used, too
	res := map[string]any{
		"requests": len(lat) + errs, "errors": errs, "first_error": firstErr, "concurrency": *conc, "max_batch": *maxBatch,
		"adapters": len(names), "max_tokens": *maxTokens, "wall_s": round(wall), "output_tokens": tokens,
		"output_tokens_per_s": round(float64(tokens) / wall), "p50_s": round(pct(lat, 0.50)), "p99_s": round(pct(lat, 0.99)),
		"peak_rss_mib": round(float64(ru.Maxrss) / 1024), "cpu_s": round(cpu),
		"output_tokens_per_cpu_s": round(float64(tokens) / cpu),
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
	} else {
		fmt.Printf("max-batch %d: %d requests (%d errors) at concurrency %d over the base and %d adapters in %.1f s\n",
			*maxBatch, res["requests"], errs, *conc, len(names), wall)
		fmt.Printf("  latency p50 %.3f s  p99 %.3f s   output %d tokens, %.1f tokens/s   peak RSS %.0f MiB   CPU %.1f s (%.1f tokens per CPU second)\n",
			pct(lat, 0.5), pct(lat, 0.99), tokens, float64(tokens)/wall, float64(ru.Maxrss)/1024, cpu, float64(tokens)/cpu)
		if firstErr != "" {
			fmt.Println("  first error:", firstErr)
		}
	}
	if errs > 0 || len(lat) < *requests {
		os.Exit(1)
	}
}

// complete posts one request and returns its completion token count.
func complete(ctx context.Context, c *http.Client, url string, body []byte) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var r struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, err
	}
	return r.Usage.CompletionTokens, nil
}

// writeAdapters saves n random LoRA / MoSLoRA adapters (r 8 on q, k, v, o, small random B) for
// the model to dir/a0 … and returns their names.
func writeAdapters(modelDir, dir string, n int) ([]string, error) {
	op, err := jobs.Open{Model: modelDir}.Load()
	if err != nil {
		return nil, err
	}
	m := op.Model
	var names []string
	for i := 0; i < n; i++ {
		cfg := adapter.DefaultConfig()
		cfg.R, cfg.LoraAlpha = 8, 16
		cfg.TargetModules = adapter.Targets{List: []string{"q_proj", "k_proj", "v_proj", "o_proj"}}
		cfg.LoraUseMixer = i%2 == 1
		a, err := adapter.New(cfg, m, int64(i))
		if err != nil {
			return nil, err
		}
		r := rand.New(rand.NewPCG(uint64(i), 1))
		for _, l := range a.Linears {
			for j := range l.B {
				l.B[j] = float32(0.02 * r.NormFloat64())
			}
		}
		name := fmt.Sprintf("a%d", i)
		if err := a.Save(filepath.Join(dir, name)); err != nil {
			return nil, err
		}
		a.Detach()
		names = append(names, name)
	}
	return names, nil
}

// pct is the q-quantile of sorted xs (nearest rank).
func pct(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[min(len(xs)-1, int(q*float64(len(xs))))]
}

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
