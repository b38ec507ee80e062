//go:build !board

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/onnx"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/quantize/qdata"
	"github.com/edgecnn/edgecnn/train/mnist"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "export",
		Usage:     "export a checkpoint as a .tflite or .onnx model (float, or full-integer int8 with --int8)",
		ArgsUsage: " ",
		Description: "Float export folds BatchNorm, fuses ReLU and outputs logits (add --softmax for\n" +
			"probabilities). --int8 quantizes first (calibrating on the first --calib MNIST\n" +
			"training images from --data, as `edgecnn quantize` does) and writes TFLite's\n" +
			"full-integer model, or an ONNX QDQ model for --format onnx. --target edgetpu\n" +
			"writes an int8 .tflite that meets the Edge TPU compiler's requirements and runs\n" +
			"edgetpu_compiler when it is on PATH. Normalization, labels, architecture and the\n" +
			"edgecnn version are stored inside the file.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Value: "models/mnist.ckpt", Usage: "float checkpoint to export"},
			&cli.StringFlag{Name: "format", Usage: "tflite or onnx (default: from the --out extension)"},
			&cli.StringFlag{Name: "out", Usage: "file to write (atomically)", Required: true},
			&cli.BoolFlag{Name: "int8", Usage: "quantize to full-integer int8"},
			&cli.BoolFlag{Name: "json", Usage: "print what was written as one JSON object"},
			&cli.StringFlag{Name: "target", Usage: "edgetpu: int8, integer IO, static shapes, then edgetpu_compiler"},
			&cli.StringFlag{Name: "io", Usage: "int8 model input/output type: int8, uint8 or float (default int8; uint8 for edgetpu)"},
			&cli.BoolFlag{Name: "softmax", Usage: "end with SOFTMAX (probabilities) instead of logits"},
			&cli.BoolFlag{Name: "static-batch", Usage: "fix the batch to 1 (default: dynamic batch)"},
			&cli.StringFlag{Name: "data", Value: "data/mnist", Usage: "MNIST folder for --int8 calibration"},
			&cli.IntFlag{Name: "calib", Value: 1000, Usage: "calibration images for --int8 (the first N training images)"},
			&cli.IntFlag{Name: "val", Value: 1000, Usage: "validation images for --method auto (the training images after the calibration ones)"},
			&cli.StringFlag{Name: "method", Value: "auto", Usage: "calibration: minmax, percentile, entropy, mse or auto"},
			threadsFlag(),
		},
		Action: exportAction,
	})
}

// exportFormat picks the file format from --format or the --out extension.
func exportFormat(format, out string) (string, error) {
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

func exportAction(c *cli.Context) error {
	out := c.String("out")
	format, err := exportFormat(c.String("format"), out)
	if err != nil {
		return err
	}
	target := strings.ToLower(c.String("target"))
	wantInt8 := c.Bool("int8")
	ioName := c.String("io")
	static := c.Bool("static-batch")
	switch target {
	case "":
	case "edgetpu":
		if format != "tflite" {
			return errors.New("export: --target edgetpu needs --format tflite (the Edge TPU compiler reads .tflite only)")
		}
		wantInt8, static = true, true
		if ioName == "" {
			ioName = "uint8"
		}
	default:
		return fmt.Errorf("export: unknown --target %q (want edgetpu)", c.String("target"))
	}
	if ioName != "" && !wantInt8 {
		return errors.New("export: --io applies to int8 models: add --int8")
	}
	ck, err := model.ReadCheckpointFile(c.String("model"))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	m := ck.Model
	g, err := model.FloatGraphWith(m, model.GraphOptions{Softmax: c.Bool("softmax"), StaticBatch: static})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	g.Metadata[model.MetaVersion] = version
	if wantInt8 {
		if g, err = exportQuantize(c, m, g, ioName); err != nil {
			return err
		}
	}
	if len(ck.DataSources) > 0 {
		g.Metadata[model.MetaDataSources] = model.DataSourcesMetadata(ck.DataSources)
	}
	if target == "edgetpu" {
		if err := tflite.EdgeTPUCheck(g); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	switch format {
	case "tflite":
		err = tflite.WriteFile(out, g)
	case "onnx":
		err = onnx.WriteFile(out, g)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	kind := "float32"
	if wantInt8 {
		kind = "int8"
	}
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, struct {
			File      string `json:"file"`
			Format    string `json:"format"`
			Precision string `json:"precision"`
			Ops       int    `json:"ops"`
			Bytes     int64  `json:"bytes"`
		}{out, format, kind, len(g.Ops), st.Size()}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.App.Writer, "wrote %s (%s %s, %d ops, %d bytes)\n", out, kind, format, len(g.Ops), st.Size())
	}
	if target == "edgetpu" {
		if err := tflite.CompileEdgeTPU(c.Context, out, c.App.Writer, c.App.ErrWriter); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	}
	return nil
}

// exportQuantize calibrates on MNIST training images and returns the int8 graph.
func exportQuantize(c *cli.Context, m *model.Model, fg *model.Graph, ioName string) (*model.Graph, error) {
	if ioName == "" {
		ioName = "int8"
	}
	io, err := quantize.ParseIO(ioName)
	if err != nil {
		return nil, err
	}
	method, err := quantize.ParseMethod(c.String("method"))
	if err != nil {
		return nil, err
	}
	nCalib, nVal := c.Int("calib"), c.Int("val")
	if nCalib < 1 || nVal < 0 {
		return nil, fmt.Errorf("export: --calib must be ≥ 1 and --val ≥ 0 (got %d, %d)", nCalib, nVal)
	}
	if method != quantize.Auto {
		nVal = 0
	}
	set, err := mnist.LoadSet(c.String("data"), mnist.TrainImages, mnist.TrainLabels, 60000)
	if err != nil {
		return nil, fmt.Errorf("export: --int8 calibrates on MNIST: %w (run `make data`)", err)
	}
	if in := m.Input(); in.H != set.H || in.W != set.W || in.C != 1 {
		return nil, fmt.Errorf("export: the checkpoint takes %v inputs; MNIST images are %dx%dx1", in, set.H, set.W)
	}
	if nCalib+nVal > set.N {
		return nil, fmt.Errorf("export: --calib %d plus --val %d exceed the %d training images", nCalib, nVal, set.N)
	}
	calib, err := qdata.FromMNIST(m, set, 0, nCalib, qdata.SeedCalib, c.Int("threads"))
	if err != nil {
		return nil, err
	}
	nth, err := threads(c)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	opts := quantize.Options{Method: method, IO: io, MinCalib: nCalib, Threads: nth}
	if nVal > 0 {
		if opts.Val, err = qdata.FromMNIST(m, set, nCalib, nCalib+nVal, qdata.SeedVal, c.Int("threads")); err != nil {
			return nil, err
		}
	}
	g, _, err := quantize.QuantizeGraph(c.Context, fg, calib, opts)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if g.Metadata == nil {
		g.Metadata = map[string]string{}
	}
	g.Metadata[model.MetaVersion] = version
	return g, nil
}
