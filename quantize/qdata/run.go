package qdata

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/qmath"
	"github.com/edgecnn/edgecnn/train/data"
)

// Job is one edgecnn quantize run (the tags declare its flags; package
// cliflags).
type Job struct {
	data.MixFlags
	EvalData []string `flag:"eval-data" usage:"image folder (or MNIST folder) to evaluate only, e.g. held-out photos: one more row of the per-source table"`
	Model    string   `flag:"model" default:"models/mnist.ckpt" usage:"float checkpoint to quantize"`
	Out      string   `flag:"out" default:"model.int8.tflite" usage:"int8 .tflite to write (atomically)"`
	Report   string   `flag:"report" placeholder:"PATH" usage:"also write the report to PATH (.json, .md or .html)"`
	quantize.CalibFlags
	Test            int     `flag:"test" usage:"evaluate on the first N test images (0: all 10,000)"`
	Percentile      float64 `flag:"percentile" default:"99.99" usage:"percentile for --method percentile"`
	IO              string  `flag:"io" default:"int8" usage:"model input/output type: int8, uint8 or float"`
	Rounding        string  `flag:"rounding" default:"double" usage:"requantization rounding: double (TFLite reference kernels), ruy (TFLite C library on x86), single, fp32 (XNNPACK)"`
	PerChannelDense bool    `flag:"per-channel-dense" usage:"per-channel weights for FULLY_CONNECTED too (needs a TFLite newer than 2.9)"`
	QATEpochs       int     `flag:"qat-epochs" usage:"quantization-aware fine-tuning epochs (fake-quantized forward, straight-through estimator) when the PTQ drop on the --val images exceeds --qat-threshold"`
	QATThreshold    float64 `flag:"qat-threshold" default:"0.1" usage:"PTQ accuracy drop (pp) on the --val images above which --qat-epochs fine-tunes"`
	QATLR           float64 `flag:"qat-lr" default:"1e-4" usage:"Adam learning rate of quantization-aware fine-tuning"`
	QATForce        bool    `flag:"qat-force" usage:"fine-tune even when the PTQ drop is within --qat-threshold"`
	QATImages       int     `flag:"qat-images" usage:"fine-tune on the first N training images outside the --val slice (0: all)"`
	Threads         int     `flag:"threads"` // a --threads value (0: one per CPU core)
	// Log receives the data sources' summaries and the QAT progress.
	Log io.Writer
}

// check validates the flags that need no file.
func (j *Job) check() (quantize.Method, quantize.IO, qmath.Rounding, error) {
	switch {
	case j.QATEpochs < 0:
		return "", "", 0, fmt.Errorf("quantize: %w: --qat-epochs %d must not be negative", quantize.ErrQATOptions, j.QATEpochs)
	case j.QATImages < 0:
		return "", "", 0, fmt.Errorf("quantize: %w: --qat-images %d must not be negative", quantize.ErrQATOptions, j.QATImages)
	case !(j.QATLR > 0) || math.IsInf(j.QATLR, 0):
		return "", "", 0, fmt.Errorf("quantize: %w: --qat-lr %v must be a positive number", quantize.ErrQATOptions, j.QATLR)
	}
	method, err := quantize.ParseMethod(j.Method)
	if err != nil {
		return "", "", 0, err
	}
	iot, err := quantize.ParseIO(j.IO)
	if err != nil {
		return "", "", 0, err
	}
	rounding, err := qmath.ParseRounding(j.Rounding)
	if err != nil {
		return "", "", 0, fmt.Errorf("quantize: --rounding: %w", err)
	}
	if j.Report != "" {
		if err := quantize.CheckReportPath(j.Report); err != nil {
			return "", "", 0, err
		}
	}
	switch {
	case j.Calib < 1:
		return "", "", 0, fmt.Errorf("quantize: --calib %d: %w", j.Calib, quantize.ErrNoImages)
	case j.Val < 0 || j.Test < 0:
		return "", "", 0, fmt.Errorf("quantize: --val and --test must not be negative")
	}
	if method != quantize.Auto && j.QATEpochs == 0 {
		j.Val = 0
	}
	if j.QATEpochs > 0 && j.Val == 0 {
		return "", "", 0, fmt.Errorf("quantize: %w: --qat-epochs needs --val images to measure the PTQ drop", quantize.ErrQATOptions)
	}
	return method, iot, rounding, nil
}

// Run carries out j: it quantizes the checkpoint j.Model on images of
// j's data sources (BN folding, calibration, optional quantization-aware
// fine-tuning), evaluates float vs int8 with the native engine, writes
// the report (j.Report, first: an unwritable report path must not leave a
// model behind that looks like a finished run) and the int8 .tflite
// j.Out, and returns the report.
func Run(ctx context.Context, j Job) (*quantize.Report, error) {
	method, iot, rounding, err := j.check()
	if err != nil {
		return nil, err
	}
	ck, err := model.ReadCheckpointFile(j.Model)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	nth, err := runtime.Threads(j.Threads)
	loadThreads := nth
	if err != nil {
		loadThreads = 1 // reported below, after the sources (as before)
	}
	sources, weights, err := data.OpenMixed(ctx, j.Data, j.Mix, data.OpenOptions{Options: data.Options{Threads: loadThreads}}, j.Log)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	var extra []*data.Source
	if len(j.EvalData) > 0 {
		if extra, err = data.OpenAll(ctx, j.EvalData, data.OpenOptions{TestOnly: true, Options: data.Options{Threads: loadThreads}}); err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
	}
	if nth, err = runtime.Threads(j.Threads); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	sets, err := Build(Request{Model: ck.Model, ModelPath: j.Model, Sources: sources, Weights: weights, Extra: extra,
		Calib: j.Calib, Val: j.Val, Test: j.Test, Threads: nth})
	if err != nil {
		return nil, err
	}
	opts := quantize.Options{Method: method, Percentile: j.Percentile, Rounding: rounding, IO: iot,
		PerChannelDense: j.PerChannelDense, MinCalib: sets.Calib.N, Threads: nth,
		Val: sets.Val, Test: sets.Test, Sources: sets.Sources}
	qat := quantize.QATOptions{Epochs: j.QATEpochs, LR: j.QATLR, Threshold: j.QATThreshold, Force: j.QATForce}
	if j.QATEpochs > 0 {
		if qat.Pixels, qat.Labels, qat.Index, err = QATImages(sources, j.Calib, j.Val, j.QATImages); err != nil {
			return nil, err
		}
		qat.Progress = func(epoch int, loss, acc float64) {
			fmt.Fprintf(j.Log, "QAT epoch %d/%d: loss %.4f, fake-quantized training accuracy %.2f%%\n", epoch, j.QATEpochs, loss, acc)
		}
	}
	g, rep, err := quantize.QuantizeQAT(ctx, ck.Model, sets.Calib, opts, qat)
	if err != nil {
		return nil, err
	}
	if len(ck.DataSources) > 0 {
		g.Metadata[model.MetaDataSources] = model.DataSourcesMetadata(ck.DataSources)
	}
	rep.Model.Source = j.Model
	if j.Report != "" {
		if err := rep.WriteFile(j.Report); err != nil {
			return nil, err
		}
	}
	if err := tflite.WriteFile(j.Out, g); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	return rep, nil
}
