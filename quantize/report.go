package quantize

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// Report is everything the quantizer measured. It marshals to JSON as is;
// WriteText, WriteMarkdown and WriteHTML render it for people.
type Report struct {
	Tool     string           `json:"tool"`
	Created  time.Time        `json:"created"`
	Model    ModelInfo        `json:"model"`
	Settings Settings         `json:"settings"`
	Methods  []MethodResult   `json:"methods,omitempty"` // --method auto: every candidate
	Layers   []Layer          `json:"layers"`
	Size     Size             `json:"size"`
	Accuracy *Accuracy        `json:"accuracy,omitempty"` // nil without a test set
	Sources  []SourceAccuracy `json:"sources,omitempty"`  // Options.Sources, one row each
	QAT      *QATReport       `json:"qat,omitempty"`      // QuantizeQAT with Epochs > 0
	Timing   Timing           `json:"timing"`
	Notes    []string         `json:"notes,omitempty"`
}

// ModelInfo describes the quantized network.
type ModelInfo struct {
	Source  string   `json:"source,omitempty"` // e.g. the checkpoint path
	Params  int      `json:"params"`
	MACs    int64    `json:"macs"` // multiply-accumulates per inference
	Input   []int    `json:"input"`
	Classes int      `json:"classes"`
	Labels  []string `json:"labels,omitempty"`
}

// Settings are the quantization choices actually used.
type Settings struct {
	Method          Method  `json:"method"`           // the method whose graph was kept
	Requested       Method  `json:"requested_method"` // what was asked for (auto or a method)
	Percentile      float64 `json:"percentile"`
	Rounding        string  `json:"rounding"`
	IO              IO      `json:"io"`
	PerChannelDense bool    `json:"per_channel_dense"`
	CalibImages     int     `json:"calib_images"`
	ValImages       int     `json:"val_images,omitempty"`
	SampleImages    int     `json:"sample_images"` // images behind the per-layer SQNR / cosine
}

// MethodResult is one candidate of --method auto, measured on the
// validation images with the native int8 engine.
type MethodResult struct {
	Method     Method   `json:"method"`
	Agreement  float64  `json:"agreement_pct"`          // int8 top-1 == float top-1
	Accuracy   *float64 `json:"accuracy_pct,omitempty"` // int8 top-1 == label
	OutputSQNR float64  `json:"output_sqnr_db"`         // int8 vs float logits
	Chosen     bool     `json:"chosen"`
}

// Layer is the report of one quantized tensor: the graph input or the
// output of one operator.
type Layer struct {
	Name  string `json:"name"`
	Op    string `json:"op"`
	Shape []int  `json:"shape"`
	// Weights (conv / dense only).
	WeightMin      *float32 `json:"weight_min,omitempty"`
	WeightMax      *float32 `json:"weight_max,omitempty"`
	WeightScaleMin *float32 `json:"weight_scale_min,omitempty"`
	WeightScaleMax *float32 `json:"weight_scale_max,omitempty"`
	PerChannel     bool     `json:"per_channel,omitempty"`
	// Activation.
	ObservedMin float64 `json:"observed_min"` // on the calibration images
	ObservedMax float64 `json:"observed_max"`
	RangeLo     float64 `json:"range_lo"` // chosen clipping range
	RangeHi     float64 `json:"range_hi"`
	Scale       float32 `json:"scale"`
	ZeroPoint   int32   `json:"zero_point"`
	Clipped     float64 `json:"clipped_pct"` // calibration values outside the range
	Shared      string  `json:"shared_with,omitempty"`
	// int8 vs float on the sample images (dequantized int8 tensor from the
	// native engine against the float graph's tensor).
	SQNR      float64    `json:"sqnr_db"` // capped at MaxSQNR when the error is 0
	Cosine    float64    `json:"cosine"`
	MaxAbsErr float64    `json:"max_abs_err"`
	Histogram *Histogram `json:"histogram,omitempty"`
}

// MaxSQNR caps the signal-to-quantization-noise ratio when the int8 tensor
// equals the float one exactly (JSON has no +Inf).
const MaxSQNR = 200.0

// Histogram is a coarse histogram of calibration values over [Lo, Hi].
type Histogram struct {
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	Counts []int64 `json:"counts"`
}

// Size compares the float and int8 .tflite files.
type Size struct {
	FloatBytes int     `json:"float_tflite_bytes"`
	Int8Bytes  int     `json:"int8_tflite_bytes"`
	Ratio      float64 `json:"ratio"` // int8 / float
}

// Accuracy compares float and int8 on the test images.
type Accuracy struct {
	Images        int             `json:"images"`
	Float         float64         `json:"float_pct"`
	Int8          float64         `json:"int8_pct"`
	DropPP        float64         `json:"drop_pp"` // float − int8, percentage points
	Agreement     float64         `json:"agreement_pct"`
	Disagree      int             `json:"disagree"`
	PerClass      []ClassAccuracy `json:"per_class"`
	Disagreements []Disagreement  `json:"disagreements"` // at most MaxDisagreements
	// Digits is the accuracy over the digit images alone, for a model with
	// the reject class (model.RejectLabel): an image of a digit answered
	// "x" counts as wrong and also as rejected.
	Digits *DigitAccuracy `json:"digits,omitempty"`
}

// DigitAccuracy is float and int8 accuracy over the test images whose
// label is a digit, and how many of them each answered "not a digit".
type DigitAccuracy struct {
	Images                int     `json:"images"`
	Float                 float64 `json:"float_pct"`
	Int8                  float64 `json:"int8_pct"`
	DropPP                float64 `json:"drop_pp"`
	FloatReject           float64 `json:"float_rejected_pct"`
	Int8Reject            float64 `json:"int8_rejected_pct"`
	NonDigits             int     `json:"non_digit_images"`
	FloatNonDigitRejected float64 `json:"float_non_digits_rejected_pct"`
	Int8NonDigitRejected  float64 `json:"int8_non_digits_rejected_pct"`
}

// SourceAccuracy is float and int8 accuracy on one data source's images
// (e.g. MNIST's test split next to the user's own image folder).
type SourceAccuracy struct {
	Source    string  `json:"source"`
	Note      string  `json:"note,omitempty"` // e.g. "all images; also calibrated on"
	Images    int     `json:"images"`
	Float     float64 `json:"float_pct"`
	Int8      float64 `json:"int8_pct"`
	DropPP    float64 `json:"drop_pp"`
	Agreement float64 `json:"agreement_pct"`
}

// MaxDisagreements limits the disagreeing images listed in a report.
const MaxDisagreements = 200

// ClassAccuracy is the accuracy on the test images of one class.
type ClassAccuracy struct {
	Class   int     `json:"class"`
	Label   string  `json:"label"`
	Count   int     `json:"count"`
	Float   float64 `json:"float_pct"`
	Int8    float64 `json:"int8_pct"`
	DeltaPP float64 `json:"delta_pp"` // int8 − float
}

// Disagreement is a test image whose float and int8 top-1 differ.
type Disagreement struct {
	Index  int     `json:"index"`
	Label  int     `json:"label"`
	Float  int     `json:"float_pred"`
	Int8   int     `json:"int8_pred"`
	Margin float32 `json:"float_margin"` // float top-1 minus runner-up logit
	Pixels []uint8 `json:"-"`            // for thumbnails
	W, H   int     `json:"-"`
}

// Timing records where the time went, in seconds.
type Timing struct {
	Calibrate float64 `json:"calibrate_s"`
	Select    float64 `json:"select_s"`
	Compare   float64 `json:"compare_s"`
	Evaluate  float64 `json:"evaluate_s"`
	Total     float64 `json:"total_s"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("quantize: report json: %w", err)
	}
	return nil
}

// WriteText writes the terminal summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	s := r.Settings
	fmt.Fprintf(&b, "int8 quantization (%s calibration", s.Method)
	if s.Requested == Auto {
		fmt.Fprintf(&b, ", chosen by auto")
	}
	fmt.Fprintf(&b, ", %d images, %s rounding, %s I/O)\n", s.CalibImages, s.Rounding, s.IO)
	if a := r.Accuracy; a != nil {
		fmt.Fprintf(&b, "  accuracy  float %.2f%%  int8 %.2f%%  drop %+.2f pp  agreement %.2f%% (%d of %d images differ)\n",
			a.Float, a.Int8, a.DropPP, a.Agreement, a.Disagree, a.Images)
		if d := a.Digits; d != nil {
			fmt.Fprintf(&b, "  digits    float %.2f%%  int8 %.2f%%  drop %+.2f pp over %d digit images (answered \"x\": float %.2f%%, int8 %.2f%%)\n",
				d.Float, d.Int8, d.DropPP, d.Images, d.FloatReject, d.Int8Reject)
			fmt.Fprintf(&b, "  not digit float %.2f%%  int8 %.2f%% of %d non-digit images answered \"x\"\n",
				d.FloatNonDigitRejected, d.Int8NonDigitRejected, d.NonDigits)
		}
	}
	if len(r.Sources) > 0 {
		fmt.Fprintf(&b, "  per data source            images    float     int8    drop  agreement\n")
		for _, sa := range r.Sources {
			name := sa.Source
			if sa.Note != "" {
				name += " (" + sa.Note + ")"
			}
			fmt.Fprintf(&b, "    %-24s %6d  %6.2f%%  %6.2f%%  %+5.2f pp  %6.2f%%\n", name, sa.Images, sa.Float, sa.Int8, sa.DropPP, sa.Agreement)
		}
	}
	if r.Size.FloatBytes > 0 {
		fmt.Fprintf(&b, "  size      float %s  int8 %s  (%.1f%%)\n", bytesStr(r.Size.FloatBytes), bytesStr(r.Size.Int8Bytes), 100*r.Size.Ratio)
	}
	fmt.Fprintf(&b, "  model     %d parameters, %d MACs per inference\n", r.Model.Params, r.Model.MACs)
	if len(r.Methods) > 0 {
		fmt.Fprintf(&b, "  methods   (validation, %d images)\n", s.ValImages)
		for _, m := range r.Methods {
			mark := " "
			if m.Chosen {
				mark = "*"
			}
			acc := "    -  "
			if m.Accuracy != nil {
				acc = fmt.Sprintf("%6.2f%%", *m.Accuracy)
			}
			fmt.Fprintf(&b, "   %s %-10s agreement %6.2f%%  accuracy %s  logits SQNR %5.1f dB\n", mark, m.Method, m.Agreement, acc, m.OutputSQNR)
		}
	}
	if q := r.QAT; q != nil {
		writeQATText(&b, q)
	}
	fmt.Fprintf(&b, "  %-14s %-20s %-23s %-10s %5s %8s %8s\n", "layer", "op", "range", "scale", "zp", "SQNR dB", "cosine")
	for _, l := range r.Layers {
		fmt.Fprintf(&b, "  %-14s %-20s [%9.4g, %9.4g] %-10.4g %5d %8.1f %8.5f\n", l.Name, l.Op, l.RangeLo, l.RangeHi, l.Scale, l.ZeroPoint, l.SQNR, l.Cosine)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	fmt.Fprintf(&b, "  time      %.1fs (calibrate %.1fs, select %.1fs, compare %.1fs, evaluate %.1fs)\n",
		r.Timing.Total, r.Timing.Calibrate, r.Timing.Select, r.Timing.Compare, r.Timing.Evaluate)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the report as a Markdown document.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	s := r.Settings
	fmt.Fprintf(&b, "# int8 quantization report\n\n")
	if r.Model.Source != "" {
		fmt.Fprintf(&b, "Model `%s`, ", r.Model.Source)
	}
	fmt.Fprintf(&b, "%s, %d parameters, %d MACs per inference.\n\n", r.Created.UTC().Format(time.RFC3339), r.Model.Params, r.Model.MACs)
	fmt.Fprintf(&b, "| setting | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| method | %s (requested %s) |\n| percentile | %g |\n| rounding | %s |\n| I/O | %s |\n| calibration images | %d |\n| validation images | %d |\n| per-layer sample | %d |\n\n",
		s.Method, s.Requested, s.Percentile, s.Rounding, s.IO, s.CalibImages, s.ValImages, s.SampleImages)
	if a := r.Accuracy; a != nil {
		fmt.Fprintf(&b, "## Accuracy (%d test images)\n\n| | float | int8 |\n|---|---|---|\n| top-1 | %.2f%% | %.2f%% |\n\n", a.Images, a.Float, a.Int8)
		fmt.Fprintf(&b, "Drop **%+.2f pp**, top-1 agreement **%.2f%%** (%d images differ).\n\n", a.DropPP, a.Agreement, a.Disagree)
		if d := a.Digits; d != nil {
			fmt.Fprintf(&b, "Digits only (%d images): float %.2f%%, int8 %.2f%%, drop **%+.2f pp**; answered \"x\": float %.2f%%, int8 %.2f%%. Non-digits (%d images) answered \"x\": float %.2f%%, int8 %.2f%%.\n\n",
				d.Images, d.Float, d.Int8, d.DropPP, d.FloatReject, d.Int8Reject, d.NonDigits, d.FloatNonDigitRejected, d.Int8NonDigitRejected)
		}
		fmt.Fprintf(&b, "| class | images | float | int8 | delta (pp) |\n|---|---|---|---|---|\n")
		for _, c := range a.PerClass {
			fmt.Fprintf(&b, "| %s | %d | %.2f%% | %.2f%% | %+.2f |\n", c.Label, c.Count, c.Float, c.Int8, c.DeltaPP)
		}
		if len(a.Disagreements) > 0 {
			fmt.Fprintf(&b, "\nDisagreeing images (test index: label, float → int8): ")
			for i, d := range a.Disagreements {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "#%d: %d, %d → %d", d.Index, d.Label, d.Float, d.Int8)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	if len(r.Sources) > 0 {
		fmt.Fprintf(&b, "## Accuracy per data source\n\n| source | images | float | int8 | drop (pp) | agreement |\n|---|---|---|---|---|---|\n")
		for _, sa := range r.Sources {
			note := ""
			if sa.Note != "" {
				note = " (" + sa.Note + ")"
			}
			fmt.Fprintf(&b, "| `%s`%s | %d | %.2f%% | %.2f%% | %+.2f | %.2f%% |\n", sa.Source, note, sa.Images, sa.Float, sa.Int8, sa.DropPP, sa.Agreement)
		}
		b.WriteString("\n")
	}
	if r.Size.FloatBytes > 0 {
		fmt.Fprintf(&b, "## Size\n\n| | bytes |\n|---|---|\n| float .tflite | %d |\n| int8 .tflite | %d (%.1f%%) |\n\n", r.Size.FloatBytes, r.Size.Int8Bytes, 100*r.Size.Ratio)
	}
	if len(r.Methods) > 0 {
		fmt.Fprintf(&b, "## Calibration methods (%d validation images)\n\n| method | agreement | accuracy | logits SQNR (dB) | chosen |\n|---|---|---|---|---|\n", s.ValImages)
		for _, m := range r.Methods {
			acc := "-"
			if m.Accuracy != nil {
				acc = fmt.Sprintf("%.2f%%", *m.Accuracy)
			}
			ch := ""
			if m.Chosen {
				ch = "yes"
			}
			fmt.Fprintf(&b, "| %s | %.2f%% | %s | %.1f | %s |\n", m.Method, m.Agreement, acc, m.OutputSQNR, ch)
		}
		b.WriteString("\n")
	}
	if q := r.QAT; q != nil {
		writeQATMarkdown(&b, q)
	}
	fmt.Fprintf(&b, "## Layers\n\n| tensor | op | weights | weight scale | observed | range | scale | zp | clipped | SQNR (dB) | cosine |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, l := range r.Layers {
		wr, ws := "", ""
		if l.WeightMin != nil {
			wr = fmt.Sprintf("[%.4g, %.4g]", *l.WeightMin, *l.WeightMax)
			ws = fmt.Sprintf("%.3g…%.3g", *l.WeightScaleMin, *l.WeightScaleMax)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | [%.4g, %.4g] | [%.4g, %.4g] | %.4g | %d | %.3f%% | %.1f | %.5f |\n",
			l.Name, l.Op, wr, ws, l.ObservedMin, l.ObservedMax, l.RangeLo, l.RangeHi, l.Scale, l.ZeroPoint, l.Clipped, l.SQNR, l.Cosine)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\nTime: %.1f s.\n", r.Timing.Total)
	_, err := io.WriteString(w, b.String())
	return err
}

func bytesStr(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// round4 keeps reports readable and JSON stable.
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// ErrReportFormat is returned (wrapped) for a report path whose extension
// is not .json, .md or .html.
var ErrReportFormat = errors.New("unknown report format")

// WriteFile writes the report to path atomically, in the format its
// extension names: .json, .md (Markdown) or .html / .htm.
func (r *Report) WriteFile(path string) error {
	var write func(io.Writer) error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		write = r.WriteJSON
	case ".md", ".markdown":
		write = r.WriteMarkdown
	case ".html", ".htm":
		write = r.WriteHTML
	default:
		return fmt.Errorf("quantize: report %s: %w %q (use .json, .md or .html)", path, ErrReportFormat, filepath.Ext(path))
	}
	if err := atomicfile.Write(path, 0o644, write); err != nil {
		return fmt.Errorf("quantize: report: %w", err)
	}
	return nil
}

// CheckReportPath reports early whether path can receive a report: a known
// extension and a writable directory (a temporary file is created and
// removed there).
func CheckReportPath(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".md", ".markdown", ".html", ".htm":
	default:
		return fmt.Errorf("quantize: report %s: %w %q (use .json, .md or .html)", path, ErrReportFormat, filepath.Ext(path))
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".check-*")
	if err != nil {
		return fmt.Errorf("quantize: report %s is not writable: %w", path, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}
