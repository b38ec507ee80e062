package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Request is `edgecnn build --image/--push`: cross-build every board, pack
// the images, write and/or push them.
type Request struct {
	Boards   []boards.Board
	Backends []string // as cross.Request.Backends (same for every board)
	// Builds are finished builds, one per board, used instead of building
	// (nil: cross.Build from ModuleRoot).
	Builds     []*cross.Result
	ModuleRoot string
	CacheDir   string
	Version    string
	Image      Options
	Layout     string // "oci:DIR[:TAG]" or ""
	Push       string // REGISTRY/REPO:TAG or ""
	PushOpts   PushOptions
	Log        io.Writer
}

// Made is what Make did.
type Made struct {
	Builds       []*cross.Result
	Result       *Result
	Digest       v1.Hash       // of the image (one board) or index
	LayoutDir    string        // written layout, if any
	Tag          string        // its tag
	Pushed       string        // pushed reference, if any
	BuildTime    time.Duration // cross builds
	ImageTime    time.Duration // packing and writing the layout
	PushTime     time.Duration
	ReusedLayers int // layers of the new image that the previous layout already held
	Layers       int
}

// CreatedFromEnv is SOURCE_DATE_EPOCH as a time (zero when unset), the
// reproducible-builds convention for a build's timestamp.
func CreatedFromEnv() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a Unix time", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Make builds the boards, packs one image (or a multi-arch index) and
// writes it to the layout and/or pushes it.
func Make(ctx context.Context, r Request) (*Made, error) {
	if r.Layout == "" && r.Push == "" {
		return nil, errors.New("oci: give an image layout (oci:DIR) or a registry to push to")
	}
	var dir, tag string
	if r.Layout != "" {
		var err error
		if dir, tag, err = ParseLayoutRef(r.Layout); err != nil {
			return nil, err
		}
	}
	if r.Image.Version == "" {
		r.Image.Version = r.Version
	}
	m := &Made{}
	start := time.Now()
	builds := r.Builds
	if builds == nil {
		for _, b := range r.Boards {
			res, err := cross.Build(ctx, cross.Request{Board: b, Backends: r.Backends, ModuleRoot: r.ModuleRoot,
				CacheDir: r.CacheDir, Version: r.Version, Log: r.Log})
			if err != nil {
				return nil, err
			}
			builds = append(builds, res)
		}
	}
	if len(builds) != len(r.Boards) {
		return nil, fmt.Errorf("oci: %d builds for %d boards", len(builds), len(r.Boards))
	}
	m.Builds = builds
	m.BuildTime = time.Since(start)
	start = time.Now()
	var in []Input
	for i, b := range r.Boards {
		backend := ""
		for _, be := range r.Backends {
			if be != cross.BackendNative {
				backend = be
			}
		}
		in = append(in, Input{Board: b, Binary: builds[i].Binary, Libs: builds[i].Libs, Backend: backend})
		if r.Image.Version == "" {
			r.Image.Version = builds[i].Version
		}
	}
	res, err := Build(ctx, in, r.Image)
	if err != nil {
		return nil, err
	}
	m.Result = res
	old := layoutBlobs(dir)
	for _, im := range res.Images {
		ls, err := im.Image.Layers()
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			d, err := l.Digest()
			if err != nil {
				return nil, err
			}
			m.Layers++
			if old[d.Hex] {
				m.ReusedLayers++
			}
		}
	}
	if dir != "" {
		d, err := WriteLayout(dir, tag, res)
		if err != nil {
			return nil, err
		}
		m.Digest, m.LayoutDir, m.Tag = d, dir, tag
	}
	m.ImageTime = time.Since(start)
	if r.Push != "" {
		start = time.Now()
		d, err := Push(ctx, r.Push, res, r.PushOpts)
		if err != nil {
			return nil, err
		}
		m.Digest, m.Pushed = d, r.Push
		m.PushTime = time.Since(start)
	}
	return m, nil
}

// layoutBlobs lists the sha256 blobs of an existing layout ("" or none: empty).
func layoutBlobs(dir string) map[string]bool {
	out := map[string]bool{}
	if dir == "" {
		return out
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out
}
