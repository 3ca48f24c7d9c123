package train

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Reporter shows training progress. The trainer calls Start once, Step after every optimizer
// update, Printf for occasional messages, and Finish at the end.
type Reporter interface {
	Start(total, done int)
	Step(m Metric, total int)
	Printf(format string, a ...any)
	Finish()
}

// NewReporter returns a progress bar (step, loss, tokens/s, ETA) when w is a terminal and plain
// log lines otherwise (one every `every` steps and at the last step).
func NewReporter(w io.Writer, every int) Reporter {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barReporter{w: w}
	}
	return &lineReporter{w: w, every: max(1, every)}
}

// lineReporter prints one line per `every` steps.
type lineReporter struct {
	w     io.Writer
	every int
	start time.Time
	done0 int
}

func (r *lineReporter) Start(total, done int) {
	r.start, r.done0 = time.Now(), done
}

func (r *lineReporter) Step(m Metric, total int) {
	if m.Step%r.every != 0 && m.Step != total && m.Step != r.done0+1 {
		return
	}
	eta := "?"
	if n := m.Step - r.done0; n > 0 {
		eta = (time.Duration(float64(time.Since(r.start)) / float64(n) * float64(total-m.Step))).Round(time.Second).String()
	}
	fmt.Fprintf(r.w, "step %d/%d  epoch %.2f  loss %.4f  lr %.3g  grad_norm %.3f  tokens/s %.0f  eta %s\n",
		m.Step, total, m.Epoch, m.Loss, m.LR, m.GradNorm, m.TokensPerS, eta)
}

func (r *lineReporter) Printf(format string, a ...any) { fmt.Fprintf(r.w, format+"\n", a...) }
func (r *lineReporter) Finish()                        {}

// barReporter drives a terminal progress bar.
type barReporter struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (r *barReporter) Start(total, done int) {
	r.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(r.w),
		progressbar.OptionSetDescription("training"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
	)
	if done > 0 {
		r.bar.Set(done)
	}
}

func (r *barReporter) Step(m Metric, total int) {
	r.bar.Describe(fmt.Sprintf("loss %.4f  lr %.2g  %.0f tok/s", m.Loss, m.LR, m.TokensPerS))
	r.bar.Set(m.Step)
}

func (r *barReporter) Printf(format string, a ...any) {
	if r.bar != nil {
		r.bar.Clear()
	}
	fmt.Fprintf(r.w, format+"\n", a...)
	if r.bar != nil {
		r.bar.RenderBlank()
	}
}

func (r *barReporter) Finish() {
	if r.bar != nil {
		r.bar.Finish()
		fmt.Fprintln(r.w)
	}
}

// Quiet discards all progress (tests).
type Quiet struct{}

func (Quiet) Start(int, int)        {}
func (Quiet) Step(Metric, int)      {}
func (Quiet) Printf(string, ...any) {}
func (Quiet) Finish()               {}
