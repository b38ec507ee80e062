package collect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// errCrossDevice is rename(2)'s answer across filesystems.
var errCrossDevice = syscall.EXDEV

// idTime is the time part of a frame id (UTC, microseconds).
const idTime = "20060102T150405.000000Z"

var (
	frameIDRe = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9]{6}$`)
	cropIDRe  = regexp.MustCompile(`^([0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9]{6})-([0-9]{1,2})$`)
)

// Labels are the labels a crop can be filed under: the digits and "x"
// (not a digit).
var Labels = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "x"}

// Errors of the labelling operations (wrapped with detail).
var (
	ErrBadID    = errors.New("bad crop id")
	ErrBadLabel = errors.New("unknown label")
	ErrNoCrop   = errors.New("no such crop")
	ErrLabelled = errors.New("crop already labelled")
)

// ValidCropID reports whether id names a crop (FRAMEID-K). Valid ids
// contain no path separators or dots, so they cannot leave the directory.
func ValidCropID(id string) bool { return cropIDRe.MatchString(id) }

// frameOf returns the frame id of a file name in inbox or skipped
// ("" for names that are not collected files).
func frameOf(name string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, ".png"), ".jpg"), ".json")
	if frameIDRe.MatchString(base) {
		return base
	}
	if m := cropIDRe.FindStringSubmatch(base); m != nil {
		return m[1]
	}
	return ""
}

// cleanup removes what a crash can leave: temporary files of atomic
// writes, and frames whose sidecar (written last) is missing.
func (c *Collector) cleanup() error {
	dirs := []string{c.inbox(), c.skippedDir(), c.cfg.LabelDir}
	for _, l := range Labels {
		dirs = append(dirs, filepath.Join(c.cfg.LabelDir, l))
	}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") && e.Type().IsRegular() {
				os.Remove(filepath.Join(d, e.Name()))
			}
		}
	}
	ents, err := os.ReadDir(c.inbox())
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") {
			have[strings.TrimSuffix(e.Name(), ".json")] = true
		}
	}
	for _, e := range ents {
		if id := frameOf(e.Name()); id != "" && !have[id] {
			os.Remove(filepath.Join(c.inbox(), e.Name()))
		}
	}
	return nil
}

// rescan rebuilds the index and the bytes in use from the directories.
func (c *Collector) rescan() error {
	sizes := map[string]int64{}
	for _, d := range []string{c.inbox(), c.skippedDir()} {
		ents, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			id := frameOf(e.Name())
			if id == "" || !e.Type().IsRegular() {
				continue
			}
			if info, err := e.Info(); err == nil {
				sizes[id] += info.Size()
			}
		}
	}
	idx := make([]entry, 0, len(sizes))
	var used int64
	for id, n := range sizes {
		idx = append(idx, entry{id, n})
		used += n
	}
	slices.SortFunc(idx, func(a, b entry) int { return strings.Compare(a.id, b.id) })
	c.mu.Lock()
	c.index, c.used, c.sinceRsc = idx, used, 0
	c.mu.Unlock()
	return nil
}

// Item is one crop waiting for a label.
type Item struct {
	ID         string   `json:"id"`
	Frame      string   `json:"frame"`      // frame id (its JPEG: /label/frame/FRAME.jpg)
	Prediction string   `json:"prediction"` // the model's answer for this crop
	Confidence float32  `json:"confidence"`
	Reasons    []string `json:"reasons"`
	Time       string   `json:"time"`
}

// List returns up to limit crops waiting in the inbox, oldest first, and
// how many there are in all.
func (c *Collector) List(limit int) ([]Item, int, error) {
	ents, err := os.ReadDir(c.inbox())
	if err != nil {
		return nil, 0, fmt.Errorf("collect: %w", err)
	}
	names := map[string]bool{}
	for _, e := range ents {
		names[e.Name()] = true
	}
	var ids []string
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), ".png")
		if !ok || !ValidCropID(base) {
			continue
		}
		if !names[frameOf(base)+".json"] {
			continue // being written
		}
		ids = append(ids, base)
	}
	slices.Sort(ids)
	total := len(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	items := make([]Item, 0, len(ids))
	sidecars := map[string]*Sidecar{}
	for _, id := range ids {
		fid := frameOf(id)
		sc, ok := sidecars[fid]
		if !ok {
			sc = c.readSidecar(fid)
			sidecars[fid] = sc
		}
		it := Item{ID: id, Frame: fid}
		if sc != nil {
			it.Reasons, it.Time = sc.Reasons, sc.Time.Format("2006-01-02 15:04:05")
			for _, cr := range sc.Crops {
				if cr.File == id+".png" {
					it.Prediction, it.Confidence = cr.Label, cr.Confidence
				}
			}
		}
		items = append(items, it)
	}
	return items, total, nil
}

func (c *Collector) readSidecar(fid string) *Sidecar {
	b, err := os.ReadFile(filepath.Join(c.inbox(), fid+".json"))
	if err != nil {
		return nil
	}
	var sc Sidecar
	if json.Unmarshal(b, &sc) != nil {
		return nil
	}
	return &sc
}

// CropPath is the file of a crop waiting in the inbox.
func (c *Collector) CropPath(id string) (string, error) {
	if !ValidCropID(id) {
		return "", fmt.Errorf("%w %q", ErrBadID, id)
	}
	return filepath.Join(c.inbox(), id+".png"), nil
}

// FramePath is the JPEG of a collected frame.
func (c *Collector) FramePath(id string) (string, error) {
	if !frameIDRe.MatchString(id) {
		return "", fmt.Errorf("%w %q", ErrBadID, id)
	}
	return filepath.Join(c.inbox(), id+".jpg"), nil
}

// Label files crop id (from the inbox, or from skipped) into
// LABELDIR/<label>/id.png and returns the new path.
func (c *Collector) Label(id, label string) (string, error) {
	if !ValidCropID(id) {
		return "", fmt.Errorf("%w %q", ErrBadID, id)
	}
	if !slices.Contains(Labels, label) {
		return "", fmt.Errorf("%w %q (use one of %s)", ErrBadLabel, label, strings.Join(Labels, " "))
	}
	dir := filepath.Join(c.cfg.LabelDir, label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("collect: %w", err)
	}
	dst := filepath.Join(dir, id+".png")
	for _, src := range []string{filepath.Join(c.inbox(), id+".png"), filepath.Join(c.skippedDir(), id+".png")} {
		err := move(src, dst)
		if err == nil {
			return dst, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("collect: labelling %s: %w", id, err)
		}
	}
	if l := c.labelOf(id); l != "" {
		return "", fmt.Errorf("%w: %s is filed under %q", ErrLabelled, id, l)
	}
	return "", fmt.Errorf("%w %s (deleted by the disk quota, or never collected)", ErrNoCrop, id)
}

// Skip moves crop id out of the inbox into DIR/skipped (it stays under
// the quota and can still be labelled by id).
func (c *Collector) Skip(id string) error {
	if !ValidCropID(id) {
		return fmt.Errorf("%w %q", ErrBadID, id)
	}
	err := move(filepath.Join(c.inbox(), id+".png"), filepath.Join(c.skippedDir(), id+".png"))
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("collect: skipping %s: %w", id, err)
	}
	if l := c.labelOf(id); l != "" {
		return fmt.Errorf("%w: %s is filed under %q", ErrLabelled, id, l)
	}
	if _, err := os.Stat(filepath.Join(c.skippedDir(), id+".png")); err == nil {
		return nil // skipped already
	}
	return fmt.Errorf("%w %s (deleted by the disk quota, or never collected)", ErrNoCrop, id)
}

func (c *Collector) labelOf(id string) string {
	for _, l := range Labels {
		if _, err := os.Stat(filepath.Join(c.cfg.LabelDir, l, id+".png")); err == nil {
			return l
		}
	}
	return ""
}

// move renames src to dst atomically; across filesystems it copies dst
// atomically and then removes src.
func move(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil {
		syncDir(filepath.Dir(dst))
		return nil
	}
	var le *os.LinkError
	if !errors.As(err, &le) || !errors.Is(err, errCrossDevice) {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := atomicfile.Write(dst, 0o644, func(w io.Writer) error { _, err := io.Copy(w, f); return err }); err != nil {
		return err
	}
	return os.Remove(src)
}

func syncDir(d string) {
	if f, err := os.Open(d); err == nil {
		f.Sync()
		f.Close()
	}
}
