package oci

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageJudge: the image holds the segmentation judge beside the model
// (judge.tflite beside model.tflite in Root, where `run --multi` finds it),
// in a layer of its own that a new model leaves as it was; a judge with
// another extension than the model's is refused.
func TestImageJudge(t *testing.T) {
	bin, model := files(t, 1000)
	judge := filepath.Join(t.TempDir(), "judge.int8.tflite")
	if err := os.WriteFile(judge, []byte("TFL3 judge"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := []Input{{Board: board(t, "generic-amd64"), Binary: bin}}
	r, err := Build(context.Background(), in, Options{Model: model, Judge: judge})
	if err != nil {
		t.Fatal(err)
	}
	img := r.Images[0].Image
	root := filepath.Join(unpack(t, img), filepath.FromSlash(Root))
	if b, err := os.ReadFile(filepath.Join(root, "judge.tflite")); err != nil || string(b) != "TFL3 judge" {
		t.Errorf("judge.tflite in the image: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "model.tflite")); err != nil || string(b) != "TFL3 model v1" {
		t.Errorf("model.tflite in the image: %q %v", b, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Labels["io.edgecnn.judge"] != "judge.tflite" || !strings.Contains(strings.Join(cf.Config.Cmd, " "), "--model "+Root+"/model.tflite") {
		t.Errorf("labels %v, cmd %q", cf.Config.Labels, cf.Config.Cmd)
	}
	l1 := layerDigests(t, img)
	if len(l1) != 4 {
		t.Fatalf("want 4 layers (folders, binary, judge, model), got %d", len(l1))
	}
	if err := os.WriteFile(model, []byte("TFL3 model v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	r2, err := Build(context.Background(), in, Options{Model: model, Judge: judge})
	if err != nil {
		t.Fatal(err)
	}
	if l2 := layerDigests(t, r2.Images[0].Image); l2[2] != l1[2] || l2[3] == l1[3] {
		t.Errorf("a new model: want the judge's layer reused and the model's new:\n%v\n%v", l1, l2)
	}

	// Without a judge: no judge file, no label.
	r, err = Build(context.Background(), in, Options{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(unpack(t, r.Images[0].Image), filepath.FromSlash(Root), "judge.tflite")); !os.IsNotExist(err) {
		t.Errorf("an image without a judge holds judge.tflite: %v", err)
	}

	onnx := filepath.Join(t.TempDir(), "judge.onnx")
	os.WriteFile(onnx, []byte("onnx"), 0o644)
	if _, err := Build(context.Background(), in, Options{Model: model, Judge: onnx}); err == nil || !strings.Contains(err.Error(), "one backend") {
		t.Errorf("a .onnx judge beside a .tflite model: %v", err)
	}
	// build --image refuses it before building anything.
	_, _, err = BuildBoards(context.Background(), BuildRequest{Boards: []string{"rpi4"}, Image: "oci:" + t.TempDir(), Model: model, Judge: onnx})
	if err == nil || !strings.Contains(err.Error(), "one backend") {
		t.Errorf("build --image with a mismatched judge: %v", err)
	}
}
