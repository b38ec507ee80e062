package main

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"strings"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/urfave/cli/v2"
)

// recognizerFlags are shared by predict and run.
func recognizerFlags() []cli.Flag {
	return append(engineFlags(),
		&cli.StringFlag{Name: "model", Usage: "model file: .tflite (int8 or float), .onnx, or a .ckpt checkpoint (float reference engine)", Required: true},
		threadsFlag(),
		&cli.BoolFlag{Name: "multi", Usage: "read a row of digits left to right"},
		&cli.StringFlag{Name: "roi", Usage: "only look inside x,y,w,h (pixels)"},
		&cli.StringFlag{Name: "rois", Usage: "JSON file: one region per digit, [{\"x\",\"y\",\"w\",\"h\",\"name\"}...]; \"?\" marks an unread region"},
		&cli.Float64Flag{Name: "min-confidence", Usage: "below this softmax confidence a digit counts as \"no digit\" (default: the model's edgecnn.reject_threshold, else 0.5)"},
		&cli.StringFlag{Name: "polarity", Value: "auto", Usage: "auto, dark (dark ink on light paper) or light"},
		&cli.StringFlag{Name: "threshold", Value: "otsu", Usage: "binarization: otsu or adaptive"},
	)
}

// recognizerSettings reads the recognizer flags.
func recognizerSettings(c *cli.Context) agent.RecognizerSettings {
	return agent.RecognizerSettings{Model: c.String("model"), Backend: c.String("backend"), Engine: engineOptions(c),
		ROI: c.String("roi"), Regions: c.String("rois"), Multi: c.Bool("multi"),
		MinConfidence: c.Float64("min-confidence"), MinConfidenceSet: c.IsSet("min-confidence"),
		Polarity: c.String("polarity"), Threshold: c.String("threshold")}
}

// predictLine is one --json output line.
type predictLine struct {
	File string `json:"file"`
	agent.Result
	Error  string             `json:"error,omitempty"`
	Engine *runtime.Placement `json:"engine,omitempty"` // where the model ran, and why not where requested
}

func init() {
	register(&cli.Command{
		Name:      "predict",
		Usage:     "recognise the digit(s) in photos or images (same preprocessing as edgecnn run)",
		ArgsUsage: "IMAGE|DIR|-...",
		Description: "Each argument is an image file, a directory (its images in name order) or - (one image\n" +
			"read from standard input).\n\nEXAMPLES:\n" +
			"   edgecnn predict --model model.int8.tflite photo.jpg\n" +
			"   edgecnn predict --model model.int8.tflite --json photos/\n" +
			"   rpicam-still -o - | edgecnn predict --model model.int8.tflite -",
		Flags: append(recognizerFlags(), &cli.BoolFlag{Name: "json", Usage: "one JSON object per image"}),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return fmt.Errorf("predict: no images given (usage: edgecnn predict --model FILE IMAGE...)")
			}
			if _, err := threads(c); err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			newRec, err := agent.NewRecognizerFactory(recognizerSettings(c))
			if err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			rec, err := newRec()
			if err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			defer rec.Engine().Close()
			place := runtime.PlacementOf(rec.Engine(), engineOptions(c))
			if place.Fallback {
				fmt.Fprintf(c.App.ErrWriter, "predict: warning: running on %s %s, not %s: %s\n", place.Backend, place.Delegate, place.Requested, place.Reason)
			}
			if note := rec.Note(); note != "" && !c.Bool("json") {
				fmt.Fprintf(c.App.ErrWriter, "note: rejection of non-digits is by confidence only (≥ %.2f): the model has no \"x\" (not a digit) class\n", rec.Rejection().Threshold)
			}
			enc := json.NewEncoder(c.App.Writer)
			failed := 0
			paths, err := predictInputs(c.Args().Slice())
			if err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			for _, path := range paths {
				line := predictLine{File: path, Engine: &place}
				var img image.Image
				if path == "-" {
					img, err = camera.DecodeReader(c.App.Reader, camera.MaxStdinBytes)
				} else {
					img, err = camera.DecodeFile(path)
				}
				if err == nil {
					line.Result, err = rec.Recognize(c.Context, img)
				}
				if err != nil {
					failed++
					line.Error = err.Error()
				}
				switch {
				case c.Bool("json"):
					if line.Digits == nil {
						line.Digits = []agent.Prediction{}
					}
					enc.Encode(line)
				case err != nil:
					fmt.Fprintf(c.App.ErrWriter, "%s: error: %v\n", path, err)
				case line.OK():
					fmt.Fprintf(c.App.Writer, "%s: %s (confidence %.3f)\n", path, line.Text, line.Confidence)
				default:
					fmt.Fprintf(c.App.Writer, "%s: no digit (%s)\n", path, line.Reason)
				}
			}
			if failed > 0 {
				return fmt.Errorf("predict: %d of %d images could not be read", failed, len(paths))
			}
			return nil
		},
	})
}

// predictInputs expands predict's arguments: a directory stands for its
// images in name order; "-" (standard input) may appear once.
func predictInputs(args []string) ([]string, error) {
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
