package train

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/native"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/data"
)

// lcdFolder writes n seven-segment LCD photos and, with x > 0, x 28×28
// "not a digit" images (random blobs) under x/.
func lcdFolder(t testing.TB, n, x int) string {
	dir := t.TempDir()
	if err := photoset.LCDSet(dir, n, 5, 120, 90); err != nil {
		t.Fatal(err)
	}
	r := NewRNG(9, 0)
	for i := 0; i < x; i++ {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for k := range img.Pix {
			if r.Float32() < 0.15 {
				img.Pix[k] = uint8(128 + r.Intn(128))
			}
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		os.MkdirAll(filepath.Join(dir, "x"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "x", "blob"+string(rune('a'+i))+".png"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadFolder(t testing.TB, dir string) *data.Source {
	src, err := data.LoadFolder(context.Background(), dir, data.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// inputOf runs the trainer's input stage on images idx of b and returns
// the normalized tensors it feeds the network.
func inputOf(t testing.TB, m *model.Model, b *Batch) []float32 {
	net, err := NewNet(m, len(b.Index), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.split(len(b.Index))
	net.cur = b
	net.run(job{kind: jobInput})
	net.cur = nil
	size := m.Input().Size()
	var out []float32
	for _, s := range net.shards {
		out = append(out, s.act[0][:s.n*size]...)
	}
	return out
}

// TestSameInputAsPredict: a photo in an image folder reaches the network
// as exactly (bit for bit) the tensor `edgecnn predict` gives the model
// for that file: the recognizer's preprocessing, default flags.
func TestSameInputAsPredict(t *testing.T) {
	dir := lcdFolder(t, 20, 0)
	src := loadFolder(t, dir)
	set := src.Train
	m, err := model.New(model.SeedArch())
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = model.Normalization{Mean: 0.2, Std: 0.35} // not the default: must come from the model
	Init(m, 1)
	// What predict builds: the model's engine and a recognizer with
	// predict's default preprocessing flags.
	g, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := native.New(g, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rec, err := agent.NewRecognizer(eng, agent.RecognizerConfig{Preprocess: preprocess.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, set.N)
	for i := range idx {
		idx[i] = i
	}
	got := inputOf(t, m, &Batch{Set: set, Index: idx, Labels: set.Labels})
	size := m.Input().Size()
	for i := 0; i < set.N; i++ {
		img, err := camera.DecodeFile(set.Names[i])
		if err != nil {
			t.Fatal(err)
		}
		pr, err := rec.Preprocessor().Process(img)
		if err != nil || len(pr.Digits) == 0 {
			t.Fatalf("%s: predict's preprocessing found no digit (%v)", set.Names[i], err)
		}
		want := pr.Digits[0].Input
		for j := 0; j < size; j++ {
			if math.Float32bits(got[i*size+j]) != math.Float32bits(want[j]) {
				t.Fatalf("%s: training input [%d] = %v, predict feeds %v", set.Names[i], j, got[i*size+j], want[j])
			}
		}
	}
}

// TestSetInputMatchesPixels: MNIST through data.Set reaches the network
// exactly as through the trainer's original Pixels path, with and
// without augmentation.
func TestSetInputMatchesPixels(t *testing.T) {
	ds := smallData(t, 64)
	m, _ := model.New(model.SeedArch())
	idx := []int{5, 0, 63, 17, 2, 40}
	for _, aug := range []bool{false, true} {
		a := inputOf(t, m, &Batch{Pixels: ds.Train.Images, Index: idx, Augment: aug, Epoch: 1, Pos: 64})
		b := inputOf(t, m, &Batch{Set: data.FromMNIST(ds.Train), Index: idx, Augment: aug, Epoch: 1, Pos: 64})
		if !sameBits(a, b) {
			t.Fatalf("augment %v: data.Set input differs from the Pixels path", aug)
		}
	}
}

// smallModel trains a small BatchNorm model to start fine-tuning from.
func smallModel(t testing.TB, dir string) (string, Config) {
	cfg := smallConfig()
	cfg.Width, cfg.BatchNorm, cfg.Limit = 8, true, 640
	out := filepath.Join(dir, "base.ckpt")
	if _, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 640), Out: out, Slim: true}); err != nil {
		t.Fatal(err)
	}
	return out, cfg
}

// TestFreezeConv: --freeze conv trains the dense layers only; the
// convolutions, BatchNorm parameters and running statistics stay
// bit-identical.
func TestFreezeConv(t *testing.T) {
	dir := t.TempDir()
	base, cfg := smallModel(t, dir)
	ck, ref, err := ReadInit(base)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := model.ReadCheckpointFile(base)
	cfg, err = InitConfig(cfg, ck, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Freeze, cfg.LR, cfg.Limit = FreezeConv, FineTuneLR*10, 320
	res, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 320), Init: ck, InitRef: ref, Out: filepath.Join(dir, "ft.ckpt")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range before.Model.Layers {
		o, n := &before.Model.Layers[i], &res.Model.Layers[i]
		frozen := o.Kind == model.KindConv2D || o.Kind == model.KindBatchNorm
		for _, pair := range [][2][]float32{{o.Weight, n.Weight}, {o.Bias, n.Bias}, {o.Gamma, n.Gamma}, {o.Beta, n.Beta}, {o.RunMean, n.RunMean}, {o.RunVar, n.RunVar}} {
			if len(pair[0]) == 0 {
				continue
			}
			if same := sameBits(pair[0], pair[1]); same != frozen {
				t.Fatalf("layer %s (%s): unchanged %v, want %v", o.Name, o.Kind, same, frozen)
			}
		}
	}
}

// TestFineTuneSlimCheckpointWithRejectClass: the committed (slim)
// checkpoint fine-tunes on MNIST mixed with a photo folder that has
// "x" (not a digit) images: the output layer grows to 11 classes (old
// rows kept), the optimizer state is fresh, and the checkpoint records
// its data sources and where it started.
func TestFineTuneSlimCheckpointWithRejectClass(t *testing.T) {
	path := filepath.Join(repoRoot(t), "models", "mnist.ckpt")
	ck, ref, err := ReadInit(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.State) != 0 {
		t.Fatalf("models/mnist.ckpt has optimizer state; this test wants a slim one")
	}
	classes := ck.Model.Arch.Classes // 10, or 11 once the committed model knows "x"
	dir := lcdFolder(t, 20, 6)
	folder := loadFolder(t, dir)
	cfg, err := InitConfig(DefaultConfig(), ck, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.EpochSize, cfg.LR, cfg.Batch = 1, 128, FineTuneLR, 32
	mn := data.FromDataset("data/mnist", smallData(t, 256))
	out := filepath.Join(t.TempDir(), "ft.ckpt")
	res, err := Train(context.Background(), Run{Config: cfg, Sources: []*data.Source{mn, folder}, Init: ck, InitRef: ref, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	if m.Arch.Classes != 11 || m.Labels[10] != data.RejectLabel {
		t.Fatalf("fine-tuned model (from %d classes) has %d classes, labels %v", classes, m.Arch.Classes, m.Labels)
	}
	got, err := model.ReadCheckpointFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.State["adam.t"] == nil || floatsInt64(got.State["adam.t"]) != 4 {
		t.Fatalf("optimizer state: want a fresh Adam after 4 steps (128 images of 32)")
	}
	if got.Init == nil || got.Init.Path != path || got.Init.SHA256 != ref.SHA256 || len(ref.SHA256) != 64 {
		t.Fatalf("init record %+v", got.Init)
	}
	ds := got.DataSources
	if len(ds) < 2 || ds[0].Kind != data.KindMNIST || ds[1].Kind != data.KindFolder || ds[1].Path != dir ||
		ds[1].SHA256 != folder.Info.SHA256 || ds[1].Images != 26 || ds[0].Weight != 0.5 || ds[1].Labels["x"] != 6 {
		t.Fatalf("data sources %+v", ds)
	}
	// Digest stable: the same folder trained again records the same digest.
	res2, err := Train(context.Background(), Run{Config: cfg, Sources: []*data.Source{mn, loadFolder(t, dir)}, Init: ck, InitRef: ref, Out: out + "2"})
	if err != nil {
		t.Fatal(err)
	}
	got2, _ := model.ReadCheckpointFile(out + "2")
	if got2.DataSources[1].SHA256 != ds[1].SHA256 || !sameBits(params(res2.Model), params(m)) {
		t.Fatal("same data, same seed: different digest or weights")
	}
}

// TestExtendClasses: growing a 10-class output layer for "x" keeps every
// other parameter and the ten digit rows; the new row starts small.
func TestExtendClasses(t *testing.T) {
	base, _ := smallModel(t, t.TempDir())
	ck, err := model.ReadCheckpointFile(base)
	if err != nil {
		t.Fatal(err)
	}
	orig := params(ck.Model)
	ext, err := extendClasses(ck.Model, 11, 1)
	if err != nil {
		t.Fatal(err)
	}
	fc2o, fc2n := ck.Model.Layer("fc2"), ext.Layer("fc2")
	before := len(orig) - len(fc2o.Weight) - len(fc2o.Bias)
	if !sameBits(params(ext)[:before], orig[:before]) {
		t.Fatal("extending the output layer changed the other layers")
	}
	if !sameBits(fc2n.Weight[:len(fc2o.Weight)], fc2o.Weight) || !sameBits(fc2n.Bias[:10], fc2o.Bias) || fc2n.Bias[10] != 0 {
		t.Fatal("extending the output layer changed the digit rows")
	}
	for _, w := range fc2n.Weight[len(fc2o.Weight):] {
		if w == 0 || math.Abs(float64(w)) > 0.01 {
			t.Fatalf("new row weight %v: want small and non-zero", w)
		}
	}
	if ext.Arch.Classes != 11 || ext.Labels[10] != data.RejectLabel || ext.Norm != ck.Model.Norm {
		t.Fatalf("extended model: classes %d labels %v norm %v", ext.Arch.Classes, ext.Labels, ext.Norm)
	}
}

// TestInitWithNegatives: --init of a 10-class checkpoint with --negatives
// (no x folder) grows the output layer to 11, keeps the other layers as
// the starting point, and chooses a reject threshold on validation.
func TestInitWithNegatives(t *testing.T) {
	dir := t.TempDir()
	base, cfg := smallModel(t, dir)
	ck, ref, err := ReadInit(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Negatives, cfg.Robust, cfg.Val = 0.15, true, 64
	if cfg, err = InitConfig(cfg, ck, base, nil); err != nil {
		t.Fatalf("InitConfig of a 10-class checkpoint with --negatives: %v", err)
	}
	cfg.LR, cfg.Limit = FineTuneLR, 320
	res, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 320), Init: ck, InitRef: ref, Out: filepath.Join(dir, "ft.ckpt")})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Model
	if m.Arch.Classes != 11 || m.Labels[10] != data.RejectLabel {
		t.Fatalf("fine-tuned with negatives: %d classes, labels %v", m.Arch.Classes, m.Labels)
	}
	if res.Metrics.Reject == nil || res.Metrics.Reject.Threshold <= 0 {
		t.Fatalf("no reject threshold chosen: %+v", res.Metrics.Reject)
	}
	// Shrinking is not growing: an 11-class checkpoint cannot start a 10-class run.
	ck11 := &model.Checkpoint{Model: m}
	cfg10 := cfg
	cfg10.Negatives, cfg10.Classes = 0, 10
	if _, err := Train(context.Background(), Run{Config: cfg10, Data: smallData(t, 320), Init: ck11, Out: filepath.Join(dir, "x.ckpt")}); !errors.Is(err, ErrInit) {
		t.Fatalf("11-class checkpoint, 10-class run: %v, want ErrInit", err)
	}
}

// TestInitMismatch: a checkpoint of another width or architecture is a
// clear error, before any training.
func TestInitMismatch(t *testing.T) {
	dir := t.TempDir()
	base, cfg := smallModel(t, dir)
	ck, _, err := ReadInit(base)
	if err != nil {
		t.Fatal(err)
	}
	want := cfg
	want.Width = 16
	if _, err := InitConfig(want, ck, base, func(f string) bool { return f == "width" }); !errors.Is(err, ErrInit) {
		t.Fatalf("width 16 from a width-8 checkpoint: %v", err)
	}
	other := &model.Checkpoint{Model: func() *model.Model {
		a := model.SeedArch()
		a.Hidden, a.Width = 64, 8
		m, _ := model.New(a)
		return m
	}()}
	if _, err := InitConfig(cfg, other, "other.ckpt", nil); !errors.Is(err, ErrInit) {
		t.Fatalf("hidden 64 checkpoint: %v", err)
	}
	// A 10-class model cannot be evaluated on data labelled x.
	src := loadFolder(t, lcdFolder(t, 10, 2))
	if _, err := EvaluateSet(context.Background(), ck.Model, src.Train, 1); !errors.Is(err, ErrUnknownLabel) || !strings.Contains(err.Error(), `labelled "x"`) {
		t.Fatalf("10-class model evaluated on x images: %v", err)
	}
}

// TestFineTuneResume: a mixed-source fine-tuning run that grew an "x"
// class, interrupted after epoch 1 and resumed, equals the uninterrupted
// run bit for bit and keeps its lineage.
func TestFineTuneResume(t *testing.T) {
	dir := t.TempDir()
	base, cfg := smallModel(t, dir)
	folder := loadFolder(t, lcdFolder(t, 10, 4))
	mn := data.FromDataset("data/mnist", smallData(t, 320))
	run := func(out string, epochs int, resume bool) *Result {
		ck, ref, err := ReadInit(base)
		if err != nil {
			t.Fatal(err)
		}
		c, err := InitConfig(cfg, ck, base, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Epochs, c.EpochSize, c.Batch, c.Limit, c.Augment = epochs, 96, 32, 0, true
		r := Run{Config: c, Sources: []*data.Source{mn, folder}, Weights: []float64{2, 1}, Out: out, Resume: resume}
		if !resume {
			r.Init, r.InitRef = ck, ref
		}
		res, err := Train(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a := run(filepath.Join(dir, "a.ckpt"), 2, false)
	run(filepath.Join(dir, "b.ckpt"), 1, false)
	b := run(filepath.Join(dir, "b.ckpt"), 2, true)
	if a.Model.Arch.Classes != 11 || !sameBits(params(a.Model), params(b.Model)) {
		t.Fatalf("resumed run differs (classes %d, %d)", a.Model.Arch.Classes, b.Model.Arch.Classes)
	}
	ck, err := model.ReadCheckpointFile(filepath.Join(dir, "b.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	// This run's two sources, then the one the base checkpoint was taught.
	if ck.Init == nil || ck.Init.Path != base || len(ck.DataSources) != 3 || math.Abs(ck.DataSources[0].Weight-2.0/3) > 1e-6 ||
		ck.DataSources[2].From != base || ck.DataSources[2].Images != 640 {
		t.Fatalf("resumed checkpoint lineage: init %+v sources %+v", ck.Init, ck.DataSources)
	}
}
