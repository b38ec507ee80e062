package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// Checkpoint file format (version 1), all integers little-endian:
//
//	offset  size  field
//	0       8     magic "ECNNCKPT"
//	8       4     format version (1)
//	12      4     header length H
//	16      H     header, JSON (CheckpointHeader)
//	16+H    D     tensor data: float32 values, little-endian, in header order
//	end-4   4     CRC-32 (IEEE) of every preceding byte
//
// The header records the architecture, normalization, labels, training
// config, per-epoch metrics, the data sources the model was taught (path,
// kind, image count, SHA-256 of the file list; optional) and, for every
// tensor, its name, shape and element count. Model tensors use the names of Model.Params; extra state
// (optimizer moments, RNG state) is stored under names starting "state/".
const (
	ckptMagic   = "ECNNCKPT"
	ckptVersion = 1
	maxHeader   = 16 << 20
	maxElements = 1 << 30
)

// ErrCorrupt is returned (wrapped) for any malformed checkpoint.
var ErrCorrupt = errors.New("corrupt checkpoint")

// TensorEntry describes one tensor stored in a checkpoint.
type TensorEntry struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Count int    `json:"count"`
}

// CheckpointHeader is the JSON header of a checkpoint file.
type CheckpointHeader struct {
	Format  string        `json:"format"` // "edgecnn-checkpoint"
	Version string        `json:"edgecnn_version,omitempty"`
	Arch    Arch          `json:"arch"`
	Norm    Normalization `json:"normalization"`
	Labels  []string      `json:"labels"`
	// RejectThreshold is Model.RejectThreshold (absent: none).
	RejectThreshold float32         `json:"reject_threshold,omitempty"`
	Epoch           int             `json:"epoch"`             // epochs completed
	Config          json.RawMessage `json:"config,omitempty"`  // training configuration (train package's type)
	Metrics         json.RawMessage `json:"metrics,omitempty"` // per-epoch metrics (train package's type)
	Tensors         []TensorEntry   `json:"tensors"`
	// DataSources lists what the model was taught (absent in checkpoints
	// written before it existed; they still load).
	DataSources []DataSource `json:"data_sources,omitempty"`
	// Init names the checkpoint a fine-tuning run started from.
	Init *CheckpointRef `json:"init,omitempty"`
}

// DataSource records one data source of a training run: enough for a
// user to tell later what a model was taught, and whether a folder has
// changed since (SHA256).
type DataSource struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`   // "mnist" or "folder"
	Images int    `json:"images"` // images trained on
	// SHA256 is the hex SHA-256 over the source's sorted file list and
	// the files' contents (see train/data).
	SHA256 string         `json:"sha256"`
	Weight float64        `json:"weight,omitempty"` // share of every batch (mixing), 0..1
	Labels map[string]int `json:"labels,omitempty"` // images per label
	// From is set on sources inherited from an --init checkpoint: the
	// path of that checkpoint (the source was taught before this run).
	From string `json:"from,omitempty"`
}

// DataSourcesMetadata is the compact form of sources a deployable model
// file records under MetaDataSources: path, kind, image count, SHA-256
// (and "from" for sources inherited from an --init checkpoint).
func DataSourcesMetadata(sources []DataSource) string {
	type entry struct {
		Path   string `json:"path"`
		Kind   string `json:"kind"`
		Images int    `json:"images"`
		SHA256 string `json:"sha256"`
		From   string `json:"from,omitempty"`
	}
	out := make([]entry, 0, len(sources))
	for _, d := range sources {
		out = append(out, entry{d.Path, d.Kind, d.Images, d.SHA256, d.From})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// CheckpointRef identifies a checkpoint file by path and content.
type CheckpointRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"` // of the whole file
}

// Checkpoint is a model plus its training record and optional extra state.
type Checkpoint struct {
	Model   *Model
	Version string
	Epoch   int
	Config  json.RawMessage
	Metrics json.RawMessage
	State   map[string][]float32 // extra tensors, e.g. optimizer moments
	// DataSources and Init are the training run's data lineage (optional).
	DataSources []DataSource
	Init        *CheckpointRef
}

// Encode serializes the checkpoint.
func (c *Checkpoint) Encode() ([]byte, error) {
	if c.Model == nil {
		return nil, errors.New("checkpoint: no model")
	}
	h := CheckpointHeader{Format: "edgecnn-checkpoint", Version: c.Version, Arch: c.Model.Arch, Norm: c.Model.Norm,
		Labels: c.Model.Labels, RejectThreshold: c.Model.RejectThreshold, Epoch: c.Epoch, Config: c.Config, Metrics: c.Metrics,
		DataSources: c.DataSources, Init: c.Init}
	var data [][]float32
	for _, p := range c.Model.Params() {
		h.Tensors = append(h.Tensors, TensorEntry{p.Name, p.Shape, len(p.Data)})
		data = append(data, p.Data)
	}
	for _, name := range sortedKeys(c.State) {
		v := c.State[name]
		h.Tensors = append(h.Tensors, TensorEntry{"state/" + name, []int{len(v)}, len(v)})
		data = append(data, v)
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: header: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(ckptMagic)
	binary.Write(&buf, binary.LittleEndian, uint32(ckptVersion))
	binary.Write(&buf, binary.LittleEndian, uint32(len(hj)))
	buf.Write(hj)
	b4 := make([]byte, 4)
	for _, d := range data {
		for _, v := range d {
			binary.LittleEndian.PutUint32(b4, math.Float32bits(v))
			buf.Write(b4)
		}
	}
	binary.LittleEndian.PutUint32(b4, crc32.ChecksumIEEE(buf.Bytes()))
	buf.Write(b4)
	return buf.Bytes(), nil
}

// ErrNotCheckpoint is returned (wrapped) for a model file (.tflite) given
// where a checkpoint is expected.
var ErrNotCheckpoint = errors.New("not a checkpoint")

// IsCheckpoint reports whether data starts like an edgecnn checkpoint.
func IsCheckpoint(data []byte) bool {
	return len(data) >= 8 && string(data[:8]) == ckptMagic
}

// DecodeCheckpoint parses a checkpoint, verifying magic, version, checksum,
// that the architecture is valid and that every tensor matches it.
func DecodeCheckpoint(b []byte) (*Checkpoint, error) {
	if len(b) < 20 {
		return nil, fmt.Errorf("%w: file too short (%d bytes)", ErrCorrupt, len(b))
	}
	if string(b[:8]) != ckptMagic {
		if len(b) >= 8 && string(b[4:8]) == "TFL3" {
			return nil, fmt.Errorf("%w: this is a TFLite model, not a checkpoint (a .ckpt written by edgecnn train); "+
				"a model file runs with predict, eval and run, and inspect shows it", ErrNotCheckpoint)
		}
		return nil, fmt.Errorf("%w: not an edgecnn checkpoint (bad magic %q)", ErrCorrupt, b[:8])
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != ckptVersion {
		return nil, fmt.Errorf("%w: unsupported format version %d", ErrCorrupt, v)
	}
	body := b[:len(b)-4]
	if got, want := crc32.ChecksumIEEE(body), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (file truncated or damaged)", ErrCorrupt)
	}
	hl := int(binary.LittleEndian.Uint32(b[12:]))
	if hl > maxHeader || 16+hl > len(body) {
		return nil, fmt.Errorf("%w: header length %d out of range", ErrCorrupt, hl)
	}
	var h CheckpointHeader
	if err := json.Unmarshal(b[16:16+hl], &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if err := h.Arch.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	// Refuse before allocating: a damaged header must not make us allocate
	// gigabytes for an architecture the data cannot hold.
	if need := h.Arch.paramFloats(); need > int64(len(body)-16-hl)/4 {
		return nil, fmt.Errorf("%w: architecture needs %d values, file holds fewer", ErrCorrupt, need)
	}
	m, err := New(h.Arch)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	m.Norm = h.Norm
	if len(h.Labels) > 0 {
		if err := ValidateLabels(h.Labels, h.Arch.Classes); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		m.Labels = h.Labels
	}
	if !(h.RejectThreshold >= 0 && h.RejectThreshold < 1) {
		return nil, fmt.Errorf("%w: reject threshold %v out of range [0, 1)", ErrCorrupt, h.RejectThreshold)
	}
	m.RejectThreshold = h.RejectThreshold
	params := map[string]Param{}
	for _, p := range m.Params() {
		params[p.Name] = p
	}
	c := &Checkpoint{Model: m, Version: h.Version, Epoch: h.Epoch, Config: h.Config, Metrics: h.Metrics, State: map[string][]float32{},
		DataSources: h.DataSources, Init: h.Init}
	data := body[16+hl:]
	off := 0
	seen := map[string]bool{}
	for _, t := range h.Tensors {
		if t.Count < 0 || t.Count > maxElements || off+4*t.Count > len(data) {
			return nil, fmt.Errorf("%w: tensor %q: %d elements exceed the file", ErrCorrupt, t.Name, t.Count)
		}
		var dst []float32
		if p, ok := params[t.Name]; ok {
			if len(p.Data) != t.Count || !sameShape(p.Shape, t.Shape) {
				return nil, fmt.Errorf("%w: tensor %q has shape %v, architecture needs %v", ErrCorrupt, t.Name, t.Shape, p.Shape)
			}
			dst = p.Data
		} else if len(t.Name) > 6 && t.Name[:6] == "state/" {
			dst = make([]float32, t.Count)
			c.State[t.Name[6:]] = dst
		} else {
			return nil, fmt.Errorf("%w: unknown tensor %q for this architecture", ErrCorrupt, t.Name)
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
		}
		off += 4 * t.Count
		seen[t.Name] = true
	}
	if off != len(data) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(data)-off)
	}
	for name := range params {
		if !seen[name] {
			return nil, fmt.Errorf("%w: tensor %q missing", ErrCorrupt, name)
		}
	}
	return c, nil
}

// WriteCheckpointFile writes c to path atomically (temp file, fsync, rename).
func WriteCheckpointFile(path string, c *Checkpoint) error {
	b, err := c.Encode()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// ReadCheckpointFile reads and validates a checkpoint file.
func ReadCheckpointFile(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<30))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	c, err := DecodeCheckpoint(b)
	if err != nil {
		if !IsCheckpoint(b) && strings.EqualFold(filepath.Ext(path), ".onnx") {
			return nil, fmt.Errorf("checkpoint %s: %w: this is an ONNX model, not a checkpoint (a .ckpt written by edgecnn train); "+
				"a model file runs with predict, eval and run, and inspect shows it", path, ErrNotCheckpoint)
		}
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return c, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string][]float32) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}
