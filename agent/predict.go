package agent

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"strings"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/runtime"
)

// PredictLine is one image's result of `edgecnn predict` (one --json line).
type PredictLine struct {
	File string `json:"file"`
	Result
	Error  string             `json:"error,omitempty"`
	Engine *runtime.Placement `json:"engine,omitempty"` // where the model ran, and why not where requested
}

// Predictor recognises still images with one recognizer (edgecnn predict).
type Predictor struct {
	*Recognizer
	// Placement is where the model runs, and why not where requested.
	Placement runtime.Placement
	// Judge is the segmentation judge file --multi reads with ("": none;
	// RecognizerSettings.JudgeFile).
	Judge string
}

// NewPredictor checks s and opens its model; Close releases it.
func NewPredictor(s RecognizerSettings) (*Predictor, error) {
	if _, err := runtime.Threads(s.Engine.Threads); err != nil {
		return nil, err
	}
	newRec, err := NewRecognizerFactory(s)
	if err != nil {
		return nil, err
	}
	judge, err := s.JudgeFile()
	if err != nil {
		return nil, err
	}
	rec, err := newRec()
	if err != nil {
		return nil, err
	}
	return &Predictor{Recognizer: rec, Placement: runtime.PlacementOf(rec.Engine(), s.Engine.Options()), Judge: judge}, nil
}

// Close releases the engine.
func (p *Predictor) Close() error { return p.Recognizer.Close() }

// Each recognises every image that args name (see PredictInputs; "-" is
// read from stdin, at most camera.MaxStdinBytes) and calls fn with each
// result in order. It returns how many images could not be read or
// recognised, and how many there were.
func (p *Predictor) Each(ctx context.Context, args []string, stdin io.Reader, fn func(PredictLine)) (failed, total int, err error) {
	paths, err := PredictInputs(args)
	if err != nil {
		return 0, 0, err
	}
	for _, path := range paths {
		line := PredictLine{File: path, Engine: &p.Placement}
		var img image.Image
		if path == "-" {
			img, err = camera.DecodeReader(stdin, camera.MaxStdinBytes)
		} else {
			img, err = camera.DecodeFile(path)
		}
		if err == nil {
			line.Result, err = p.Recognize(ctx, img)
		}
		if err != nil {
			failed++
			line.Error = err.Error()
		}
		if line.Digits == nil {
			line.Digits = []Prediction{}
		}
		fn(line)
	}
	return failed, len(paths), nil
}

// PredictInputs expands predict's arguments: a directory stands for its
// images in name order; "-" (standard input) may appear once.
func PredictInputs(args []string) ([]string, error) {
	var paths []string
	stdin := false
	for _, a := range args {
		if a == "-" {
			if stdin {
				return nil, fmt.Errorf("- (standard input) given twice")
			}
			stdin = true
			paths = append(paths, a)
			continue
		}
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			imgs, err := camera.ListImages(a)
			if err != nil {
				return nil, err
			}
			if len(imgs) == 0 {
				return nil, fmt.Errorf("%s: no images (%s) in this directory", a, strings.Join(camera.ImageExts, " "))
			}
			paths = append(paths, imgs...)
			continue
		}
		paths = append(paths, a)
	}
	return paths, nil
}
