// Command benchcheck prints the quantizer's `make bench` table: the
// measured numbers of an `edgecnn quantize --json` report against the
// targets of issue 3, optionally beside PyTorch's post-training
// quantization of the same weights. It exits 1 when a target is missed.
//
//	go run ./quantize/internal/benchcheck --report report.json --ms 4200 [--torch torch.json]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/edgecnn/edgecnn/quantize"
)

// torchResult is what quantize/bench/torch_ptq.py prints.
type torchResult struct {
	Torch     string  `json:"torch"`
	Engine    string  `json:"engine"`
	Float     float64 `json:"float_pct"`
	Int8      float64 `json:"int8_pct"`
	DropPP    float64 `json:"drop_pp"`
	Agreement float64 `json:"agreement_pct"`
	Seconds   float64 `json:"seconds"`
}

func main() {
	reportPath := flag.String("report", "", "JSON report of edgecnn quantize --json")
	ms := flag.Float64("ms", 0, "wall time of the quantize command (model + HTML report), milliseconds")
	torchPath := flag.String("torch", "", "optional JSON result of quantize/bench/torch_ptq.py")
	flag.Parse()
	if err := run(*reportPath, *ms, *torchPath); err != nil {
		fmt.Fprintln(os.Stderr, "benchcheck:", err)
		os.Exit(2)
	}
}

func run(reportPath string, ms float64, torchPath string) error {
	b, err := os.ReadFile(reportPath)
	if err != nil {
		return err
	}
	var r quantize.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", reportPath, err)
	}
	a := r.Accuracy
	if a == nil {
		return fmt.Errorf("%s: no accuracy section (run quantize with the test set)", reportPath)
	}
	fmt.Printf("bench-quantize: %s, %s calibration (requested %s), %d calibration images, %d test images\n",
		r.Model.Source, r.Settings.Method, r.Settings.Requested, r.Settings.CalibImages, a.Images)
	fmt.Printf("  float %.2f%%  int8 %.2f%%  (int8 computed by the native engine, %s rounding)\n", a.Float, a.Int8, r.Settings.Rounding)
	fmt.Printf("  %-28s %12s %12s  %s\n", "metric", "measured", "target", "")
	missed := 0
	row := func(name string, v float64, ok bool, target string, format string) {
		mark := "ok"
		if !ok {
			mark = "MISSED"
			missed++
		}
		fmt.Printf("  %-28s %12s %12s  %s\n", name, fmt.Sprintf(format, v), target, mark)
	}
	row("accuracy drop (pp)", a.DropPP, a.DropPP <= 0.10, "≤ 0.10", "%.2f")
	row("top-1 agreement (%)", a.Agreement, a.Agreement >= 99.8, "≥ 99.80", "%.2f")
	row("int8 / float .tflite (%)", 100*r.Size.Ratio, r.Size.Ratio <= 0.27, "≤ 27.0", "%.1f")
	if ms > 0 {
		row("quantize + HTML report (s)", ms/1000, ms <= 20000, "≤ 20.0", "%.1f")
	}
	fmt.Printf("  sizes: float %d bytes, int8 %d bytes; %d parameters, %d MACs/inference\n", r.Size.FloatBytes, r.Size.Int8Bytes, r.Model.Params, r.Model.MACs)
	if torchPath != "" {
		tb, err := os.ReadFile(torchPath)
		if err != nil {
			return err
		}
		var t torchResult
		if err := json.Unmarshal(tb, &t); err != nil {
			return fmt.Errorf("%s: %w", torchPath, err)
		}
		fmt.Printf("  peer: PyTorch %s PTQ (%s, per-channel weights, same checkpoint, same calibration images)\n", t.Torch, t.Engine)
		fmt.Printf("  %-28s %12s %12s\n", "", "edgecnn", "PyTorch")
		fmt.Printf("  %-28s %12.2f %12.2f\n", "int8 accuracy (%)", a.Int8, t.Int8)
		fmt.Printf("  %-28s %12.2f %12.2f\n", "accuracy drop (pp)", a.DropPP, t.DropPP)
		fmt.Printf("  %-28s %12.2f %12.2f\n", "top-1 agreement (%)", a.Agreement, t.Agreement)
		if ms > 0 {
			fmt.Printf("  %-28s %12.1f %12.1f\n", "time (s)", ms/1000, t.Seconds)
			fmt.Printf("  (edgecnn: the whole command with 10,000-image evaluation and the HTML report;\n   PyTorch: prepare + calibrate + convert only)\n")
		}
	}
	if missed > 0 {
		return fmt.Errorf("%d target(s) missed", missed)
	}
	return nil
}
