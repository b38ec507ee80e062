package preprocess

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"os"
)

// Region is one configured digit position (a meter reader's ROI): the
// rectangle x, y, w, h in frame pixels and an optional name.
type Region struct {
	X    int    `json:"x"`
	Y    int    `json:"y"`
	W    int    `json:"w"`
	H    int    `json:"h"`
	Name string `json:"name,omitempty"`
}

// Rect returns the region as a rectangle.
func (r Region) Rect() image.Rectangle { return image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H) }

// MaxRegions bounds the regions of one file.
const MaxRegions = 64

// maxRegionsFile bounds the size of a regions file.
const maxRegionsFile = 1 << 20

// ParseRegions parses a regions file: a JSON list of {"x","y","w","h"}
// objects with an optional "name", 1 to MaxRegions of them, x and y ≥ 0,
// w and h ≥ 1 (unknown fields are errors).
func ParseRegions(data []byte) ([]Region, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rs []Region
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("rois: want a JSON list of {\"x\",\"y\",\"w\",\"h\",\"name\"}: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("rois: trailing data after the list")
	}
	if len(rs) == 0 || len(rs) > MaxRegions {
		return nil, fmt.Errorf("rois: %d regions (want 1 to %d)", len(rs), MaxRegions)
	}
	for i, r := range rs {
		if r.X < 0 || r.Y < 0 || r.W < 1 || r.H < 1 || r.X > 1<<20 || r.Y > 1<<20 || r.W > 1<<20 || r.H > 1<<20 {
			return nil, fmt.Errorf("rois: region %d (%s): x and y must be ≥ 0 and w, h ≥ 1 (got %d,%d,%d,%d)", i, r.label(i), r.X, r.Y, r.W, r.H)
		}
		if len(r.Name) > 64 {
			return nil, fmt.Errorf("rois: region %d: name longer than 64 bytes", i)
		}
	}
	return rs, nil
}

func (r Region) label(i int) string {
	if r.Name != "" {
		return fmt.Sprintf("%q", r.Name)
	}
	return fmt.Sprintf("#%d", i)
}

// LoadRegions reads and parses a regions file (at most 1 MiB).
func LoadRegions(path string) ([]Region, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rois: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRegionsFile+1))
	if err != nil {
		return nil, fmt.Errorf("rois: %s: %w", path, err)
	}
	if len(b) > maxRegionsFile {
		return nil, fmt.Errorf("rois: %s is larger than %d bytes", path, maxRegionsFile)
	}
	rs, err := ParseRegions(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// CheckRegions reports the first region that does not lie inside bounds.
func CheckRegions(rs []Region, bounds image.Rectangle) error {
	for i, r := range rs {
		if !r.Rect().In(bounds) {
			return fmt.Errorf("rois: region %d (%s) %d,%d,%d,%d lies outside the %dx%d frame", i, r.label(i), r.X, r.Y, r.W, r.H, bounds.Dx(), bounds.Dy())
		}
	}
	return nil
}

// ProcessRegion is Process restricted to region r (frame coordinates)
// reading one digit, whatever Config.ROI and Config.Multi say. The
// Result is reused by the next call.
func (p *Preprocessor) ProcessRegion(img image.Image, r image.Rectangle) (*Result, error) {
	roi, multi := p.cfg.ROI, p.cfg.Multi
	p.cfg.ROI, p.cfg.Multi, p.inRegion = r, false, true
	defer func() { p.cfg.ROI, p.cfg.Multi, p.inRegion = roi, multi, false }()
	if r.Empty() {
		res := &p.res
		res.Digits = p.digitsV[:0]
		return res, nil
	}
	return p.Process(img)
}
