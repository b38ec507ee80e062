package tflite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/edgecnn/edgecnn/model"
)

// edgeTPUOps are the operators of edgecnn's graphs that the Edge TPU
// compiler maps to the TPU (all others would fall back to the CPU, which
// defeats the purpose; DEQUANTIZE would also mean float output).
var edgeTPUOps = map[model.OpCode]bool{
	model.OpConv2D: true, model.OpMaxPool2D: true, model.OpFullyConnected: true, model.OpReshape: true,
	model.OpSoftmax: true, model.OpQuantize: true,
}

// EdgeTPUCheck reports the first way g violates the Edge TPU compiler's
// requirements: full-integer (int8/uint8 activations, int8 weights, int32
// biases), integer input and output, static shapes, supported ops.
func EdgeTPUCheck(g *model.Graph) error {
	if g.DynamicBatch {
		return errors.New("edge TPU: the graph has a dynamic batch; the Edge TPU needs static shapes")
	}
	for _, i := range append(append([]int(nil), g.Inputs...), g.Outputs...) {
		t := &g.Tensors[i]
		if t.Type != model.Int8 && t.Type != model.UInt8 {
			return fmt.Errorf("edge TPU: input/output %q is %v; the Edge TPU needs uint8 or int8 I/O (--io uint8)", t.Name, t.Type)
		}
	}
	for i := range g.Tensors {
		t := &g.Tensors[i]
		switch {
		case t.Type == model.Float32:
			return fmt.Errorf("edge TPU: tensor %q is float32; the model must be full-integer", t.Name)
		case t.Type == model.Int32 && t.Data == nil:
			return fmt.Errorf("edge TPU: activation %q is int32", t.Name)
		case t.Type != model.Int32 && t.Quant == nil:
			return fmt.Errorf("edge TPU: tensor %q (%v) has no quantization parameters", t.Name, t.Type)
		}
		for _, d := range t.Shape {
			if d <= 0 {
				return fmt.Errorf("edge TPU: tensor %q has a non-static shape %v", t.Name, t.Shape)
			}
		}
	}
	for k, op := range g.Ops {
		if !edgeTPUOps[op.Code] {
			return fmt.Errorf("edge TPU: op %d is %v, which the Edge TPU does not run (supported here: CONV_2D, MAX_POOL_2D, FULLY_CONNECTED, RESHAPE, SOFTMAX, QUANTIZE)", k, op.Code)
		}
	}
	return nil
}

// edgeTPUHelp says how to get the Edge TPU compiler.
func edgeTPUHelp(path string) string {
	dir := filepath.Dir(path)
	how := "Install it on an x86-64 Debian/Ubuntu machine (Google publishes the compiler for x86-64 Linux only):\n" +
		"  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo gpg --dearmor -o /usr/share/keyrings/coral-edgetpu.gpg\n" +
		"  echo 'deb [signed-by=/usr/share/keyrings/coral-edgetpu.gpg] https://packages.cloud.google.com/apt coral-edgetpu-stable main' | sudo tee /etc/apt/sources.list.d/coral-edgetpu.list\n" +
		"  sudo apt-get update && sudo apt-get install edgetpu-compiler\n" +
		fmt.Sprintf("then compile: edgetpu_compiler -s -o %s %s", dir, path)
	if goruntime.GOARCH != "amd64" {
		how = fmt.Sprintf("This machine is %s/%s; copy %s to an x86-64 Debian/Ubuntu machine. ", goruntime.GOOS, goruntime.GOARCH, path) + how
	}
	return how
}

// CompileEdgeTPU runs edgetpu_compiler on path (an Edge TPU-ready model,
// see EdgeTPUCheck), its output going to stdout and stderr, or explains
// how to get the compiler when it is not on PATH.
func CompileEdgeTPU(ctx context.Context, path string, stdout, stderr io.Writer) error {
	bin, err := exec.LookPath("edgetpu_compiler")
	if err != nil {
		return fmt.Errorf("wrote the Edge TPU-ready model %s, but edgetpu_compiler is not on PATH, so it is not compiled for the Edge TPU yet.\n%s", path, edgeTPUHelp(path))
	}
	cmd := exec.CommandContext(ctx, bin, "-s", "-o", filepath.Dir(path), path)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("edgetpu_compiler failed on %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "compiled %s\n", strings.TrimSuffix(path, filepath.Ext(path))+"_edgetpu.tflite")
	return nil
}
