package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/model"
)

// Exts are the image file extensions of a folder source.
var Exts = []string{".png", ".jpg", ".jpeg", ".gif", ".pgm", ".ppm"}

// Limits that keep a folder from exhausting memory.
const (
	// MaxImages is the most images one folder may hold (photos are kept
	// as 28×28 float ink: 200,000 of them take 630 MB).
	MaxImages = 200000
	// MaxFileBytes is the largest image file read (checked before reading).
	MaxFileBytes = 64 << 20
	// DefaultMaxPixels is the largest image decoded (4096×4096): with
	// several decoding threads, memory stays bounded by a few hundred MiB.
	DefaultMaxPixels = 4096 * 4096
)

// Options configure LoadFolder.
type Options struct {
	// Preprocess is the configuration photos go through: the one
	// `edgecnn predict` uses with its default flags, unless changed.
	// Width and Height are the model input (default 28×28).
	Preprocess preprocess.Config
	// Threads decode and preprocess in parallel (≤0: 1); the result does
	// not depend on it.
	Threads int
	// MaxPixels refuses larger images (checked with image.DecodeConfig
	// before decoding; 0: DefaultMaxPixels).
	MaxPixels int
}

// Summary counts what loading a folder did with every file.
type Summary struct {
	Files     int            `json:"files"`      // image files found
	AsIs      int            `json:"as_is"`      // 28×28 grayscale, taken as they are
	Processed int            `json:"processed"`  // photos through camera/preprocess
	NoDigit   []string       `json:"no_digit"`   // photos in which preprocessing found no digit (skipped)
	Ignored   []string       `json:"ignored"`    // files that are not images (by extension), skipped
	PerLabel  map[string]int `json:"per_label"`  // images kept per label
	Classes   int            `json:"classes"`    // labels with images
	SkippedPc float64        `json:"skipped_pc"` // NoDigit share of Files, percent
}

// String is the one-line summary printed by the CLI.
func (s Summary) String() string {
	labels := make([]string, 0, len(s.PerLabel))
	for l := range s.PerLabel {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool {
		a, _ := ClassIndex(labels[i])
		b, _ := ClassIndex(labels[j])
		return a < b
	})
	var per []string
	for _, l := range labels {
		per = append(per, fmt.Sprintf("%s:%d", l, s.PerLabel[l]))
	}
	line := fmt.Sprintf("%d images in %d classes (%s); %d taken as-is (28x28 gray), %d preprocessed like predict",
		s.Files-len(s.NoDigit), s.Classes, strings.Join(per, " "), s.AsIs, s.Processed)
	line += fmt.Sprintf("; skipped: %d with no digit found", len(s.NoDigit))
	if len(s.NoDigit) > 0 {
		line += " (" + firstFew(s.NoDigit) + ")"
	}
	line += fmt.Sprintf(", %d non-image files", len(s.Ignored))
	if len(s.Ignored) > 0 {
		line += " (" + firstFew(s.Ignored) + ")"
	}
	return line
}

func firstFew(s []string) string {
	if len(s) <= 3 {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:3], ", ") + fmt.Sprintf(", … %d more", len(s)-3)
}

// IsFolder reports whether dir looks like an image folder rather than an
// MNIST folder: a directory with sub-directories and no IDX files.
func IsFolder(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	sub := false
	for _, e := range ents {
		if strings.Contains(e.Name(), "-idx") {
			return false
		}
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			sub = true
		}
	}
	return sub
}

type fileEntry struct {
	rel   string // label/name
	path  string
	label uint8
}

// LoadFolder reads an image folder DIR/<label>/*.{png,jpg,jpeg,gif,pgm,ppm}
// (labels: "0".."9" and RejectLabel). Files are read in sorted order. An
// unreadable or oversized image, a folder name that is not a label, a
// label folder without images, two files with the same content, a folder
// with no images or with one class: each is an error naming the file or
// folder. Photos in which preprocessing finds no digit and files that
// are not images are skipped and counted in the Summary.
func LoadFolder(ctx context.Context, dir string, opt Options) (*Source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("data: %s is not a folder", dir)
	}
	sum := Summary{PerLabel: map[string]int{}}
	files, err := listFolder(dir, &sum)
	if err != nil {
		return nil, err
	}
	sum.Files = len(files)

	pc := opt.Preprocess
	if pc.Width <= 0 {
		pc.Width = 28
	}
	if pc.Height <= 0 {
		pc.Height = 28
	}
	if err := pc.Validate(); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	maxPix := opt.MaxPixels
	if maxPix <= 0 {
		maxPix = DefaultMaxPixels
	}
	res, err := loadImages(ctx, files, pc, maxPix, opt.Threads)
	if err != nil {
		return nil, err
	}
	return collectFolder(dir, files, res, pc, sum)
}

// listFolder lists the image files of the label folders of dir, in sorted
// order, and counts the files that are not images in sum.Ignored.
func listFolder(dir string, sum *Summary) ([]fileEntry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var files []fileEntry
	for _, e := range ents { // ReadDir sorts by name
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if !e.IsDir() {
			sum.Ignored = append(sum.Ignored, name)
			continue
		}
		cls, ok := ClassIndex(name)
		if !ok {
			return nil, fmt.Errorf("data: %s: %w: a label folder must be named 0..9 or %q (not a digit)", filepath.Join(dir, name), ErrLabel, RejectLabel)
		}
		sub, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		n := 0
		for _, f := range sub {
			fn := f.Name()
			if strings.HasPrefix(fn, ".") {
				continue
			}
			if f.IsDir() || !isImage(fn) {
				sum.Ignored = append(sum.Ignored, name+"/"+fn)
				continue
			}
			files = append(files, fileEntry{rel: name + "/" + fn, path: filepath.Join(dir, name, fn), label: uint8(cls)})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("data: %s: %w: the label folder %q is empty (add images or remove it)", filepath.Join(dir, name), ErrEmpty, name)
		}
		if len(files) > MaxImages {
			return nil, fmt.Errorf("data: %s: more than %d images", dir, MaxImages)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data: %s: %w: expected label folders %s/0 … %s/9 (and %s/%s) with %s files", dir, ErrEmpty, dir, dir, dir, RejectLabel, strings.Join(Exts, " "))
	}
	return files, nil
}

// loaded is what loading one file gave.
type loaded struct {
	hash  [32]byte
	pix   []uint8
	ink   []float32
	none  bool
	err   error
	asIs  bool
	label uint8
}

// loadImages decodes and preprocesses the files on threads goroutines;
// results land by index, so the outcome does not depend on the number of
// threads.
func loadImages(ctx context.Context, files []fileEntry, pc preprocess.Config, maxPix, threads int) ([]loaded, error) {
	res := make([]loaded, len(files))
	threads = max(1, min(threads, len(files)))
	var wg sync.WaitGroup
	next := make(chan int)
	pres := make([]*preprocess.Preprocessor, threads)
	for t := range pres {
		var err error
		if pres[t], err = preprocess.New(pc); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
	}
	for _, pre := range pres {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := &res[i]
				r.label = files[i].label
				r.hash, r.pix, r.ink, r.asIs, r.none, r.err = loadImage(files[i].path, pc, pre, maxPix)
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// collectFolder builds the source from the loaded files, in file order:
// 28×28 grayscale images first (as pixels), then photos (as ink). The
// first unreadable file or duplicate content is an error, as are a
// folder left without images or with one class.
func collectFolder(dir string, files []fileEntry, res []loaded, pc preprocess.Config, sum Summary) (*Source, error) {
	set := &Set{H: pc.Height, W: pc.Width}
	seen := map[[32]byte]string{}
	digest := sha256.New()
	var pixLabels, inkLabels []uint8
	var pixNames, inkNames []string
	for i, f := range files {
		r := &res[i]
		if r.err != nil {
			return nil, fmt.Errorf("data: %s: %w: %v", f.path, ErrImage, r.err)
		}
		if prev, dup := seen[r.hash]; dup {
			return nil, fmt.Errorf("data: %s: %w: same content as %s (remove one)", f.path, ErrDuplicate, filepath.Join(dir, prev))
		}
		seen[r.hash] = f.rel
		fmt.Fprintf(digest, "%s\x00%s\n", f.rel, hex.EncodeToString(r.hash[:]))
		if r.none {
			sum.NoDigit = append(sum.NoDigit, f.rel)
			continue
		}
		if r.asIs {
			sum.AsIs++
			set.Pix = append(set.Pix, r.pix...)
			pixLabels = append(pixLabels, f.label)
			pixNames = append(pixNames, f.path)
		} else {
			sum.Processed++
			set.Ink = append(set.Ink, r.ink...)
			inkLabels = append(inkLabels, f.label)
			inkNames = append(inkNames, f.path)
		}
	}
	set.N8 = len(pixLabels)
	set.N = set.N8 + len(inkLabels)
	set.Labels = append(pixLabels, inkLabels...)
	set.Names = append(pixNames, inkNames...)
	sum.PerLabel = set.LabelCounts()
	sum.Classes = len(sum.PerLabel)
	sum.SkippedPc = 100 * float64(len(sum.NoDigit)) / float64(sum.Files)
	if set.N == 0 {
		return nil, fmt.Errorf("data: %s: %w: preprocessing found a digit in none of its %d images", dir, ErrEmpty, sum.Files)
	}
	if sum.Classes < 2 {
		var only string
		for l := range sum.PerLabel {
			only = l
		}
		return nil, fmt.Errorf("data: %s: %w: all %d images are labelled %q; a classifier needs at least 2 classes", dir, ErrClasses, set.N, only)
	}
	src := &Source{Train: set, Summary: sum}
	src.Info = model.DataSource{Path: dir, Kind: KindFolder, Images: set.N, SHA256: hex.EncodeToString(digest.Sum(nil)), Labels: sum.PerLabel}
	return src, nil
}

func isImage(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, x := range Exts {
		if ext == x {
			return true
		}
	}
	return false
}

// loadImage hashes, decodes and prepares one file: a 28×28 (model size)
// grayscale image as it is, anything else through pre (none: no digit).
func loadImage(path string, pc preprocess.Config, pre *preprocess.Preprocessor, maxPix int) (hash [32]byte, pix []uint8, ink []float32, asIs, none bool, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return hash, nil, nil, false, false, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return hash, nil, nil, false, false, err
	}
	if st.Size() > MaxFileBytes {
		return hash, nil, nil, false, false, fmt.Errorf("file of %d bytes is larger than %d MiB", st.Size(), MaxFileBytes>>20)
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return hash, nil, nil, false, false, err
	}
	hash = sha256.Sum256(b)
	img, err := decode(b, maxPix)
	if err != nil {
		return hash, nil, nil, false, false, err
	}
	if g, ok := img.(*image.Gray); ok && g.Rect.Dx() == pc.Width && g.Rect.Dy() == pc.Height {
		pix = make([]uint8, pc.Width*pc.Height)
		for y := 0; y < pc.Height; y++ {
			copy(pix[y*pc.Width:(y+1)*pc.Width], g.Pix[g.PixOffset(g.Rect.Min.X, g.Rect.Min.Y+y):])
		}
		return hash, pix, nil, true, false, nil
	}
	r, err := pre.Process(img)
	if err != nil {
		return hash, nil, nil, false, false, err
	}
	if len(r.Digits) == 0 {
		return hash, nil, nil, false, true, nil
	}
	return hash, nil, append([]float32(nil), r.Digits[0].Ink...), false, false, nil
}

// decode decodes an image exactly as `edgecnn predict` does
// (camera.Decode: every registered format, EXIF orientation applied),
// refusing one larger than maxPix pixels before decoding it.
func decode(b []byte, maxPix int) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if err := camera.CheckSize(cfg.Width, cfg.Height, maxPix); err != nil {
		return nil, fmt.Errorf("%s %w", format, err)
	}
	return camera.Decode(bytes.NewReader(b)) // predict's decoder: EXIF orientation too
}
