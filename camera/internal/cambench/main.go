// Command cambench generates the photographed-digit test set and measures
// the camera pipeline: photo accuracy with a real model, preprocessing and
// frame→digit time, and POST /predict throughput on loopback. It is run
// by `make bench-camera` and `make camera-photos`.
//
//	cambench gen -n 50 -out testdata/photos
//	cambench accuracy -model out/demo/model.tflite -n 500
//	cambench load -model out/demo/model.tflite -requests 20000
//	cambench numbers -model m.tflite -kind hand -split tune -attribute
//	cambench renderfit -model m.tflite -n 2000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/internal/atomicfile"
	"github.com/edgecnn/edgecnn/runtime"
	_ "github.com/edgecnn/edgecnn/runtime/native" // registers "native"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cambench gen|accuracy|load|numbers|renderfit [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "accuracy":
		err = accuracy(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "numbers":
		err = numbers(os.Args[2:])
	case "renderfit":
		err = renderfit(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q (want gen, accuracy, load, numbers or renderfit)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cambench:", err)
		os.Exit(1)
	}
}

func mnist(dir string, n int) (*photoset.Digits, error) {
	return photoset.ReadMNISTTest(dir, n)
}

// gen writes n photos named photo-NNNN-dD.jpg (D: the true digit), or
// with -kind number photos (genNumbers).
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("n", 50, "photos")
	out := fs.String("out", "testdata/photos", "output directory")
	data := fs.String("data", "data/mnist", "MNIST directory (test split is used)")
	size := fs.String("size", "320x240", "frame size")
	seed := fs.Uint64("seed", 1, "random seed")
	first := fs.Int("first", 9000, "first MNIST test index used (the tail of the test split)")
	kind := fs.String("kind", "", "number photos of this kind (hand, odometer or sevenseg; any order, comma-separated, one kind per photo in turn) from MNIST test digits -first and up, outside the tuning and test splits; empty: single digits")
	fs.Parse(args)
	w, h, err := camera.ParseSize(*size)
	if err != nil {
		return err
	}
	d, err := mnist(*data, 0)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if *kind != "" {
		return genNumbers(d, *kind, *n, *first, *seed, w, h, *out)
	}
	rng := rand.New(rand.NewPCG(*seed, 2))
	for i := 0; i < *n; i++ {
		k := (*first + i) % len(d.Images)
		b, err := photoset.Render(d.Images[k], photoset.RandomParams(rng, w, h), rng)
		if err != nil {
			return err
		}
		p := filepath.Join(*out, fmt.Sprintf("photo-%04d-d%d.jpg", i, d.Labels[k]))
		if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %d photos to %s\n", *n, *out)
	return nil
}

// genNumbers writes n number photos, of the comma-separated kinds in
// turn, drawn from MNIST test digits [first, 10000) (after the tuning and
// test splits of photoset: the demo's samples), as
// number-NNNN-KIND-dTEXT.jpg.
func genNumbers(d *photoset.Digits, kinds string, n, first int, seed uint64, w, h int, out string) error {
	var ks []photoset.Kind
	for _, name := range strings.Split(kinds, ",") {
		k, err := kindOf(name)
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		ks = append(ks, k)
	}
	if first < photoset.TestSplit.End {
		return fmt.Errorf("gen: -first %d: number photos come from MNIST test digits %d and up (the tuning and test splits are below)", first, photoset.TestSplit.End)
	}
	split := photoset.Split{Name: "samples", First: first, End: len(d.Images), Seed: seed}
	for i := 0; i < n; i++ {
		k := ks[i%len(ks)]
		num, err := photoset.NumberSet(d, split, k, i, w, h)
		if err != nil {
			return err
		}
		p := filepath.Join(out, fmt.Sprintf("number-%04d-%s-d%s.jpg", i, k, num.Text))
		if err := atomicfile.WriteFile(p, num.JPEG, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %d number photos to %s\n", n, out)
	return nil
}

func openRecognizer(backend, path string, threads int, pc preprocess.Config, minConf float32) (*agent.Recognizer, error) {
	return openJudged(backend, path, "", threads, agent.RecognizerConfig{Preprocess: pc, MinConfidence: minConf})
}

// openJudged opens a recognizer of configuration cfg with a segmentation
// judge model ("": none).
func openJudged(backend, path, judge string, threads int, cfg agent.RecognizerConfig) (*agent.Recognizer, error) {
	eng, err := agent.OpenEngine(backend, path, runtime.Options{Threads: threads})
	if err != nil {
		return nil, err
	}
	if judge != "" {
		if cfg.Judge, err = agent.OpenEngine(backend, judge, runtime.Options{Threads: threads}); err != nil {
			eng.Close()
			return nil, err
		}
	}
	r, err := agent.NewRecognizer(eng, cfg)
	if err != nil {
		eng.Close()
		if cfg.Judge != nil {
			cfg.Judge.Close()
		}
	}
	return r, err
}

// Report is the accuracy run's result.
type Report struct {
	Model          string  `json:"model"`
	Backend        string  `json:"backend"`
	Photos         int     `json:"photos"`
	Size           string  `json:"size"`
	Correct        int     `json:"correct"`
	Wrong          int     `json:"wrong"`
	NoDigit        int     `json:"no_digit"`
	Accuracy       float64 `json:"accuracy"`
	PreprocessMS   float64 `json:"preprocess_ms_640x480"`
	FrameToDigitMS float64 `json:"frame_to_digit_ms_640x480"`
	DecodeMS       float64 `json:"jpeg_decode_ms_640x480"`
	Confusions     string  `json:"confusions,omitempty"`
}

func accuracy(args []string) error {
	fs := flag.NewFlagSet("accuracy", flag.ExitOnError)
	modelPath := fs.String("model", "", "model file (.tflite, .onnx or .ckpt)")
	backend := fs.String("backend", "native", "runtime backend")
	n := fs.Int("n", 500, "photos")
	data := fs.String("data", "data/mnist", "MNIST directory")
	size := fs.String("size", "640x480", "frame size")
	seed := fs.Uint64("seed", 7, "random seed")
	jsonOut := fs.String("json", "", "also write the report here")
	save := fs.String("save-wrong", "", "directory to save misrecognized photos")
	stroke := fs.Float64("stroke", 0, "preprocess StrokeWidth (0: default; negative: off)")
	fs.Parse(args)
	if *modelPath == "" {
		return errors.New("accuracy: -model is required")
	}
	w, h, err := camera.ParseSize(*size)
	if err != nil {
		return err
	}
	d, err := mnist(*data, 0)
	if err != nil {
		return err
	}
	rec, err := openRecognizer(*backend, *modelPath, 1, preprocess.Config{StrokeWidth: float32(*stroke)}, 0.01)
	if err != nil {
		return err
	}
	rep := Report{Model: *modelPath, Backend: rec.Engine().Backend(), Photos: *n, Size: *size}
	rng := rand.New(rand.NewPCG(*seed, 3))
	conf := map[string]int{}
	var dec, pre, total time.Duration
	ctx := context.Background()
	for i := 0; i < *n; i++ {
		k := i * 17 % 9000 // the first 9000 test images; gen uses the tail
		b, err := photoset.Render(d.Images[k], photoset.RandomParams(rng, w, h), rng)
		if err != nil {
			return err
		}
		t0 := time.Now()
		img, err := camera.DecodeJPEG(b)
		if err != nil {
			return err
		}
		t1 := time.Now()
		if _, err := rec.Preprocessor().Process(img); err != nil {
			return err
		}
		t2 := time.Now()
		res, err := rec.Recognize(ctx, img)
		if err != nil {
			return err
		}
		t3 := time.Now()
		dec += t1.Sub(t0)
		pre += t2.Sub(t1)
		total += t3.Sub(t2)
		want := strconv.Itoa(int(d.Labels[k]))
		switch {
		case res.Text == want:
			rep.Correct++
		case res.Text == "":
			rep.NoDigit++
			conf[want+"→none"]++
		default:
			rep.Wrong++
			conf[want+"→"+res.Text]++
		}
		if res.Text != want && *save != "" {
			os.MkdirAll(*save, 0o755)
			os.WriteFile(filepath.Join(*save, fmt.Sprintf("%04d-want%s-got%s.jpg", i, want, res.Text)), b, 0o644)
			if pr, err := rec.Preprocessor().Process(img); err == nil && len(pr.Digits) > 0 {
				g := image.NewGray(image.Rect(0, 0, 28, 28))
				for j, v := range pr.Digits[0].Ink {
					g.Pix[j] = uint8(v * 255)
				}
				var pb bytes.Buffer
				png.Encode(&pb, g)
				os.WriteFile(filepath.Join(*save, fmt.Sprintf("%04d-in.png", i)), pb.Bytes(), 0o644)
			}
		}
	}
	rep.Accuracy = float64(rep.Correct) / float64(*n)
	rep.DecodeMS = ms(dec) / float64(*n)
	// Timing on 640×480 frames: the mean over the set is the honest
	// figure when the set is 640×480 (the default); otherwise measure
	// separately on synthetic 640×480 frames.
	if w == 640 && h == 480 {
		rep.PreprocessMS = ms(pre) / float64(*n)
		rep.FrameToDigitMS = ms(total) / float64(*n)
	} else {
		rep.PreprocessMS, rep.FrameToDigitMS = time640(rec)
	}
	var keys []string
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return conf[keys[i]] > conf[keys[j]] })
	for i, k := range keys {
		if i == 12 {
			break
		}
		rep.Confusions += fmt.Sprintf("%s:%d ", k, conf[k])
	}
	fmt.Printf("camera photos: %d/%d correct = %.1f%% (wrong %d, no digit %d) model %s backend %s\n",
		rep.Correct, *n, 100*rep.Accuracy, rep.Wrong, rep.NoDigit, *modelPath, rep.Backend)
	fmt.Printf("camera timing 640x480: preprocess %.3f ms, frame→digit %.3f ms (preprocess+inference), jpeg decode %.3f ms\n",
		rep.PreprocessMS, rep.FrameToDigitMS, rep.DecodeMS)
	if rep.Confusions != "" {
		fmt.Printf("camera confusions: %s\n", rep.Confusions)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		return atomicfile.WriteFile(*jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func time640(rec *agent.Recognizer) (pre, total float64) {
	rng := rand.New(rand.NewPCG(1, 1))
	var frames []image.Image
	for i := 0; i < 20; i++ {
		f, _ := camera.SyntheticFrame(640, 480, rng)
		frames = append(frames, f)
	}
	const iters = 400
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		rec.Preprocessor().Process(frames[i%len(frames)])
	}
	t1 := time.Now()
	for i := 0; i < iters; i++ {
		rec.Recognize(context.Background(), frames[i%len(frames)])
	}
	t2 := time.Now()
	return ms(t1.Sub(t0)) / iters, ms(t2.Sub(t1)) / iters
}

func rssKB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.Atoi(strings.Fields(l)[1])
			return v
		}
	}
	return -1
}

// load serves POST /predict on loopback and drives it with a fixed number
// of requests from c concurrent clients, each with a timeout.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	modelPath := fs.String("model", "", "model file")
	backend := fs.String("backend", "native", "runtime backend")
	requests := fs.Int("requests", 20000, "requests (fixed count)")
	conc := fs.Int("c", 8, "concurrent clients")
	workers := fs.Int("workers", goruntime.GOMAXPROCS(0), "server recognizers")
	photo := fs.String("photo", "", "image to upload (default: a generated 160x120 photo)")
	timeout := fs.Duration("timeout", 5*time.Second, "per-request timeout")
	data := fs.String("data", "data/mnist", "MNIST directory")
	prof := fs.String("cpuprofile", "", "write a CPU profile of the measured round")
	fs.Parse(args)
	if *modelPath == "" {
		return errors.New("load: -model is required")
	}
	var body []byte
	var err error
	if *photo != "" {
		body, err = os.ReadFile(*photo)
	} else {
		var d *photoset.Digits
		if d, err = mnist(*data, 1); err == nil {
			rng := rand.New(rand.NewPCG(5, 5))
			p := photoset.RandomParams(rng, 160, 120)
			p.DigitH, p.Shadow, p.Ruled = 70, false, false
			body, err = photoset.Render(d.Images[0], p, rng)
		}
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Config{
		NewRecognizer: func() (*agent.Recognizer, error) {
			return openRecognizer(*backend, *modelPath, 1, preprocess.Config{}, 0.5)
		},
		Listener: ln, Workers: *workers,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	url := "http://" + ln.Addr().String() + "/predict"
	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}}
	shoot := func(n int) (ok, bad int64) {
		var next, okN, badN atomic.Int64
		var wg sync.WaitGroup
		for c := 0; c < *conc; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					resp, err := client.Post(url, "image/jpeg", bytes.NewReader(body))
					if err != nil {
						badN.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						okN.Add(1)
					} else {
						badN.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return okN.Load(), badN.Load()
	}
	shoot(min(1000, *requests)) // warm up
	rss0 := rssKB()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	t0 := time.Now()
	ok, bad := shoot(*requests)
	el := time.Since(t0)
	if *prof != "" {
		pprof.StopCPUProfile()
	}
	rss1 := rssKB()
	shoot(*requests)
	rss2 := rssKB()
	cancel()
	if err := <-done; err != nil {
		return err
	}
	fmt.Printf("camera /predict load: %d requests, %d clients, %d workers, GOMAXPROCS %d: %.0f req/s, %d ok, %d errors; RSS %d → %d → %d KiB (after a second round)\n",
		*requests, *conc, *workers, goruntime.GOMAXPROCS(0), float64(ok+bad)/el.Seconds(), ok, bad, rss0, rss1, rss2)
	if bad > 0 {
		return fmt.Errorf("load: %d errors", bad)
	}
	return nil
}
