package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/train"
)

// steeredModel writes a small model of the given class count whose last
// layer ignores the image: the output is the bias, so the recognizer's
// decision is known in advance. labels and threshold go into the metadata.
func steeredModel(t *testing.T, classes int, bias []float32, labels []string, threshold float32) string {
	t.Helper()
	a := model.SeedArch()
	a.Width, a.Hidden, a.Classes = 4, 16, classes
	m, err := model.New(a)
	if err != nil {
		t.Fatal(err)
	}
	train.Init(m, 3)
	fc2 := m.Layer("fc2")
	clear(fc2.Weight)
	copy(fc2.Bias, bias)
	if labels != nil {
		m.Labels = labels
	}
	m.RejectThreshold = threshold
	g, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "steered.tflite")
	if err := tflite.WriteFile(p, g); err != nil {
		t.Fatal(err)
	}
	return p
}

func openRec(t *testing.T, path string, cfg RecognizerConfig) *Recognizer {
	t.Helper()
	eng, err := runtime.Open("native", path, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRecognizer(eng, cfg)
	if err != nil {
		eng.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return r
}

var elevenLabels = strings.Split("0,1,2,3,4,5,6,7,8,9,x", ",")

func TestRecognizerReason(t *testing.T) {
	photo, err := camera.DecodeFile(photos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	blank := image.NewGray(image.Rect(0, 0, 320, 240))
	for i := range blank.Pix {
		blank.Pix[i] = 200
	}
	b := func(hot int, v float32) []float32 {
		s := make([]float32, 11)
		if hot >= 0 {
			s[hot] = v
		}
		return s
	}
	for _, c := range []struct {
		name   string
		bias   []float32
		cfg    RecognizerConfig
		img    image.Image
		digits string
		reason string
	}{
		{"digit", b(3, 10), RecognizerConfig{}, photo, "3", ""},
		{"reject class", b(10, 10), RecognizerConfig{}, photo, "", ReasonNotDigit},
		{"uniform scores", b(-1, 0), RecognizerConfig{}, photo, "", ReasonLowConfidence},
		// 3 at probability e²/(e²+10) ≈ 0.42: a digit at threshold 0.3, not at the model's 0.6
		{"model threshold", b(3, 2), RecognizerConfig{}, photo, "", ReasonLowConfidence},
		{"flag overrides model", b(3, 2), RecognizerConfig{MinConfidence: 0.3}, photo, "3", ""},
		{"blank paper", b(3, 10), RecognizerConfig{}, blank, "", ReasonNoInk},
	} {
		r := openRec(t, steeredModel(t, 11, c.bias, elevenLabels, 0.6), c.cfg)
		res, err := r.Recognize(context.Background(), c.img)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != c.digits || res.Reason != c.reason || res.Rejection != "" {
			t.Errorf("%s: digits %q reason %q rejection %q, want %q %q \"\"", c.name, res.Text, res.Reason, res.Rejection, c.digits, c.reason)
		}
		if c.reason == ReasonNotDigit || c.reason == ReasonLowConfidence {
			if res.Rejected != 1 || res.Confidence != 0 {
				t.Errorf("%s: rejected %d confidence %v", c.name, res.Rejected, res.Confidence)
			}
		}
	}
	rj := openRec(t, steeredModel(t, 11, b(3, 10), elevenLabels, 0.6), RecognizerConfig{}).Rejection()
	if !rj.Class || rj.Threshold != 0.6 || rj.Source != "model" {
		t.Fatalf("rejection %+v", rj)
	}
	// the JSON a client sees
	r := openRec(t, steeredModel(t, 11, b(10, 10), elevenLabels, 0), RecognizerConfig{})
	res, _ := r.Recognize(context.Background(), photo)
	j, _ := json.Marshal(res)
	if !strings.Contains(string(j), `"digits":""`) || !strings.Contains(string(j), `"reason":"not a digit"`) {
		t.Fatalf("JSON %s", j)
	}
	if rj := r.Rejection(); rj.Threshold != DefaultMinConfidence || rj.Source != "default" {
		t.Fatalf("no threshold in the model: %+v", rj)
	}
}

// A model without the reject class (older files) still reads digits and
// rejects by confidence only, and says so.
func TestRecognizerOldModel(t *testing.T) {
	photo, err := camera.DecodeFile(photos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	bias := make([]float32, 10)
	bias[7] = 10
	r := openRec(t, steeredModel(t, 10, bias, nil, 0), RecognizerConfig{})
	if r.Note() != NoteConfidenceOnly || r.Rejection().Class {
		t.Fatalf("note %q rejection %+v", r.Note(), r.Rejection())
	}
	res, err := r.Recognize(context.Background(), photo)
	if err != nil || res.Text != "7" || res.Rejection != NoteConfidenceOnly {
		t.Fatalf("%+v %v", res, err)
	}
	clear(bias)
	r = openRec(t, steeredModel(t, 10, bias, nil, 0), RecognizerConfig{})
	if res, _ := r.Recognize(context.Background(), photo); res.Text != "" || res.Reason != ReasonLowConfidence {
		t.Fatalf("uniform scores on an old model: %+v", res)
	}
}

func TestRecognizerBadLabels(t *testing.T) {
	for name, labels := range map[string]string{
		"empty":     "0,1,2,,4,5,6,7,8,9,x",
		"duplicate": "0,1,2,3,4,5,6,7,8,9,9",
		"two x":     "0,1,2,3,4,5,6,7,8,x,x",
		"count":     "0,1,2,3,4,5,6,7,8,9",
	} {
		e := &metaEngine{fakeEngine: fakeEngine{answer: []int{0}}, md: map[string]string{model.MetaLabels: labels}}
		if _, err := NewRecognizer(e, RecognizerConfig{}); err == nil {
			t.Errorf("%s labels %q accepted", name, labels)
		}
	}
	e := &metaEngine{fakeEngine: fakeEngine{answer: []int{0}}, md: map[string]string{model.MetaLabels: "0,1,2,3,4,5,6,7,8,9,x", model.MetaRejectThreshold: "2"}}
	if _, err := NewRecognizer(e, RecognizerConfig{}); err == nil {
		t.Error("reject threshold 2 accepted")
	}
}

type metaEngine struct {
	fakeEngine
	md map[string]string
}

func (e *metaEngine) Output() runtime.TensorInfo  { return runtime.TensorInfo{Shape: []int{1, 11}} }
func (e *metaEngine) Metadata() map[string]string { return e.md }

// The HTTP API answers "digits": "" with the reason.
func TestHTTPReason(t *testing.T) {
	p := steeredModel(t, 11, append(make([]float32, 10), 10), elevenLabels, 0.7)
	base, stop := newHTTPAgent(t, Config{MaxUpload: 1 << 20, NewRecognizer: func() (*Recognizer, error) {
		eng, err := runtime.Open("native", p, runtime.Options{Threads: 1})
		if err != nil {
			return nil, err
		}
		return NewRecognizer(eng, RecognizerConfig{})
	}})
	defer stop()
	for name, body := range map[string][]byte{"photo": mustRead(t, photos(t)[0]), "blank": encodePNG(t, image.NewGray(image.Rect(0, 0, 64, 64)))} {
		r, err := http.Post(base+"/predict", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		var pr map[string]any
		if err := json.Unmarshal(b, &pr); err != nil || r.StatusCode != 200 {
			t.Fatalf("%s: %d %s", name, r.StatusCode, b)
		}
		want := map[string]string{"photo": ReasonNotDigit, "blank": ReasonNoInk}[name]
		if pr["digits"] != "" || pr["reason"] != want {
			t.Errorf("%s: %s, want digits \"\" reason %q", name, b, want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// JSON lines say why the smoothed answer is "", and an old model's lines
// carry the confidence-only note.
func TestLinesReason(t *testing.T) {
	photo, err := camera.DecodeFile(photos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	blank := image.NewGray(image.Rect(0, 0, 64, 48))
	frames := []any{camera.Frame{Image: photo, Seq: 1}, camera.Frame{Image: blank, Seq: 2}}
	for _, c := range []struct {
		name      string
		classes   int
		bias      []float32
		labels    []string
		reasons   []string
		rejection string
	}{
		{"reject class", 11, append(make([]float32, 10), 10), elevenLabels, []string{ReasonNotDigit, ReasonNoInk}, ""},
		{"old model", 10, make([]float32, 10), nil, []string{ReasonLowConfidence, ReasonNoInk}, NoteConfidenceOnly},
	} {
		p := steeredModel(t, c.classes, c.bias, c.labels, 0)
		var out bytes.Buffer
		src := &scriptedSource{items: frames, delay: 150 * time.Millisecond} // spaced: the loop keeps only the newest frame
		a, err := New(Config{
			OpenCamera: func(context.Context) (camera.Source, error) { return src, nil },
			NewRecognizer: func() (*Recognizer, error) {
				eng, err := runtime.Open("native", p, runtime.Options{Threads: 1})
				if err != nil {
					return nil, err
				}
				return NewRecognizer(eng, RecognizerConfig{})
			},
			Smooth: 1, Out: &out,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		ls := readLines(t, out.Bytes())
		if len(ls) != 2 {
			t.Fatalf("%s: %d lines, want 2", c.name, len(ls))
		}
		for _, l := range ls {
			i := int(l.Seq) - 1
			if l.Digits != "" || l.Reason != c.reasons[i] || l.Rejection != c.rejection {
				t.Errorf("%s: frame %d: digits %q reason %q rejection %q, want \"\" %q %q", c.name, l.Seq, l.Digits, l.Reason, l.Rejection, c.reasons[i], c.rejection)
			}
		}
	}
}

// The committed reject-class model (models/mnist-reject.ckpt) reads the
// committed digit photos and answers "no digit" for generated non-digit
// photos (tuning split), with the reason.
func TestRejectModelPhotos(t *testing.T) {
	ck, err := model.ReadCheckpointFile(filepath.Join(repoRoot(t), "models", "mnist-reject.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Model.Arch.Classes != 11 || model.RejectIndex(ck.Model.Labels) != 10 || !(ck.Model.RejectThreshold > 0) {
		t.Fatalf("classes %d labels %v threshold %v", ck.Model.Arch.Classes, ck.Model.Labels, ck.Model.RejectThreshold)
	}
	g, err := model.FloatGraph(ck.Model)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "reject.tflite")
	if err := tflite.WriteFile(p, g); err != nil {
		t.Fatal(err)
	}
	r := openRec(t, p, RecognizerConfig{})
	if rj := r.Rejection(); !rj.Class || rj.Source != "model" || r.Note() != "" {
		t.Fatalf("rejection %+v note %q", rj, r.Note())
	}
	correct, ps := 0, photos(t)
	for _, f := range ps {
		img, err := camera.DecodeFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Recognize(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text == strings.TrimSuffix(f[strings.LastIndex(f, "-d")+2:], ".jpg") {
			correct++
		}
	}
	non, err := photoset.NonDigits(photoset.Tuning, 60, 320, 240)
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, s := range non {
		img, err := camera.DecodeJPEG(s.JPEG)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Recognize(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text == "" {
			rejected++
			if res.Reason == "" {
				t.Errorf("%s photo: no digit without a reason", s.Kind)
			}
		}
	}
	t.Logf("digit photos %d/%d right; non-digit photos %d/%d answered \"no digit\"", correct, len(ps), rejected, len(non))
	if correct*10 < len(ps)*9 || rejected*10 < len(non)*8 {
		t.Fatalf("digit photos %d/%d right (want ≥ 90%%), non-digits %d/%d rejected (want ≥ 80%%)", correct, len(ps), rejected, len(non))
	}
}
