package main

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// figure draws, for every task (columns), its NLL (top row) and balanced accuracy (bottom row)
// after each task of the sequence for every approach, with the base model's as a dashed line, and
// writes base.png and base.svg.
func (r *results) figure(base string) error {
	n := len(r.Tasks)
	metrics := []struct {
		name string
		get  func(*score) *float64
	}{{"completion NLL per token", nll}, {"balanced accuracy (%)", balAcc}}
	plots := make([][]*plot.Plot, len(metrics))
	for mi, m := range metrics {
		for j, t := range r.Tasks {
			p := plot.New()
			p.Title.Text = fmt.Sprintf("task %d: %s", j+1, t)
			p.X.Label.Text = "after training task"
			if j == 0 {
				p.Y.Label.Text = m.name
			}
			p.X.Min, p.X.Max = 0.7, float64(n)+0.3
			var ticks []plot.Tick
			for k := 1; k <= n; k++ {
				ticks = append(ticks, plot.Tick{Value: float64(k), Label: fmt.Sprintf("%d %s", k, r.Tasks[k-1])})
			}
			p.X.Tick.Marker = plot.ConstantTicks(ticks)
			if sc := r.Base[t]; sc != nil && m.get(sc) != nil {
				l, err := plotter.NewLine(plotter.XYs{{X: 0.7, Y: *m.get(sc)}, {X: float64(n) + 0.3, Y: *m.get(sc)}})
				if err == nil {
					l.Color = color.Gray{Y: 120}
					l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
					p.Add(l)
					if mi == 0 && j == n-1 {
						p.Legend.Add("base model", l)
					}
				}
			}
			for ai, ap := range approaches {
				var pts plotter.XYs
				for k := j + 1; k <= n; k++ {
					if sc := r.Scores[ap][k-1][t]; sc != nil && m.get(sc) != nil {
						pts = append(pts, plotter.XY{X: float64(k), Y: *m.get(sc)})
					}
				}
				if len(pts) == 0 {
					continue
				}
				l, s, err := plotter.NewLinePoints(pts)
				if err != nil {
					return err
				}
				l.Color, s.Color = plotutil.Color(ai), plotutil.Color(ai)
				s.Shape = plotutil.Shape(ai)
				p.Add(l, s)
				if mi == 0 && j == n-1 {
					p.Legend.Add(ap, l, s) // the last task's tile is empty left of its one point
				}
			}
			p.Legend.Left = true // the last task's tile: empty left of its one point, below the base line
			plots[mi] = append(plots[mi], p)
		}
	}
	w, h := vg.Length(n)*7*vg.Centimeter, 14*vg.Centimeter
	for _, ext := range []string{"png", "svg"} {
		var c interface {
			vg.CanvasSizer
			vg.CanvasWriterTo
		}
		if ext == "png" {
			c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(120))}
		} else {
			c = vgsvg.New(w, h)
		}
		dc := draw.New(c)
		tiles := draw.Tiles{Rows: len(metrics), Cols: n, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
			PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		cv := plot.Align(plots, tiles, dc)
		for i := range plots {
			for j := range plots[i] {
				plots[i][j].Draw(cv[i][j])
			}
		}
		var buf bytes.Buffer
		if _, err := c.WriteTo(&buf); err != nil {
			return fmt.Errorf("figure %s.%s: %w", base, ext, err)
		}
		if err := writeAtomic(base+"."+ext, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
