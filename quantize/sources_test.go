package quantize

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/train/data"
)

// TestPerSourceAccuracy: each Options.Sources entry gets a report row
// whose float and int8 accuracy equal the main evaluation of the same
// images, and the row shows in the text, Markdown and HTML reports.
func TestPerSourceAccuracy(t *testing.T) {
	m := trained(t)
	ds := loadMNIST(t)
	calib := images(t, ds.Train, 0, 300, m.Norm)
	a := images(t, ds.Test, 0, 400, m.Norm)
	// A data.Set mixing 8-bit pixels and float ink through FromSet.
	set := data.FromMNIST(ds.Test.Slice(1000))
	sub := set.Subset([]int{400, 401, 402, 403, 404, 405, 406, 407, 408, 409})
	ink := &data.Set{N: 10, H: 28, W: 28, Ink: make([]float32, 10*784), Labels: sub.Labels}
	for i, p := range sub.Pix {
		ink.Ink[i] = float32(p) / 255
	}
	mixed, err := data.Concat(sub, ink)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromSet(mixed, m.Norm)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Method: MinMax, Test: a, Sources: []SourceImages{{Name: "mnist-a", Note: "test split", Images: a}, {Name: "photos", Note: "held out", Images: b}}}
	_, rep, err := Quantize(context.Background(), m, calib, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sources) != 2 {
		t.Fatalf("%d source rows, want 2", len(rep.Sources))
	}
	r0, r1 := rep.Sources[0], rep.Sources[1]
	if r0.Images != 400 || r0.Float != rep.Accuracy.Float || r0.Int8 != rep.Accuracy.Int8 || r0.Agreement != rep.Accuracy.Agreement {
		t.Fatalf("row %+v differs from the accuracy section %+v", r0, rep.Accuracy)
	}
	if r1.Images != 20 || r1.Float < 50 {
		t.Fatalf("photos row %+v", r1)
	}
	var txt, md, html bytes.Buffer
	rep.WriteText(&txt)
	rep.WriteMarkdown(&md)
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"text": txt.String(), "markdown": md.String(), "html": html.String()} {
		if !strings.Contains(s, "photos") || !strings.Contains(s, "held out") || !strings.Contains(s, "mnist-a") {
			t.Errorf("%s report lacks the per-source rows", name)
		}
	}
	// A source with a label the model has no class for is refused.
	bad := b
	bad.Labels = append([]int(nil), b.Labels...)
	bad.Labels[0] = 10
	opts.Sources = []SourceImages{{Name: "x", Images: bad}}
	if _, _, err := Quantize(context.Background(), m, calib, opts); err == nil {
		t.Fatal("a source labelled 10 on a 10-class model was accepted")
	}
}
