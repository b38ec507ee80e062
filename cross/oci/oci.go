// Package oci packs cross-built edgecnn binaries into OCI container images
// in pure Go (github.com/google/go-containerregistry), with no Docker
// daemon: a base-less image per board holding the binary, the model (and
// the segmentation judge beside it), the bundled shared libraries of cgo
// backends (with the dynamic loader and C libraries they need, from the
// cross toolchain) and empty state and /tmp folders, with OCI labels, an
// entrypoint `edgecnn run …` and a Docker healthcheck (`edgecnn
// healthcheck`). Several boards make one multi-arch index. The result is
// written as an OCI image layout (a folder) or pushed to a registry.
//
// Layers are reproducible: files sorted, owner 0:0, every timestamp set to
// Options.Created, so re-building with an unchanged binary gives the same
// layer digests (and an unchanged image gives the same image digest), and a
// registry or a board that has the layers already does not fetch them again.
// The binary, the libraries, the judge and the model are separate layers: a
// new model leaves the binary's and the judge's layers as they were.
package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/deploy"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Root is where the image keeps edgecnn's files.
const Root = "/opt/edgecnn"

// StateDir is the agent's state folder inside the image (EDGECNN_STATE_DIR).
const StateDir = "/var/lib/edgecnn"

// Input is one board's contents.
type Input struct {
	Board   boards.Board
	Binary  string   // edgecnn built for the board
	Libs    []string // shared libraries for cgo backends (go to Root/lib)
	Backend string   // backend `edgecnn run` uses ("": the board's)
	// SysrootDirs are searched for the C libraries a dynamically linked
	// (cgo) binary needs, which go into the image with the dynamic loader
	// (nil: SysrootDirs(Board)). A static binary needs none.
	SysrootDirs []string
}

// Options are shared by every board of an image.
type Options struct {
	Model   string // model file (.tflite or .onnx), required
	Judge   string // optional segmentation judge, beside the model as judge<ext> (deploy.JudgeFileName)
	Config  string // optional config file for `edgecnn run --config`
	Version string // image version label ("" → "dev")
	// Created stamps the config and every file (zero: the Unix epoch), so
	// builds are reproducible; use SOURCE_DATE_EPOCH or a commit time.
	Created time.Time
	// HTTP is the agent's listen address inside the container (default
	// 0.0.0.0:8080).
	HTTP string
	// HealthHTTP is the health responder's address inside the container
	// (`run --health-http`; the HEALTHCHECK asks its /healthz). ""
	// derives it: loopback, the HTTP port + 1 (127.0.0.1:8081); "-": none,
	// the HEALTHCHECK asks the API's /healthz.
	HealthHTTP string
	// Camera is the frame source (default "auto").
	Camera string
	// Source is the org.opencontainers.image.source label.
	Source string
	// Revision is the org.opencontainers.image.revision label (optional).
	Revision string
}

// Image is one built image with its platform.
type Image struct {
	Board    string
	Platform v1.Platform
	Image    v1.Image
}

// Result is a built image or index.
type Result struct {
	Images []Image
	// Index holds every image (multi-arch); it is also written for one board.
	Index v1.ImageIndex
}

// Platform is the OCI platform of a board.
func Platform(b boards.Board) (v1.Platform, error) {
	if b.GOOS == "" || b.GOARCH == "" {
		return v1.Platform{}, fmt.Errorf("oci: %s is not a build target", b.Name)
	}
	p := v1.Platform{OS: b.GOOS, Architecture: b.GOARCH}
	switch b.GOARCH {
	case "arm":
		p.Variant = "v" + b.GOARM
	case "arm64":
		p.Variant = "v8"
	}
	return p, nil
}

func (o Options) withDefaults() Options {
	if o.HTTP == "" {
		o.HTTP = "0.0.0.0:8080"
	}
	if o.Camera == "" {
		o.Camera = "auto"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0)
	}
	if o.Source == "" {
		o.Source = "https://github.com/edgecnn/edgecnn"
	}
	o.Created = o.Created.UTC()
	return o
}

// Build makes one image per input and an index of them all.
func Build(ctx context.Context, in []Input, o Options) (*Result, error) {
	if len(in) == 0 {
		return nil, errors.New("oci: no board")
	}
	if o.Model == "" {
		return nil, errors.New("oci: no model file (--model)")
	}
	o = o.withDefaults()
	res := &Result{}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	seen := map[string]string{}
	var adds []mutate.IndexAddendum
	for _, x := range in {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := Platform(x.Board)
		if err != nil {
			return nil, err
		}
		key := p.String()
		if other, ok := seen[key]; ok {
			return nil, fmt.Errorf("oci: boards %s and %s are both %s; an index holds one image per platform", other, x.Board.Name, key)
		}
		seen[key] = x.Board.Name
		img, err := buildOne(x, p, o)
		if err != nil {
			return nil, fmt.Errorf("oci: %s: %w", x.Board.Name, err)
		}
		res.Images = append(res.Images, Image{Board: x.Board.Name, Platform: p, Image: img})
		pp := p
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pp,
			Annotations: map[string]string{"io.edgecnn.board": x.Board.Name}}})
	}
	res.Index = mutate.AppendManifests(idx, adds...)
	return res, nil
}

func buildOne(x Input, p v1.Platform, o Options) (v1.Image, error) {
	backend := x.Backend
	if backend == "" {
		backend = x.Board.Backend
	}
	if backend == "" {
		backend = "native"
	}
	modelName := "model" + strings.ToLower(filepath.Ext(o.Model))
	var specs []layerSpec
	// Folders the agent writes to: state and /tmp (the image has no base).
	specs = append(specs, layerSpec{"folders", []tarFile{
		{name: "tmp/", mode: 0o1777}, {name: "var/", mode: 0o755}, {name: "var/lib/", mode: 0o755},
		{name: strings.TrimPrefix(StateDir, "/") + "/", mode: 0o777},
	}})
	dirs := x.SysrootDirs
	if dirs == nil {
		dirs = SysrootDirs(x.Board)
	}
	sys, err := systemLibs(x.Binary, x.Libs, dirs)
	if err != nil {
		return nil, err
	}
	if len(sys) > 0 {
		specs = append(specs, layerSpec{"C libraries", sys})
	}
	if len(x.Libs) > 0 {
		var fs []tarFile
		for _, l := range x.Libs {
			fs = append(fs, tarFile{name: path.Join(Root[1:], "lib", filepath.Base(l)), src: l, mode: 0o644})
		}
		specs = append(specs, layerSpec{"libraries", fs})
	}
	specs = append(specs, layerSpec{"binary", []tarFile{{name: path.Join(Root[1:], "edgecnn"), src: x.Binary, mode: 0o755}}})
	judgeName := ""
	if o.Judge != "" {
		// A layer of its own before the model's: a new model leaves it as it was.
		if judgeName, err = deploy.JudgeFileName(o.Model, o.Judge); err != nil {
			return nil, err
		}
		specs = append(specs, layerSpec{"judge", []tarFile{{name: path.Join(Root[1:], judgeName), src: o.Judge, mode: 0o644}}})
	}
	model := []tarFile{{name: path.Join(Root[1:], modelName), src: o.Model, mode: 0o644}}
	args := []string{"--model", path.Join(Root, modelName), "--backend", backend, "--camera", o.Camera, "--wait-camera", "--http", o.HTTP}
	if o.Config != "" {
		cn := "config" + strings.ToLower(filepath.Ext(o.Config))
		model = append(model, tarFile{name: path.Join(Root[1:], cn), src: o.Config, mode: 0o644})
		args = append(args, "--config", path.Join(Root, cn))
	}
	specs = append(specs, layerSpec{"model", model})

	bin := path.Join(Root, "edgecnn")
	_, port, _ := strings.Cut(o.HTTP, ":")
	if port == "" {
		port = "8080"
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("bad HTTP address %q", o.HTTP)
	}
	healthURL, healthArgs, err := healthEndpoint(o, port)
	if err != nil {
		return nil, err
	}
	args = append(args, healthArgs...)
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture, OS: p.OS, Variant: p.Variant,
		Created: v1.Time{Time: o.Created},
		RootFS:  v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: []string{bin, "run"},
			Cmd:        args,
			Env: []string{"PATH=" + Root + ":/usr/bin:/bin", "EDGECNN_STATE_DIR=" + StateDir,
				"LD_LIBRARY_PATH=" + path.Join(Root, "lib") + ":/lib"},
			WorkingDir:   Root,
			ExposedPorts: map[string]struct{}{port + "/tcp": {}},
			Labels: map[string]string{
				"org.opencontainers.image.title":       "edgecnn",
				"org.opencontainers.image.description": "edgecnn handwritten-digit recognizer for " + x.Board.Name + " (" + x.Board.Triple() + ")",
				"org.opencontainers.image.version":     o.Version,
				"org.opencontainers.image.created":     o.Created.Format(time.RFC3339),
				"org.opencontainers.image.source":      o.Source,
				"org.opencontainers.image.licenses":    "Apache-2.0",
				"io.edgecnn.board":                     x.Board.Name,
				"io.edgecnn.backend":                   backend,
				"io.edgecnn.model":                     modelName,
			},
			Healthcheck: &v1.HealthConfig{
				// `edgecnn healthcheck` polls until healthy or its timeout; one
				// Docker check must end within Timeout.
				Test:     []string{"CMD", bin, "healthcheck", "--url", healthURL, "--timeout", "4s"},
				Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 20 * time.Second, Retries: 3,
			},
		},
	}
	if o.Revision != "" {
		cfg.Config.Labels["org.opencontainers.image.revision"] = o.Revision
	}
	if judgeName != "" {
		cfg.Config.Labels["io.edgecnn.judge"] = judgeName
	}
	img, err := mutate.ConfigFile(mutate.MediaType(empty.Image, types.OCIManifestSchema1), cfg)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return appendLayers(img, specs, o.Created)
}

// healthEndpoint is the URL the image's HEALTHCHECK polls and the run
// arguments that start the health responder: on HealthHTTP ("": the
// loopback HTTP port + 1), or "-" for none (then /healthz of the main
// HTTP port, given as port).
func healthEndpoint(o Options, port string) (string, []string, error) {
	healthURL := "http://127.0.0.1:" + port + "/healthz"
	if o.HealthHTTP == "-" {
		return healthURL, nil, nil
	}
	hp, _ := strconv.Atoi(port)
	if o.HealthHTTP == "" {
		o.HealthHTTP = "127.0.0.1:" + strconv.Itoa(hp+1)
	}
	host, hport, err := net.SplitHostPort(o.HealthHTTP)
	if err != nil || hport == "" || o.HealthHTTP == o.HTTP {
		return "", nil, fmt.Errorf("bad health responder address %q (want HOST:PORT of its own, or -)", o.HealthHTTP)
	}
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	healthURL = "http://" + net.JoinHostPort(host, hport) + "/healthz"
	return healthURL, []string{"--health-http", o.HealthHTTP}, nil
}

// layerSpec is one layer of the image: what it holds (for its history)
// and its files.
type layerSpec struct {
	what  string
	files []tarFile
}

// appendLayers adds one uncompressed-tar layer per spec, all dated
// created, and pins the image's creation time.
func appendLayers(img v1.Image, specs []layerSpec, created time.Time) (v1.Image, error) {
	var adds []mutate.Addendum
	for _, s := range specs {
		data, err := tarLayer(s.files, created)
		if err != nil {
			return nil, fmt.Errorf("%s layer: %w", s.what, err)
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
		if err != nil {
			return nil, fmt.Errorf("%s layer: %w", s.what, err)
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: types.OCILayer,
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "edgecnn build --image (" + s.what + ")"}})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	// mutate.Append keeps the config's Created; pin it again anyway.
	return mutate.CreatedAt(img, v1.Time{Time: created})
}

// tarFile is one entry of a layer: a folder (name ends in /) or a file.
type tarFile struct {
	name string
	src  string
	mode int64
}

// tarLayer writes a reproducible tar: parent folders first, entries sorted,
// owner 0:0, fixed times, no user or group names.
func tarLayer(files []tarFile, mtime time.Time) ([]byte, error) {
	all := map[string]tarFile{}
	for _, f := range files {
		all[f.name] = f
		for d := path.Dir(strings.TrimSuffix(f.name, "/")); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := all[d+"/"]; !ok {
				all[d+"/"] = tarFile{name: d + "/", mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		f := all[n]
		h := &tar.Header{Name: n, Mode: f.mode, ModTime: mtime, Format: tar.FormatPAX}
		if strings.HasSuffix(n, "/") {
			h.Typeflag = tar.TypeDir
			if err := tw.WriteHeader(h); err != nil {
				return nil, err
			}
			continue
		}
		data, err := os.ReadFile(f.src)
		if err != nil {
			return nil, err
		}
		h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
