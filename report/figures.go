package report

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"github.com/moslora/moslora/stats"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// FigureFormats are the files written for every figure.
var FigureFormats = []string{"png", "svg"}

// save writes p as name.png and name.svg in dir.
func save(p *plot.Plot, w, h vg.Length, dir, name string) error {
	for _, ext := range FigureFormats {
		if err := p.Save(w, h, filepath.Join(dir, name+"."+ext)); err != nil {
			return fmt.Errorf("report: writing figure %s.%s: %w", name, ext, err)
		}
	}
	return nil
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), a}
}

// LossPlot draws each group's training loss per update: the mean over its runs and a band from
// the lowest to the highest run, over the updates every run logged. nil when no run logged any.
func LossPlot(groups []*Group) *plot.Plot {
	p := plot.New()
	p.Title.Text = "training loss (mean over seeds, band: min–max)"
	p.X.Label.Text = "update"
	p.Y.Label.Text = "loss"
	drawn := false
	for i, g := range groups {
		n := math.MaxInt
		for _, r := range g.Runs {
			n = min(n, len(r.Metrics))
		}
		if n == 0 || n == math.MaxInt {
			continue
		}
		mean, band := make(plotter.XYs, n), make(plotter.XYs, 2*n)
		for k := 0; k < n; k++ {
			vals := make([]float64, len(g.Runs))
			for j, r := range g.Runs {
				vals[j] = r.Metrics[k].Loss
			}
			x := float64(g.Runs[0].Metrics[k].Step)
			lo, hi := vals[0], vals[0]
			for _, v := range vals {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			mean[k] = plotter.XY{X: x, Y: stats.Mean(vals)}
			band[k] = plotter.XY{X: x, Y: hi}
			band[2*n-1-k] = plotter.XY{X: x, Y: lo}
		}
		c := plotutil.Color(i)
		if poly, err := plotter.NewPolygon(band); err == nil {
			poly.Color = withAlpha(c, 0x40)
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		l, err := plotter.NewLine(mean)
		if err != nil {
			continue
		}
		l.Color = c
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (%d)", g.Name, len(g.Runs)), l)
		drawn = true
	}
	if !drawn {
		return nil
	}
	p.Legend.Top = true
	return p
}

// ScorePlot draws every run's value (points, spread sideways by seed) over a box plot per group.
func ScorePlot(groups []*Group, values [][]float64, metric string) *plot.Plot {
	p := plot.New()
	p.Title.Text = metric + " per run (one point per seed)"
	p.Y.Label.Text = metric
	var names []string
	for i, g := range groups {
		names = append(names, g.Name)
		v := values[i]
		if len(v) >= 3 {
			if box, err := plotter.NewBoxPlot(vg.Points(30), float64(i), plotter.Values(v)); err == nil {
				box.FillColor = withAlpha(plotutil.Color(i), 0x30)
				p.Add(box)
			}
		}
		pts := make(plotter.XYs, len(v))
		for j, y := range v {
			pts[j] = plotter.XY{X: float64(i) + 0.08*(float64(j)-float64(len(v)-1)/2), Y: y}
		}
		if s, err := plotter.NewScatter(pts); err == nil {
			s.Color = plotutil.Color(i)
			s.Shape = draw.CircleGlyph{}
			s.Radius = vg.Points(3)
			p.Add(s)
		}
	}
	p.NominalX(names...)
	p.X.Padding = vg.Points(20)
	return p
}

// errPoints are points with asymmetric vertical error bars.
type errPoints struct{ xs, ys, lo, hi []float64 }

func (e errPoints) Len() int                        { return len(e.xs) }
func (e errPoints) XY(i int) (float64, float64)     { return e.xs[i], e.ys[i] }
func (e errPoints) YError(i int) (float64, float64) { return e.ys[i] - e.lo[i], e.hi[i] - e.ys[i] }

// TaskPlot draws, per task, each group's mean with its interval (rows: groups, columns: tasks;
// NaN bounds draw no bar).
func TaskPlot(groups []*Group, tasks []string, iv [][]stats.Interval, title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	w := 0.6 / float64(max(1, len(groups)))
	for gi, g := range groups {
		var e errPoints
		for ti := range tasks {
			in := iv[gi][ti]
			if math.IsNaN(in.Estimate) {
				continue
			}
			lo, hi := in.Lo, in.Hi
			if math.IsNaN(lo) || math.IsNaN(hi) {
				lo, hi = in.Estimate, in.Estimate
			}
			e.xs = append(e.xs, float64(ti)+w*(float64(gi)-float64(len(groups)-1)/2))
			e.ys, e.lo, e.hi = append(e.ys, in.Estimate), append(e.lo, lo), append(e.hi, hi)
		}
		if e.Len() == 0 {
			continue
		}
		c := plotutil.Color(gi)
		if s, err := plotter.NewScatter(e); err == nil {
			s.Color = c
			s.Shape = draw.CircleGlyph{}
			p.Add(s)
			p.Legend.Add(g.Name, s)
		}
		if b, err := plotter.NewYErrorBars(e); err == nil {
			b.Color = c
			p.Add(b)
		}
	}
	p.NominalX(tasks...)
	p.X.Padding = vg.Points(20)
	p.Y.Label.Text = "accuracy or exact match (%)"
	p.Y.Max += 0.3 * (p.Y.Max - p.Y.Min) // room for the legend
	p.Legend.Top = true
	return p
}

// moduleGrid is a heat map's data: rows are modules, columns the entries of their vectors.
type moduleGrid struct{ v [][]float64 }

func (g moduleGrid) Dims() (c, r int)   { return len(g.v[0]), len(g.v) }
func (g moduleGrid) Z(c, r int) float64 { return g.v[r][c] }
func (g moduleGrid) X(c int) float64    { return float64(c + 1) }
func (g moduleGrid) Y(r int) float64    { return float64(r) }

// HeatmapPlot draws one row per module and one column per vector entry; the title gives the
// colour range (light: low, dark: high).
func HeatmapPlot(mv ModuleValues, title, xlabel string) *plot.Plot {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range mv.Values {
		for _, v := range row {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if !(hi > lo) {
		lo, hi = lo-0.5, hi+0.5
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s\ncolour: %.3g (light) … %.3g (dark)", title, lo, hi)
	p.X.Label.Text = xlabel
	cm := moreland.ExtendedBlackBody()
	cm.SetMin(lo)
	cm.SetMax(hi)
	pal := cm.Palette(64)
	rev := make([]color.Color, len(pal.Colors())) // light for low values
	for i, c := range pal.Colors() {
		rev[len(rev)-1-i] = c
	}
	h := plotter.NewHeatMap(moduleGrid{mv.Values}, palette{rev})
	h.Min, h.Max = lo, hi
	p.Add(h)
	var ticks []plot.Tick
	for i, m := range mv.Modules {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: m})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	if len(mv.Values) > 0 && len(mv.Values[0]) <= 32 { // one tick per column (subspace), at its centre
		var xt []plot.Tick
		for c := range mv.Values[0] {
			xt = append(xt, plot.Tick{Value: float64(c + 1), Label: fmt.Sprint(c + 1)})
		}
		p.X.Tick.Marker = plot.ConstantTicks(xt)
	}
	return p
}

// palette is a fixed list of colours.
type palette struct{ c []color.Color }

func (p palette) Colors() []color.Color { return p.c }
