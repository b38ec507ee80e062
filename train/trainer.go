package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// Config is a training run's configuration. It is stored, as JSON, in
// every checkpoint (Checkpoint.Config), so a resumed run and later stages
// see how the model was made.
type Config struct {
	Epochs    int     `json:"epochs"`
	Batch     int     `json:"batch"`
	Optimizer string  `json:"optimizer"` // "adam" or "sgd"
	LR        float64 `json:"lr"`
	Momentum  float64 `json:"momentum"`   // sgd
	StepSize  int     `json:"step_size"`  // StepLR period in epochs (0: constant lr)
	Gamma     float64 `json:"gamma"`      // StepLR factor
	Patience  int     `json:"patience"`   // early stopping (epochs without val improvement; 0: off)
	Val       int     `json:"val"`        // validation images held out from the end of the training set
	Augment   bool    `json:"augment"`    // random rotation ±10°, shift ±2 px
	Seed      uint64  `json:"seed"`       // all randomness derives from it
	Limit     int     `json:"limit"`      // train on the first N training images (0: all)
	Threads   int     `json:"threads"`    // goroutines (summation order depends on it)
	Width     int     `json:"width"`      // conv1 channels
	BatchNorm bool    `json:"batch_norm"` // BatchNorm after each conv
	Dropout   float64 `json:"dropout"`    // dropout before the last dense layer
	// Robust gives half of the images the camera-robust augmentation
	// (stroke width, elastic distortion, blur, noise, contrast, scale,
	// translation) and the rest the plain one.
	Robust bool `json:"robust,omitempty"`
	// Negatives is the share of each epoch made of generated "not a
	// digit" images (train/negatives), new ones every epoch; above 0 the
	// model gets an 11th class, model.RejectLabel.
	Negatives float64 `json:"negatives,omitempty"`
}

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
	if c.Negatives > 0 {
		a.Classes = RejectClasses
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
	case !(c.Negatives >= 0 && c.Negatives <= 0.5):
		return fmt.Errorf("train: negatives share %v out of range [0, 0.5]", c.Negatives)
	case c.Threads < 1 || c.Threads > 256:
		return fmt.Errorf("train: threads %d out of range [1, 256]", c.Threads)
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
	Data   *mnist.Dataset
	Out    string // checkpoint path, written atomically after every epoch
	Resume bool   // continue from Out
	// Slim writes the final checkpoint (after the test evaluation) without
	// optimizer state: a third of the size, but it cannot be resumed.
	Slim bool
	// Version is recorded in checkpoints.
	Version string
	// OnBatch and OnEpoch, if set, observe progress.
	OnBatch func(Progress)
	OnEpoch func(EpochMetrics)
}

// ErrDiverged is returned (wrapped) when the loss becomes NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// Result is what a finished run produced.
type Result struct {
	Model   *model.Model
	Metrics Metrics
	Test    *Evaluation
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
	if r.Data == nil || r.Data.Train == nil || r.Data.Test == nil {
		return nil, errors.New("train: no data")
	}
	if r.Out == "" {
		return nil, errors.New("train: no output checkpoint path")
	}
	trainSet := r.Data.Train
	if cfg.Val >= trainSet.N {
		return nil, fmt.Errorf("train: validation split %d leaves no training images (%d)", cfg.Val, trainSet.N)
	}
	var valSet *mnist.Set
	if cfg.Val > 0 {
		k := trainSet.N - cfg.Val
		size := trainSet.H * trainSet.W
		valSet = &mnist.Set{N: cfg.Val, H: trainSet.H, W: trainSet.W, Images: trainSet.Images[k*size:], Labels: trainSet.Labels[k:]}
		trainSet = &mnist.Set{N: k, H: trainSet.H, W: trainSet.W, Images: trainSet.Images[:k*size], Labels: trainSet.Labels[:k]}
	}
	trainSet = trainSet.Slice(cfg.Limit)

	var (
		m       *model.Model
		metrics Metrics
		start   int
		state   map[string][]float32
	)
	if r.Resume {
		ck, err := model.ReadCheckpointFile(r.Out)
		if err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		var old Config
		if err := json.Unmarshal(ck.Config, &old); err != nil {
			return nil, fmt.Errorf("train: resume: checkpoint %s has no training config: %v", r.Out, err)
		}
		if ck.Model.Arch != cfg.Arch() {
			return nil, fmt.Errorf("train: resume: checkpoint %s has architecture %+v, this run asks for %+v (use the same --width/--bn/--dropout)", r.Out, ck.Model.Arch, cfg.Arch())
		}
		if old.Optimizer != cfg.Optimizer || old.Seed != cfg.Seed || old.Batch != cfg.Batch {
			return nil, fmt.Errorf("train: resume: checkpoint was trained with optimizer %s, seed %d, batch %d; this run asks for %s, %d, %d",
				old.Optimizer, old.Seed, old.Batch, cfg.Optimizer, cfg.Seed, cfg.Batch)
		}
		if len(ck.Metrics) > 0 {
			if err := json.Unmarshal(ck.Metrics, &metrics); err != nil {
				return nil, fmt.Errorf("train: resume: metrics: %v", err)
			}
		}
		metrics.TestAccuracy, metrics.TestLoss = nil, nil
		m, start, state = ck.Model, ck.Epoch, ck.State
		if start >= cfg.Epochs {
			return nil, fmt.Errorf("train: resume: checkpoint already has %d epochs; ask for more with --epochs", start)
		}
		if metrics.EarlyStopped {
			return nil, fmt.Errorf("train: resume: the run in %s stopped early (no validation improvement)", r.Out)
		}
	} else {
		var err error
		if m, err = model.New(cfg.Arch()); err != nil {
			return nil, err
		}
		Init(m, cfg.Seed)
		if cfg.Negatives > 0 {
			m.Labels[RejectClasses-1] = model.RejectLabel
		}
	}
	// Fail early, before any training, if the output cannot be written.
	if err := checkWritable(r.Out); err != nil {
		return nil, err
	}

	net, err := NewNet(m, cfg.Batch, cfg.Threads)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	net.SetOptimizer(cfg.Optimizer, float32(cfg.Momentum))
	if state != nil {
		if err := net.opt.load(state); err != nil {
			return nil, err
		}
	}
	cfgJSON, _ := json.Marshal(cfg)
	save := func(epoch int, final bool) error {
		mj, _ := json.Marshal(metrics)
		ck := &model.Checkpoint{Model: m, Version: r.Version, Epoch: epoch, Config: cfgJSON, Metrics: mj, State: net.opt.state()}
		if final && r.Slim {
			ck.State = nil
		}
		if err := model.WriteCheckpointFile(r.Out, ck); err != nil {
			return fmt.Errorf("train: checkpoint: %w", err)
		}
		return nil
	}

	var mix *negMix
	epochPixels, epochLabels := trainSet.Images, trainSet.Labels
	if cfg.Negatives > 0 {
		if mix, err = newNegMix(trainSet, cfg.Negatives, cfg.Seed, cfg.Threads); err != nil {
			return nil, err
		}
		epochLabels = mix.labels
	}
	order := make([]int, trainSet.N+negCount(mix))
	labels := make([]uint8, cfg.Batch)
	batch := &Batch{Pixels: epochPixels, Augment: cfg.Augment, Robust: cfg.Robust}
	var best []float32 // parameters of the best validation epoch (early stopping)
	bestAcc := -1.0
	if metrics.BestEpoch > 0 {
		for _, e := range metrics.Epochs {
			if e.Epoch == metrics.BestEpoch && e.ValAccuracy != nil {
				bestAcc = *e.ValAccuracy
			}
		}
	}
	for epoch := start; epoch < cfg.Epochs; epoch++ {
		lr := StepLR(cfg.LR, epoch, cfg.StepSize, cfg.Gamma)
		t0 := time.Now()
		if mix != nil {
			batch.Pixels, epochLabels = mix.epoch(epoch)
		}
		for i := range order {
			order[i] = i
		}
		rng := NewRNG(cfg.Seed, streamShuffle, uint64(epoch))
		for i := len(order) - 1; i > 0; i-- {
			j := rng.Intn(i + 1)
			order[i], order[j] = order[j], order[i]
		}
		var lossSum float64
		var correct, seen int
		for pos := 0; pos < len(order); pos += cfg.Batch {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("train: interrupted in epoch %d (%w); %s", epoch+1, err, kept(r.Out, epoch))
			}
			end := min(len(order), pos+cfg.Batch)
			batch.Index = order[pos:end]
			batch.Labels = labels[:end-pos]
			for k, i := range batch.Index {
				batch.Labels[k] = epochLabels[i]
			}
			batch.Epoch, batch.Pos = epoch, pos
			res := net.Step(batch, cfg.Seed, float32(lr))
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
				return nil, fmt.Errorf("train: %w: loss is %v in epoch %d at image %d; %s; try a lower --lr or --bn",
					ErrDiverged, res.Loss, epoch+1, pos, kept(r.Out, epoch))
			}
			lossSum += res.Loss * float64(end-pos)
			correct += res.Correct
			seen = end
			if r.OnBatch != nil {
				el := time.Since(t0).Seconds()
				r.OnBatch(Progress{Epoch: epoch + 1, Epochs: cfg.Epochs, Done: seen, Total: len(order),
					Loss: lossSum / float64(seen), Accuracy: 100 * float64(correct) / float64(seen), ImagesPerSecond: float64(seen) / el})
			}
		}
		if err := m.CheckFinite(); err != nil {
			return nil, fmt.Errorf("train: %w: %v in epoch %d; %s", ErrDiverged, err, epoch+1, kept(r.Out, epoch))
		}
		secs := time.Since(t0).Seconds()
		em := EpochMetrics{Epoch: epoch + 1, Loss: lossSum / float64(seen), TrainAccuracy: 100 * float64(correct) / float64(seen),
			Seconds: secs, ImagesPerSec: float64(seen) / secs, LR: lr}
		stop := false
		if valSet != nil {
			ev, err := Evaluate(ctx, m, valSet, cfg.Threads)
			if err != nil {
				return nil, fmt.Errorf("train: validation: %w; %s", err, kept(r.Out, epoch))
			}
			em.ValAccuracy, em.ValLoss = &ev.Accuracy, &ev.Loss
			if ev.Accuracy > bestAcc {
				bestAcc, metrics.BestEpoch = ev.Accuracy, epoch+1
				if cfg.Patience > 0 {
					best = snapshot(m, best)
				}
			} else if cfg.Patience > 0 && epoch+1-metrics.BestEpoch >= cfg.Patience {
				stop = true
			}
		}
		metrics.Epochs = append(metrics.Epochs, em)
		if stop {
			metrics.EarlyStopped = true
			if best != nil {
				restore(m, best) // keep the best epoch's weights
			}
		}
		if err := save(epoch+1, false); err != nil {
			return nil, err
		}
		if r.OnEpoch != nil {
			r.OnEpoch(em)
		}
		if stop {
			break
		}
	}
	if cfg.Negatives > 0 && valSet != nil {
		best, all, err := ChooseRejectThreshold(ctx, m, valSet, trainSet, cfg.Seed, cfg.Threads)
		if err != nil {
			return nil, fmt.Errorf("train: reject threshold: %w", err)
		}
		m.RejectThreshold = float32(best.Threshold)
		metrics.Reject, metrics.RejectCandidates = &best, all
	}
	test, err := Evaluate(ctx, m, r.Data.Test, cfg.Threads)
	if err != nil {
		return nil, fmt.Errorf("train: test evaluation: %w", err)
	}
	metrics.TestAccuracy, metrics.TestLoss = &test.Accuracy, &test.Loss
	epochs := len(metrics.Epochs)
	if err := save(epochs, true); err != nil {
		return nil, err
	}
	return &Result{Model: m, Metrics: metrics, Test: test}, nil
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
