package agent

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the HTTP API:
//
//	POST /predict     an image (raw body or multipart field "image") → JSON Result
//	GET  /healthz     200 while the camera delivers frames, 503 while reconnecting
//	GET  /metrics     Prometheus metrics of this agent
//	GET  /            live preview page (last frame, detected box, digit)
//	GET  /state       the preview's state as JSON
//	GET  /frame.jpg   the last processed frame
//	     /label...    labelling view of collected crops (collect.Collector.Handler)
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/predict", a.handlePredict)
	mux.HandleFunc("/healthz", a.only("GET", a.handleHealth))
	mux.Handle("/metrics", a.only("GET", promhttp.HandlerFor(a.m.reg, promhttp.HandlerOpts{}).ServeHTTP))
	mux.HandleFunc("/state", a.only("GET", a.handleState))
	mux.HandleFunc("/frame.jpg", a.only("GET", a.handleFrame))
	mux.HandleFunc("/", a.only("GET", a.handleIndex))
	mux.Handle("/label", a.labelHandler())
	mux.Handle("/label/", a.labelHandler())
	return mux
}

func (a *Agent) only(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == "GET" && r.Method == "HEAD") {
			w.Header().Set("Allow", method)
			httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed (use %s)", r.Method, method))
			return
		}
		h(w, r)
	}
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// PredictResponse is the body of a successful POST /predict.
type PredictResponse struct {
	Result
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	LatencyMS float64 `json:"latency_ms"`
}

func (a *Agent) handlePredict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := a.predict(w, r, start)
	a.m.requests.WithLabelValues(fmt.Sprint(code)).Inc()
	a.m.reqLatency.Observe(time.Since(start).Seconds())
}

// predict serves one request and returns the status code it sent.
func (a *Agent) predict(w http.ResponseWriter, r *http.Request, start time.Time) int {
	fail := func(code int, format string, args ...any) int {
		httpError(w, code, fmt.Sprintf(format, args...))
		return code
	}
	src, code := a.upload(w, r)
	if code != 0 {
		return code
	}
	// Admission before decoding: only the image header is read (and kept,
	// at most maxHeader bytes, reserved from the budget) until the image's
	// decoded size is known and reserved.
	busy := func(what string) int {
		a.m.rejected.WithLabelValues(strings.ReplaceAll(what, " ", "_")).Inc()
		w.Header().Set("Retry-After", "1")
		return fail(http.StatusServiceUnavailable, "busy: no %s free within %v; retry later", what, a.cfg.Limits.QueueWait)
	}
	reserve := func(n int64) error {
		wait, cancel := context.WithTimeout(r.Context(), a.cfg.Limits.QueueWait)
		defer cancel()
		return a.budget.acquire(wait, n)
	}
	if err := reserve(maxHeader); err != nil {
		if r.Context().Err() != nil {
			return fail(http.StatusServiceUnavailable, "request cancelled while waiting for memory")
		}
		return busy("decode budget")
	}
	hdr := capBuffer{max: maxHeader}
	cfg, format, err := image.DecodeConfig(io.TeeReader(src, &hdr))
	a.budget.release(maxHeader)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return fail(http.StatusRequestEntityTooLarge, "body exceeds the limit of %d bytes", a.cfg.MaxUpload)
		case hdr.full:
			return fail(http.StatusRequestEntityTooLarge, "image header (metadata before the pixels) longer than %d KiB", maxHeader>>10)
		case hdr.Len() == 0:
			return fail(http.StatusBadRequest, "empty body: POST an image (PNG, JPEG, GIF, PGM/PPM)")
		}
		return fail(http.StatusBadRequest, "not a supported image (PNG, JPEG, GIF, PGM/PPM): %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fail(http.StatusBadRequest, "%s image has zero size %dx%d", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(a.cfg.MaxPixels) {
		return fail(http.StatusRequestEntityTooLarge, "%s image %dx%d exceeds the limit of %d pixels", format, cfg.Width, cfg.Height, a.cfg.MaxPixels)
	}
	// The reservation covers the decoded image and the body, which is read
	// into memory before a worker is taken, so a slow client holds memory
	// from the budget, never a worker.
	bodySize := r.ContentLength
	if bodySize < 0 || bodySize > a.cfg.MaxUpload {
		bodySize = a.cfg.MaxUpload
	}
	cost := DecodeCost(cfg.Width, cfg.Height, BytesPerPixel(cfg.ColorModel)) + bodySize + bytes.MinRead
	if err := reserve(cost); err != nil {
		if errors.Is(err, errTooBig) {
			a.m.rejected.WithLabelValues("too_big").Inc()
			return fail(http.StatusRequestEntityTooLarge, "%s image %dx%d needs %d MiB to decode, above this device's decode budget of %d MiB",
				format, cfg.Width, cfg.Height, cost>>20, a.cfg.Limits.DecodeBudget>>20)
		}
		if r.Context().Err() != nil {
			return fail(http.StatusServiceUnavailable, "request cancelled while waiting for memory")
		}
		return busy("decode budget")
	}
	defer a.budget.release(cost)
	buf := bytes.NewBuffer(make([]byte, 0, bodySize+bytes.MinRead))
	if _, err := buf.ReadFrom(io.MultiReader(&hdr.Buffer, src)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, "body exceeds the limit of %d bytes", a.cfg.MaxUpload)
		}
		return fail(http.StatusBadRequest, "reading body: %v", err)
	}
	data := buf.Bytes()
	// A worker bounds the CPU: decoding and recognition run only on one.
	var rec *Recognizer
	wait, cancel := context.WithTimeout(r.Context(), a.cfg.Limits.QueueWait)
	defer cancel()
	select {
	case rec = <-a.pool:
	case <-wait.Done():
		if r.Context().Err() != nil {
			return fail(http.StatusServiceUnavailable, "request cancelled while waiting for a worker")
		}
		return busy("worker")
	}
	defer func() { a.pool <- rec }()
	img, _, err := image.Decode(bytes.NewReader(data))
	data = nil
	if err != nil {
		return fail(http.StatusBadRequest, "decoding %s image: %v", format, err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return fail(http.StatusBadRequest, "%s image decodes to %dx%d, its header says %dx%d", format, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	img = toLuma(img)
	res, err := rec.Recognize(r.Context(), img)
	if err != nil {
		return fail(http.StatusInternalServerError, "recognize: %v", err)
	}
	resp := PredictResponse{Result: res, Width: cfg.Width, Height: cfg.Height,
		LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
	return http.StatusOK
}

// upload checks the method and the declared size of a /predict request
// and returns the image stream: the body (bounded by MaxUpload) or the
// first file part of a multipart upload. On a problem it sends the error
// and returns its status code (else 0).
func (a *Agent) upload(w http.ResponseWriter, r *http.Request) (io.Reader, int) {
	fail := func(code int, format string, args ...any) (io.Reader, int) {
		httpError(w, code, fmt.Sprintf(format, args...))
		return nil, code
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return fail(http.StatusMethodNotAllowed, "method %s not allowed (POST an image)", r.Method)
	}
	if r.ContentLength > a.cfg.MaxUpload {
		return fail(http.StatusRequestEntityTooLarge, "body of %d bytes exceeds the limit of %d", r.ContentLength, a.cfg.MaxUpload)
	}
	body := http.MaxBytesReader(w, r.Body, a.cfg.MaxUpload)
	var src io.Reader = body
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && strings.HasPrefix(mt, "multipart/") {
		part, err := firstFilePart(multipart.NewReader(body, params["boundary"]))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fail(http.StatusRequestEntityTooLarge, "body exceeds the limit of %d bytes", a.cfg.MaxUpload)
			}
			return fail(http.StatusBadRequest, "multipart upload: %v", err)
		}
		src = part
	}
	return src, 0
}

func firstFilePart(mr *multipart.Reader) (io.Reader, error) {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, errors.New("no file part (send the image in a field named \"image\")")
		}
		if err != nil {
			return nil, err
		}
		if p.FormName() == "image" || p.FileName() != "" {
			return p, nil
		}
	}
}

func (a *Agent) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	ok, body := a.healthBody()
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(body)
}

// State is the preview page's data.
type State struct {
	Seq        uint64       `json:"seq"`
	Time       time.Time    `json:"time"`
	Digits     string       `json:"digits"`
	Reason     string       `json:"reason,omitempty"` // why Digits is ""
	Rejection  string       `json:"rejection,omitempty"`
	Confidence float32      `json:"confidence"`
	Boxes      []Prediction `json:"boxes"`
	ROIs       []RegionBox  `json:"rois,omitempty"` // --rois
	Width      int          `json:"width"`
	Height     int          `json:"height"`
	Healthy    bool         `json:"healthy"`
}

func (a *Agent) state() State {
	a.pmu.Lock()
	defer a.pmu.Unlock()
	s := State{Seq: a.pSeq, Time: a.pTime, Digits: a.pResult.Text, Reason: a.pResult.Reason, Rejection: a.pResult.Rejection, Confidence: a.pResult.Confidence,
		Boxes: a.pResult.Digits, ROIs: a.pResult.ROIs, Healthy: a.Healthy()}
	if a.pFrame != nil {
		s.Width, s.Height = a.pFrame.Bounds().Dx(), a.pFrame.Bounds().Dy()
	}
	return s
}

func (a *Agent) handleState(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(a.state())
}

func (a *Agent) handleFrame(w http.ResponseWriter, r *http.Request) {
	a.pmu.Lock()
	if a.pFrame == nil {
		a.pmu.Unlock()
		httpError(w, http.StatusNotFound, "no frame yet")
		return
	}
	if a.pJSeq != a.pSeq || a.pJPEG == nil {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, a.pFrame, &jpeg.Options{Quality: 80}); err != nil {
			a.pmu.Unlock()
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		a.pJPEG, a.pJSeq = buf.Bytes(), a.pSeq
	}
	b := a.pJPEG
	a.pmu.Unlock()
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

//go:embed preview.html
var previewHTML string

var previewTmpl = template.Must(template.New("preview").Parse(previewHTML))

func (a *Agent) handleIndex(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		httpError(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}
	s := a.state()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var buf bytes.Buffer
	if err := previewTmpl.Execute(&buf, s); err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Write(buf.Bytes())
}
