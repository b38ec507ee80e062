// Package inspect describes model files for people and programs: the ops,
// tensors, shapes, quantization, metadata and size of a .tflite or .onnx
// model, and the header of an edgecnn checkpoint (edgecnn inspect).
package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/onnx"
	"github.com/edgecnn/edgecnn/model/tflite"
)

// ErrCheckpoint is returned (wrapped) by ReadModelFile for a checkpoint.
var ErrCheckpoint = errors.New("checkpoint given where a model file was expected")

// Tensor describes one tensor.
type Tensor struct {
	Index     int       `json:"index"`
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	Shape     []int     `json:"shape"`
	Constant  bool      `json:"constant"`
	Bytes     int       `json:"bytes,omitempty"`
	Scale     []float32 `json:"scale,omitempty"`
	ZeroPoint []int64   `json:"zero_point,omitempty"`
	Axis      *int      `json:"axis,omitempty"`
}

// Op describes one operator.
type Op struct {
	Index      int    `json:"index"`
	Op         string `json:"op"`
	Version    int32  `json:"version,omitempty"` // TFLite op version
	Inputs     []int  `json:"inputs"`
	Outputs    []int  `json:"outputs"`
	Options    string `json:"options,omitempty"`
	Activation string `json:"activation,omitempty"`
}

// Report is the result of `edgecnn inspect`.
type Report struct {
	File         string            `json:"file"`
	Format       string            `json:"format"`
	Size         int64             `json:"size_bytes"`
	Precision    string            `json:"precision"`
	DynamicBatch bool              `json:"dynamic_batch"`
	Inputs       []int             `json:"inputs"`
	Outputs      []int             `json:"outputs"`
	Params       int               `json:"params"`
	ConstBytes   int               `json:"constant_bytes"`
	Ops          []Op              `json:"ops"`
	Tensors      []Tensor          `json:"tensors"`
	Metadata     map[string]string `json:"metadata"`
}

// ReadModelFile reads a .tflite or .onnx file, telling them apart by
// content (TFLite's "TFL3" identifier), and returns the graph and format.
func ReadModelFile(path string) (*model.Graph, string, int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", 0, err
	}
	if model.IsCheckpoint(data) {
		return nil, "", 0, fmt.Errorf("%s is an edgecnn checkpoint, not a .tflite/.onnx model: %w", path, ErrCheckpoint)
	}
	if len(data) >= 8 && string(data[4:8]) == tflite.FileIdentifier {
		g, err := tflite.Read(data)
		if err != nil {
			return nil, "", 0, fmt.Errorf("%s: %w", path, err)
		}
		return g, "tflite", int64(len(data)), nil
	}
	g, err := onnx.Read(data)
	if err != nil {
		if strings.HasSuffix(strings.ToLower(path), ".tflite") {
			return nil, "", 0, fmt.Errorf("%s: not a TFLite file (no TFL3 identifier)", path)
		}
		return nil, "", 0, fmt.Errorf("%s: neither a TFLite model (no TFL3 identifier) nor a readable ONNX model: %w", path, err)
	}
	return g, "onnx", int64(len(data)), nil
}

// Graph builds the report for a graph read from a file of the given
// format ("tflite" or "onnx") and size.
func Graph(g *model.Graph, path, format string, size int64) *Report {
	r := &Report{File: path, Format: format, Size: size, DynamicBatch: g.DynamicBatch,
		Inputs: g.Inputs, Outputs: g.Outputs, Metadata: g.Metadata}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	r.Precision = "float32"
	for i, t := range g.Tensors {
		it := Tensor{Index: i, Name: t.Name, Type: t.Type.String(), Shape: t.Shape, Constant: t.Data != nil, Bytes: len(t.Data)}
		if q := t.Quant; q != nil {
			it.Scale, it.ZeroPoint = q.Scale, q.ZeroPoint
			if len(q.Scale) > 1 {
				ax := q.Axis
				it.Axis = &ax
			}
		}
		if t.Data != nil {
			r.ConstBytes += len(t.Data)
		}
		if t.Data == nil && (t.Type == model.Int8 || t.Type == model.UInt8) {
			r.Precision = "int8"
		}
		r.Tensors = append(r.Tensors, it)
	}
	for k := range g.Ops {
		op := &g.Ops[k]
		o := Op{Index: k, Op: op.Code.String(), Inputs: op.Inputs, Outputs: op.Outputs}
		if format == "tflite" {
			o.Version = tflite.OpVersion(g, op)
		}
		pad := map[model.Padding]string{model.PadSame: "SAME", model.PadValid: "VALID"}[op.Padding]
		switch op.Code {
		case model.OpConv2D:
			o.Options = fmt.Sprintf("stride %dx%d %s", op.StrideH, op.StrideW, pad)
		case model.OpMaxPool2D:
			o.Options = fmt.Sprintf("filter %dx%d stride %dx%d %s", op.FilterH, op.FilterW, op.StrideH, op.StrideW, pad)
		case model.OpReshape:
			o.Options = fmt.Sprintf("shape %v", op.NewShape)
		case model.OpSoftmax:
			o.Options = fmt.Sprintf("beta %g", op.Beta)
		}
		switch op.Activation {
		case model.ActReLU:
			o.Activation = "RELU"
		case model.ActReLU6:
			o.Activation = "RELU6"
		}
		if op.Code == model.OpConv2D || op.Code == model.OpFullyConnected {
			for _, i := range op.Inputs[1:] {
				if i >= 0 {
					r.Params += g.Tensors[i].NumElements()
				}
			}
		}
		r.Ops = append(r.Ops, o)
	}
	return r
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s model, %d bytes, %s, %d parameters (%d constant bytes), batch %s\n",
		r.File, r.Format, r.Size, r.Precision, r.Params, r.ConstBytes, map[bool]string{true: "dynamic", false: "static"}[r.DynamicBatch])
	name := func(i int) string {
		if i < 0 || i >= len(r.Tensors) {
			return "-"
		}
		t := r.Tensors[i]
		return fmt.Sprintf("%s %s%v", t.Name, t.Type, t.Shape)
	}
	if r.Format == "onnx" {
		fmt.Fprintf(&b, "shapes below are edgecnn's NHWC; the ONNX file stores 4-D tensors as NCHW\n")
	}
	for _, i := range r.Inputs {
		fmt.Fprintf(&b, "input:  %s\n", name(i))
	}
	for _, i := range r.Outputs {
		fmt.Fprintf(&b, "output: %s\n", name(i))
	}
	fmt.Fprintf(&b, "\nops (%d):\n", len(r.Ops))
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	for _, op := range r.Ops {
		v := ""
		if op.Version > 0 {
			v = fmt.Sprintf("v%d", op.Version)
		}
		var ins []string
		for _, i := range op.Inputs {
			ins = append(ins, fmt.Sprint(i))
		}
		extra := op.Options
		if op.Activation != "" {
			extra = strings.TrimSpace(extra + " +" + op.Activation)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t[%s] -> %v\t%s\n", op.Index, op.Op, v, strings.Join(ins, " "), op.Outputs, extra)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\ntensors (%d):\n", len(r.Tensors))
	tw = tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	for _, t := range r.Tensors {
		kind := "act"
		if t.Constant {
			kind = fmt.Sprintf("const %dB", t.Bytes)
		}
		q := ""
		switch {
		case len(t.Scale) == 1:
			q = fmt.Sprintf("scale %.6g zp %d", t.Scale[0], t.ZeroPoint[0])
		case len(t.Scale) > 1:
			lo, hi := t.Scale[0], t.Scale[0]
			for _, s := range t.Scale {
				lo, hi = min(lo, s), max(hi, s)
			}
			q = fmt.Sprintf("%d scales [%.4g, %.4g] axis %d", len(t.Scale), lo, hi, *t.Axis)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%v\t%s\t%s\n", t.Index, t.Name, t.Type, t.Shape, kind, q)
	}
	tw.Flush()
	keys := make([]string, 0, len(r.Metadata))
	for k := range r.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "\nmetadata (%d):\n", len(keys))
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s = %s\n", k, r.Metadata[k])
	}
	_, err := w.Write(b.Bytes())
	return err
}

// TextReport is a report that prints itself as `edgecnn inspect` does;
// its JSON form is the --json output.
type TextReport interface {
	WriteText(w io.Writer) error
}

// ReadFile inspects a model file or, when the file starts like one, an
// edgecnn checkpoint (*CheckpointReport; else *Report).
func ReadFile(path string) (TextReport, error) {
	if head, err := readHead(path, 8); err == nil && model.IsCheckpoint(head) {
		return ReadCheckpoint(path)
	}
	g, format, size, err := ReadModelFile(path)
	if err != nil {
		return nil, err
	}
	return Graph(g, path, format, size), nil
}

// readHead returns up to n first bytes of a file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	k, _ := f.Read(b)
	return b[:k], nil
}
