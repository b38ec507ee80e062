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
