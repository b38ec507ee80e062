package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// NoJudge is the --judge value (of predict, run, bundle, flash and build
// --image) that names no segmentation judge, even when one sits beside
// the model.
const NoJudge = "none"

// JudgeName is the file name of the segmentation judge that goes with a
// model file named base: "judge" and base's extension from its first dot
// (mnist.ckpt → judge.ckpt, model.int8.tflite → judge.int8.tflite,
// model.tflite → judge.tflite; a name without a dot → judge). `edgecnn
// predict/run --multi` reads with that file when it sits beside the model,
// and `edgecnn bundle`, `flash` and `build --image` ship the judge under
// such a name beside the model.
func JudgeName(base string) string {
	if i := strings.IndexByte(base, '.'); i >= 0 {
		return "judge" + base[i:]
	}
	return "judge"
}

// JudgeBeside returns the path of the segmentation judge that goes with
// the model file at path: JudgeName of its base name, in its folder. It
// returns "" when that names the model itself (a model named judge.ckpt
// is not its own judge). It does not look at the file system.
func JudgeBeside(path string) string {
	j := filepath.Join(filepath.Dir(path), JudgeName(filepath.Base(path)))
	if filepath.Clean(path) == j {
		return ""
	}
	return j
}

// Errors of CheckJudge.
var (
	ErrJudgeNotFile = errors.New("not a readable file")
	ErrJudgeIsModel = errors.New("the model file itself")
)

// CheckJudge reports whether the file judge can be the segmentation judge
// of the model file at modelPath: a regular file (or a link to one) that
// is not the model file itself (ErrJudgeNotFile, ErrJudgeIsModel).
func CheckJudge(judge, modelPath string) error {
	st, err := os.Stat(judge)
	if err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", judge, ErrJudgeNotFile)
	}
	if mst, err := os.Stat(modelPath); err == nil && os.SameFile(st, mst) {
		return fmt.Errorf("%s: %w", judge, ErrJudgeIsModel) // a link to the model, or the model under another name
	}
	return nil
}

// FindJudgeBeside returns JudgeBeside(path) when it passes CheckJudge,
// else "".
func FindJudgeBeside(path string) string {
	j := JudgeBeside(path)
	if j == "" || CheckJudge(j, path) != nil {
		return ""
	}
	return j
}
