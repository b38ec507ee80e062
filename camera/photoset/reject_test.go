package photoset

import (
	"bytes"
	"testing"
)

func TestNonDigitSplits(t *testing.T) {
	a, err := NonDigits(Tuning, 40, 80, 60)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NonDigits(Tuning, 40, 80, 60)
	c, _ := NonDigits(Test, 40, 80, 60)
	kinds := map[string]int{}
	same := 0
	for i := range a {
		if !bytes.Equal(a[i].JPEG, b[i].JPEG) || a[i].Kind != b[i].Kind {
			t.Fatalf("photo %d: not deterministic", i)
		}
		if a[i].Want != "" {
			t.Fatalf("photo %d: non-digit photo wants %q", i, a[i].Want)
		}
		if bytes.Equal(a[i].JPEG, c[i].JPEG) {
			same++
		}
		kinds[a[i].Kind]++
	}
	if same > 0 {
		t.Fatalf("%d photos shared by the tuning and test splits", same)
	}
	if len(kinds) < 5 {
		t.Fatalf("only kinds %v in 40 photos", kinds)
	}
	if _, err := ParseRejectSplit("train"); err == nil {
		t.Fatal("split train accepted")
	}
}

func TestSingleDigitSplits(t *testing.T) {
	d := &Digits{}
	for i := 0; i < 6000; i++ {
		img := make([]uint8, 784)
		for y := 6; y < 22; y++ {
			img[y*28+10+i%8] = 255
		}
		d.Images = append(d.Images, img)
		d.Labels = append(d.Labels, uint8(i%10))
	}
	tu, err := SingleDigits(d, Tuning, 6, 64, 48)
	if err != nil {
		t.Fatal(err)
	}
	te, _ := SingleDigits(d, Test, 6, 64, 48)
	for i := range tu {
		if tu[i].Want != "0123456789"[i%10:i%10+1] || te[i].Want != tu[i].Want {
			t.Fatalf("photo %d: want %q / %q", i, tu[i].Want, te[i].Want)
		}
		if want := []string{"digit", "restyled digit"}[i%2]; tu[i].Kind != want {
			t.Fatalf("photo %d: kind %q, want %q", i, tu[i].Kind, want)
		}
		if bytes.Equal(tu[i].JPEG, te[i].JPEG) {
			t.Fatalf("photo %d is in both splits", i)
		}
	}
	if _, err := SingleDigits(d, Test, 5001, 64, 48); err == nil {
		t.Fatal("5001 photos from a 5000-digit split accepted")
	}
}
