package data

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/model"
)

// gray28 is a 28×28 grayscale PNG with a bar at column k (distinct
// content per k).
func gray28(t testing.TB, k int) []byte {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := 4; y < 24; y++ {
		img.Pix[y*28+4+k%20] = 255
		img.Pix[y*28+5+k%20] = 200
	}
	img.Pix[k/20] = uint8(k)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// smallFolder writes labels × per 28×28 images.
func smallFolder(t testing.TB, labels []string, per int) string {
	dir := t.TempDir()
	k := 0
	for _, l := range labels {
		for i := 0; i < per; i++ {
			write(t, filepath.Join(dir, l, "img"+string(rune('a'+i))+".png"), gray28(t, k))
			k++
		}
	}
	return dir
}

func load(t testing.TB, dir string) (*Source, error) {
	return LoadFolder(context.Background(), dir, Options{Threads: 2})
}

func TestFolderAsIsAndSummary(t *testing.T) {
	dir := smallFolder(t, []string{"3", "0", "x"}, 3)
	write(t, filepath.Join(dir, "README.txt"), []byte("notes"))
	write(t, filepath.Join(dir, "0", "sidecar.json"), []byte("{}"))
	src, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	s := src.Train
	if s.N != 9 || s.N8 != 9 || s.H != 28 || s.W != 28 {
		t.Fatalf("set %d images (%d 8-bit) %dx%d, want 9 8-bit 28x28", s.N, s.N8, s.H, s.W)
	}
	// Sorted: label folders by name (0, 3, x), files by name.
	want := []uint8{0, 0, 0, 3, 3, 3, 10, 10, 10}
	for i, l := range want {
		if s.Labels[i] != l {
			t.Fatalf("labels %v, want %v", s.Labels, want)
		}
	}
	if !strings.HasSuffix(s.Names[0], filepath.Join("0", "imga.png")) {
		t.Fatalf("first file %s", s.Names[0])
	}
	// 28×28 gray images are taken as they are.
	pix, _ := s.Image(3)
	if !bytes.Equal(pix, decodeGray(t, gray28(t, 0))) { // label 3 sorted after 0 … but written first (k=0)
		t.Fatalf("image of 3/imga.png was changed")
	}
	sum := src.Summary
	if sum.AsIs != 9 || sum.Processed != 0 || len(sum.Ignored) != 2 || sum.Classes != 3 || sum.PerLabel["x"] != 3 {
		t.Fatalf("summary %+v", sum)
	}
	line := sum.String()
	for _, w := range []string{"9 images in 3 classes", "0:3 3:3 x:3", "2 non-image files", "README.txt"} {
		if !strings.Contains(line, w) {
			t.Errorf("summary %q lacks %q", line, w)
		}
	}
	if src.Info.Kind != KindFolder || src.Info.Images != 9 || len(src.Info.SHA256) != 64 {
		t.Fatalf("info %+v", src.Info)
	}
}

func decodeGray(t testing.TB, b []byte) []uint8 {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img.(*image.Gray).Pix
}

// TestDigest: stable across loads and thread counts; any change of a
// file's content or name changes it.
func TestDigest(t *testing.T) {
	dir := smallFolder(t, []string{"1", "2"}, 2)
	a, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadFolder(context.Background(), dir, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Info.SHA256 != b.Info.SHA256 {
		t.Fatalf("digest differs between loads: %s %s", a.Info.SHA256, b.Info.SHA256)
	}
	write(t, filepath.Join(dir, "2", "imgb.png"), gray28(t, 99))
	c, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Info.SHA256 == a.Info.SHA256 {
		t.Fatal("digest unchanged after a file changed")
	}
	if err := os.Rename(filepath.Join(dir, "2", "imgb.png"), filepath.Join(dir, "2", "imgz.png")); err != nil {
		t.Fatal(err)
	}
	d, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Info.SHA256 == c.Info.SHA256 {
		t.Fatal("digest unchanged after a file was renamed")
	}
}

// hugePNG is a valid PNG header claiming w×h pixels (no image data: only
// DecodeConfig can read it).
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit gray
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestFolderBadInput: every bad folder gets a clear error naming the file
// or folder, and nothing is loaded.
func TestFolderBadInput(t *testing.T) {
	cases := []struct {
		name  string
		setup func(dir string)
		err   error
		want  []string
	}{
		{"corrupt image", func(dir string) {
			write(t, filepath.Join(dir, "4", "broken.png"), []byte("\x89PNG\r\n\x1a\nnot really"))
		}, ErrImage, []string{filepath.Join("4", "broken.png")}},
		{"truncated jpeg", func(dir string) {
			write(t, filepath.Join(dir, "4", "cut.jpg"), []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F'})
		}, ErrImage, []string{"cut.jpg"}},
		{"huge image", func(dir string) {
			write(t, filepath.Join(dir, "4", "huge.png"), hugePNG(100000, 100000))
		}, ErrImage, []string{"huge.png", "exceeds the limit"}},
		{"label folder named seven", func(dir string) {
			write(t, filepath.Join(dir, "seven", "a.png"), gray28(t, 50))
		}, ErrLabel, []string{"seven", "0..9"}},
		{"empty class", func(dir string) {
			os.MkdirAll(filepath.Join(dir, "5"), 0o755)
			write(t, filepath.Join(dir, "5", "notes.txt"), []byte("x"))
		}, ErrEmpty, []string{`label folder "5" is empty`}},
		{"duplicate files", func(dir string) {
			write(t, filepath.Join(dir, "4", "copy.png"), gray28(t, 0))
		}, ErrDuplicate, []string{"copy.png", filepath.Join("1", "imga.png")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := smallFolder(t, []string{"1", "4"}, 2)
			tc.setup(dir)
			_, err := load(t, dir)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	t.Run("no images", func(t *testing.T) {
		dir := t.TempDir()
		_, err := load(t, dir)
		if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("one class", func(t *testing.T) {
		dir := smallFolder(t, []string{"7"}, 3)
		_, err := load(t, dir)
		if !errors.Is(err, ErrClasses) || !strings.Contains(err.Error(), `"7"`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, err := Open(context.Background(), filepath.Join(t.TempDir(), "mydigits"), OpenOptions{})
		if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "DIR/<label>") {
			t.Fatalf("error %v", err)
		}
	})
}

// TestPhotosNoDigitCounted: photos go through preprocessing; a blank
// photo (no digit) is skipped and counted, not silently dropped.
func TestPhotosNoDigitCounted(t *testing.T) {
	dir := t.TempDir()
	if err := photoset.LCDSet(dir, 10, 3, 120, 90); err != nil {
		t.Fatal(err)
	}
	blank := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range blank.Pix {
		blank.Pix[i] = 180
	}
	var b bytes.Buffer
	png.Encode(&b, blank)
	write(t, filepath.Join(dir, "x", "blank.png"), b.Bytes())
	src, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if src.Train.N != 10 || src.Train.N8 != 0 || src.Summary.Processed != 10 || len(src.Summary.NoDigit) != 1 ||
		src.Summary.NoDigit[0] != "x/blank.png" || !strings.Contains(src.Summary.String(), "1 with no digit found (x/blank.png)") {
		t.Fatalf("set %d/%d, summary %+v", src.Train.N, src.Train.N8, src.Summary)
	}
	// Ink is the preprocessor's 0..1 output.
	_, ink := src.Train.Image(0)
	hi := float32(0)
	for _, v := range ink {
		if v < 0 || v > 1 {
			t.Fatalf("ink value %v outside [0, 1]", v)
		}
		hi = max(hi, v)
	}
	if hi < 0.5 {
		t.Fatalf("no ink in the preprocessed photo (max %v)", hi)
	}
}

// TestSamplerShares: with equal weights every batch holds an equal share
// of each source; with 3:1 three quarters; a small source repeats evenly.
func TestSamplerShares(t *testing.T) {
	sizes := []int{6000, 30}
	off := func(k, i int) int { return k*100000 + i }
	for _, tc := range []struct {
		w    []float64
		want int // images of source 0 per batch of 64
	}{{nil, 32}, {[]float64{3, 1}, 48}, {[]float64{1, 0}, 64}} {
		s, err := NewSampler(sizes, tc.w, off)
		if err != nil {
			t.Fatal(err)
		}
		order := make([]int, 64*20)
		s.Order(1, 0, order)
		seen := map[int]int{}
		for b := 0; b < 20; b++ {
			n0 := 0
			for _, i := range order[b*64 : (b+1)*64] {
				if i < 100000 {
					n0++
				} else {
					seen[i]++
				}
			}
			if n0 != tc.want {
				t.Fatalf("weights %v: batch %d has %d images of source 0, want %d", tc.w, b, n0, tc.want)
			}
		}
		if tc.want == 32 {
			// 640 draws from 30 images: each 21 or 22 times.
			for i := 0; i < 30; i++ {
				if c := seen[100000+i]; c < 21 || c > 22 {
					t.Fatalf("image %d of the small source drawn %d times, want 21 or 22", i, c)
				}
			}
		}
		again := make([]int, len(order))
		s.Order(1, 0, again)
		other := make([]int, len(order))
		s.Order(1, 1, other)
		same, diff := true, false
		for i := range order {
			same = same && order[i] == again[i]
			diff = diff || order[i] != other[i]
		}
		if !same || !diff {
			t.Fatalf("order not deterministic per (seed, epoch): same %v, differs by epoch %v", same, diff)
		}
	}
	if _, err := NewSampler(sizes, []float64{1}, off); err == nil {
		t.Fatal("1 weight for 2 sources accepted")
	}
	if _, err := ParseMix("1,-2"); err == nil {
		t.Fatal("negative weight accepted")
	}
	if w, err := ParseMix("3:1"); err != nil || len(w) != 2 || w[0] != 3 {
		t.Fatalf("ParseMix 3:1 = %v, %v", w, err)
	}
}

func TestConcatAndSplit(t *testing.T) {
	a := &Set{N: 2, H: 2, W: 2, N8: 2, Pix: []uint8{1, 1, 1, 1, 2, 2, 2, 2}, Labels: []uint8{1, 2}}
	b := &Set{N: 2, H: 2, W: 2, N8: 1, Pix: []uint8{3, 3, 3, 3}, Ink: []float32{.5, .5, .5, .5}, Labels: []uint8{3, 10}}
	c, err := Concat(a, b)
	if err != nil {
		t.Fatal(err)
	}
	off := Offsets(a, b)
	for k, s := range []*Set{a, b} {
		for i := 0; i < s.N; i++ {
			j := off(k, i)
			p1, f1 := s.Image(i)
			p2, f2 := c.Image(j)
			if !bytes.Equal(p1, p2) || len(f1) != len(f2) || c.Labels[j] != s.Labels[i] {
				t.Fatalf("image %d of set %d landed at %d with different content", i, k, j)
			}
		}
	}
	norm := model.MNISTNorm
	x := make([]float32, 4)
	c.Input(3, norm, x)
	if x[0] != (0.5-norm.Mean)*(1/norm.Std) {
		t.Fatalf("float input %v", x[0])
	}
	src := &Source{Info: model.DataSource{Kind: KindFolder}, Train: c}
	val, err := src.SplitVal(2)
	if err != nil || val.N != 2 || src.Train.N != 2 {
		t.Fatalf("split: %v, %v", val, err)
	}
}

func TestFolderCancelled(t *testing.T) {
	dir := smallFolder(t, []string{"1", "2"}, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoadFolder(ctx, dir, Options{Threads: 2}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled load: %v", err)
	}
}
