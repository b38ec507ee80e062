package quantize

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/png"
	"io"
	"math"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained HTML page: inline CSS,
// inline SVG histograms and PNG data-URI thumbnails; no scripts, no
// network.
func (r *Report) WriteHTML(w io.Writer) error {
	var buf bytes.Buffer
	if err := htmlTmpl.Execute(&buf, r); err != nil {
		return fmt.Errorf("quantize: html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1":    func(x float64) string { return fmt.Sprintf("%.1f", x) },
	"f2":    func(x float64) string { return fmt.Sprintf("%.2f", x) },
	"g4":    func(x float64) string { return fmt.Sprintf("%.4g", x) },
	"g4f":   func(x float32) string { return fmt.Sprintf("%.4g", x) },
	"g3f":   func(x float32) string { return fmt.Sprintf("%.3g", x) },
	"sgn2":  func(x float64) string { return fmt.Sprintf("%+.2f", x) },
	"bytes": bytesStr,
	"pct":   func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) },
	"time":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"shape": func(s []int) string {
		p := make([]string, len(s))
		for i, d := range s {
			p[i] = fmt.Sprint(d)
		}
		return strings.Join(p, "×")
	},
	"hist":  histSVG,
	"thumb": thumbURL,
	"bar":   deltaBar,
	"cls": func(x float64) string {
		switch {
		case x < 0:
			return "neg"
		case x > 0:
			return "pos"
		}
		return ""
	},
	"deref":  func(p *float64) float64 { return *p },
	"derefF": func(p *float32) float32 { return *p },
}).Parse(htmlSrc))

// histSVG draws a layer's calibration histogram (log counts) with the
// chosen clipping range shaded and marked.
func histSVG(l Layer) template.HTML {
	h := l.Histogram
	if h == nil || len(h.Counts) == 0 {
		return ""
	}
	const W, H, pad = 360.0, 110.0, 18.0
	span := h.Hi - h.Lo
	if span <= 0 {
		span = 1
	}
	x := func(v float64) float64 { return pad + (v-h.Lo)/span*(W-2*pad) }
	var mx int64
	for _, c := range h.Counts {
		mx = max(mx, c)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" role="img" aria-label="histogram of %s">`,
		W, H+16, W, H+16, template.HTMLEscapeString(l.Name))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%g" height="%g" fill="#f7f7f9"/>`, W, H)
	lo, hi := math.Max(l.RangeLo, h.Lo), math.Min(l.RangeHi, h.Hi)
	fmt.Fprintf(&b, `<rect x="%.2f" y="0" width="%.2f" height="%g" fill="#e3f0e6"/>`, x(lo), math.Max(x(hi)-x(lo), 0.5), H)
	bw := (W - 2*pad) / float64(len(h.Counts))
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		v := math.Log1p(float64(c)) / math.Log1p(float64(mx))
		bh := v * (H - 8)
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="#3b6ea8"/>`, pad+float64(i)*bw, H-bh, math.Max(bw-0.6, 0.4), bh)
	}
	fmt.Fprintf(&b, `<line x1="%.2f" y1="0" x2="%.2f" y2="%g" stroke="#c0392b" stroke-width="1.5"/>`, x(lo), x(lo), H)
	fmt.Fprintf(&b, `<line x1="%.2f" y1="0" x2="%.2f" y2="%g" stroke="#c0392b" stroke-width="1.5"/>`, x(hi), x(hi), H)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#555">%.3g</text>`, pad, H+12, h.Lo)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#555" text-anchor="end">%.3g</text>`, W-pad, H+12, h.Hi)
	eps := 1e-5 * span // ranges in the report are rounded to 6 decimals
	if hi < h.Hi-eps {
		fmt.Fprintf(&b, `<text x="%.2f" y="11" font-size="10" fill="#c0392b" text-anchor="end">clip %.3g</text>`, x(hi)-3, hi)
	}
	if lo > h.Lo+eps {
		fmt.Fprintf(&b, `<text x="%.2f" y="11" font-size="10" fill="#c0392b">clip %.3g</text>`, x(lo)+3, lo)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built only from numbers and escaped text
}

// thumbURL encodes a disagreeing image as a PNG data URI (ink dark on
// white, as on paper).
func thumbURL(d Disagreement) template.URL {
	if len(d.Pixels) == 0 || d.W*d.H != len(d.Pixels) {
		return ""
	}
	img := image.NewGray(image.Rect(0, 0, d.W, d.H))
	for i, p := range d.Pixels {
		img.Pix[i] = 255 - p
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// deltaBar draws a small centred bar for a per-class delta in pp (±1 pp
// spans the width).
func deltaBar(d float64) template.HTML {
	const W = 120.0
	v := math.Max(-1, math.Min(1, d)) * W / 2
	col := "#2e8b57"
	x := W / 2
	if v < 0 {
		col = "#c0392b"
		x += v
	}
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="12"><line x1="%g" y1="0" x2="%g" y2="12" stroke="#999"/><rect x="%.2f" y="2" width="%.2f" height="8" fill="%s"/></svg>`,
		W, W/2, W/2, x, math.Abs(v), col))
}

const htmlSrc = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgecnn int8 quantization report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1140px;color:#1d1d1f;background:#fff;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:150px;background:#fafafa}
.card .k{color:#666;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .v{font-size:22px;font-weight:600}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:middle}th{background:#f0f0f3}
td.l,th.l{text-align:left}
.neg{color:#c0392b}.pos{color:#2e8b57}
.chosen{background:#e3f0e6;font-weight:600}
.layers{display:grid;grid-template-columns:repeat(auto-fill,minmax(370px,1fr));gap:12px}
.layer{border:1px solid #ddd;border-radius:8px;padding:8px 10px}
.layer h3{font-size:14px;margin:0 0 4px}.layer .meta{font-size:12px;color:#444}
.grid{display:flex;flex-wrap:wrap;gap:8px}
.img{border:1px solid #ddd;border-radius:6px;padding:4px;text-align:center;font-size:11px;width:76px}
.img img{width:56px;height:56px;image-rendering:pixelated;display:block;margin:0 auto 2px}
.note{color:#555}
.wide{overflow-x:auto}.wide table{font-size:12.5px}.wide td,.wide th{padding:3px 6px}
</style>
</head>
<body>
<h1>int8 quantization report</h1>
<div class="sub">{{if .Model.Source}}<code>{{.Model.Source}}</code> · {{end}}{{time .Created}} · {{.Tool}}</div>

<div class="cards">
{{with .Accuracy}}
<div class="card"><div class="k">float accuracy</div><div class="v">{{f2 .Float}}%</div></div>
<div class="card"><div class="k">int8 accuracy</div><div class="v">{{f2 .Int8}}%</div></div>
<div class="card"><div class="k">drop</div><div class="v">{{sgn2 .DropPP}} pp</div></div>
<div class="card"><div class="k">top-1 agreement</div><div class="v">{{f2 .Agreement}}%</div><div class="note">{{.Disagree}} of {{.Images}} differ</div></div>
{{end}}
{{if .Size.FloatBytes}}<div class="card"><div class="k">size</div><div class="v">{{bytes .Size.Int8Bytes}}</div><div class="note">float {{bytes .Size.FloatBytes}} · {{pct .Size.Ratio}}</div></div>{{end}}
<div class="card"><div class="k">parameters</div><div class="v">{{.Model.Params}}</div><div class="note">{{.Model.MACs}} MACs / inference</div></div>
<div class="card"><div class="k">time</div><div class="v">{{f1 .Timing.Total}} s</div></div>
</div>

<h2>Settings</h2>
<table>
<tr><th class="l">calibration method</th><td class="l">{{.Settings.Method}}{{if ne .Settings.Method .Settings.Requested}} (chosen by {{.Settings.Requested}}){{end}}</td></tr>
<tr><th class="l">percentile</th><td class="l">{{.Settings.Percentile}}</td></tr>
<tr><th class="l">rounding</th><td class="l">{{.Settings.Rounding}}</td></tr>
<tr><th class="l">input / output</th><td class="l">{{.Settings.IO}}</td></tr>
<tr><th class="l">dense weights</th><td class="l">{{if .Settings.PerChannelDense}}per channel{{else}}per tensor{{end}} (convolutions per channel)</td></tr>
<tr><th class="l">calibration images</th><td class="l">{{.Settings.CalibImages}}</td></tr>
{{if .Settings.ValImages}}<tr><th class="l">validation images</th><td class="l">{{.Settings.ValImages}}</td></tr>{{end}}
<tr><th class="l">per-layer sample</th><td class="l">{{.Settings.SampleImages}} images</td></tr>
</table>

{{if .Sources}}
<h2>Accuracy per data source (float and int8, native int8 engine)</h2>
<table>
<tr><th class="l">source</th><th>images</th><th>float</th><th>int8</th><th>drop (pp)</th><th>agreement</th></tr>
{{range .Sources}}<tr><td class="l"><code>{{.Source}}</code>{{if .Note}} <span class="note">({{.Note}})</span>{{end}}</td><td>{{.Images}}</td><td>{{f2 .Float}}%</td><td>{{f2 .Int8}}%</td><td>{{sgn2 .DropPP}}</td><td>{{f2 .Agreement}}%</td></tr>
{{end}}</table>
{{end}}

{{if .Methods}}
<h2>Calibration methods ({{.Settings.ValImages}} validation images, native int8 engine)</h2>
<table>
<tr><th class="l">method</th><th>agreement</th><th>accuracy</th><th>logits SQNR (dB)</th></tr>
{{range .Methods}}<tr{{if .Chosen}} class="chosen"{{end}}><td class="l">{{.Method}}{{if .Chosen}} ✓{{end}}</td><td>{{f2 .Agreement}}%</td><td>{{if .Accuracy}}{{f2 (deref .Accuracy)}}%{{else}}–{{end}}</td><td>{{f1 .OutputSQNR}}</td></tr>
{{end}}</table>
{{end}}

{{with .QAT}}
<h2>Quantization-aware training</h2>
<p>{{.Reason}}. Kept: <b>{{.Kept}}</b>.</p>
<table>
<tr><th class="l"></th><th>val float</th><th>val int8</th><th>val drop (pp)</th><th>val agreement</th><th>test float</th><th>test int8</th><th>test drop (pp)</th><th>test agreement</th></tr>
{{with .PTQ}}<tr><td class="l">PTQ</td><td>{{f2 .ValFloat}}%</td><td>{{f2 .ValInt8}}%</td><td>{{sgn2 .ValDropPP}}</td><td>{{f2 .ValAgreement}}%</td>{{if .TestImages}}<td>{{f2 .TestFloat}}%</td><td>{{f2 .TestInt8}}%</td><td>{{sgn2 .TestDropPP}}</td><td>{{f2 .TestAgreement}}%</td>{{else}}<td>–</td><td>–</td><td>–</td><td>–</td>{{end}}</tr>{{end}}
{{with .QAT}}<tr class="chosen"><td class="l">QAT</td><td>{{f2 .ValFloat}}%</td><td>{{f2 .ValInt8}}%</td><td>{{sgn2 .ValDropPP}}</td><td>{{f2 .ValAgreement}}%</td>{{if .TestImages}}<td>{{f2 .TestFloat}}%</td><td>{{f2 .TestInt8}}%</td><td>{{sgn2 .TestDropPP}}</td><td>{{f2 .TestAgreement}}%</td>{{else}}<td>–</td><td>–</td><td>–</td><td>–</td>{{end}}</tr>{{end}}
</table>
<p class="note">{{.Epochs}} epochs · Adam lr {{.LR}} · threshold {{.Threshold}} pp{{if .Forced}} (forced){{end}} · {{.TrainImages}} training images · {{f1 .TrainTime}} s{{range .Candidates}} · {{.Ranges}} ranges: val int8 {{f2 .ValInt8}}%{{if .Chosen}} ✓{{end}}{{end}}{{range .EpochStats}} · epoch {{.Epoch}} loss {{printf "%.4f" .Loss}}{{end}}</p>
{{end}}

{{with .Accuracy}}{{if .PerClass}}
<h2>Per class ({{.Images}} test images)</h2>
<table>
<tr><th class="l">class</th><th>images</th><th>float</th><th>int8</th><th>delta (pp)</th><th class="l">±1 pp</th></tr>
{{range .PerClass}}<tr><td class="l">{{.Label}}</td><td>{{.Count}}</td><td>{{f2 .Float}}%</td><td>{{f2 .Int8}}%</td><td class="{{cls .DeltaPP}}">{{sgn2 .DeltaPP}}</td><td class="l">{{bar .DeltaPP}}</td></tr>
{{end}}</table>
{{end}}{{end}}

<h2>Layers</h2>
<div class="wide"><table>
<tr><th class="l">tensor</th><th class="l">op</th><th>shape</th><th>weights</th><th>weight scale</th><th>observed</th><th>range</th><th>scale</th><th>zp</th><th>clipped</th><th>SQNR (dB)</th><th>cosine</th></tr>
{{range .Layers}}<tr><td class="l">{{.Name}}</td><td class="l">{{.Op}}</td><td>{{shape .Shape}}</td>
<td>{{if .WeightMin}}[{{g3f (derefF .WeightMin)}}, {{g3f (derefF .WeightMax)}}]{{end}}</td>
<td>{{if .WeightScaleMin}}{{g3f (derefF .WeightScaleMin)}}{{if ne (derefF .WeightScaleMin) (derefF .WeightScaleMax)}}…{{g3f (derefF .WeightScaleMax)}}{{end}}{{end}}</td>
<td>{{if .Histogram}}[{{g4 .ObservedMin}}, {{g4 .ObservedMax}}]{{else}}as {{.Shared}}{{end}}</td>
<td>[{{g4 .RangeLo}}, {{g4 .RangeHi}}]</td><td>{{g4f .Scale}}</td><td>{{.ZeroPoint}}</td><td>{{g4 .Clipped}}%</td><td>{{f1 .SQNR}}</td><td>{{printf "%.5f" .Cosine}}</td></tr>
{{end}}</table></div>
<p class="note">SQNR and cosine compare the dequantized int8 tensors computed by the native engine with the float graph's tensors on the sample images. Histograms: calibration values (log counts); the shaded band between the red lines is the int8 range, values outside it are clipped.</p>
<div class="layers">
{{range .Layers}}{{if .Histogram}}<div class="layer"><h3>{{.Name}} <span class="note">{{.Op}}</span></h3>
{{hist .}}
<div class="meta">range [{{g4 .RangeLo}}, {{g4 .RangeHi}}] · scale {{g4f .Scale}} · zp {{.ZeroPoint}} · clipped {{g4 .Clipped}}% · SQNR {{f1 .SQNR}} dB</div></div>
{{end}}{{end}}
</div>

{{with .Accuracy}}
<h2>Disagreeing images ({{.Disagree}})</h2>
{{if .Disagreements}}<div class="grid">
{{range .Disagreements}}<div class="img">{{with thumb .}}<img alt="test image" src="{{.}}">{{end}}#{{.Index}}<br>label {{.Label}}<br>float {{.Float}} · <b>int8 {{.Int8}}</b></div>
{{end}}</div>{{else}}<p>None: float and int8 agree on every test image.</p>{{end}}
{{end}}

{{if .Notes}}<h2>Notes</h2><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="note">Timing: calibrate {{f1 .Timing.Calibrate}} s · select {{f1 .Timing.Select}} s · compare {{f1 .Timing.Compare}} s · evaluate {{f1 .Timing.Evaluate}} s · total {{f1 .Timing.Total}} s.</p>
</body>
</html>
`
