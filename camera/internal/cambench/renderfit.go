package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"math"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// inkStats are the shape figures of one 28×28 ink image (0..1).
type inkStats struct {
	mass, cx, cy, bw, bh, stroke float64
}

func statsOf(ink []float32, w, h int) inkStats {
	var s inkStats
	var per float64
	x0, y0, x1, y1 := w, h, -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := float64(ink[y*w+x])
			s.mass += v
			s.cx += v * float64(x)
			s.cy += v * float64(y)
			if v > 0.2 {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
			l, u := 0.0, 0.0
			if x > 0 {
				l = float64(ink[y*w+x-1])
			}
			if y > 0 {
				u = float64(ink[(y-1)*w+x])
			}
			per += math.Abs(v-l) + math.Abs(v-u)
		}
	}
	if s.mass > 0 {
		s.cx /= s.mass
		s.cy /= s.mass
		s.stroke = 2 * s.mass / per
	}
	s.bw, s.bh = float64(x1-x0+1), float64(y1-y0+1)
	return s
}

// renderfit draws MNIST test digits (the tune split's range) large and
// clean on paper, reads them back through the preprocessor and compares
// the 28×28 it renders with the MNIST original: centre of mass, box,
// ink mass, stroke width and the model's accuracy on each.
func renderfit(args []string) error {
	fs := flag.NewFlagSet("renderfit", flag.ExitOnError)
	mpath := fs.String("model", "", "model file")
	data := fs.String("data", "data/mnist", "MNIST directory")
	n := fs.Int("n", 2000, "digits (MNIST test 0..n-1)")
	scale := fs.Int("scale", 6, "frame pixels per MNIST pixel")
	stroke := fs.Float64("stroke", 0, "preprocess StrokeWidth (0: default)")
	fs.Parse(args)
	d, err := mnist(*data, 0)
	if err != nil {
		return err
	}
	eng, err := agent.OpenEngine("native", *mpath, runtime.Options{Threads: 1})
	if err != nil {
		return err
	}
	defer eng.Close()
	pre, err := preprocess.New(preprocess.Config{StrokeWidth: float32(*stroke)})
	if err != nil {
		return err
	}
	classes := eng.Output().Shape[len(eng.Output().Shape)-1]
	out := make([]float32, classes)
	in := make([]float32, 784)
	argmax := func() int {
		b := 0
		for c := 1; c < 10; c++ {
			if out[c] > out[b] {
				b = c
			}
		}
		return b
	}
	var okO, okR, found int
	var sumO, sumR, sumAbs inkStats
	ctx := context.Background()
	for i := 0; i < *n; i++ {
		src := d.Images[i]
		for k, v := range src {
			in[k] = (float32(v)/255 - model.MNISTNorm.Mean) / model.MNISTNorm.Std
		}
		if err := eng.Run(ctx, in, 1, out); err != nil {
			return err
		}
		if argmax() == int(d.Labels[i]) {
			okO++
		}
		img := bigDigit(src, *scale)
		res, err := pre.Process(img)
		if err != nil {
			return err
		}
		if len(res.Digits) == 0 {
			continue
		}
		found++
		if err := eng.Run(ctx, res.Digits[0].Input, 1, out); err != nil {
			return err
		}
		if argmax() == int(d.Labels[i]) {
			okR++
		}
		orig := make([]float32, 784)
		for k, v := range src {
			orig[k] = float32(v) / 255
		}
		so, sr := statsOf(orig, 28, 28), statsOf(res.Digits[0].Ink, 28, 28)
		sumO = addStats(sumO, so, 1)
		sumR = addStats(sumR, sr, 1)
		sumAbs = addStats(sumAbs, absStats(so, sr), 1)
	}
	f := 1 / float64(max(1, found))
	fmt.Printf("renderfit: %d digits, found %d; accuracy MNIST %.2f%%, rendered %.2f%%\n", *n, found, 100*float64(okO)/float64(*n), 100*float64(okR)/float64(*n))
	for _, r := range []struct {
		name string
		s    inkStats
	}{{"MNIST mean", scaleStats(sumO, f)}, {"rendered mean", scaleStats(sumR, f)}, {"mean |diff|", scaleStats(sumAbs, f)}} {
		fmt.Printf("%-14s mass %6.1f  com (%.2f, %.2f)  box %.1f×%.1f  stroke %.2f\n", r.name, r.s.mass, r.s.cx, r.s.cy, r.s.bw, r.s.bh, r.s.stroke)
	}
	return nil
}

func addStats(a, b inkStats, k float64) inkStats {
	return inkStats{a.mass + k*b.mass, a.cx + k*b.cx, a.cy + k*b.cy, a.bw + k*b.bw, a.bh + k*b.bh, a.stroke + k*b.stroke}
}

func scaleStats(a inkStats, k float64) inkStats { return addStats(inkStats{}, a, k) }

func absStats(a, b inkStats) inkStats {
	return inkStats{math.Abs(a.mass - b.mass), math.Abs(a.cx - b.cx), math.Abs(a.cy - b.cy), math.Abs(a.bw - b.bw), math.Abs(a.bh - b.bh), math.Abs(a.stroke - b.stroke)}
}

// bigDigit draws a 28×28 MNIST image s× enlarged (bilinear), dark ink on
// light paper, centred in a frame with a margin.
func bigDigit(src []uint8, s int) *image.Gray {
	W, H := 28*s+80, 28*s+60
	img := image.NewGray(image.Rect(0, 0, W, H))
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			u := (float64(x-40)+0.5)/float64(s) - 0.5
			v := (float64(y-30)+0.5)/float64(s) - 0.5
			a := bilinearMNIST(src, u, v) / 255
			img.Pix[y*W+x] = uint8(225 - 195*a)
		}
	}
	return img
}

func bilinearMNIST(src []uint8, u, v float64) float64 {
	x0, y0 := int(math.Floor(u)), int(math.Floor(v))
	fx, fy := u-float64(x0), v-float64(y0)
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= 28 || y >= 28 {
			return 0
		}
		return float64(src[y*28+x])
	}
	return (1-fy)*((1-fx)*at(x0, y0)+fx*at(x0+1, y0)) + fy*((1-fx)*at(x0, y0+1)+fx*at(x0+1, y0+1))
}
