package collect

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
)

//go:embed label.html
var labelHTML []byte

// maxLabelBody bounds the JSON body of a label or skip request.
const maxLabelBody = 4 << 10

// Handler serves the labelling view under /label:
//
//	GET  /label                 the page: crops in a grid, keys 0–9 and x file, space skips
//	GET  /label/api/list        {"items": [Item...], "total": N, "labels": [...]} (?limit=, default 200)
//	POST /label/api/label       {"id": ID, "label": "7"} → {"id", "label", "path"}
//	POST /label/api/skip        {"id": ID} → {"id"}
//	GET  /label/crop/ID.png     a crop waiting in the inbox
//	GET  /label/frame/FRAME.jpg the full frame it came from
//
// Errors are JSON {"error": ...}: 400 for a malformed id, body or unknown
// label, 404 for a crop that no longer exists (deleted by the quota),
// 409 for a crop already labelled, 405 for a wrong method, 415 for a body
// that is not application/json.
func (c *Collector) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/label", c.method("GET", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(labelHTML)
	}))
	mux.HandleFunc("/label/api/list", c.method("GET", c.handleList))
	mux.HandleFunc("/label/api/label", c.method("POST", c.handleLabel))
	mux.HandleFunc("/label/api/skip", c.method("POST", c.handleSkip))
	mux.HandleFunc("/label/crop/", c.method("GET", func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/label/crop/"), ".png")
		if !ok {
			jsonError(w, http.StatusBadRequest, "crop URLs end in .png")
			return
		}
		p, err := c.CropPath(id)
		c.serveFile(w, p, err, "image/png")
	}))
	mux.HandleFunc("/label/frame/", c.method("GET", func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/label/frame/"), ".jpg")
		if !ok {
			jsonError(w, http.StatusBadRequest, "frame URLs end in .jpg")
			return
		}
		p, err := c.FramePath(id)
		c.serveFile(w, p, err, "image/jpeg")
	}))
	mux.HandleFunc("/label/", func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusNotFound, "not found: "+r.URL.Path)
	})
	return mux
}

func (c *Collector) method(m string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m && !(m == "GET" && r.Method == "HEAD") {
			w.Header().Set("Allow", m)
			jsonError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed (use %s)", r.Method, m))
			return
		}
		h(w, r)
	}
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// errorCode maps a labelling error to its HTTP status.
func errorCode(err error) int {
	switch {
	case errors.Is(err, ErrBadID), errors.Is(err, ErrBadLabel):
		return http.StatusBadRequest
	case errors.Is(err, ErrNoCrop), errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, ErrLabelled):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (c *Collector) serveFile(w http.ResponseWriter, p string, err error, ctype string) {
	if err != nil {
		jsonError(w, errorCode(err), err.Error())
		return
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			jsonError(w, http.StatusNotFound, "no longer collected (labelled, skipped or deleted by the disk quota)")
			return
		}
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	io.Copy(w, f)
}

// ListResponse is the body of GET /label/api/list.
type ListResponse struct {
	Items  []Item   `json:"items"`
	Total  int      `json:"total"`
	Labels []string `json:"labels"`
	Status Status   `json:"status"`
}

func (c *Collector) handleList(w http.ResponseWriter, r *http.Request) {
	limit := 200
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 10000 {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a number in 1..10000", s))
			return
		}
		limit = n
	}
	items, total, err := c.List(limit)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, ListResponse{Items: items, Total: total, Labels: Labels, Status: c.Status()})
}

// LabelRequest is the body of POST /label/api/label and /label/api/skip.
type LabelRequest struct {
	ID    string `json:"id"`
	Label string `json:"label,omitempty"`
}

func readRequest(w http.ResponseWriter, r *http.Request) (LabelRequest, bool) {
	var req LabelRequest
	// Only application/json: a cross-site form or text/plain POST (which a
	// browser sends without asking) cannot file or skip crops.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		jsonError(w, http.StatusUnsupportedMediaType, "send the body as Content-Type: application/json")
		return req, false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLabelBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("body: want JSON {\"id\": ..., \"label\": ...}: %v", err))
		return req, false
	}
	return req, true
}

func (c *Collector) handleLabel(w http.ResponseWriter, r *http.Request) {
	req, ok := readRequest(w, r)
	if !ok {
		return
	}
	p, err := c.Label(req.ID, req.Label)
	if err != nil {
		jsonError(w, errorCode(err), err.Error())
		return
	}
	writeJSON(w, map[string]string{"id": req.ID, "label": req.Label, "path": p})
}

func (c *Collector) handleSkip(w http.ResponseWriter, r *http.Request) {
	req, ok := readRequest(w, r)
	if !ok {
		return
	}
	if req.Label != "" {
		jsonError(w, http.StatusBadRequest, "skip takes no label")
		return
	}
	if err := c.Skip(req.ID); err != nil {
		jsonError(w, errorCode(err), err.Error())
		return
	}
	writeJSON(w, map[string]string{"id": req.ID})
}
