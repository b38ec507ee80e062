package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// Config is a training run's configuration. It is stored, as JSON, in
// every checkpoint (Checkpoint.Config), so a resumed run and later stages
// see how the model was made.
//
// The flag tags declare edgecnn train's flags (package cliflags); their
// defaults are DefaultConfig's.
type Config struct {
	Epochs    int     `json:"epochs" flag:"epochs" usage:"total epochs (with --resume: including those done)"`
	Batch     int     `json:"batch" flag:"batch" usage:"batch size"`
	Optimizer string  `json:"optimizer" flag:"optimizer" usage:"adam or sgd (with momentum)"`
	LR        float64 `json:"lr" flag:"lr" usage:"learning rate"`
	Momentum  float64 `json:"momentum" flag:"momentum" usage:"momentum for --optimizer sgd"`
	StepSize  int     `json:"step_size" flag:"step-size" usage:"StepLR: multiply the learning rate by --gamma every N epochs (0: off)"`
	Gamma     float64 `json:"gamma" flag:"gamma" usage:"StepLR factor"`
	Patience  int     `json:"patience" flag:"patience" usage:"early stopping: stop after N epochs without validation improvement (needs --val)"`
	// Val holds out validation images; Augment is a random rotation ±10°
	// and shift ±2 px; all randomness derives from Seed; Limit trains on
	// the first N training images (0: all).
	Val     int    `json:"val" flag:"val" usage:"hold out N training images of every source for validation (MNIST: the last N; a folder: N spread over its classes)"`
	Augment bool   `json:"augment" flag:"augment" usage:"random rotation ±10° and shift ±2 px"`
	Seed    uint64 `json:"seed" flag:"seed" usage:"random seed (initialization, shuffling, augmentation, dropout)"`
	Limit   int    `json:"limit" flag:"limit" usage:"train on the first N training images of every source only (a folder: N spread over its classes; 0: all)"`
	// Threads are the goroutines (summation order depends on them).
	Threads   int     `json:"threads" flag:"threads"`
	Width     int     `json:"width" flag:"width" usage:"channels of conv1 (conv2 has twice as many)"`
	BatchNorm bool    `json:"batch_norm" flag:"bn" usage:"BatchNorm after each convolution"`
	Dropout   float64 `json:"dropout" flag:"dropout" usage:"dropout rate before the last dense layer"`
	// Fine-tuning and data mixing (absent in older checkpoints).
	Classes int    `json:"classes,omitempty"` // output classes (0: 10, or 11 when the data has "x")
	Init    string `json:"init,omitempty"`    // checkpoint the run started from
	// Freeze "conv" trains only the dense layers; EpochSize is the images
	// per epoch (0: all images of all sources).
	Freeze    string `json:"freeze,omitempty" flag:"freeze" usage:"\"conv\": train only the dense layers (the convolutions stay bit-identical)"`
	EpochSize int    `json:"epoch_size,omitempty" flag:"epoch-size" usage:"images per epoch (0: all images of all --data sources)"`
	// Robust gives half of the images the camera-robust augmentation
	// (stroke width, elastic distortion, blur, noise, contrast, scale,
	// translation) and the rest the plain one.
	Robust bool `json:"robust,omitempty" flag:"robust" usage:"camera-robust augmentation for half of the images (stroke width, elastic distortion, blur, noise, contrast, scale, shift)"`
	// Display adds display-like strokes to the robust augmentation:
	// blocky (a coarse grid squares them) and cut by thin gaps.
	Display bool `json:"display,omitempty" flag:"display" usage:"with --robust: some robust images get display-like strokes (blocky, cut by segment gaps)"`
	// Writers adds other hands to the robust augmentation: half of the
	// robust images are slanted up to ±0.35, narrowed or widened to
	// 0.7–1.2 of their width, and 60% of those written with a thick
	// marker or a thin pen.
	Writers bool `json:"writers,omitempty" flag:"writers" usage:"with --robust: half of the robust images get another hand (slant up to ±0.35, width 0.7–1.2, thick marker or thin pen)"`
	// Neighbors adds, to 30% of the robust digit images, a sliver (2–5 px)
	// of another digit of the batch at the left or right edge.
	Neighbors bool `json:"neighbors,omitempty" flag:"neighbors" usage:"with --robust: 30% of the robust digit images get a sliver of another digit at an edge (a region or cut holding a piece of the next digit)"`
	// Breaks cuts, in 20% of the augmented digit images, a short gap
	// (1–2 px wide, 6–12 px long) across the strokes, and in 30% of those
	// a second one: a pen that skips, a stroke washed out by the light.
	Breaks bool `json:"breaks,omitempty" flag:"breaks" usage:"with --augment or --robust: 20% of the digit images get a short gap across their strokes (a pen that skips, a broken stroke in a photo)"`
	// Negatives is the share of each epoch made of generated "not a
	// digit" images (train/negatives), new ones every epoch; above 0 the
	// model gets an 11th class, model.RejectLabel.
	Negatives float64 `json:"negatives,omitempty" flag:"negatives" usage:"share of each epoch made of generated non-digits (e.g. 0.1); adds the 11th class \"x\" (not a digit)"`
}

// FineTuneLR is the default learning rate of a fine-tuning run (--init):
// a tenth of the seed's, so the pretrained features are adjusted, not
// overwritten.
const FineTuneLR = 1e-4

// Freeze values.
const FreezeConv = "conv"

// DefaultConfig is the seed recipe: Adam, lr 1e-3, batch 64, width 32.
func DefaultConfig() Config {
	return Config{Epochs: 3, Batch: 64, Optimizer: "adam", LR: 1e-3, Momentum: 0.9, Gamma: 0.7, Seed: 1, Threads: 2, Width: 32}
}

// Arch is the architecture the configuration trains.
func (c Config) Arch() model.Arch {
	a := model.SeedArch()
	a.Width = c.Width
	a.BatchNorm = c.BatchNorm
	a.Dropout = float32(c.Dropout)
	if c.Classes > 0 {
		a.Classes = c.Classes
	}
	if c.Negatives > 0 {
		a.Classes = max(a.Classes, RejectClasses)
	}
	return a
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("train: epochs %d must be at least 1", c.Epochs)
	case c.Batch < 1 || c.Batch > 65536:
		return fmt.Errorf("train: batch %d out of range [1, 65536]", c.Batch)
	case c.Optimizer != "adam" && c.Optimizer != "sgd":
		return fmt.Errorf("train: optimizer %q: want adam or sgd", c.Optimizer)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("train: learning rate %v must be positive", c.LR)
	case c.Momentum < 0 || c.Momentum >= 1:
		return fmt.Errorf("train: momentum %v out of range [0, 1)", c.Momentum)
	case c.StepSize < 0 || (c.StepSize > 0 && !(c.Gamma > 0)):
		return fmt.Errorf("train: step size %d with gamma %v: need step size ≥ 0 and gamma > 0", c.StepSize, c.Gamma)
	case c.Patience < 0:
		return fmt.Errorf("train: patience %d must not be negative", c.Patience)
	case c.Patience > 0 && c.Val == 0:
		return fmt.Errorf("train: early stopping (--patience) needs a validation split (--val N)")
	case c.Val < 0 || c.Limit < 0:
		return fmt.Errorf("train: --val and --limit must not be negative")
	case c.Display && !c.Robust:
		return fmt.Errorf("train: --display adds to the robust augmentation: give --robust too")
	case c.Writers && !c.Robust:
		return fmt.Errorf("train: --writers adds to the robust augmentation: give --robust too")
	case c.Neighbors && !c.Robust:
		return fmt.Errorf("train: --neighbors adds to the robust augmentation: give --robust too")
	case c.Breaks && !c.Augment && !c.Robust:
		return fmt.Errorf("train: --breaks adds to the augmentation: give --augment or --robust too")
	case !(c.Negatives >= 0 && c.Negatives <= 0.5):
		return fmt.Errorf("train: negatives share %v out of range [0, 0.5]", c.Negatives)
	case c.Threads < 1 || c.Threads > 256:
		return fmt.Errorf("train: threads %d out of range [1, 256]", c.Threads)
	case c.Freeze != "" && c.Freeze != FreezeConv:
		return fmt.Errorf("train: --freeze %q: want %q (train only the dense layers)", c.Freeze, FreezeConv)
	case c.EpochSize < 0:
		return fmt.Errorf("train: --epoch-size %d must not be negative", c.EpochSize)
	case c.Classes < 0:
		return fmt.Errorf("train: classes %d must not be negative", c.Classes)
	}
	return c.Arch().Validate()
}

// EpochMetrics is the record of one epoch (also the CLI's --json line).
type EpochMetrics struct {
	Epoch         int      `json:"epoch"` // 1-based
	Loss          float64  `json:"loss"`  // mean training loss
	TrainAccuracy float64  `json:"train_accuracy"`
	ValAccuracy   *float64 `json:"val_accuracy"` // null without a validation split
	ValLoss       *float64 `json:"val_loss,omitempty"`
	Seconds       float64  `json:"seconds"`
	ImagesPerSec  float64  `json:"images_per_second"`
	LR            float64  `json:"lr"`
}

// Metrics is the training record stored in checkpoints (Checkpoint.Metrics).
type Metrics struct {
	Epochs       []EpochMetrics `json:"epochs"`
	BestEpoch    int            `json:"best_epoch,omitempty"` // by validation accuracy
	EarlyStopped bool           `json:"early_stopped,omitempty"`
	TestAccuracy *float64       `json:"test_accuracy,omitempty"` // percent, after the last epoch
	TestLoss     *float64       `json:"test_loss,omitempty"`
	// Reject is the reject threshold chosen on validation data (models
	// trained with negatives and a validation split) and how it did;
	// RejectCandidates every threshold tried.
	Reject           *RejectStats  `json:"reject,omitempty"`
	RejectCandidates []RejectStats `json:"reject_candidates,omitempty"`
}

// Progress is called after every batch (for progress bars).
type Progress struct {
	Epoch, Epochs   int
	Done, Total     int // images of this epoch
	Loss, Accuracy  float64
	ImagesPerSecond float64
}

// ETA estimates the time left in the whole run (this epoch and the ones
// after it) at the current speed; 0 before the speed is known. Epochs
// after this one are assumed to be as long as this one.
func (p Progress) ETA() time.Duration {
	if !(p.ImagesPerSecond > 0) || p.Total <= 0 {
		return 0
	}
	left := float64(p.Total-p.Done) + float64(max(0, p.Epochs-p.Epoch))*float64(p.Total)
	return time.Duration(left / p.ImagesPerSecond * float64(time.Second))
}

// Run describes one training run.
type Run struct {
	Config Config
	// Data is one MNIST data set (the trainer's original input); it is
	// used when Sources is empty.
	Data *mnist.Dataset
	// Sources are the data sources (train/data): MNIST and image folders,
	// mixed per batch by Weights (nil: an equal share each).
	Sources []*data.Source
	Weights []float64
	// Init, if set, is the checkpoint a fine-tuning run starts from (its
	// weights; the optimizer state is fresh). InitRef identifies its file.
	Init    *model.Checkpoint
	InitRef *model.CheckpointRef
	Out     string // checkpoint path, written atomically after every epoch
	Resume  bool   // continue from Out
	// Slim writes the final checkpoint (after the test evaluation) without
	// optimizer state: a third of the size, but it cannot be resumed.
	Slim bool
	// Version is recorded in checkpoints.
	Version string
	// OnBatch and OnEpoch, if set, observe progress.
	OnBatch func(Progress)
	OnEpoch func(EpochMetrics)

	inherited []model.DataSource // a resumed fine-tuning run's --init sources
}

// ErrDiverged is returned (wrapped) when the loss becomes NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// ErrInit is returned (wrapped) when a fine-tuning checkpoint does not fit
// the run (architecture, width, labels).
var ErrInit = errors.New("checkpoint does not fit")

// SourceEvaluation is the test evaluation of one source.
type SourceEvaluation struct {
	Source string `json:"source"`
	*Evaluation
}

// Result is what a finished run produced.
type Result struct {
	Model   *model.Model
	Metrics Metrics
	// Test is the evaluation on the first source's test split (MNIST's
	// t10k); nil when no source has one. Tests has every source with a
	// test split.
	Test  *Evaluation
	Tests []SourceEvaluation
}

// InitConfig adapts a fine-tuning run's configuration to its checkpoint:
// the architecture (width, BatchNorm, dropout, classes) comes from the
// checkpoint unless the caller asked for one (explicit reports which of
// "width", "bn", "dropout" were given), and a different one is an error.
func InitConfig(cfg Config, ck *model.Checkpoint, path string, explicit func(string) bool) (Config, error) {
	a := ck.Model.Arch
	want := cfg.Arch()
	if explicit != nil {
		if explicit("width") && want.Width != a.Width {
			return cfg, fmt.Errorf("train: --init %s: %w: the checkpoint has width %d, --width asks for %d (drop --width to keep the checkpoint's)", path, ErrInit, a.Width, want.Width)
		}
		if explicit("bn") && want.BatchNorm != a.BatchNorm {
			return cfg, fmt.Errorf("train: --init %s: %w: the checkpoint has batch_norm %v, --bn asks for %v", path, ErrInit, a.BatchNorm, want.BatchNorm)
		}
		if explicit("dropout") && want.Dropout != a.Dropout {
			return cfg, fmt.Errorf("train: --init %s: %w: the checkpoint has dropout %v, --dropout asks for %v", path, ErrInit, a.Dropout, want.Dropout)
		}
	}
	cfg.Width, cfg.BatchNorm, cfg.Dropout = a.Width, a.BatchNorm, float64(a.Dropout)
	cfg.Classes = a.Classes
	seed := cfg.Arch()
	seed.Classes = a.Classes // --negatives grows a 10-class checkpoint to 11 (startModel)
	if a != seed {
		return cfg, fmt.Errorf("train: --init %s: %w: its architecture %+v is not the trainer's seed family (28x28x1 input, hidden %d)", path, ErrInit, a, seed.Hidden)
	}
	for i, l := range ck.Model.Labels {
		if i >= len(data.ClassLabels) || l != data.ClassLabels[i] {
			return cfg, fmt.Errorf("train: --init %s: %w: its labels %v are not %v", path, ErrInit, ck.Model.Labels, data.ClassLabels[:len(ck.Model.Labels)])
		}
	}
	cfg.Init = path
	return cfg, nil
}

// extendClasses grows m's output layer to classes outputs: the existing
// rows are kept, a new row gets small random weights (±0.01) and bias 0,
// so the fine-tuned model starts out predicting what it did before.
func extendClasses(m *model.Model, classes int, seed uint64) (*model.Model, error) {
	a := m.Arch
	a.Classes = classes
	nm, err := model.New(a)
	if err != nil {
		return nil, err
	}
	nm.Norm = m.Norm
	nm.Labels = append([]string(nil), data.ClassLabels[:classes]...)
	r := NewRNG(seed, streamInit, uint64(classes))
	for i := range m.Layers {
		ol, nl := &m.Layers[i], &nm.Layers[i]
		copy(nl.Weight, ol.Weight)
		copy(nl.Bias, ol.Bias)
		copy(nl.Gamma, ol.Gamma)
		copy(nl.Beta, ol.Beta)
		copy(nl.RunMean, ol.RunMean)
		copy(nl.RunVar, ol.RunVar)
		if nl.Name == "fc2" {
			for k := len(ol.Weight); k < len(nl.Weight); k++ {
				nl.Weight[k] = r.Uniform(-0.01, 0.01)
			}
		}
	}
	return nm, nil
}

// Train runs the training loop: it writes a checkpoint after every epoch
// and evaluates the test set at the end. On cancellation of ctx or a
// non-finite loss it stops, leaves the last epoch's checkpoint in place and
// returns an error saying so.
func Train(ctx context.Context, r Run) (*Result, error) {
	cfg := r.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r.Out == "" {
		return nil, errors.New("train: no output checkpoint path")
	}
	if r.Init != nil && r.Resume {
		return nil, errors.New("train: --init starts a new run from a checkpoint, --resume continues one: use one of them")
	}
	d, err := prepareData(cfg, &r)
	if err != nil {
		return nil, err
	}
	st, err := startModel(&cfg, &r, d.classes)
	if err != nil {
		return nil, err
	}
	// Fail early, before any training, if the output cannot be written.
	if err := checkWritable(r.Out); err != nil {
		return nil, err
	}
	t, err := newTrainer(ctx, &r, cfg, d, st)
	if err != nil {
		return nil, err
	}
	defer t.net.Close()
	for epoch := st.start; epoch < cfg.Epochs; epoch++ {
		stop, err := t.epoch(epoch)
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
	}
	return t.finish()
}

// runData is what a run trains on: copies of the sources (Limit and
// SplitVal must not change the caller's), the validation set (nil without
// a split), the pool of training images (the sources' training splits and
// the generated negatives), the sampler mixing the sources (nil: one
// shuffled pass over the pool) and the number of classes the data uses.
type runData struct {
	sources []*data.Source
	valSet  *data.Set
	pool    *data.Set
	sampler *data.Sampler
	neg     *negSource
	classes int
}

// prepareData splits off the validation images, limits the sources and
// builds the training pool and sampler.
func prepareData(cfg Config, r *Run) (*runData, error) {
	d := &runData{}
	for _, s := range r.Sources {
		c := *s
		d.sources = append(d.sources, &c)
	}
	if len(d.sources) == 0 {
		if r.Data == nil || r.Data.Train == nil || r.Data.Test == nil {
			return nil, errors.New("train: no data")
		}
		d.sources = []*data.Source{data.FromDataset("mnist", r.Data)}
	}
	var vals []*data.Set
	for _, s := range d.sources {
		v, err := s.SplitVal(cfg.Val)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if v != nil {
			vals = append(vals, v)
		}
		s.Limit(cfg.Limit)
	}
	if len(vals) > 0 {
		var err error
		if d.valSet, err = data.Concat(vals...); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if err := d.buildPool(cfg, r.Weights); err != nil {
		return nil, err
	}
	return d, nil
}

// buildPool concatenates the sources' training splits and, with
// cfg.Negatives, the generated negatives ("x", new ones every epoch, one
// more source with a share cfg.Negatives of each epoch) into d.pool, and
// makes the sampler when the sources are mixed.
func (d *runData) buildPool(cfg Config, weights []float64) error {
	var sets []*data.Set
	var sizes []int
	for _, s := range d.sources {
		sets = append(sets, s.Train)
		sizes = append(sizes, s.Train.N)
		d.classes = max(d.classes, s.Train.Classes())
	}
	if d.classes > len(data.ClassLabels) {
		return fmt.Errorf("train: labels up to %d; classes are %v", d.classes-1, data.ClassLabels)
	}
	if cfg.Negatives > 0 {
		neg, err := newNegSource(d.sources[0].Train, sizes, cfg.Negatives, cfg.Seed, cfg.Threads)
		if err != nil {
			return err
		}
		neg.index = len(sets)
		sets = append(sets, neg.set)
		sizes = append(sizes, neg.set.N)
		d.classes = max(d.classes, RejectClasses)
		if weights != nil || len(d.sources) > 1 || cfg.EpochSize > 0 {
			weights = neg.weights(weights, len(d.sources))
		}
		d.neg = neg
	}
	var err error
	if d.pool, err = data.Concat(sets...); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if d.neg != nil {
		d.neg.first = data.Offsets(sets...)(d.neg.index, 0)
	}
	if len(d.sources) > 1 || cfg.EpochSize > 0 {
		if d.sampler, err = data.NewSampler(sizes, weights, data.Offsets(sets...)); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	return nil
}

// runStart is where a run starts: the model, the metrics so far, the first
// epoch and the optimizer state (nil: fresh).
type runStart struct {
	m       *model.Model
	metrics Metrics
	start   int
	state   map[string][]float32
}

// startModel returns the run's start: the resumed checkpoint (r.Resume),
// the fine-tuning checkpoint (r.Init, grown to the data's classes) or a
// freshly initialized model. It may adjust cfg.Classes.
func startModel(cfg *Config, r *Run, classes int) (*runStart, error) {
	st := &runStart{}
	var err error
	switch {
	case r.Resume:
		if st, err = resumeStart(cfg, r); err != nil {
			return nil, err
		}
	case r.Init != nil:
		if want := cfg.Arch(); want.Classes < r.Init.Model.Arch.Classes || archDiffers(want, r.Init.Model.Arch) {
			return nil, fmt.Errorf("train: --init: %w: checkpoint architecture %+v, run configured for %+v (see InitConfig)", ErrInit, r.Init.Model.Arch, cfg.Arch())
		}
		st.m = r.Init.Model
		if classes > st.m.Arch.Classes {
			if st.m, err = extendClasses(st.m, classes, cfg.Seed); err != nil {
				return nil, err
			}
			cfg.Classes = classes
		}
	default:
		if cfg.Classes == 0 && classes > 10 {
			cfg.Classes = classes
		}
		if st.m, err = model.New(cfg.Arch()); err != nil {
			return nil, err
		}
		Init(st.m, cfg.Seed)
		st.m.Labels = append([]string(nil), data.ClassLabels[:st.m.Arch.Classes]...)
	}
	if classes > st.m.Arch.Classes {
		return nil, fmt.Errorf("train: %w", ErrNoClass(st.m, classes-1))
	}
	return st, nil
}

// archDiffers reports whether a and b differ in something other than the
// number of classes (which a fine-tuning run may grow).
func archDiffers(a, b model.Arch) bool {
	a.Classes = b.Classes
	return a != b
}

// resumeStart reads the checkpoint a resumed run continues and checks
// that it fits the run; it takes over the run's classes, --init lineage
// and metrics.
func resumeStart(cfg *Config, r *Run) (*runStart, error) {
	ck, err := model.ReadCheckpointFile(r.Out)
	if err != nil {
		return nil, fmt.Errorf("train: resume: %w", err)
	}
	var old Config
	if err := json.Unmarshal(ck.Config, &old); err != nil {
		return nil, fmt.Errorf("train: resume: checkpoint %s has no training config: %v", r.Out, err)
	}
	if old.Classes > 0 { // e.g. grown to 11 by "x" data; not a flag
		cfg.Classes = old.Classes
	}
	if ck.Model.Arch != cfg.Arch() {
		return nil, fmt.Errorf("train: resume: checkpoint %s has architecture %+v, this run asks for %+v (use the same --width/--bn/--dropout)", r.Out, ck.Model.Arch, cfg.Arch())
	}
	if old.Optimizer != cfg.Optimizer || old.Seed != cfg.Seed || old.Batch != cfg.Batch {
		return nil, fmt.Errorf("train: resume: checkpoint was trained with optimizer %s, seed %d, batch %d; this run asks for %s, %d, %d",
			old.Optimizer, old.Seed, old.Batch, cfg.Optimizer, cfg.Seed, cfg.Batch)
	}
	st := &runStart{m: ck.Model, start: ck.Epoch, state: ck.State}
	if len(ck.Metrics) > 0 {
		if err := json.Unmarshal(ck.Metrics, &st.metrics); err != nil {
			return nil, fmt.Errorf("train: resume: metrics: %v", err)
		}
	}
	st.metrics.TestAccuracy, st.metrics.TestLoss = nil, nil
	if st.start >= cfg.Epochs {
		return nil, fmt.Errorf("train: resume: checkpoint already has %d epochs; ask for more with --epochs", st.start)
	}
	if st.metrics.EarlyStopped {
		return nil, fmt.Errorf("train: resume: the run in %s stopped early (no validation improvement)", r.Out)
	}
	cfg.Init, r.InitRef = old.Init, ck.Init
	for _, d := range ck.DataSources {
		if d.From != "" {
			r.inherited = append(r.inherited, d)
		}
	}
	return st, nil
}

// trainer is the state of a run between its epochs.
type trainer struct {
	ctx     context.Context
	r       *Run
	cfg     Config
	d       *runData
	m       *model.Model
	net     *Net
	metrics Metrics
	cfgJSON []byte
	lineage []model.DataSource
	order   []int // this epoch's image order (indices into d.pool)
	slots   [pipeSlots]slot
	free    chan *slot // slots the data pipeline may fill
	best    []float32  // parameters of the best validation epoch (early stopping)
	bestAcc float64
}

// newTrainer builds the network and optimizer (restoring a resumed run's
// state) and the per-epoch buffers.
func newTrainer(ctx context.Context, r *Run, cfg Config, d *runData, st *runStart) (*trainer, error) {
	net, err := NewNet(st.m, cfg.Batch, cfg.Threads)
	if err != nil {
		return nil, err
	}
	net.SetOptimizer(cfg.Optimizer, float32(cfg.Momentum))
	if cfg.Freeze == FreezeConv {
		net.FreezeConv()
	}
	if st.state != nil {
		if err := net.opt.load(st.state); err != nil {
			net.Close()
			return nil, err
		}
	}
	t := &trainer{ctx: ctx, r: r, cfg: cfg, d: d, m: st.m, net: net, metrics: st.metrics, bestAcc: -1}
	t.cfgJSON, _ = json.Marshal(cfg)
	t.lineage = r.lineage(d.sources, d.sampler)
	epochSize := d.pool.N
	if cfg.EpochSize > 0 {
		epochSize = cfg.EpochSize
	}
	t.order = make([]int, epochSize)
	for i := range t.slots {
		t.slots[i] = slot{labels: make([]uint8, cfg.Batch), input: make([]float32, cfg.Batch*st.m.Input().Size()), prep: newPrep(st.m)}
	}
	if t.metrics.BestEpoch > 0 {
		for _, e := range t.metrics.Epochs {
			if e.Epoch == t.metrics.BestEpoch && e.ValAccuracy != nil {
				t.bestAcc = *e.ValAccuracy
			}
		}
	}
	return t, nil
}

// save writes the checkpoint after epoch epochs (final: the last one,
// without optimizer state if the run is slim).
func (t *trainer) save(epoch int, final bool) error {
	mj, _ := json.Marshal(t.metrics)
	ck := &model.Checkpoint{Model: t.m, Version: t.r.Version, Epoch: epoch, Config: t.cfgJSON, Metrics: mj, State: t.net.opt.state(),
		DataSources: t.lineage, Init: t.r.InitRef}
	if final && t.r.Slim {
		ck.State = nil
	}
	if err := model.WriteCheckpointFile(t.r.Out, ck); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// epoch trains epoch (0-based), validates, records and saves it; stop
// reports early stopping.
func (t *trainer) epoch(epoch int) (stop bool, err error) {
	cfg := t.cfg
	lr := StepLR(cfg.LR, epoch, cfg.StepSize, cfg.Gamma)
	t0 := time.Now()
	if t.d.neg != nil {
		t.d.neg.epoch(t.d.pool, epoch)
	}
	t.shuffle(epoch)
	lossSum, correct, seen, err := t.batches(epoch, lr, t0)
	if err != nil {
		return false, err
	}
	if err := t.m.CheckFinite(); err != nil {
		return false, fmt.Errorf("train: %w: %v in epoch %d; %s", ErrDiverged, err, epoch+1, kept(t.r.Out, epoch))
	}
	secs := time.Since(t0).Seconds()
	em := EpochMetrics{Epoch: epoch + 1, Loss: lossSum / float64(seen), TrainAccuracy: 100 * float64(correct) / float64(seen),
		Seconds: secs, ImagesPerSec: float64(seen) / secs, LR: lr}
	if t.d.valSet != nil {
		if stop, err = t.validate(epoch, &em); err != nil {
			return false, err
		}
	}
	t.metrics.Epochs = append(t.metrics.Epochs, em)
	if stop {
		t.metrics.EarlyStopped = true
		if t.best != nil {
			restore(t.m, t.best) // keep the best epoch's weights
		}
	}
	if err := t.save(epoch+1, false); err != nil {
		return false, err
	}
	if t.r.OnEpoch != nil {
		t.r.OnEpoch(em)
	}
	return stop, nil
}

// shuffle fills t.order with the image order of epoch.
func (t *trainer) shuffle(epoch int) {
	order := t.order
	if t.d.sampler != nil {
		t.d.sampler.Order(t.cfg.Seed, epoch, order)
		return
	}
	for i := range order {
		order[i] = i
	}
	rng := NewRNG(t.cfg.Seed, streamShuffle, uint64(epoch))
	for i := len(order) - 1; i > 0; i-- {
		j := rng.Intn(i + 1)
		order[i], order[j] = order[j], order[i]
	}
}

// batches runs the training steps of one epoch over t.order and returns
// the summed loss, the correct predictions and the images seen. The data
// pipeline (t.prefetch) prepares the next batch while this one trains.
func (t *trainer) batches(epoch int, lr float64, t0 time.Time) (lossSum float64, correct, seen int, err error) {
	cfg, order := t.cfg, t.order
	ready, stop := t.prefetch(epoch)
	defer stop()
	for sl := range ready {
		if err := t.ctx.Err(); err != nil {
			return 0, 0, 0, fmt.Errorf("train: interrupted in epoch %d (%w); %s", epoch+1, err, kept(t.r.Out, epoch))
		}
		batch := &sl.batch
		pos, cnt := batch.Pos, len(batch.Index)
		res := t.net.Step(batch, cfg.Seed, float32(lr))
		t.free <- sl
		if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
			return 0, 0, 0, fmt.Errorf("train: %w: loss is %v in epoch %d at image %d; %s; try a lower --lr or --bn",
				ErrDiverged, res.Loss, epoch+1, pos, kept(t.r.Out, epoch))
		}
		lossSum += res.Loss * float64(cnt)
		correct += res.Correct
		seen = pos + cnt
		if t.r.OnBatch != nil {
			el := time.Since(t0).Seconds()
			t.r.OnBatch(Progress{Epoch: epoch + 1, Epochs: cfg.Epochs, Done: seen, Total: len(order),
				Loss: lossSum / float64(seen), Accuracy: 100 * float64(correct) / float64(seen), ImagesPerSecond: float64(seen) / el})
		}
	}
	return lossSum, correct, seen, nil
}

// pipeSlots is the number of batches the data pipeline holds: one
// training, one being prepared.
const pipeSlots = 2

// slot is one batch of the data pipeline with its buffers.
type slot struct {
	batch  Batch
	labels []uint8
	input  []float32
	prep   prep
}

// prefetch starts the data pipeline of epoch: a goroutine that fills the
// free slots (t.free, bounded: pipeSlots) with the epoch's batches in
// order, images prepared (normalized, augmented), and sends them on
// ready, which it closes after the last batch. The consumer returns each
// slot to t.free after its step; stop ends the goroutine early and waits
// for it (call it in every case). Every epoch starts with all slots free.
func (t *trainer) prefetch(epoch int) (ready <-chan *slot, stop func()) {
	out := make(chan *slot, pipeSlots) // never blocks: pipeSlots slots in all
	quit, done := make(chan struct{}), make(chan struct{})
	t.free = make(chan *slot, pipeSlots)
	for i := range t.slots {
		t.free <- &t.slots[i]
	}
	go func() {
		defer close(done)
		defer close(out)
		for pos := 0; pos < len(t.order); pos += t.cfg.Batch {
			var sl *slot
			select {
			case sl = <-t.free:
			case <-quit:
				return
			}
			end := min(len(t.order), pos+t.cfg.Batch)
			b := &sl.batch
			*b = Batch{Set: t.d.pool, Augment: t.cfg.Augment, Robust: t.cfg.Robust, Display: t.cfg.Display, Writers: t.cfg.Writers, Neighbors: t.cfg.Neighbors, Breaks: t.cfg.Breaks, Index: t.order[pos:end],
				Labels: sl.labels[:end-pos], Epoch: epoch, Pos: pos}
			for k, i := range b.Index {
				b.Labels[k] = t.d.pool.Labels[i]
			}
			b.Input = sl.input[:(end-pos)*t.m.Input().Size()]
			sl.prep.batch(b, t.cfg.Seed, b.Input)
			select {
			case out <- sl:
			case <-quit:
				return
			}
		}
	}()
	return out, func() {
		close(quit)
		<-done
	}
}

// validate evaluates the validation set after epoch, records it in em and
// tracks the best epoch; stop reports that patience ran out.
func (t *trainer) validate(epoch int, em *EpochMetrics) (stop bool, err error) {
	ev, err := EvaluateSet(t.ctx, t.m, t.d.valSet, t.cfg.Threads)
	if err != nil {
		return false, fmt.Errorf("train: validation: %w; %s", err, kept(t.r.Out, epoch))
	}
	em.ValAccuracy, em.ValLoss = &ev.Accuracy, &ev.Loss
	if ev.Accuracy > t.bestAcc {
		t.bestAcc, t.metrics.BestEpoch = ev.Accuracy, epoch+1
		if t.cfg.Patience > 0 {
			t.best = snapshot(t.m, t.best)
		}
		return false, nil
	}
	return t.cfg.Patience > 0 && epoch+1-t.metrics.BestEpoch >= t.cfg.Patience, nil
}

// finish chooses the reject threshold (negatives with a validation split),
// evaluates every source's test split and writes the final checkpoint.
func (t *trainer) finish() (*Result, error) {
	cfg, m := t.cfg, t.m
	if t.d.neg != nil && t.d.valSet != nil {
		if vs := DigitsOf(t.d.valSet); vs != nil {
			best, all, err := ChooseRejectThreshold(t.ctx, m, vs, t.d.neg.digits, cfg.Seed, cfg.Threads, cfg.Breaks)
			if err != nil {
				return nil, fmt.Errorf("train: reject threshold: %w", err)
			}
			m.RejectThreshold = float32(best.Threshold)
			t.metrics.Reject, t.metrics.RejectCandidates = &best, all
		}
	}
	res := &Result{Model: m}
	for _, s := range t.d.sources {
		if s.Test == nil {
			continue
		}
		ev, err := EvaluateSet(t.ctx, m, s.Test, cfg.Threads)
		if err != nil {
			return nil, fmt.Errorf("train: test evaluation of %s: %w", s.Info.Path, err)
		}
		res.Tests = append(res.Tests, SourceEvaluation{Source: s.Info.Path, Evaluation: ev})
		if res.Test == nil {
			res.Test = ev
			t.metrics.TestAccuracy, t.metrics.TestLoss = &ev.Accuracy, &ev.Loss
		}
	}
	if err := t.save(len(t.metrics.Epochs), true); err != nil {
		return nil, err
	}
	res.Metrics = t.metrics
	return res, nil
}

// lineage is what the checkpoint records of the run's data: its sources
// (with their share of every batch) and those the --init checkpoint was
// taught before.
func (r Run) lineage(sources []*data.Source, s *data.Sampler) []model.DataSource {
	var out []model.DataSource
	for i, src := range sources {
		d := src.Info
		if s != nil {
			d.Weight = math.Round(s.Weights[i]*1e6) / 1e6
		}
		out = append(out, d)
	}
	out = append(out, r.inherited...)
	if r.Init != nil {
		from := ""
		if r.InitRef != nil {
			from = r.InitRef.Path
		}
		for _, d := range r.Init.DataSources {
			if d.From == "" {
				d.From = from
			}
			out = append(out, d)
		}
	}
	return out
}

func kept(path string, epoch int) string {
	if epoch == 0 {
		return "no epoch completed, no checkpoint written"
	}
	return fmt.Sprintf("the checkpoint of epoch %d is kept in %s (--resume continues)", epoch, path)
}

// checkWritable makes sure a file can be created next to path.
func checkWritable(path string) error {
	f, err := os.CreateTemp(dirOf(path), ".edgecnn-write-test-*")
	if err != nil {
		return fmt.Errorf("train: cannot write the checkpoint %s: %w", path, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("train: checkpoint path %s is a directory", path)
	}
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			if i == 0 {
				return "/"
			}
			return path[:i]
		}
	}
	return "."
}

func snapshot(m *model.Model, dst []float32) []float32 {
	dst = dst[:0]
	for _, p := range m.Params() {
		dst = append(dst, p.Data...)
	}
	return dst
}

func restore(m *model.Model, src []float32) {
	for _, p := range m.Params() {
		copy(p.Data, src)
		src = src[len(p.Data):]
	}
}

// ReadInit reads a fine-tuning start checkpoint and identifies its file
// (path and SHA-256) for the new checkpoint's lineage.
func ReadInit(path string) (*model.Checkpoint, *model.CheckpointRef, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("train: --init: %w", err)
	}
	ck, err := model.DecodeCheckpoint(b)
	if err != nil {
		return nil, nil, fmt.Errorf("train: --init %s: %w", path, err)
	}
	sum := sha256.Sum256(b)
	return ck, &model.CheckpointRef{Path: path, SHA256: hex.EncodeToString(sum[:])}, nil
}
