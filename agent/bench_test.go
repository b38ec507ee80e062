package agent

import (
	"context"
	"image"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/runtime"
)

// BenchmarkFrameToDigit measures a 640×480 frame to a digit: preprocessing
// plus inference on the native engine (the target: ≤ 2 ms). The
// model is $EDGECNN_CAMERA_MODEL (make bench-camera passes the int8 export)
// or the float export of models/mnist.ckpt.
func BenchmarkFrameToDigit(b *testing.B) {
	path := os.Getenv("EDGECNN_CAMERA_MODEL")
	if path == "" {
		path = realModel(b)
	}
	eng, err := runtime.Open("native", path, runtime.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	rec, err := NewRecognizer(eng, RecognizerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	var frames []image.Image
	for i := 0; i < 8; i++ {
		f, _ := camera.SyntheticFrame(640, 480, rng)
		frames = append(frames, f)
	}
	ctx := context.Background()
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := rec.Recognize(ctx, frames[i%len(frames)])
		if err != nil {
			b.Fatal(err)
		}
		if res.OK() {
			found++
		}
	}
	b.StopTimer()
	if found*2 < b.N {
		b.Fatalf("only %d of %d frames gave a digit", found, b.N)
	}
}

// BenchmarkFrameToNumber measures a 640×480 photo of a 3–6 digit
// handwritten number to its answer with --multi (segmentation, split
// scoring and inference) on the native engine: with the model alone,
// with the segmentation judge (EDGECNN_JUDGE_MODEL, else models/judge.ckpt
// exported as float), and with the judge and Rescan (edgecnn's default).
func BenchmarkFrameToNumber(b *testing.B) {
	path := os.Getenv("EDGECNN_CAMERA_MODEL")
	if path == "" {
		path = realModel(b)
	}
	judge := os.Getenv("EDGECNN_JUDGE_MODEL")
	if judge == "" {
		judge = realJudge(b)
	}
	ds := numberDigits(b)
	// 32 photos: about a fifth of them are read again with Rescan, as
	// of the 1,000 tuning photos.
	var frames []image.Image
	for i := 0; i < 32; i++ {
		_, img := tuningNumber(b, ds, photoset.Handwritten, i, 640, 480)
		frames = append(frames, img)
	}
	for _, v := range []struct {
		name   string
		judge  string
		rescan bool
	}{{"model", "", false}, {"model+judge", judge, false}, {"model+judge+rescan", judge, true}} {
		j := v.judge
		b.Run(v.name, func(b *testing.B) {
			eng, err := runtime.Open("native", path, runtime.Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			cfg := RecognizerConfig{Preprocess: preprocess.Config{Multi: true}, Rescan: v.rescan}
			if j != "" {
				if cfg.Judge, err = runtime.Open("native", j, runtime.Options{Threads: 1}); err != nil {
					b.Fatal(err)
				}
			}
			rec, err := NewRecognizer(eng, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer rec.Close()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := rec.Recognize(ctx, frames[i%len(frames)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
