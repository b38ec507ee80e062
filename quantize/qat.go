package quantize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train"
)

// ErrQATOptions is returned (wrapped) for invalid quantization-aware
// training settings.
var ErrQATOptions = errors.New("invalid quantization-aware training settings")

// QATOptions configure QuantizeQAT.
type QATOptions struct {
	// Epochs of fine-tuning over the training images (0: post-training
	// quantization only; negative is an error).
	Epochs int
	// LR is Adam's learning rate (0: 1e-4).
	LR float64
	// Threshold (percentage points): fine-tune only when the PTQ accuracy
	// drop on the validation images (Options.Val) exceeds it, unless Force.
	Threshold float64
	Force     bool
	// Batch size (0: 64) and shuffling seed (0: 1).
	Batch int
	Seed  uint64
	// The fine-tuning set: raw 8-bit images in the model's input layout
	// (one byte per value, normalized with the model's normalization) and
	// their labels. Index selects the images to train on (nil: all).
	Pixels []uint8
	Labels []uint8
	Index  []int
	// Progress, when set, is called after every epoch.
	Progress func(epoch int, loss, accuracy float64)
}

// QATReport is the report's quantization-aware training section: the PTQ
// result, whether fine-tuning ran, and what it gave. Every int8 number comes
// from the native int8 engine.
type QATReport struct {
	Epochs      int     `json:"epochs"`
	LR          float64 `json:"lr"`
	Threshold   float64 `json:"threshold_pp"`
	Forced      bool    `json:"forced"`
	TrainImages int     `json:"train_images"`
	Ran         bool    `json:"ran"`
	// Kept is "qat" when the fine-tuned int8 model was kept, "ptq" when the
	// post-training one was (QAT skipped, or not better on validation).
	Kept string `json:"kept"`
	// Ranges says which activation ranges the kept QAT model uses:
	// "trained" (the PTQ ranges QAT fine-tuned against) or "recalibrated".
	Ranges     string        `json:"ranges,omitempty"`
	Reason     string        `json:"reason"`
	PTQ        QATResult     `json:"ptq"`
	QAT        *QATResult    `json:"qat,omitempty"`
	Candidates []QATRequant  `json:"requantized,omitempty"`
	EpochStats []QATEpoch    `json:"epoch_stats,omitempty"`
	TrainTime  float64       `json:"train_s"`
	Layers     []QATActRange `json:"fake_quant,omitempty"` // what the forward pass fake-quantized
}

// QATResult is float vs int8 on the validation and (when given) test
// images.
type QATResult struct {
	ValImages     int     `json:"val_images"`
	ValFloat      float64 `json:"val_float_pct"`
	ValInt8       float64 `json:"val_int8_pct"`
	ValDropPP     float64 `json:"val_drop_pp"`
	ValAgreement  float64 `json:"val_agreement_pct"`
	TestImages    int     `json:"test_images,omitempty"`
	TestFloat     float64 `json:"test_float_pct,omitempty"`
	TestInt8      float64 `json:"test_int8_pct,omitempty"`
	TestDropPP    float64 `json:"test_drop_pp,omitempty"`
	TestAgreement float64 `json:"test_agreement_pct,omitempty"`
}

// QATRequant is one way of re-quantizing the fine-tuned model, measured on
// the validation images.
type QATRequant struct {
	Ranges       string  `json:"ranges"`
	ValInt8      float64 `json:"val_int8_pct"`
	ValAgreement float64 `json:"val_agreement_pct"`
	Chosen       bool    `json:"chosen"`
}

// QATEpoch is one fine-tuning epoch (fake-quantized forward pass).
type QATEpoch struct {
	Epoch    int     `json:"epoch"`
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"train_accuracy_pct"`
}

// QATActRange is one fake-quantized activation.
type QATActRange struct {
	Tensor    string  `json:"tensor"`
	Scale     float32 `json:"scale"`
	ZeroPoint int32   `json:"zero_point"`
}

func (q *QATOptions) check(per int) error {
	switch {
	case q.Epochs < 0:
		return fmt.Errorf("quantize: %w: --qat-epochs %d must not be negative", ErrQATOptions, q.Epochs)
	case math.IsNaN(q.LR) || q.LR < 0 || math.IsInf(q.LR, 0):
		return fmt.Errorf("quantize: %w: --qat-lr %v must be a positive number", ErrQATOptions, q.LR)
	case math.IsNaN(q.Threshold) || math.IsInf(q.Threshold, 0) || q.Threshold < 0:
		return fmt.Errorf("quantize: %w: --qat-threshold %v must be a non-negative number of percentage points", ErrQATOptions, q.Threshold)
	case q.Batch < 0:
		return fmt.Errorf("quantize: %w: batch %d must not be negative", ErrQATOptions, q.Batch)
	}
	if q.Epochs == 0 {
		return nil
	}
	if per <= 0 || len(q.Pixels)%per != 0 || len(q.Pixels)/per != len(q.Labels) {
		return fmt.Errorf("quantize: %w: %d pixel bytes and %d labels do not form images of %d values", ErrQATOptions, len(q.Pixels), len(q.Labels), per)
	}
	n := len(q.Labels)
	if q.Index == nil && n == 0 || q.Index != nil && len(q.Index) == 0 {
		return fmt.Errorf("quantize: %w: no training images", ErrQATOptions)
	}
	for _, i := range q.Index {
		if i < 0 || i >= n {
			return fmt.Errorf("quantize: %w: training image %d not in the set of %d", ErrQATOptions, i, n)
		}
	}
	return nil
}

// QuantizeQAT is Quantize followed, when needed, by quantization-aware
// fine-tuning:
//
//  1. Post-training quantization as Quantize, then float and int8 top-1 on
//     the validation images (opts.Val, required).
//  2. When the PTQ drop on them exceeds q.Threshold (or q.Force), the
//     BatchNorm-folded float model (the weights the float graph uses) is
//     fine-tuned for q.Epochs with Adam on a fake-quantized forward pass
//     (train.FakeQuant: weights symmetric int8 per output channel for
//     convolutions and per tensor for dense layers as the int8 graph,
//     activations with the scale and zero point PTQ chose, straight-through
//     estimator). The logits are not fake-quantized: their int8 range is
//     always the calibrated min/max, never a clipping decision.
//  3. The fine-tuned model is re-quantized twice, with the activation
//     ranges it was trained against and with freshly calibrated ones
//     (opts.Method); the better on validation is the QAT candidate. It is
//     kept when its validation int8 accuracy is at least PTQ's; otherwise
//     the PTQ model is returned. The report's QAT section has both.
//
// The caller's model is never modified.
func QuantizeQAT(ctx context.Context, m *model.Model, calib Images, opts Options, q QATOptions) (*model.Graph, *Report, error) {
	if m == nil {
		return nil, nil, errors.New("quantize: nil model")
	}
	if err := q.check(m.Input().Size()); err != nil {
		return nil, nil, err
	}
	if q.LR == 0 {
		q.LR = 1e-4
	}
	if q.Batch == 0 {
		q.Batch = 64
	}
	if q.Seed == 0 {
		q.Seed = 1
	}
	if q.Epochs > 0 && opts.Val.N == 0 {
		return nil, nil, fmt.Errorf("quantize: %w: quantization-aware training needs validation images (Options.Val) to measure the PTQ drop", ErrQATOptions)
	}
	g, rep, err := Quantize(ctx, m, calib, opts)
	if err != nil || q.Epochs == 0 {
		return g, rep, err
	}
	ntrain := len(q.Index)
	if q.Index == nil {
		ntrain = len(q.Labels)
	}
	qr := &QATReport{Epochs: q.Epochs, LR: q.LR, Threshold: q.Threshold, Forced: q.Force, TrainImages: ntrain, Kept: "ptq"}
	rep.QAT = qr
	ptq, err := measure(ctx, m, g, opts, rep.Accuracy)
	if err != nil {
		return nil, nil, err
	}
	qr.PTQ = ptq
	if ptq.ValDropPP <= q.Threshold && !q.Force {
		qr.Reason = fmt.Sprintf("PTQ drop on %d validation images is %.2f pp, not above the %.2f pp threshold: no fine-tuning needed", ptq.ValImages, ptq.ValDropPP, q.Threshold)
		return g, rep, nil
	}

	// 2. Fine-tune the folded model with fake quantization.
	fm, err := foldedModel(m)
	if err != nil {
		return nil, nil, err
	}
	fq, acts, err := fakeQuantFrom(fm, rep.Layers)
	if err != nil {
		return nil, nil, err
	}
	qr.Layers = acts
	t0 := time.Now()
	stats, err := fineTune(ctx, fm, fq, q, opts.Threads)
	qr.TrainTime = round4(time.Since(t0).Seconds())
	qr.EpochStats = stats
	if err != nil {
		return nil, nil, err
	}
	qr.Ran = true

	// 3. Re-quantize: with the trained ranges and recalibrated.
	fixed := map[string]Range{}
	for _, a := range acts {
		fixed[a.Tensor] = Range{Lo: float64(-128-a.ZeroPoint) * float64(a.Scale), Hi: float64(127-a.ZeroPoint) * float64(a.Scale)}
	}
	type cand struct {
		name string
		g    *model.Graph
		rep  *Report
		res  QATResult
	}
	var cands []*cand
	for _, c := range []struct {
		name  string
		fixed map[string]Range
	}{{"trained", fixed}, {"recalibrated", nil}} {
		o := opts
		if c.fixed != nil && o.Method == Auto {
			o.Method = MinMax // the ranges are given; auto has nothing to choose
		}
		g2, rep2, err := quantizeModel(ctx, fm, calib, o, c.fixed)
		if err != nil {
			return nil, nil, fmt.Errorf("quantize: re-quantizing after QAT (%s ranges): %w", c.name, err)
		}
		if c.fixed != nil {
			rep2.Notes = append(rep2.Notes, "activation ranges: the ones quantization-aware training fine-tuned against (chosen by PTQ calibration); logits range: min/max recalibrated")
		}
		res, err := measure(ctx, fm, g2, opts, rep2.Accuracy)
		if err != nil {
			return nil, nil, err
		}
		cands = append(cands, &cand{c.name, g2, rep2, res})
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if c.res.ValInt8 > best.res.ValInt8 || c.res.ValInt8 == best.res.ValInt8 && c.res.ValAgreement > best.res.ValAgreement {
			best = c
		}
	}
	for _, c := range cands {
		qr.Candidates = append(qr.Candidates, QATRequant{Ranges: c.name, ValInt8: c.res.ValInt8, ValAgreement: c.res.ValAgreement, Chosen: c == best})
	}
	after := best.res
	qr.QAT, qr.Ranges = &after, best.name
	if after.ValInt8 < ptq.ValInt8 {
		qr.Reason = fmt.Sprintf("fine-tuned int8 model scored %.2f%% on validation, below PTQ's %.2f%%: kept the PTQ model", after.ValInt8, ptq.ValInt8)
		return g, rep, nil
	}
	qr.Kept = "qat"
	qr.Reason = fmt.Sprintf("PTQ drop on validation %.2f pp (threshold %.2f pp%s): fine-tuned %d epochs; int8 validation accuracy %.2f%% → %.2f%%",
		ptq.ValDropPP, q.Threshold, map[bool]string{true: ", forced", false: ""}[q.Force], q.Epochs, ptq.ValInt8, after.ValInt8)
	out := best.rep
	out.QAT = qr
	out.Model.Source = rep.Model.Source
	out.Notes = append(out.Notes, "quantization-aware fine-tuning changed the float weights: the float accuracy above is the fine-tuned float model's")
	out.Timing.Total = round4(rep.Timing.Total + qr.TrainTime + out.Timing.Total)
	return best.g, out, nil
}

// measure computes float and int8 top-1 on the validation images (int8 by
// the native engine) and copies the test numbers of acc.
func measure(ctx context.Context, m *model.Model, g *model.Graph, opts Options, acc *Accuracy) (QATResult, error) {
	val := opts.Val
	r := QATResult{ValImages: val.N}
	k := m.Arch.Classes
	fOut := make([]float32, val.N*k)
	if err := train.Predict(ctx, m, val.X, val.N, max(opts.Threads, 1), fOut); err != nil {
		return r, fmt.Errorf("quantize: float inference: %w", err)
	}
	batch := opts.Batch
	if batch <= 0 {
		batch = 256
	}
	ie, err := newEngine(g, opts.Threads, batch, opts.Rounding, false)
	if err != nil {
		return r, err
	}
	defer ie.close()
	qOut, err := ie.outputs(ctx, val)
	if err != nil {
		return r, err
	}
	fTop, qTop := argmax(fOut, k), argmax(qOut, k)
	fc, qc, agree := 0, 0, 0
	for i := range fTop {
		if fTop[i] == qTop[i] {
			agree++
		}
		if val.Labels != nil {
			if fTop[i] == val.Labels[i] {
				fc++
			}
			if qTop[i] == val.Labels[i] {
				qc++
			}
		}
	}
	r.ValFloat, r.ValInt8 = round4(pct(fc, val.N)), round4(pct(qc, val.N))
	r.ValDropPP = round4(r.ValFloat - r.ValInt8)
	r.ValAgreement = round4(pct(agree, val.N))
	if acc != nil {
		r.TestImages, r.TestFloat, r.TestInt8, r.TestDropPP, r.TestAgreement = acc.Images, acc.Float, acc.Int8, acc.DropPP, acc.Agreement
	}
	return r, nil
}

// foldedModel returns a copy of m without BatchNorm: its convolutions carry
// the folded weights and biases of the float graph.
func foldedModel(m *model.Model) (*model.Model, error) {
	fg, err := model.FloatGraph(m)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	byName := map[string]*model.Tensor{}
	for i := range fg.Tensors {
		byName[fg.Tensors[i].Name] = &fg.Tensors[i]
	}
	a := m.Arch
	a.BatchNorm = false
	fm, err := model.New(a)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	fm.Norm = m.Norm
	fm.Labels = append([]string(nil), m.Labels...)
	for i := range fm.Layers {
		l := &fm.Layers[i]
		if l.Kind != model.KindConv2D && l.Kind != model.KindDense {
			continue
		}
		w, b := byName[l.Name+"/weights"], byName[l.Name+"/bias"]
		if w == nil || b == nil {
			return nil, fmt.Errorf("quantize: folding: the float graph has no weights for layer %q", l.Name)
		}
		wv, bv := model.BytesF32(w.Data), model.BytesF32(b.Data)
		if len(wv) != len(l.Weight) || len(bv) != len(l.Bias) {
			return nil, fmt.Errorf("quantize: folding: layer %q has %d/%d weights/biases in the float graph, want %d/%d", l.Name, len(wv), len(bv), len(l.Weight), len(l.Bias))
		}
		copy(l.Weight, wv)
		copy(l.Bias, bv)
	}
	return fm, nil
}

// fakeQuantFrom builds the trainer's fake quantization from the PTQ
// report's activation parameters: the input and every conv/dense output
// but the logits.
func fakeQuantFrom(fm *model.Model, layers []Layer) (*train.FakeQuant, []QATActRange, error) {
	byName := map[string]Layer{}
	for _, l := range layers {
		byName[l.Name] = l
	}
	fq := &train.FakeQuant{Act: map[string]train.QuantParams{}}
	var acts []QATActRange
	for _, l := range layers {
		if l.Op == "INPUT" {
			fq.Input = &train.QuantParams{Scale: l.Scale, ZeroPoint: l.ZeroPoint}
			acts = append(acts, QATActRange{Tensor: l.Name, Scale: l.Scale, ZeroPoint: l.ZeroPoint})
		}
	}
	last := -1
	for i, l := range fm.Layers {
		if l.Kind == model.KindConv2D || l.Kind == model.KindDense {
			last = i
		}
	}
	for i, l := range fm.Layers {
		if (l.Kind != model.KindConv2D && l.Kind != model.KindDense) || i == last {
			continue
		}
		r, ok := byName[l.Name+"/out"]
		if !ok {
			return nil, nil, fmt.Errorf("quantize: QAT: the PTQ report has no activation for layer %q", l.Name)
		}
		fq.Act[l.Name] = train.QuantParams{Scale: r.Scale, ZeroPoint: r.ZeroPoint}
		acts = append(acts, QATActRange{Tensor: r.Name, Scale: r.Scale, ZeroPoint: r.ZeroPoint})
	}
	return fq, acts, nil
}

// fineTune runs q.Epochs of quantization-aware training on fm in place.
func fineTune(ctx context.Context, fm *model.Model, fq *train.FakeQuant, q QATOptions, threads int) ([]QATEpoch, error) {
	net, err := train.NewNet(fm, q.Batch, max(threads, 1))
	if err != nil {
		return nil, fmt.Errorf("quantize: QAT: %w", err)
	}
	defer net.Close()
	net.SetOptimizer("adam", 0)
	if err := net.SetFakeQuant(fq); err != nil {
		return nil, fmt.Errorf("quantize: QAT: %w", err)
	}
	idx := q.Index
	if idx == nil {
		idx = make([]int, len(q.Labels))
		for i := range idx {
			idx[i] = i
		}
	}
	order := append([]int(nil), idx...)
	labels := make([]uint8, q.Batch)
	var stats []QATEpoch
	for ep := 0; ep < q.Epochs; ep++ {
		r := rand.New(rand.NewPCG(q.Seed, uint64(ep)))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var loss float64
		correct := 0
		for pos := 0; pos < len(order); pos += q.Batch {
			if err := ctx.Err(); err != nil {
				return stats, fmt.Errorf("quantize: QAT: %w", err)
			}
			bi := order[pos:min(pos+q.Batch, len(order))]
			for k, i := range bi {
				labels[k] = q.Labels[i]
			}
			b := &train.Batch{Pixels: q.Pixels, Index: bi, Labels: labels[:len(bi)], Epoch: ep, Pos: pos}
			res := net.Step(b, q.Seed, float32(q.LR))
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
				return stats, fmt.Errorf("quantize: QAT: epoch %d: loss is %v (try a smaller --qat-lr)", ep+1, res.Loss)
			}
			loss += res.Loss * float64(len(bi))
			correct += res.Correct
		}
		st := QATEpoch{Epoch: ep + 1, Loss: round6(loss / float64(len(order))), Accuracy: round4(pct(correct, len(order)))}
		stats = append(stats, st)
		if q.Progress != nil {
			q.Progress(st.Epoch, st.Loss, st.Accuracy)
		}
	}
	if err := fm.CheckFinite(); err != nil {
		return stats, fmt.Errorf("quantize: QAT: %w", err)
	}
	return stats, nil
}

// writeQATText adds the QAT lines of the terminal summary.
func writeQATText(b *strings.Builder, q *QATReport) {
	p := q.PTQ
	fmt.Fprintf(b, "  QAT       %s (kept %s)\n", q.Reason, q.Kept)
	fmt.Fprintf(b, "   PTQ      validation float %.2f%% int8 %.2f%% (drop %+.2f pp, agreement %.2f%%)", p.ValFloat, p.ValInt8, p.ValDropPP, p.ValAgreement)
	if p.TestImages > 0 {
		fmt.Fprintf(b, "  test int8 %.2f%% (drop %+.2f pp, agreement %.2f%%)", p.TestInt8, p.TestDropPP, p.TestAgreement)
	}
	b.WriteString("\n")
	if a := q.QAT; a != nil {
		fmt.Fprintf(b, "   QAT      validation float %.2f%% int8 %.2f%% (drop %+.2f pp, agreement %.2f%%)", a.ValFloat, a.ValInt8, a.ValDropPP, a.ValAgreement)
		if a.TestImages > 0 {
			fmt.Fprintf(b, "  test int8 %.2f%% (drop %+.2f pp, agreement %.2f%%)", a.TestInt8, a.TestDropPP, a.TestAgreement)
		}
		fmt.Fprintf(b, "  [%d epochs on %d images, %.1fs, %s ranges]\n", q.Epochs, q.TrainImages, q.TrainTime, q.Ranges)
	}
}

// writeQATMarkdown adds the report's QAT section.
func writeQATMarkdown(b *strings.Builder, q *QATReport) {
	fmt.Fprintf(b, "## Quantization-aware training\n\n%s. Kept: **%s**.\n\n", q.Reason, q.Kept)
	fmt.Fprintf(b, "| | val float | val int8 | val drop (pp) | val agreement | test float | test int8 | test drop (pp) | test agreement |\n|---|---|---|---|---|---|---|---|---|\n")
	row := func(name string, r QATResult) {
		fmt.Fprintf(b, "| %s | %.2f%% | %.2f%% | %+.2f | %.2f%% |", name, r.ValFloat, r.ValInt8, r.ValDropPP, r.ValAgreement)
		if r.TestImages > 0 {
			fmt.Fprintf(b, " %.2f%% | %.2f%% | %+.2f | %.2f%% |\n", r.TestFloat, r.TestInt8, r.TestDropPP, r.TestAgreement)
		} else {
			b.WriteString(" - | - | - | - |\n")
		}
	}
	row("PTQ", q.PTQ)
	if q.QAT != nil {
		row("QAT", *q.QAT)
	}
	fmt.Fprintf(b, "\nSettings: %d epochs, Adam lr %g, threshold %g pp%s, %d training images, %.1f s.\n",
		q.Epochs, q.LR, q.Threshold, map[bool]string{true: " (forced)", false: ""}[q.Forced], q.TrainImages, q.TrainTime)
	for _, c := range q.Candidates {
		ch := ""
		if c.Chosen {
			ch = " (chosen)"
		}
		fmt.Fprintf(b, "- re-quantized with %s ranges: validation int8 %.2f%%, agreement %.2f%%%s\n", c.Ranges, c.ValInt8, c.ValAgreement, ch)
	}
	for _, e := range q.EpochStats {
		fmt.Fprintf(b, "- epoch %d: loss %.4f, fake-quantized training accuracy %.2f%%\n", e.Epoch, e.Loss, e.Accuracy)
	}
	b.WriteString("\n")
}
