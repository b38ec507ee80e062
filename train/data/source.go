package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// OpenOptions configure Open.
type OpenOptions struct {
	Options
	// TrainOnly skips MNIST's test split; TestOnly reads only it (eval).
	TrainOnly, TestOnly bool
}

// IsMNIST reports whether dir holds MNIST IDX files (raw or gzipped).
func IsMNIST(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), "-idx") && strings.Contains(e.Name(), "-ubyte") {
			return true
		}
	}
	return false
}

// Open opens a data source: a folder with MNIST's IDX files, or an image
// folder (DIR/<label>/*.png …).
func Open(ctx context.Context, dir string, opt OpenOptions) (*Source, error) {
	if IsMNIST(dir) {
		return LoadMNIST(dir, opt.TrainOnly, opt.TestOnly)
	}
	if st, err := os.Stat(dir); err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("data: %s not found: give an MNIST folder (fetch it with `edgecnn data fetch --dir %s`) or an image folder DIR/<label>/*.png: %w", dir, dir, err)
		}
		return nil, fmt.Errorf("data: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("data: %s is not a folder (want MNIST's IDX files or label folders %s/0 … %s/9)", dir, dir, dir)
	}
	return LoadFolder(ctx, dir, opt.Options)
}

// LoadMNIST reads MNIST from dir as a source: the training split (60,000)
// and the test split (10,000); trainOnly or testOnly read one of them.
// The digest covers the file names and the decoded contents of the split
// trained on (the test split's for testOnly), so gzipped and raw files
// give the same digest.
func LoadMNIST(dir string, trainOnly, testOnly bool) (*Source, error) {
	src := &Source{}
	var parts []digestPart
	add := func(name string, b []byte) { parts = append(parts, digestPart{name, b}) }
	if !testOnly {
		tr, err := mnist.LoadSet(dir, mnist.TrainImages, mnist.TrainLabels, 60000)
		if err != nil {
			return nil, err
		}
		src.Train = FromMNIST(tr)
		add(mnist.TrainImages, tr.Images)
		add(mnist.TrainLabels, tr.Labels)
	}
	if !trainOnly {
		te, err := mnist.LoadTest(dir)
		if err != nil {
			return nil, err
		}
		src.Test = FromMNIST(te)
		if testOnly {
			add(mnist.TestImages, te.Images)
			add(mnist.TestLabels, te.Labels)
		}
	}
	n := 0
	var labels map[string]int
	if src.Train != nil {
		n, labels = src.Train.N, src.Train.LabelCounts()
	} else {
		n, labels = src.Test.N, src.Test.LabelCounts()
	}
	src.Info = model.DataSource{Path: dir, Kind: KindMNIST, Images: n, SHA256: digestOf(parts), Labels: labels}
	return src, nil
}

// FromDataset wraps an already loaded MNIST data set as a source (no
// copy); path names it in checkpoints.
func FromDataset(path string, ds *mnist.Dataset) *Source {
	src := &Source{Train: FromMNIST(ds.Train)}
	if ds.Test != nil {
		src.Test = FromMNIST(ds.Test)
	}
	src.Info = model.DataSource{Path: path, Kind: KindMNIST, Images: ds.Train.N, SHA256: digestOf([]digestPart{{mnist.TrainImages, ds.Train.Images}, {mnist.TrainLabels, ds.Train.Labels}}),
		Labels: src.Train.LabelCounts()}
	return src
}

type digestPart struct {
	name string
	data []byte
}

// digestOf is the source digest: SHA-256 over one line per file,
// "name NUL hex(SHA-256(contents)) LF", in order (folders use the same
// lines with label/name).
func digestOf(parts []digestPart) string {
	h := sha256.New()
	for _, p := range parts {
		s := sha256.Sum256(p.data)
		fmt.Fprintf(h, "%s\x00%s\n", p.name, hex.EncodeToString(s[:]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// OpenAll opens several sources; the same folder twice is an error.
func OpenAll(ctx context.Context, paths []string, opt OpenOptions) ([]*Source, error) {
	var out []*Source
	seen := map[string]string{}
	for _, p := range paths {
		s, err := Open(ctx, p, opt)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[s.Info.SHA256]; dup {
			return nil, fmt.Errorf("data: %s and %s hold the same images (give each source once)", prev, p)
		}
		seen[s.Info.SHA256] = p
		out = append(out, s)
	}
	return out, nil
}

// CalibVal picks calibration and validation images from the sources'
// training images, nCalib and nVal in all, each source's share by weight
// (nil: equal). MNIST gives its first images (calibration, then the
// validation ones after them, as the quantizer always did); a folder an
// even spread over its class-sorted images, capped at what it holds.
func CalibVal(sources []*Source, weights []float64, nCalib, nVal int) (calib, val *Set, err error) {
	if len(sources) == 0 {
		return nil, nil, fmt.Errorf("data: no sources")
	}
	if weights == nil {
		for range sources {
			weights = append(weights, 1)
		}
	}
	var sum float64
	for _, w := range weights {
		sum += w
	}
	var cs, vs []*Set
	for k, s := range sources {
		t := s.Train
		if t == nil {
			return nil, nil, fmt.Errorf("data: %s has no training images", s.Info.Path)
		}
		nc, nv := nCalib, nVal
		if len(sources) > 1 {
			nc = int(float64(nCalib)*weights[k]/sum + 0.5)
			nv = int(float64(nVal)*weights[k]/sum + 0.5)
		}
		if s.Info.Kind == KindMNIST && len(sources) == 1 {
			if nc+nv > t.N {
				return nil, nil, fmt.Errorf("data: %d calibration plus %d validation images exceed the %d training images of %s", nc, nv, t.N, s.Info.Path)
			}
		} else if nc+nv > t.N {
			nc = t.N * nc / (nc + nv)
			nv = t.N - nc
		}
		var ci, vi []int
		if s.Info.Kind == KindMNIST {
			for i := 0; i < nc+nv; i++ {
				if i < nc {
					ci = append(ci, i)
				} else {
					vi = append(vi, i)
				}
			}
		} else {
			tot := nc + nv
			for j, i := range spread(t.N, tot) {
				if (j+1)*nc/tot > j*nc/tot { // Bresenham: nc of tot go to calibration
					ci = append(ci, i)
				} else {
					vi = append(vi, i)
				}
			}
		}
		if len(ci) > 0 {
			cs = append(cs, t.Subset(ci))
		}
		if len(vi) > 0 {
			vs = append(vs, t.Subset(vi))
		}
	}
	if len(cs) == 0 {
		return nil, nil, fmt.Errorf("data: no calibration images")
	}
	if calib, err = Concat(cs...); err != nil {
		return nil, nil, err
	}
	if len(vs) > 0 {
		if val, err = Concat(vs...); err != nil {
			return nil, nil, err
		}
	}
	return calib, val, nil
}
