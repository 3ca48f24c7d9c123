package hub

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports downloads to a writer: a byte bar per file on a terminal, one line per file
// elsewhere (logs, CI), nothing when the writer is nil.
type progress struct {
	w   io.Writer
	bar bool
}

func newProgress(w io.Writer) progress {
	f, ok := w.(*os.File)
	return progress{w: w, bar: ok && term.IsTerminal(int(f.Fd()))}
}

// fileProgress counts one file's bytes as they are written through it.
type fileProgress interface {
	io.Writer
	finish(err error)
}

func (p progress) start(file string, total, done int64) fileProgress {
	switch {
	case p.w == nil:
		return quiet{}
	case p.bar:
		b := progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(file),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		)
		if done > 0 {
			b.Set64(done)
		}
		return barProgress{b, p.w}
	}
	if done > 0 {
		fmt.Fprintf(p.w, "downloading %s (%s, resuming at %s)\n", file, bytesString(total), bytesString(done))
	} else {
		fmt.Fprintf(p.w, "downloading %s (%s)\n", file, bytesString(total))
	}
	return &lineProgress{w: p.w, file: file, start: time.Now()}
}

type quiet struct{}

func (quiet) Write(b []byte) (int, error) { return len(b), nil }
func (quiet) finish(error)                {}

type barProgress struct {
	*progressbar.ProgressBar
	w io.Writer
}

func (b barProgress) finish(err error) {
	if err == nil {
		b.Finish()
		return
	}
	b.Exit()
	fmt.Fprintln(b.w)
}

type lineProgress struct {
	w     io.Writer
	file  string
	n     int64
	start time.Time
}

func (l *lineProgress) Write(b []byte) (int, error) { l.n += int64(len(b)); return len(b), nil }
func (l *lineProgress) finish(err error) {
	if err == nil {
		fmt.Fprintf(l.w, "downloaded %s: %s in %s\n", l.file, bytesString(l.n), time.Since(l.start).Round(time.Millisecond))
	}
}

// bytesString writes a byte count for people: 37.8 MB, 722 B; "size unknown" for -1.
func bytesString(n int64) string {
	switch {
	case n < 0:
		return "size unknown"
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
