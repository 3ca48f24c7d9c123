// Command continual measures continual learning with `moslora train --extend`: a sequence of
// tasks, each trained after the one before, by three approaches —
//
//	extend      moslora, then `train --extend PREV --extend-rank R` per further task: new
//	            subspaces for each task, the old ones frozen (the adapter grows by R per task)
//	sequential  lora, then `train --extend PREV --extend-rank 0` per further task: the same
//	            adapter's tensors trained on each new task (the catastrophic-forgetting baseline)
//	separate    one fresh moslora adapter per task (the upper bound: nothing is shared; the first
//	            task's adapter is the extend chain's first, the same command)
//
// — and, after each task, scores every task trained so far (`moslora eval`: completion NLL per
// token, accuracy, balanced accuracy), plus the base model alone. It runs `moslora` as a
// subprocess (GOMAXPROCS=--threads), so it needs a built binary:
//
//	go build -o /tmp/moslora ./cmd/moslora
//	go run ./tools/continual --moslora /tmp/moslora --model ../shared/models/base-19m \
//	    --tasks sentiment,spam,grain --out /work/continual
//
// Everything goes under --out (outside the repository): <approach>/<k>-<task>/ are train output
// folders, each with eval-<task>.json for the tasks scored after it; base/eval-<task>.json;
// commands.txt (every command run, in order); results.json; continual.md (the Markdown table);
// continual.png and continual.svg (the figure). The numbers in the table and the figure are read
// from the eval files. A rerun skips finished trainings and evaluations and resumes an
// interrupted training from its checkpoint (train --resume); --report-only rewrites the table and
// the figure from the files present.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moslora/moslora/eval"
)

// settings are the driver's flags.
type settings struct {
	moslora, model, dataDir, out string
	tasks                        []string
	rank                         int
	alpha                        float64
	steps, batch, limit, warmup  int
	evalLimit, threads           int
	lr                           float64
	seed                         int64
	reportOnly                   bool
	also                         []string // other runs' output folders, averaged into the table and figure
}

// Approaches, in the order the table lists them.
const (
	apExtend     = "extend"
	apSequential = "sequential"
	apSeparate   = "separate"
)

var approachDoc = map[string]string{
	apExtend:     "moslora + train --extend (new subspaces per task, old ones frozen)",
	apSequential: "lora, sequential fine-tuning (train --extend-rank 0)",
	apSeparate:   "one moslora adapter per task (upper bound)",
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("continual: ")
	var s settings
	var tasks string
	flag.StringVar(&s.moslora, "moslora", "moslora", "the moslora binary (go build -o /tmp/moslora ./cmd/moslora)")
	flag.StringVar(&s.model, "model", "../shared/models/base-19m", "base model folder")
	flag.StringVar(&s.dataDir, "data-dir", "../shared/data/tasks", "folder of task folders (<task>/train.jsonl, <task>/test.jsonl)")
	flag.StringVar(&tasks, "tasks", "sentiment,spam,grain", "the task sequence, in training order (at least 2)")
	flag.StringVar(&s.out, "out", "/work/continual", "output folder (outside the repository)")
	flag.IntVar(&s.rank, "rank", 8, "rank of the first adapter, and of the subspaces each extension adds")
	flag.Float64Var(&s.alpha, "alpha", 16, "lora_alpha of the first adapter (extensions keep its scaling alpha/rank)")
	flag.IntVar(&s.steps, "steps", 60, "optimizer updates per task")
	flag.IntVar(&s.batch, "batch", 8, "sequences per update")
	flag.IntVar(&s.limit, "limit", 480, "training rows per task (the first N of train.jsonl)")
	flag.IntVar(&s.warmup, "warmup", 6, "warm-up updates per task")
	flag.Float64Var(&s.lr, "lr", 1e-3, "peak learning rate")
	flag.Int64Var(&s.seed, "seed", 0, "seed of initialisation and data order")
	flag.IntVar(&s.evalLimit, "eval-limit", 100, "test rows scored per task (the first N of test.jsonl)")
	flag.IntVar(&s.threads, "threads", 1, "GOMAXPROCS of each moslora process")
	flag.BoolVar(&s.reportOnly, "report-only", false, "only rewrite the table and the figure from the eval files present")
	var also string
	flag.StringVar(&also, "also", "", "comma-separated output folders of other runs of the same sequence (e.g. another --seed): the table and figure then show the mean over all runs, the summary each run too")
	flag.Parse()
	for _, d := range strings.Split(also, ",") {
		if d = strings.TrimSpace(d); d != "" {
			s.also = append(s.also, d)
		}
	}
	for _, t := range strings.Split(tasks, ",") {
		if t = strings.TrimSpace(t); t != "" {
			s.tasks = append(s.tasks, t)
		}
	}
	if len(s.tasks) < 2 {
		log.Fatalf("--tasks %q: expected at least two tasks", tasks)
	}
	for _, t := range s.tasks {
		for _, f := range []string{"train.jsonl", "test.jsonl"} {
			if _, err := os.Stat(filepath.Join(s.dataDir, t, f)); err != nil {
				log.Fatalf("--tasks: task %s has no %s in --data-dir %s", t, f, s.dataDir)
			}
		}
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		log.Fatal(err)
	}
	if !s.reportOnly {
		if err := s.run(); err != nil {
			log.Fatal(err)
		}
	}
	res, err := s.collect()
	if err != nil {
		log.Fatal(err)
	}
	runs := []*results{res}
	for _, d := range s.also {
		o := s
		o.out = d
		r, err := o.collect()
		if err != nil {
			log.Fatal(err)
		}
		r.Settings = ownSettings(d, r.Settings)
		runs = append(runs, r)
	}
	if err := s.write(runs); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s, %s and %s.{png,svg}\n", filepath.Join(s.out, "continual.md"), filepath.Join(s.out, "results.json"), filepath.Join(s.out, "continual"))
}

// trainDir is the output folder of approach ap after its k-th task (1-based).
func (s *settings) trainDir(ap string, k int) string {
	if ap == apSeparate && k == 1 {
		ap = apExtend // the same command: a fresh moslora adapter on the first task
	}
	return filepath.Join(s.out, ap, fmt.Sprintf("%d-%s", k, s.tasks[k-1]))
}

// evalFile is where the score of task t after approach ap's k-th task is kept (k = 0: the base).
func (s *settings) evalFile(ap string, k int, t string) string {
	if k == 0 {
		return filepath.Join(s.out, "base", "eval-"+t+".json")
	}
	return filepath.Join(s.trainDir(ap, k), "eval-"+t+".json")
}

// run trains and evaluates every step not done yet.
func (s *settings) run() error {
	start := time.Now()
	for _, t := range s.tasks {
		if err := s.eval("", 0, t); err != nil {
			return err
		}
	}
	for k := 1; k <= len(s.tasks); k++ {
		for _, ap := range []string{apExtend, apSequential, apSeparate} {
			if err := s.train(ap, k); err != nil {
				return err
			}
			first := 1
			if ap == apSeparate {
				first = k // each adapter is scored on its own task only
			}
			for j := first; j <= k; j++ {
				if err := s.eval(ap, k, s.tasks[j-1]); err != nil {
					return err
				}
			}
		}
		log.Printf("task %d of %d (%s) done after %s", k, len(s.tasks), s.tasks[k-1], time.Since(start).Round(time.Second))
	}
	return nil
}

// train runs approach ap's k-th training unless it finished (its adapter and train_config.json
// exist, which train writes together at the end); an interrupted one resumes.
func (s *settings) train(ap string, k int) error {
	dir := s.trainDir(ap, k)
	if done(dir) {
		return nil
	}
	task := s.tasks[k-1]
	args := []string{"train", "--model", s.model, "--data", filepath.Join(s.dataDir, task, "train.jsonl"), "--out", dir,
		"--steps", strconv.Itoa(s.steps), "--batch", strconv.Itoa(s.batch), "--limit", strconv.Itoa(s.limit),
		"--warmup", strconv.Itoa(s.warmup), "--lr", fmt.Sprint(s.lr), "--seed", strconv.FormatInt(s.seed, 10),
		"--resume", "--save-every", "20", "--log-every", "20"}
	switch {
	case k == 1 || ap == apSeparate:
		method := "moslora"
		if ap == apSequential {
			method = "lora"
		}
		args = append(args, "--method", method, "--rank", strconv.Itoa(s.rank), "--alpha", fmt.Sprint(s.alpha))
	case ap == apExtend:
		args = append(args, "--extend", s.trainDir(ap, k-1), "--extend-rank", strconv.Itoa(s.rank))
	default: // sequential
		args = append(args, "--extend", s.trainDir(ap, k-1), "--extend-rank", "0")
	}
	logPath := dir + ".train.log"
	log.Printf("%s, task %d (%s): training (log %s)", ap, k, task, logPath)
	out, err := s.command(args, nil)
	os.WriteFile(logPath, out, 0o644)
	if err != nil {
		return fmt.Errorf("%s task %d: %v (see %s)", ap, k, err, logPath)
	}
	return nil
}

// done reports whether a training finished.
func done(dir string) bool {
	for _, f := range []string{"adapter_model.safetensors", "train_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// eval scores task t with approach ap's adapter after its k-th task (k = 0: the base model),
// unless its eval file exists.
func (s *settings) eval(ap string, k int, t string) error {
	path := s.evalFile(ap, k, t)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	args := []string{"eval", "--model", s.model, "--data", filepath.Join(s.dataDir, t, "test.jsonl"), "--limit", strconv.Itoa(s.evalLimit), "--json"}
	if k > 0 {
		args = append(args, "--adapter", s.trainDir(ap, k))
	}
	log.Printf("%s after task %d: scoring %s", cmpOr(ap, "base"), k, t)
	var stderr strings.Builder
	out, err := s.command(args, &stderr)
	if err != nil {
		return fmt.Errorf("eval %s: %v: %s", path, err, stderr.String())
	}
	var r eval.Report
	if err := json.Unmarshal(out, &r); err != nil || r.Tasks[t] == nil {
		return fmt.Errorf("eval %s: output is not a report on task %s (%v): %.200s", path, t, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// command runs moslora with args (GOMAXPROCS=threads), records the command line in
// commands.txt and returns its stdout (with stderr too when stderr is nil).
func (s *settings) command(args []string, stderr *strings.Builder) ([]byte, error) {
	line := fmt.Sprintf("GOMAXPROCS=%d %s %s\n", s.threads, s.moslora, strings.Join(args, " "))
	f, err := os.OpenFile(filepath.Join(s.out, "commands.txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	f.WriteString(line)
	f.Close()
	cmd := exec.Command(s.moslora, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(s.threads))
	if stderr == nil {
		return cmd.CombinedOutput()
	}
	cmd.Stderr = stderr
	return cmd.Output()
}
