package agent

import (
	"bytes"
	"image"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzPredictBody posts arbitrary bodies to /predict, as a raw body and as
// multipart/form-data with a fixed boundary: the handler answers 200, 400,
// 413 or 503, never panics, and gives its decode budget back.
func FuzzPredictBody(f *testing.F) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.SetBoundary("fuzzboundary")
	w, _ := mw.CreateFormFile("image", "digit.png")
	w.Write(encodePNG(f, fuzzImage()))
	mw.Close()
	f.Add(mp.Bytes())
	f.Add(encodePNG(f, fuzzImage()))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--fuzzboundary--\r\n"))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x10\x00\x00\x00\x0f\xff\x10\x06\x00\x00\x00"))
	f.Add([]byte("P5 4096 4096 255\n"))
	a, err := New(Config{NewRecognizer: realRecognizer(f, RecognizerConfig{}), HTTPAddr: "127.0.0.1:0",
		Limits: Limits{Workers: 1, MaxConns: 8, DecodeBudget: 8 << 20, MaxPixels: 1 << 20, MaxUpload: 1 << 20, QueueWait: time.Second}})
	if err != nil {
		f.Fatal(err)
	}
	rec, err := a.cfg.NewRecognizer()
	if err != nil {
		f.Fatal(err)
	}
	a.pool = make(chan *Recognizer, 1)
	a.pool <- rec
	h := a.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"image/png", "multipart/form-data; boundary=fuzzboundary"} {
			r := httptest.NewRequest("POST", "/predict", bytes.NewReader(body))
			r.Header.Set("Content-Type", ct)
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, r)
			switch rr.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
			default:
				t.Fatalf("%s: status %d: %s", ct, rr.Code, rr.Body.String())
			}
			if n := a.budget.inUse(); n != 0 {
				t.Fatalf("%d bytes of decode budget not given back", n)
			}
		}
	})
}

// fuzzImage is a small gray image with a dark bar on light paper.
func fuzzImage() image.Image {
	g := image.NewGray(image.Rect(0, 0, 40, 40))
	for i := range g.Pix {
		g.Pix[i] = 230
	}
	for y := 8; y < 32; y++ {
		for x := 18; x < 23; x++ {
			g.Pix[y*40+x] = 20
		}
	}
	return g
}
