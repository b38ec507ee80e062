package quantize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
)

// QuantizeGraph is Quantize for a float graph (BatchNorm folded, ReLU
// fused, as model.FloatGraph builds it). The input range comes from the
// graph's normalization metadata when present (pixels 0..1 normalized), so
// any image the model can receive is representable; otherwise it is
// calibrated like every other tensor.
func QuantizeGraph(ctx context.Context, fg *model.Graph, calib Images, opts Options) (*model.Graph, *Report, error) {
	info, err := describe(fg)
	if err != nil {
		return nil, nil, err
	}
	return quantizeGraph(ctx, fg, calib, opts, info)
}

// describe derives parameters, MACs, classes and the input domain from a
// float graph.
func describe(fg *model.Graph) (*graphInfo, error) {
	if fg == nil {
		return nil, errors.New("quantize: nil graph")
	}
	if err := fg.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: float graph: %w", err)
	}
	info := &graphInfo{}
	for _, op := range fg.Ops {
		if op.Code != model.OpConv2D && op.Code != model.OpFullyConnected {
			continue
		}
		for _, ti := range op.Inputs[1:] {
			if ti >= 0 {
				info.params += fg.Tensors[ti].NumElements()
			}
		}
		if len(op.Inputs) > 1 && op.Inputs[1] >= 0 && len(op.Outputs) == 1 {
			info.macs += fg.Tensors[op.Inputs[1]].NumElements() * spatial(fg.Tensors[op.Outputs[0]].Shape)
		}
	}
	out := fg.Tensors[fg.Outputs[0]].Shape
	if len(out) > 0 {
		info.classes = out[len(out)-1]
	}
	mean, e1 := strconv.ParseFloat(fg.Metadata[model.MetaNormMean], 64)
	std, e2 := strconv.ParseFloat(fg.Metadata[model.MetaNormStd], 64)
	if e1 == nil && e2 == nil && std > 0 {
		info.inputRange = &Range{Lo: (0 - mean) / std, Hi: (1 - mean) / std}
	}
	return info, nil
}

type candidate struct {
	method Method
	ranges map[int]Range
	cv     *converted
	res    MethodResult
}

// quantizeRun is one quantizeGraph call: its checked inputs and what each
// step adds for the next.
type quantizeRun struct {
	fg    *model.Graph
	opts  Options
	info  *graphInfo
	calib Images // calibration images (auto may split off validation ones)
	val   Images // auto's validation images
	per   int    // values per input image
	rep   *Report

	fe       *engine           // the float graph, with intermediate tensors
	observed []int             // tensors calibrated: the input and every conv/dense output
	obs      map[int]*observer // their observers
}

func quantizeGraph(ctx context.Context, fg *model.Graph, calib Images, opts Options, info *graphInfo) (*model.Graph, *Report, error) {
	t0 := time.Now()
	q, err := newQuantizeRun(fg, calib, opts, info)
	if err != nil {
		return nil, nil, err
	}
	rep := q.rep

	// 1. Calibrate: observe the graph input and every conv/dense output.
	fe, err := newEngine(fg, q.opts.Threads, q.opts.Batch, q.opts.Rounding, true)
	if err != nil {
		return nil, nil, err
	}
	defer fe.close()
	q.fe = fe
	if err := q.calibrate(ctx); err != nil {
		return nil, nil, err
	}
	t1 := time.Now()
	rep.Timing.Calibrate = t1.Sub(t0).Seconds()

	// 2. Build the candidate graphs.
	cands, err := q.candidates()
	if err != nil {
		return nil, nil, err
	}

	// 3. Auto: keep the candidate that agrees best with float on val.
	chosen := cands[0]
	if q.opts.Method == Auto {
		if chosen, err = q.choose(ctx, cands); err != nil {
			return nil, nil, err
		}
	}
	rep.Settings.Method = chosen.method
	g := chosen.cv.g
	g.Metadata[MetaMethod] = string(chosen.method)
	g.Metadata[MetaCalib] = strconv.Itoa(q.calib.N)
	rep.Notes = append(rep.Notes, chosen.cv.notes...)
	t2 := time.Now()
	rep.Timing.Select = t2.Sub(t1).Seconds()

	// 4. Per-layer comparison and sizes.
	if err := q.compare(ctx, chosen); err != nil {
		return nil, nil, err
	}
	t3 := time.Now()
	rep.Timing.Compare = t3.Sub(t2).Seconds()

	// 5. Accuracy on the test set and on each named source.
	if err := q.evaluate(ctx, g); err != nil {
		return nil, nil, err
	}
	rep.Timing.Evaluate = time.Since(t3).Seconds()
	rep.Timing.Total = time.Since(t0).Seconds()
	return g, rep, nil
}

// newQuantizeRun checks the options and every image set against the graph
// and starts the report. Auto without validation images validates on the
// last fifth of the calibration images.
func newQuantizeRun(fg *model.Graph, calib Images, opts Options, info *graphInfo) (*quantizeRun, error) {
	opts.defaults()
	if _, err := ParseMethod(string(opts.Method)); err != nil {
		return nil, err
	}
	if _, err := ParseIO(string(opts.IO)); err != nil {
		return nil, err
	}
	if !(opts.Percentile > 0 && opts.Percentile <= 100) {
		return nil, fmt.Errorf("quantize: percentile %v out of range (0, 100]", opts.Percentile)
	}
	inT := fg.Tensors[fg.Inputs[0]]
	q := &quantizeRun{fg: fg, opts: opts, info: info, calib: calib, val: opts.Val, per: 1}
	for _, d := range inT.Shape[1:] {
		q.per *= d
	}
	if err := q.checkImages(calib, "calibration images"); err != nil {
		return nil, err
	}
	if opts.MinCalib > 0 && calib.N < opts.MinCalib {
		return nil, fmt.Errorf("quantize: %w: %d calibration images available, %d asked for", ErrTooFew, calib.N, opts.MinCalib)
	}
	rep := &Report{Tool: "edgecnn quantize", Created: opts.Now().UTC()}
	rep.Model = ModelInfo{Params: info.params, MACs: int64(info.macs), Input: append([]int(nil), inT.Shape...), Classes: info.classes}
	if l := fg.Metadata[model.MetaLabels]; l != "" {
		labels, err := model.ParseLabels(l, info.classes)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		rep.Model.Labels = labels
	}
	q.rep = rep
	if opts.Method == Auto && q.val.N == 0 {
		if calib.N < 10 {
			return nil, fmt.Errorf("quantize: %w: --method auto needs validation images (or at least 10 calibration images to split), have %d", ErrTooFew, calib.N)
		}
		nv := calib.N / 5
		q.val = calib.Slice(calib.N-nv, calib.N)
		q.calib = calib.Slice(0, calib.N-nv)
		rep.Notes = append(rep.Notes, fmt.Sprintf("no separate validation set: auto used the last %d calibration images for validation and calibrated on %d", nv, q.calib.N))
	}
	if q.val.N > 0 {
		if err := q.checkImages(q.val, "validation images"); err != nil {
			return nil, err
		}
	}
	if opts.Test.N > 0 {
		if err := q.checkImages(opts.Test, "test images"); err != nil {
			return nil, err
		}
	}
	for _, src := range opts.Sources {
		if err := q.checkImages(src.Images, "images of "+src.Name); err != nil {
			return nil, err
		}
	}
	rep.Settings = Settings{Requested: opts.Method, Percentile: opts.Percentile, Rounding: opts.Rounding.String(), IO: opts.IO,
		PerChannelDense: opts.PerChannelDense, CalibImages: q.calib.N}
	if opts.Method == Auto {
		rep.Settings.ValImages = q.val.N
	}
	return q, nil
}

// checkImages checks that im fits the graph's input and classes.
func (q *quantizeRun) checkImages(im Images, what string) error {
	return im.check(what, q.per, max(q.info.classes, 1))
}

// calibrate runs the float graph on the calibration images and observes
// the input and every conv/dense output; a non-finite value is an error.
func (q *quantizeRun) calibrate(ctx context.Context) error {
	fg := q.fg
	q.observed = []int{fg.Inputs[0]}
	for _, op := range fg.Ops {
		if op.Code == model.OpConv2D || op.Code == model.OpFullyConnected {
			q.observed = append(q.observed, op.Outputs[0])
		}
	}
	q.obs = map[int]*observer{}
	for _, t := range q.observed {
		q.obs[t] = newObserver()
	}
	err := q.fe.forEach(ctx, q.calib, func(_, _ int, _ []float32) error {
		for _, t := range q.observed {
			v, err := q.fe.tensor(t)
			if err != nil {
				return err
			}
			q.obs[t].observe(v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("quantize: calibration: %w", err)
	}
	for _, t := range q.observed {
		o := q.obs[t]
		if math.IsNaN(o.min) || math.IsNaN(o.max) || math.IsInf(o.min, 0) || math.IsInf(o.max, 0) {
			return fmt.Errorf("quantize: calibration: tensor %q has non-finite values (range [%v, %v])", fg.Tensors[t].Name, o.min, o.max)
		}
	}
	return nil
}

// candidates converts the float graph once per method to try: the one
// asked for, or every method for auto.
func (q *quantizeRun) candidates() ([]*candidate, error) {
	fg, opts := q.fg, q.opts
	methods := []Method{opts.Method}
	if opts.Method == Auto {
		methods = Methods()
	}
	// The logits are never clipped: top-1 is decided by the largest values,
	// exactly the ones a clipping range would saturate into ties.
	final := fg.Outputs[0]
	if n := len(fg.Ops); n > 0 && fg.Ops[n-1].Code == model.OpSoftmax {
		final = fg.Ops[n-1].Inputs[0]
	}
	var cands []*candidate
	for _, m := range methods {
		c := &candidate{method: m, ranges: map[int]Range{}}
		for _, t := range q.observed {
			mt := m
			if t == final {
				mt = MinMax
			}
			r, err := q.obs[t].rangeFor(mt, opts.Percentile)
			if fr, ok := q.info.fixed[fg.Tensors[t].Name]; ok && t != final {
				r, err = fr, nil
			}
			if err != nil {
				return nil, fmt.Errorf("quantize: %s: tensor %q: %w", m, fg.Tensors[t].Name, err)
			}
			c.ranges[t] = r
		}
		cv, err := convert(fg, func(t int) (Range, error) {
			r, ok := c.ranges[t]
			if !ok {
				return Range{}, fmt.Errorf("tensor %d was not calibrated", t)
			}
			return r, nil
		}, convertOptions{io: opts.IO, rounding: opts.Rounding, perChannelDense: opts.PerChannelDense, inputRange: q.info.inputRange})
		if err != nil {
			return nil, err
		}
		c.cv = cv
		cands = append(cands, c)
	}
	return cands, nil
}

// choose scores every candidate on the validation images and returns the
// best (see better); every score goes into the report.
func (q *quantizeRun) choose(ctx context.Context, cands []*candidate) (*candidate, error) {
	floatOut, err := q.info.float(ctx, q.fe, q.val)
	if err != nil {
		return nil, err
	}
	fgOut := q.fg.Tensors[q.fg.Outputs[0]]
	k := fgOut.Shape[len(fgOut.Shape)-1]
	fTop := argmax(floatOut, k)
	for _, c := range cands {
		if err := q.score(ctx, c, floatOut, fTop, k); err != nil {
			return nil, err
		}
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if better(c.res, best.res) {
			best = c
		}
	}
	for _, c := range cands {
		c.res.Chosen = c == best
		q.rep.Methods = append(q.rep.Methods, c.res)
	}
	return best, nil
}

// score runs candidate c on the validation images and sets c.res: top-1
// agreement with the float outputs, accuracy when labelled, logits SQNR.
func (q *quantizeRun) score(ctx context.Context, c *candidate, floatOut []float32, fTop []int, k int) error {
	val := q.val
	ie, err := newEngine(c.cv.g, q.opts.Threads, q.opts.Batch, q.opts.Rounding, false)
	if err != nil {
		return err
	}
	qOut, err := ie.outputs(ctx, val)
	ie.close()
	if err != nil {
		return err
	}
	qTop := argmax(qOut, k)
	agree, correct := 0, 0
	for i := range qTop {
		if qTop[i] == fTop[i] {
			agree++
		}
		if val.Labels != nil && qTop[i] == val.Labels[i] {
			correct++
		}
	}
	c.res = MethodResult{Method: c.method, Agreement: round4(pct(agree, val.N)), OutputSQNR: round4(sqnr(floatOut, qOut))}
	if val.Labels != nil {
		a := round4(pct(correct, val.N))
		c.res.Accuracy = &a
	}
	return nil
}

// compare fills the report's per-layer comparison, on a sample the
// calibration did not see when possible, and the model sizes.
func (q *quantizeRun) compare(ctx context.Context, chosen *candidate) error {
	sample := q.val
	if sample.N == 0 {
		sample = q.opts.Test
	}
	if sample.N == 0 {
		sample = q.calib
	}
	sample = sample.Slice(0, min(sample.N, q.opts.Sample))
	q.rep.Settings.SampleImages = sample.N
	layers, err := compareLayers(ctx, q.fg, chosen, q.obs, sample, q.opts)
	if err != nil {
		return err
	}
	q.rep.Layers = layers
	fb, err := tflite.Write(q.fg)
	if err != nil {
		return fmt.Errorf("quantize: float model: %w", err)
	}
	qb, err := tflite.Write(chosen.cv.g)
	if err != nil {
		return fmt.Errorf("quantize: int8 model: %w", err)
	}
	q.rep.Size = Size{FloatBytes: len(fb), Int8Bytes: len(qb), Ratio: round4(float64(len(qb)) / float64(len(fb)))}
	return nil
}

// evaluate fills the report's accuracy on the test images and on each
// named source.
func (q *quantizeRun) evaluate(ctx context.Context, g *model.Graph) error {
	opts, rep := q.opts, q.rep
	if opts.Test.N > 0 {
		acc, err := evaluate(ctx, q.fe, g, opts, q.info, rep.Model.Labels)
		if err != nil {
			return err
		}
		rep.Accuracy = acc
	}
	for _, src := range opts.Sources {
		o := opts
		o.Test = src.Images
		acc, err := evaluate(ctx, q.fe, g, o, q.info, rep.Model.Labels)
		if err != nil {
			return fmt.Errorf("quantize: %s: %w", src.Name, err)
		}
		rep.Sources = append(rep.Sources, SourceAccuracy{Source: src.Name, Note: src.Note, Images: acc.Images,
			Float: acc.Float, Int8: acc.Int8, DropPP: acc.DropPP, Agreement: acc.Agreement})
	}
	return nil
}

// better orders auto's candidates: higher agreement with float, then higher
// accuracy, then higher logits SQNR; ties keep the earlier method.
func better(a, b MethodResult) bool {
	if a.Agreement != b.Agreement {
		return a.Agreement > b.Agreement
	}
	if a.Accuracy != nil && b.Accuracy != nil && *a.Accuracy != *b.Accuracy {
		return *a.Accuracy > *b.Accuracy
	}
	return a.OutputSQNR > b.OutputSQNR
}

// sqnr is 10·log10(Σf² / Σ(f−q)²) in dB, capped at MaxSQNR.
func sqnr(f, q []float32) float64 {
	var s, n float64
	for i := range f {
		d := float64(f[i]) - float64(q[i])
		s += float64(f[i]) * float64(f[i])
		n += d * d
	}
	return sqnrOf(s, n)
}

func sqnrOf(signal, noise float64) float64 {
	if noise == 0 {
		return MaxSQNR
	}
	if signal == 0 {
		return -MaxSQNR
	}
	return math.Min(MaxSQNR, 10*math.Log10(signal/noise))
}

// compareLayers runs the float and the chosen int8 graph on the sample and
// compares every quantized tensor with its float counterpart.
func compareLayers(ctx context.Context, fg *model.Graph, c *candidate, obs map[int]*observer, sample Images, opts Options) ([]Layer, error) {
	fe, err := newEngine(fg, opts.Threads, opts.Batch, opts.Rounding, true)
	if err != nil {
		return nil, err
	}
	defer fe.close()
	ie, err := newEngine(c.cv.g, opts.Threads, opts.Batch, opts.Rounding, true)
	if err != nil {
		return nil, err
	}
	defer ie.close()
	type acc struct{ signal, noise, dot, nf, nq, maxErr float64 }
	accs := make([]acc, len(c.cv.layers))
	per := fe.per
	for from := 0; from < sample.N; from += opts.Batch {
		n := min(opts.Batch, sample.N-from)
		x := sample.X[from*per : (from+n)*per]
		if err := fe.e.Run(ctx, x, n, make([]float32, n*fe.outN)); err != nil {
			return nil, fmt.Errorf("quantize: compare: %w", err)
		}
		if err := ie.e.Run(ctx, x, n, make([]float32, n*ie.outN)); err != nil {
			return nil, fmt.Errorf("quantize: compare: %w", err)
		}
		for i, l := range c.cv.layers {
			f, err := fe.tensor(l.floatOut)
			if err != nil {
				return nil, err
			}
			q, err := ie.tensor(l.int8Out)
			if err != nil {
				return nil, err
			}
			if len(f) != len(q) {
				return nil, fmt.Errorf("quantize: compare %s: float has %d values, int8 %d", l.name, len(f), len(q))
			}
			a := &accs[i]
			for j := range f {
				fv, qv := float64(f[j]), float64(q[j])
				d := fv - qv
				a.signal += fv * fv
				a.noise += d * d
				a.dot += fv * qv
				a.nf += fv * fv
				a.nq += qv * qv
				a.maxErr = math.Max(a.maxErr, math.Abs(d))
			}
		}
	}
	var out []Layer
	var lastShared string
	for i, l := range c.cv.layers {
		a := accs[i]
		cos := 1.0
		if a.nf > 0 && a.nq > 0 {
			cos = a.dot / math.Sqrt(a.nf*a.nq)
		} else if a.nf != a.nq {
			cos = 0
		}
		t := fg.Tensors[l.floatOut]
		op := "INPUT"
		if l.op >= 0 {
			op = fg.Ops[l.op].Code.String()
			if fg.Ops[l.op].Activation == model.ActReLU {
				op += "+RELU"
			}
		}
		L := Layer{Name: t.Name, Op: op, Shape: append([]int(nil), t.Shape...),
			RangeLo: round6(l.rng.Lo), RangeHi: round6(l.rng.Hi), Scale: l.scale, ZeroPoint: l.zp,
			SQNR: round4(sqnrOf(a.signal, a.noise)), Cosine: round6(cos), MaxAbsErr: round6(a.maxErr)}
		if o, ok := obs[l.floatOut]; ok {
			L.ObservedMin, L.ObservedMax = round6(o.min), round6(o.max)
			L.Clipped = round6(100 * o.clippedFraction(l.rng))
			h := o.displayHist(64)
			L.Histogram = &h
			lastShared = t.Name
		} else {
			L.Shared = lastShared
		}
		if l.hasWeights {
			wmin, wmax, smin, smax := l.wMin, l.wMax, l.wsMin, l.wsMx
			L.WeightMin, L.WeightMax, L.WeightScaleMin, L.WeightScaleMax = &wmin, &wmax, &smin, &smax
			L.PerChannel = l.perChannel
		}
		out = append(out, L)
	}
	return out, nil
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// float returns the float outputs for im: the model's own float path when
// known, else the native engine running the float graph.
func (info *graphInfo) float(ctx context.Context, fe *engine, im Images) ([]float32, error) {
	if info.floatOutputs != nil {
		return info.floatOutputs(ctx, im)
	}
	return fe.outputs(ctx, im)
}

// evaluate compares float and int8 top-1 on the test images; the float and
// the int8 inference run concurrently.
func evaluate(ctx context.Context, fe *engine, g *model.Graph, opts Options, info *graphInfo, labels []string) (*Accuracy, error) {
	test := opts.Test
	ie, err := newEngine(g, opts.Threads, opts.Batch, opts.Rounding, false)
	if err != nil {
		return nil, err
	}
	defer ie.close()
	var (
		fOut, qOut []float32
		fErr, qErr error
		wg         sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		qOut, qErr = ie.outputs(ctx, test)
	}()
	fOut, fErr = info.float(ctx, fe, test)
	wg.Wait()
	if fErr != nil {
		return nil, fErr
	}
	if qErr != nil {
		return nil, qErr
	}
	k := len(fOut) / test.N
	fTop, qTop := argmax(fOut, k), argmax(qOut, k)
	a := &Accuracy{Images: test.N}
	count := make([]int, k)
	fc := make([]int, k)
	qc := make([]int, k)
	fCorrect, qCorrect, agree := 0, 0, 0
	per := len(test.X) / test.N
	side := int(math.Sqrt(float64(per)))
	for i := 0; i < test.N; i++ {
		if fTop[i] == qTop[i] {
			agree++
		}
		if test.Labels != nil {
			l := test.Labels[i]
			count[l]++
			if fTop[i] == l {
				fCorrect++
				fc[l]++
			}
			if qTop[i] == l {
				qCorrect++
				qc[l]++
			}
		}
		if fTop[i] != qTop[i] {
			a.Disagree++
			if len(a.Disagreements) < MaxDisagreements {
				d := Disagreement{Index: i, Label: -1, Float: fTop[i], Int8: qTop[i], Margin: margin(fOut[i*k : (i+1)*k])}
				if test.Labels != nil {
					d.Label = test.Labels[i]
				}
				if test.Pixels != nil && len(test.Pixels) == len(test.X) && side*side == per {
					d.Pixels, d.W, d.H = test.Pixels[i*per:(i+1)*per], side, side
				}
				a.Disagreements = append(a.Disagreements, d)
			}
		}
	}
	a.Agreement = round4(pct(agree, test.N))
	if test.Labels != nil {
		a.Float = round4(pct(fCorrect, test.N))
		a.Int8 = round4(pct(qCorrect, test.N))
		a.DropPP = round4(a.Float - a.Int8)
		for c := 0; c < k; c++ {
			lab := strconv.Itoa(c)
			if c < len(labels) {
				lab = labels[c]
			}
			ca := ClassAccuracy{Class: c, Label: lab, Count: count[c], Float: round4(pct(fc[c], count[c])), Int8: round4(pct(qc[c], count[c]))}
			ca.DeltaPP = round4(ca.Int8 - ca.Float)
			a.PerClass = append(a.PerClass, ca)
		}
	}
	if rej := model.RejectIndex(labels); rej >= 0 && rej < k && test.Labels != nil {
		a.Digits = digitAccuracy(test.Labels, fTop, qTop, rej)
	}
	sort.SliceStable(a.Disagreements, func(i, j int) bool { return a.Disagreements[i].Index < a.Disagreements[j].Index })
	return a, nil
}

// margin is the gap between the largest and second largest logit.
func margin(row []float32) float32 {
	best, second := float32(math.Inf(-1)), float32(math.Inf(-1))
	for _, v := range row {
		if v > best {
			best, second = v, best
		} else if v > second {
			second = v
		}
	}
	return best - second
}

// digitAccuracy splits the test images of a model with a reject class
// into digits and non-digits.
func digitAccuracy(labels, fTop, qTop []int, rej int) *DigitAccuracy {
	var d DigitAccuracy
	var fc, qc, fr, qr, fn, qn int
	for i, l := range labels {
		if l == rej {
			d.NonDigits++
			fn += b2i(fTop[i] == rej)
			qn += b2i(qTop[i] == rej)
			continue
		}
		d.Images++
		fc += b2i(fTop[i] == l)
		qc += b2i(qTop[i] == l)
		fr += b2i(fTop[i] == rej)
		qr += b2i(qTop[i] == rej)
	}
	d.Float, d.Int8 = round4(pct(fc, d.Images)), round4(pct(qc, d.Images))
	d.DropPP = round4(d.Float - d.Int8)
	d.FloatReject, d.Int8Reject = round4(pct(fr, d.Images)), round4(pct(qr, d.Images))
	d.FloatNonDigitRejected, d.Int8NonDigitRejected = round4(pct(fn, d.NonDigits)), round4(pct(qn, d.NonDigits))
	return &d
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
