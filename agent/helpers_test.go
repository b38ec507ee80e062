package agent

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/internal/testenv"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
	_ "github.com/edgecnn/edgecnn/runtime/native" // the real engine
)

var tmpDir string

func TestMain(m *testing.M) {
	if mode := os.Getenv(healthResponderEnv); mode != "" {
		healthResponderMain(mode) // this binary started as a health responder
	}
	d, err := os.MkdirTemp("", "agent-test")
	if err != nil {
		panic(err)
	}
	tmpDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func repoRoot(t testing.TB) string { return testenv.RepoRoot(t) }

// exported is a committed checkpoint exported once per test binary.
type exported struct {
	once sync.Once
	path string
	err  error
}

var mainModel, judgeModel exported

// realModel exports the committed float checkpoint models/mnist.ckpt to a
// .tflite file (model.FloatGraph + model/tflite) once per test binary.
func realModel(t testing.TB) string { return mainModel.get(t, "mnist") }

// realJudge exports the committed segmentation judge models/judge.ckpt.
func realJudge(t testing.TB) string { return judgeModel.get(t, "judge") }

func (e *exported) get(t testing.TB, name string) string {
	t.Helper()
	e.once.Do(func() {
		ck, err := model.ReadCheckpointFile(filepath.Join(repoRoot(t), "models", name+".ckpt"))
		if err != nil {
			e.err = err
			return
		}
		g, err := model.FloatGraph(ck.Model)
		if err != nil {
			e.err = err
			return
		}
		e.path = filepath.Join(tmpDir, name+".tflite")
		e.err = tflite.WriteFile(e.path, g)
	})
	if e.err != nil {
		t.Fatalf("building the test model from models/%s.ckpt: %v", name, e.err)
	}
	return e.path
}

// realRecognizer opens the real model on the native engine.
func realRecognizer(t testing.TB, cfg RecognizerConfig) func() (*Recognizer, error) {
	path := realModel(t)
	return func() (*Recognizer, error) {
		eng, err := runtime.Open("native", path, runtime.Options{Threads: 1})
		if err != nil {
			return nil, err
		}
		return NewRecognizer(eng, cfg)
	}
}

// tuningNumber draws photo i of kind k of the tuning number split
// (w×h) from the MNIST test digits ds, and decodes it.
func tuningNumber(t testing.TB, ds *photoset.Digits, k photoset.Kind, i, w, h int) (photoset.Number, image.Image) {
	t.Helper()
	num, err := photoset.NumberSet(ds, photoset.TuneSplit, k, i, w, h)
	if err != nil {
		t.Fatal(err)
	}
	img, err := camera.DecodeJPEG(num.JPEG)
	if err != nil {
		t.Fatal(err)
	}
	return num, img
}

func photos(t testing.TB) []string {
	m, _ := filepath.Glob(filepath.Join(repoRoot(t), "camera", "testdata", "photos", "*.jpg"))
	if len(m) < 50 {
		t.Fatalf("only %d photos in camera/testdata/photos", len(m))
	}
	return m
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fakeEngine is a stand-in engine for tests of loop mechanics only
// (timing, dropping stale frames, smoothing): it sleeps for delay and
// answers the class given by answer (cycling through the slice).
type fakeEngine struct {
	delay  time.Duration
	answer []int
	calls  atomic.Int64
}

func (e *fakeEngine) Backend() string { return "fake" }
func (e *fakeEngine) Input() runtime.TensorInfo {
	return runtime.TensorInfo{Shape: []int{1, 28, 28, 1}}
}
func (e *fakeEngine) Output() runtime.TensorInfo  { return runtime.TensorInfo{Shape: []int{1, 10}} }
func (e *fakeEngine) Metadata() map[string]string { return nil }
func (e *fakeEngine) Close() error                { return nil }
func (e *fakeEngine) Run(ctx context.Context, in []float32, batch int, out []float32) error {
	n := e.calls.Add(1) - 1
	if e.delay > 0 {
		time.Sleep(e.delay)
	}
	for i := range out {
		out[i] = 0
	}
	out[e.answer[int(n)%len(e.answer)]] = 20
	return nil
}

// scriptedSource replays a script of frames and errors, then io.EOF
// (or blocks until ctx ends when hold is set).
type scriptedSource struct {
	items []any // camera.Frame or error
	i     int
	hold  bool
	delay time.Duration
}

func (s *scriptedSource) Next(ctx context.Context) (camera.Frame, error) {
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if s.i >= len(s.items) {
		if s.hold {
			<-ctx.Done()
			return camera.Frame{}, ctx.Err()
		}
		return camera.Frame{}, io.EOF
	}
	it := s.items[s.i]
	s.i++
	if err, ok := it.(error); ok {
		return camera.Frame{}, err
	}
	f := it.(camera.Frame)
	f.Time = time.Now()
	return f, nil
}
func (s *scriptedSource) Close() error   { return nil }
func (s *scriptedSource) String() string { return "script" }

var errEOF = io.EOF
