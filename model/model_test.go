package model

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

func randomModel(t *testing.T, a Arch) *Model {
	t.Helper()
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(7))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(r.NormFloat64() * 0.1)
		}
	}
	for i := range m.Layers {
		if l := &m.Layers[i]; l.Kind == KindBatchNorm {
			for c := range l.RunVar {
				l.RunVar[c] = 0.5 + r.Float32()
			}
		}
	}
	return m
}

func TestSeedShapes(t *testing.T) {
	m, err := New(SeedArch())
	if err != nil {
		t.Fatal(err)
	}
	fc1 := m.Layer("fc1")
	if fc1 == nil || fc1.In.C != 3136 || fc1.Out.C != 128 {
		t.Fatalf("fc1 shape wrong: %+v", fc1)
	}
	// 320 + 18496 + 401536 + 1290 parameters, as the PyTorch seed model.
	if got := m.NumParams(); got != 421642 {
		t.Fatalf("NumParams = %d, want 421642", got)
	}
	if got := m.MACs(); got != 28*28*32*9+14*14*64*288+3136*128+1280 {
		t.Fatalf("MACs = %d", got)
	}
	w, _ := New(Arch{InputH: 28, InputW: 28, InputC: 1, Width: 48, Hidden: 64, Classes: 10, BatchNorm: true})
	if l := w.Layer("fc1"); l.In.C != 7*7*96 {
		t.Fatalf("wider variant fc1 in = %d", l.In.C)
	}
}

func TestArchValidate(t *testing.T) {
	bad := []Arch{{}, {InputH: 28, InputW: 28, InputC: 1, Width: 0, Hidden: 1, Classes: 10},
		{InputH: 28, InputW: 28, InputC: 1, Width: 8, Hidden: 8, Classes: 1},
		{InputH: 28, InputW: 28, InputC: 1, Width: 8, Hidden: 8, Classes: 10, Dropout: 1}}
	for _, a := range bad {
		if _, err := New(a); err == nil {
			t.Errorf("New(%+v) accepted", a)
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	a := SeedArch()
	a.BatchNorm = true
	a.Width = 4
	a.Hidden = 16
	m := randomModel(t, a)
	c := &Checkpoint{Model: m, Epoch: 3, Config: []byte(`{"lr":0.001}`), State: map[string][]float32{"adam.m": {1, 2, 3}}}
	p := filepath.Join(t.TempDir(), "m.ckpt")
	if err := WriteCheckpointFile(p, c); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCheckpointFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 3 || string(got.Config) != `{"lr":0.001}` || len(got.State["adam.m"]) != 3 {
		t.Fatalf("metadata lost: %+v", got)
	}
	x := make([]float32, 28*28)
	for i := range x {
		x[i] = float32(i%17) / 17
	}
	y1, _ := m.Forward(x)
	y2, err := got.Model.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range y1 {
		if y1[i] != y2[i] {
			t.Fatalf("logit %d differs after round trip: %v vs %v", i, y1[i], y2[i])
		}
	}
}

func TestCheckpointCorrupt(t *testing.T) {
	m := randomModel(t, Arch{InputH: 8, InputW: 8, InputC: 1, Width: 2, Hidden: 4, Classes: 3})
	b, err := (&Checkpoint{Model: m}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     {},
		"truncated": b[:len(b)/2],
		"magic":     append([]byte("XXXXXXXX"), b[8:]...),
		"bitflip":   func() []byte { c := append([]byte(nil), b...); c[len(c)/2] ^= 1; return c }(),
	}
	for name, data := range cases {
		if _, err := DecodeCheckpoint(data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := ReadCheckpointFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestForwardShapeError(t *testing.T) {
	m, _ := New(SeedArch())
	if _, err := m.Forward(make([]float32, 10)); !errors.Is(err, ErrShape) {
		t.Fatalf("got %v", err)
	}
}

func TestCheckFinite(t *testing.T) {
	m, _ := New(SeedArch())
	m.Layers[0].Weight[5] = float32(math.NaN())
	if err := m.CheckFinite(); err == nil {
		t.Fatal("NaN not detected")
	}
}

func TestParamFloatsMatchesNew(t *testing.T) {
	for _, a := range []Arch{SeedArch(), {InputH: 28, InputW: 28, InputC: 1, Width: 8, Hidden: 16, Classes: 10, BatchNorm: true}} {
		m, _ := New(a)
		n := 0
		for _, p := range m.Params() {
			n += len(p.Data)
		}
		if int64(n) != a.paramFloats() {
			t.Fatalf("paramFloats %d, New allocates %d", a.paramFloats(), n)
		}
	}
}

// TestCheckpointDataSources: the data lineage survives a round trip, and
// a checkpoint written before it existed (no keys) still loads.
func TestCheckpointDataSources(t *testing.T) {
	a := SeedArch()
	a.Width, a.Hidden = 2, 8
	m := randomModel(t, a)
	src := []DataSource{{Path: "data/mnist", Kind: "mnist", Images: 60000, SHA256: "ab", Weight: 0.5, Labels: map[string]int{"0": 5923}},
		{Path: "field", Kind: "folder", Images: 300, SHA256: "cd", From: "base.ckpt"}}
	c := &Checkpoint{Model: m, DataSources: src, Init: &CheckpointRef{Path: "base.ckpt", SHA256: "ef"}}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.DataSources) != 2 || got.DataSources[0].Labels["0"] != 5923 || got.DataSources[1].From != "base.ckpt" ||
		got.Init == nil || got.Init.SHA256 != "ef" {
		t.Fatalf("lineage lost: %+v %+v", got.DataSources, got.Init)
	}
	if md := DataSourcesMetadata(got.DataSources); md != `[{"path":"data/mnist","kind":"mnist","images":60000,"sha256":"ab"},{"path":"field","kind":"folder","images":300,"sha256":"cd","from":"base.ckpt"}]` {
		t.Fatalf("metadata %s", md)
	}
	old, err := (&Checkpoint{Model: m}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(old, []byte("data_sources")) || bytes.Contains(old, []byte(`"init"`)) {
		t.Fatal("a checkpoint without lineage writes the keys anyway")
	}
	if got, err := DecodeCheckpoint(old); err != nil || got.DataSources != nil || got.Init != nil {
		t.Fatalf("checkpoint without lineage: %v %+v", err, got)
	}
}
