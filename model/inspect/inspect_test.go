package inspect

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
)

func TestCheckpointAndModelFiles(t *testing.T) {
	ckpt := filepath.Join(testenv.RepoRoot(t), "models", "mnist.ckpt")
	r, err := ReadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Arch.Classes < 10 || len(r.Labels) != r.Arch.Classes || r.Params < 400000 || r.Resumable {
		t.Errorf("checkpoint report %+v", r)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil || !strings.Contains(b.String(), "edgecnn checkpoint") || !strings.Contains(b.String(), "train --init") {
		t.Errorf("text: %v %q", err, b.String())
	}
	// A checkpoint where a model file is expected, and the other way round.
	if _, _, _, err := ReadModelFile(ckpt); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("ReadModelFile(ckpt): %v", err)
	}
	ck, err := model.ReadCheckpointFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	g, err := model.FloatGraph(ck.Model)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tflite.Write(g)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"m.tflite", "m.bin"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if _, err := model.ReadCheckpointFile(p); !errors.Is(err, model.ErrNotCheckpoint) || !strings.Contains(err.Error(), "TFLite model, not a checkpoint") {
			t.Errorf("ReadCheckpointFile(%s): %v", name, err)
		}
		gr, format, _, err := ReadModelFile(p)
		if err != nil || format != "tflite" {
			t.Fatalf("ReadModelFile(%s): %v %s", name, err, format)
		}
		if rep := Graph(gr, p, format, int64(len(data))); len(rep.Ops) == 0 || rep.Precision != "float32" {
			t.Errorf("report %+v", rep)
		}
	}
	onnxPath := filepath.Join(dir, "m.onnx")
	os.WriteFile(onnxPath, []byte{0x08, 0x07, 0x12, 0x03, 'a', 'b', 'c'}, 0o644)
	if _, err := model.ReadCheckpointFile(onnxPath); !errors.Is(err, model.ErrNotCheckpoint) {
		t.Errorf("ReadCheckpointFile(.onnx): %v", err)
	}
}
