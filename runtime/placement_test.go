package runtime

import (
	"context"
	"testing"
)

type plainEngine struct{}

func (plainEngine) Backend() string                                      { return "plain" }
func (plainEngine) Input() TensorInfo                                    { return TensorInfo{} }
func (plainEngine) Output() TensorInfo                                   { return TensorInfo{} }
func (plainEngine) Metadata() map[string]string                          { return nil }
func (plainEngine) Run(context.Context, []float32, int, []float32) error { return nil }
func (plainEngine) Close() error                                         { return nil }

type delegateEngine struct {
	plainEngine
	name, why string
}

func (d delegateEngine) Backend() string            { return "tflite" }
func (d delegateEngine) Delegate() (string, string) { return d.name, d.why }

type epEngine struct {
	plainEngine
	name, why string
}

func (d epEngine) Backend() string      { return "onnxruntime" }
func (d epEngine) EP() (string, string) { return d.name, d.why }

func TestPlacementOf(t *testing.T) {
	for name, c := range map[string]struct {
		e    Engine
		opt  Options
		want Placement
	}{
		"cpu":           {plainEngine{}, Options{EP: "cpu"}, Placement{Backend: "plain", Delegate: "cpu", Requested: "cpu"}},
		"edgetpu ok":    {delegateEngine{name: "edgetpu"}, Options{Delegate: "edgetpu"}, Placement{Backend: "tflite", Delegate: "edgetpu", Requested: "edgetpu"}},
		"edgetpu fell":  {delegateEngine{why: "libedgetpu.so.1 not found"}, Options{Delegate: "edgetpu", Fallback: true}, Placement{Backend: "tflite", Delegate: "cpu", Requested: "edgetpu", Fallback: true, Reason: "libedgetpu.so.1 not found"}},
		"xnnpack":       {delegateEngine{name: "xnnpack"}, Options{XNNPACK: true}, Placement{Backend: "tflite", Delegate: "xnnpack", Requested: "xnnpack"}},
		"cuda fell":     {epEngine{name: "cpu", why: "CUDA provider: no device"}, Options{EP: "cuda", Fallback: true}, Placement{Backend: "onnxruntime", Delegate: "cpu", Requested: "cuda", Fallback: true, Reason: "CUDA provider: no device"}},
		"no such thing": {plainEngine{}, Options{EP: "tensorrt"}, Placement{Backend: "plain", Delegate: "cpu", Requested: "tensorrt", Fallback: true, Reason: "the plain backend does not use tensorrt"}},
	} {
		if got := PlacementOf(c.e, c.opt); got != c.want {
			t.Errorf("%s: %+v, want %+v", name, got, c.want)
		}
	}
}
