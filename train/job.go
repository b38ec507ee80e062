package train

import (
	"context"
	"fmt"
	"io"

	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/train/data"
)

// Job is what edgecnn train was asked (the tags declare its flags;
// package cliflags). NewJob gives the seed recipe's defaults.
type Job struct {
	data.MixFlags
	Init string `flag:"init" usage:"fine-tune: start from this checkpoint's weights (any checkpoint, --slim too; fresh optimizer state; default --lr {lr})"`
	Out  string `flag:"out" default:"model.ckpt" usage:"checkpoint to write (atomically, every epoch)"`
	Config
	Resume bool `flag:"resume" usage:"continue the run in --out"`
	Slim   bool `flag:"slim" usage:"leave the optimizer state out of the final checkpoint (smaller; cannot be resumed)"`
	// IsSet reports whether a flag was given (nil: none was): with Init,
	// the checkpoint's architecture must agree with --width, --bn and
	// --dropout when given, and --lr defaults to FineTuneLR.
	IsSet   func(flag string) bool
	Version string    // recorded in checkpoints
	Log     io.Writer // the data sources' summaries
}

// NewJob is a Job with DefaultConfig.
func NewJob() Job { return Job{Config: DefaultConfig()} }

// UsageVars fills the numbers in the flags' usage texts (package cliflags).
func (Job) UsageVars() map[string]string { return map[string]string{"lr": fmt.Sprint(FineTuneLR)} }

// Prepare resolves j into a Run: --threads, the --init checkpoint and its
// architecture, the configuration's checks, and the data sources.
func (j Job) Prepare(ctx context.Context) (Run, error) {
	cfg := j.Config
	var err error
	if cfg.Threads, err = runtime.Threads(cfg.Threads); err != nil {
		return Run{}, fmt.Errorf("train: %w", err)
	}
	run := Run{Out: j.Out, Resume: j.Resume, Slim: j.Slim, Version: j.Version}
	if j.Init != "" {
		if run.Init, run.InitRef, err = ReadInit(j.Init); err != nil {
			return Run{}, err
		}
		if cfg, err = InitConfig(cfg, run.Init, j.Init, j.IsSet); err != nil {
			return Run{}, err
		}
		if j.IsSet == nil || !j.IsSet("lr") {
			cfg.LR = FineTuneLR
		}
	}
	if err := cfg.Validate(); err != nil {
		return Run{}, err
	}
	run.Config = cfg
	run.Sources, run.Weights, err = data.OpenMixed(ctx, j.Data, j.Mix, data.OpenOptions{Options: data.Options{Threads: cfg.Threads}}, j.Log)
	return run, err
}

// WriteText writes e as edgecnn train prints an epoch: one line.
func (e EpochMetrics) WriteText(w io.Writer) {
	val := ""
	if e.ValAccuracy != nil {
		val = fmt.Sprintf(", val accuracy %.2f%%", *e.ValAccuracy)
	}
	fmt.Fprintf(w, "epoch %d: loss %.4f, train accuracy %.2f%%%s, %.1f s (%.0f images/s)\n",
		e.Epoch, e.Loss, e.TrainAccuracy, val, e.Seconds, e.ImagesPerSec)
}

// Final is the last JSON object of edgecnn train --json: epochs run,
// early stopping, the checkpoint, peak RSS and the test results.
func (r *Result) Final(checkpoint string) map[string]any {
	final := map[string]any{
		"final": true, "epochs": len(r.Metrics.Epochs), "early_stopped": r.Metrics.EarlyStopped, "checkpoint": checkpoint,
		"peak_rss_mib": float64(PeakRSS()) / (1 << 20),
	}
	if r.Test != nil {
		final["test_accuracy"], final["test_loss"] = r.Test.Accuracy, r.Test.Loss
	}
	if len(r.Tests) > 1 {
		final["tests"] = r.Tests
	}
	return final
}
