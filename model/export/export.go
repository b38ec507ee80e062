// Package export writes a float checkpoint as a deployable model file: a
// float .tflite or .onnx graph, or a full-integer int8 one (TFLite's
// int8 model or an ONNX QDQ model) calibrated on MNIST training images,
// optionally meeting the Edge TPU compiler's requirements. It is
// `edgecnn export`.
package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/onnx"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/quantize/qdata"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// Request is one export. Errors name the flags of `edgecnn export`.
//
// The tags declare edgecnn export's flags (package cliflags).
type Request struct {
	Model  string `flag:"model" default:"models/mnist.ckpt" usage:"float checkpoint to export"`
	Format string `flag:"format" usage:"tflite or onnx (default: from the --out extension)"`
	Out    string `flag:"out" required:"true" usage:"file to write (atomically)"`
	Int8   bool   `flag:"int8" usage:"quantize to full-integer int8"`
	Target string `flag:"target" usage:"edgetpu: int8, integer IO, static shapes, then edgetpu_compiler"`
	// IO is the int8 model's input/output type ("": int8; uint8 for
	// edgetpu).
	IO          string `flag:"io" usage:"int8 model input/output type: int8, uint8 or float (default int8; uint8 for edgetpu)"`
	Softmax     bool   `flag:"softmax" usage:"end with SOFTMAX (probabilities) instead of logits"`
	StaticBatch bool   `flag:"static-batch" usage:"fix the batch to 1 (default: dynamic batch)"`
	// Data is the MNIST folder for --int8 calibration.
	Data string `flag:"data" default:"data/mnist" usage:"MNIST folder for --int8 calibration"`
	quantize.CalibFlags
	// Threads is --threads as given: goroutines of the quantizer (0: one
	// per CPU core) and of the reject-class negatives (0: one).
	Threads int    `flag:"threads"`
	Version string // edgecnn's version, recorded in the file
}

// Result is what was written.
type Result struct {
	File      string `json:"file"`
	Format    string `json:"format"`
	Precision string `json:"precision"`
	Ops       int    `json:"ops"`
	Bytes     int64  `json:"bytes"`
	// EdgeTPU says the file is meant for edgetpu_compiler
	// (tflite.CompileEdgeTPU).
	EdgeTPU bool `json:"-"`
}

// Format picks the file format from format or the extension of out.
func Format(format, out string) (string, error) {
	f := strings.ToLower(format)
	if f == "" {
		switch strings.ToLower(filepath.Ext(out)) {
		case ".tflite":
			f = "tflite"
		case ".onnx":
			f = "onnx"
		default:
			return "", fmt.Errorf("export: cannot tell the format from %q: pass --format tflite or --format onnx", out)
		}
	}
	if f != "tflite" && f != "onnx" {
		return "", fmt.Errorf("export: unknown --format %q (want tflite or onnx)", format)
	}
	return f, nil
}

// Run exports r.Model to r.Out.
func Run(ctx context.Context, r Request) (*Result, error) {
	out := r.Out
	format, err := Format(r.Format, out)
	if err != nil {
		return nil, err
	}
	target := strings.ToLower(r.Target)
	wantInt8, ioName, static := r.Int8, r.IO, r.StaticBatch
	switch target {
	case "":
	case "edgetpu":
		if format != "tflite" {
			return nil, errors.New("export: --target edgetpu needs --format tflite (the Edge TPU compiler reads .tflite only)")
		}
		wantInt8, static = true, true
		if ioName == "" {
			ioName = "uint8"
		}
	default:
		return nil, fmt.Errorf("export: unknown --target %q (want edgetpu)", r.Target)
	}
	if ioName != "" && !wantInt8 {
		return nil, errors.New("export: --io applies to int8 models: add --int8")
	}
	ck, err := model.ReadCheckpointFile(r.Model)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	m := ck.Model
	g, err := model.FloatGraphWith(m, model.GraphOptions{Softmax: r.Softmax, StaticBatch: static})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	g.Metadata[model.MetaVersion] = r.Version
	if wantInt8 {
		if g, err = quantizeGraph(ctx, r, m, g, ioName); err != nil {
			return nil, err
		}
	}
	if len(ck.DataSources) > 0 {
		g.Metadata[model.MetaDataSources] = model.DataSourcesMetadata(ck.DataSources)
	}
	if target == "edgetpu" {
		if err := tflite.EdgeTPUCheck(g); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	switch format {
	case "tflite":
		err = tflite.WriteFile(out, g)
	case "onnx":
		err = onnx.WriteFile(out, g)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return nil, err
	}
	kind := "float32"
	if wantInt8 {
		kind = "int8"
	}
	return &Result{File: out, Format: format, Precision: kind, Ops: len(g.Ops), Bytes: st.Size(), EdgeTPU: target == "edgetpu"}, nil
}

// quantizeGraph calibrates on MNIST training images and returns the int8
// graph.
func quantizeGraph(ctx context.Context, r Request, m *model.Model, fg *model.Graph, ioName string) (*model.Graph, error) {
	if ioName == "" {
		ioName = "int8"
	}
	io, err := quantize.ParseIO(ioName)
	if err != nil {
		return nil, err
	}
	method, err := quantize.ParseMethod(r.Method)
	if err != nil {
		return nil, err
	}
	nCalib, nVal := r.Calib, r.Val
	if nCalib < 1 || nVal < 0 {
		return nil, fmt.Errorf("export: --calib must be ≥ 1 and --val ≥ 0 (got %d, %d)", nCalib, nVal)
	}
	if method != quantize.Auto {
		nVal = 0
	}
	set, err := mnist.LoadSet(r.Data, mnist.TrainImages, mnist.TrainLabels, 60000)
	if err != nil {
		return nil, fmt.Errorf("export: --int8 calibrates on MNIST: %w (run `make data`)", err)
	}
	if in := m.Input(); in.H != set.H || in.W != set.W || in.C != 1 {
		return nil, fmt.Errorf("export: the checkpoint takes %v inputs; MNIST images are %dx%dx1", in, set.H, set.W)
	}
	if nCalib+nVal > set.N {
		return nil, fmt.Errorf("export: --calib %d plus --val %d exceed the %d training images", nCalib, nVal, set.N)
	}
	calib, err := qdata.FromMNIST(m, set, 0, nCalib, qdata.SeedCalib, r.Threads)
	if err != nil {
		return nil, err
	}
	nth := r.Threads
	switch {
	case nth < 0 || nth > 256:
		return nil, fmt.Errorf("export: --threads %d out of range [0, 256] (0: one per CPU core)", nth)
	case nth == 0:
		nth = goruntime.NumCPU()
	}
	opts := quantize.Options{Method: method, IO: io, MinCalib: nCalib, Threads: nth}
	if nVal > 0 {
		if opts.Val, err = qdata.FromMNIST(m, set, nCalib, nCalib+nVal, qdata.SeedVal, r.Threads); err != nil {
			return nil, err
		}
	}
	g, _, err := quantize.QuantizeGraph(ctx, fg, calib, opts)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if g.Metadata == nil {
		g.Metadata = map[string]string{}
	}
	g.Metadata[model.MetaVersion] = r.Version
	return g, nil
}
