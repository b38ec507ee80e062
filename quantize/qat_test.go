package quantize

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model/tflite"
)

// TestQATRecoversDamagedPTQ damages post-training quantization on purpose
// (percentile 80 clips the top 20% of every activation) and checks that one
// quantization-aware epoch on 6,000 training images recovers most of the
// loss, measured on test images by the native int8 engine.
func TestQATRecoversDamagedPTQ(t *testing.T) {
	ds := loadMNIST(t)
	m := trained(t)
	w0 := append([]float32(nil), m.Layers[0].Weight...)
	calib := images(t, ds.Train, 0, 500, m.Norm)
	val := images(t, ds.Train, 500, 1000, m.Norm)
	test := images(t, ds.Test, 0, 2000, m.Norm)
	idx := make([]int, 0, 6000)
	for i := 1000; i < 7000; i++ {
		idx = append(idx, i)
	}
	opts := Options{Method: Percentile, Percentile: 80, Val: val, Test: test, Threads: 2}
	q := QATOptions{Epochs: 1, Threshold: 0.1, Pixels: ds.Train.Images, Labels: ds.Train.Labels, Index: idx}
	g, rep, err := QuantizeQAT(context.Background(), m, calib, opts, q)
	if err != nil {
		t.Fatal(err)
	}
	qr := rep.QAT
	if qr == nil || !qr.Ran || qr.QAT == nil || qr.Forced {
		t.Fatalf("QAT section: %+v", qr)
	}
	t.Logf("PTQ: %+v", qr.PTQ)
	t.Logf("QAT: %+v (%s ranges, %.1fs)", *qr.QAT, qr.Ranges, qr.TrainTime)
	if qr.PTQ.ValDropPP < 10 {
		t.Fatalf("percentile 80 should damage PTQ by several points, the drop is %.2f pp", qr.PTQ.ValDropPP)
	}
	if qr.Kept != "qat" {
		t.Fatalf("kept %s: %s", qr.Kept, qr.Reason)
	}
	// Fine-tuning also moves the float model, so besides the int8
	// accuracy the drop and the agreement against the (fine-tuned) float
	// model must improve: the int8 model follows its float model again.
	if qr.QAT.TestInt8 < qr.PTQ.TestInt8+10 {
		t.Errorf("QAT int8 test accuracy %.2f%% is not clearly above PTQ's %.2f%%", qr.QAT.TestInt8, qr.PTQ.TestInt8)
	}
	if qr.QAT.TestDropPP > qr.PTQ.TestDropPP/2 || qr.QAT.TestAgreement < qr.PTQ.TestAgreement+10 {
		t.Errorf("QAT drop %.2f pp / agreement %.2f%% vs PTQ %.2f pp / %.2f%%", qr.QAT.TestDropPP, qr.QAT.TestAgreement, qr.PTQ.TestDropPP, qr.PTQ.TestAgreement)
	}
	// The report's int8 accuracy is the returned graph's, run again here
	// in the native engine.
	e, err := newEngine(g, 2, 256, opts.Rounding, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	out, err := e.outputs(context.Background(), test)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, p := range argmax(out, 10) {
		if p == test.Labels[i] {
			correct++
		}
	}
	if got := round4(pct(correct, test.N)); got != rep.Accuracy.Int8 || got != qr.QAT.TestInt8 {
		t.Errorf("native engine: %.2f%%, report %.2f%% / %.2f%%", got, rep.Accuracy.Int8, qr.QAT.TestInt8)
	}
	// The int8 file round-trips and the caller's model is untouched.
	b, err := tflite.Write(g)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tflite.Read(b); err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Layers[0].Weight {
		if v != w0[i] {
			t.Fatal("QuantizeQAT modified the caller's model")
		}
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil || !bytes.Contains(md.Bytes(), []byte("## Quantization-aware training")) {
		t.Errorf("Markdown has no QAT section: %v", err)
	}
	// The HTML report's QAT section renders in a real browser.
	page := filepath.Join(t.TempDir(), "qat.html")
	if err := rep.WriteFile(page); err != nil {
		t.Fatal(err)
	}
	dom, stderr := chromium(t, "--dump-dom", "file://"+page)
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "Uncaught") || strings.Contains(line, ":CONSOLE") {
			t.Errorf("browser console: %s", line)
		}
	}
	for _, want := range []string{"Quantization-aware training", "<td class=\"l\">PTQ</td>", "<td class=\"l\">QAT</td>", "Kept: <b>qat</b>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
}

// TestQATBelowThreshold: a PTQ drop within the threshold skips fine-tuning
// and returns exactly the PTQ model, with the PTQ numbers in the report.
func TestQATBelowThreshold(t *testing.T) {
	ds := loadMNIST(t)
	m := trained(t)
	calib := images(t, ds.Train, 0, 300, m.Norm)
	opts := Options{Val: images(t, ds.Train, 300, 600, m.Norm), Threads: 2}
	q := QATOptions{Epochs: 3, Threshold: 50, Pixels: ds.Train.Images, Labels: ds.Train.Labels}
	g, rep, err := QuantizeQAT(context.Background(), m, calib, opts, q)
	if err != nil {
		t.Fatal(err)
	}
	if rep.QAT == nil || rep.QAT.Ran || rep.QAT.Kept != "ptq" || rep.QAT.QAT != nil || rep.QAT.PTQ.ValImages != 300 || rep.QAT.PTQ.ValFloat < 80 {
		t.Fatalf("QAT section: %+v", rep.QAT)
	}
	g2, _, err := Quantize(context.Background(), m, calib, opts)
	if err != nil {
		t.Fatal(err)
	}
	b1, err1 := tflite.Write(g)
	b2, err2 := tflite.Write(g2)
	if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) {
		t.Errorf("skipped QAT did not return the PTQ model (%v, %v)", err1, err2)
	}
}

func TestQATBadOptions(t *testing.T) {
	ds := loadMNIST(t)
	m := randomModel(t, 1)
	calib := images(t, ds.Train, 0, 20, m.Norm)
	val := images(t, ds.Train, 20, 40, m.Norm)
	good := QATOptions{Epochs: 1, Pixels: ds.Train.Images[:100*784], Labels: ds.Train.Labels[:100]}
	for name, c := range map[string]struct {
		q   QATOptions
		val Images
	}{
		"negative epochs":     {QATOptions{Epochs: -1}, val},
		"NaN learning rate":   {func() QATOptions { q := good; q.LR = math.NaN(); return q }(), val},
		"negative threshold":  {func() QATOptions { q := good; q.Threshold = -1; return q }(), val},
		"no validation":       {good, Images{}},
		"index out of range":  {func() QATOptions { q := good; q.Index = []int{5, 100}; return q }(), val},
		"empty index":         {func() QATOptions { q := good; q.Index = []int{}; return q }(), val},
		"labels do not match": {func() QATOptions { q := good; q.Labels = q.Labels[:99]; return q }(), val},
	} {
		_, _, err := QuantizeQAT(context.Background(), m, calib, Options{Val: c.val}, c.q)
		if !errors.Is(err, ErrQATOptions) {
			t.Errorf("%s: %v, want ErrQATOptions", name, err)
		}
	}
}
