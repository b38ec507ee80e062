package tflite

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite/graphtest"
	fb "github.com/edgecnn/edgecnn/model/tflite/internal/tflitefb"
)

// testGraphs returns a float graph and int8 graphs with float, int8 and
// uint8 IO, built from a small random model (the seed architecture with
// narrower layers keeps the tests fast).
func testGraphs(t testing.TB) map[string]*model.Graph {
	t.Helper()
	a := model.SeedArch()
	a.Width, a.Hidden, a.BatchNorm = 4, 16, true
	m, err := graphtest.RandomModel(a, 1)
	if err != nil {
		t.Fatal(err)
	}
	fg, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	fg.Metadata[model.MetaVersion] = "test"
	sm, err := model.FloatGraphWith(m, model.GraphOptions{Softmax: true, StaticBatch: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*model.Graph{"float": fg, "float-softmax-static": sm}
	calib := graphtest.RandomImages(m, 4, 2)
	for name, io := range map[string]model.DType{"int8-floatio": model.Float32, "int8-int8io": model.Int8, "int8-uint8io": model.UInt8} {
		g, err := graphtest.Int8Graph(fg, calib, io)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = g
	}
	q, err := graphtest.Int8Graph(sm, calib, model.Float32)
	if err != nil {
		t.Fatal(err)
	}
	q.Tensors[0].Quant.Min, q.Tensors[0].Quant.Max = []float32{-1}, []float32{2} // optional fields travel too
	out["int8-softmax"] = q
	return out
}

func TestRoundTrip(t *testing.T) {
	for name, g := range testGraphs(t) {
		t.Run(name, func(t *testing.T) {
			b1, err := Write(g)
			if err != nil {
				t.Fatal(err)
			}
			g2, err := Read(b1)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, g2) {
				for i := range g.Tensors {
					if !reflect.DeepEqual(g.Tensors[i], g2.Tensors[i]) {
						t.Errorf("tensor %d differs:\n%+v\n%+v", i, g.Tensors[i], g2.Tensors[i])
					}
				}
				for i := range g.Ops {
					if !reflect.DeepEqual(g.Ops[i], g2.Ops[i]) {
						t.Errorf("op %d differs:\n%+v\n%+v", i, g.Ops[i], g2.Ops[i])
					}
				}
				t.Fatalf("read graph differs from written graph (dyn %v/%v, meta %v/%v)", g.DynamicBatch, g2.DynamicBatch, g.Metadata, g2.Metadata)
			}
			b2, err := Write(g2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b1, b2) {
				t.Fatalf("write→read→write not byte-identical (%d vs %d bytes)", len(b1), len(b2))
			}
			// Same output from the graph read back.
			x := make([]float32, 784)
			for i := range x {
				x[i] = float32(i%13) / 13
			}
			if g.Tensors[g.Inputs[0]].Type == model.Float32 {
				y1, err1 := graphtest.Eval(g, x)
				y2, err2 := graphtest.Eval(g2, x)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(y1, y2) {
					t.Fatalf("outputs differ: %v %v", err1, err2)
				}
			}
		})
	}
}

// TestFileStructure checks the TFLite conventions directly on the bytes.
func TestFileStructure(t *testing.T) {
	g := testGraphs(t)["int8-floatio"]
	b, err := Write(g)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[4:8]) != "TFL3" {
		t.Fatalf("identifier %q", b[4:8])
	}
	m := fb.GetRootAsModel(b, 0)
	if m.Version() != 3 {
		t.Fatalf("version %d", m.Version())
	}
	var buf fb.Buffer
	m.Buffers(&buf, 0)
	if buf.DataLength() != 0 {
		t.Fatal("buffer 0 not empty")
	}
	for i := 1; i < m.BuffersLength(); i++ {
		m.Buffers(&buf, i)
		tab := buf.Table()
		o := flatbuffers.UOffsetT(tab.Offset(4))
		if start := tab.Vector(o); start%16 != 0 {
			t.Errorf("buffer %d data at offset %d is not 16-byte aligned", i, start)
		}
	}
	want := map[fb.BuiltinOperator]int32{fb.BuiltinOperatorQUANTIZE: 1, fb.BuiltinOperatorCONV_2D: 3, fb.BuiltinOperatorMAX_POOL_2D: 2,
		fb.BuiltinOperatorRESHAPE: 1, fb.BuiltinOperatorFULLY_CONNECTED: 4, fb.BuiltinOperatorDEQUANTIZE: 2}
	var oc fb.OperatorCode
	if m.OperatorCodesLength() != len(want) {
		t.Fatalf("%d operator codes, want %d", m.OperatorCodesLength(), len(want))
	}
	for i := 0; i < m.OperatorCodesLength(); i++ {
		m.OperatorCodes(&oc, i)
		c := oc.BuiltinCode()
		if int32(oc.DeprecatedBuiltinCode()) != min(int32(c), 127) {
			t.Errorf("%v: deprecated_builtin_code %d", c, oc.DeprecatedBuiltinCode())
		}
		if v, ok := want[c]; !ok || v != oc.Version() {
			t.Errorf("%v: version %d, want %d", c, oc.Version(), v)
		}
	}
	var md fb.Metadata
	m.Metadata(&md, 0)
	m.Buffers(&buf, int(md.Buffer()))
	var meta map[string]string
	if string(md.Name()) != "edgecnn" || json.Unmarshal(buf.DataBytes(), &meta) != nil || meta["edgecnn.norm_std"] != "0.3081" {
		t.Fatalf("metadata %q → %s", md.Name(), buf.DataBytes())
	}
	// Per-channel weights of the first conv.
	var sg fb.SubGraph
	m.Subgraphs(&sg, 0)
	var ten fb.Tensor
	var q fb.QuantizationParameters
	found := false
	for i := 0; i < sg.TensorsLength(); i++ {
		sg.Tensors(&ten, i)
		if string(ten.Name()) == "conv1/weights" {
			found = true
			ten.Quantization(&q)
			if ten.Type() != fb.TensorTypeINT8 || q.ScaleLength() != 4 || q.ZeroPointLength() != 4 || q.QuantizedDimension() != 0 {
				t.Fatalf("conv1/weights: type %v, %d scales, %d zero points, dim %d", ten.Type(), q.ScaleLength(), q.ZeroPointLength(), q.QuantizedDimension())
			}
		}
		if string(ten.Name()) == "conv1/out" && (ten.ShapeSignatureLength() != 4 || ten.ShapeSignature(0) != -1) {
			t.Fatalf("conv1/out: dynamic batch not in shape_signature")
		}
	}
	if !found {
		t.Fatal("conv1/weights not found")
	}
}

// TestFlatcJSON decodes a written file with the FlatBuffers compiler
// (flatc --json) against the schema subset: an independent decoder that
// checks the binary is well formed and the field slots mean what we think.
func TestFlatcJSON(t *testing.T) {
	flatc, err := exec.LookPath("flatc")
	if err != nil {
		t.Fatal("flatc not found: install Debian's flatbuffers-compiler (make deps)")
	}
	g := testGraphs(t)["int8-floatio"]
	dir := t.TempDir()
	path := filepath.Join(dir, "m.tflite")
	if err := WriteFile(path, g); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(flatc, "--json", "--strict-json", "--raw-binary", "-o", dir, "schema_subset.fbs", "--", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("flatc: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "m.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version       int `json:"version"`
		OperatorCodes []struct {
			Deprecated int    `json:"deprecated_builtin_code"`
			Version    int    `json:"version"`
			Code       string `json:"builtin_code"`
		} `json:"operator_codes"`
		Subgraphs []struct {
			Tensors []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Shape []int  `json:"shape"`
			} `json:"tensors"`
			Operators []struct {
				OptionsType string         `json:"builtin_options_type"`
				Options     map[string]any `json:"builtin_options"`
			} `json:"operators"`
		} `json:"subgraphs"`
		Buffers []map[string]any `json:"buffers"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 3 || len(doc.Subgraphs) != 1 || len(doc.Buffers) == 0 || len(doc.Buffers[0]) != 0 {
		t.Fatalf("version %d, %d subgraphs, buffer0 %v", doc.Version, len(doc.Subgraphs), doc.Buffers[0])
	}
	var codes []string
	for _, c := range doc.OperatorCodes {
		codes = append(codes, c.Code)
		if c.Code == "QUANTIZE" && c.Deprecated != 114 {
			t.Errorf("QUANTIZE deprecated_builtin_code %d", c.Deprecated)
		}
	}
	if got := strings.Join(codes, ","); got != "QUANTIZE,CONV_2D,MAX_POOL_2D,RESHAPE,FULLY_CONNECTED,DEQUANTIZE" {
		t.Fatalf("operator codes %s", got)
	}
	sg := doc.Subgraphs[0]
	if len(sg.Tensors) != len(g.Tensors) || sg.Tensors[1].Name != g.Tensors[1].Name || sg.Tensors[1].Type != "INT8" {
		t.Fatalf("tensors %+v", sg.Tensors[:2])
	}
	conv := sg.Operators[1]
	if conv.OptionsType != "Conv2DOptions" || conv.Options["stride_w"] != 1.0 || conv.Options["fused_activation_function"] != "RELU" {
		t.Fatalf("conv options %s %v", conv.OptionsType, conv.Options)
	}
	pool := sg.Operators[2]
	if pool.OptionsType != "Pool2DOptions" || pool.Options["filter_width"] != 2.0 || pool.Options["padding"] != "VALID" {
		t.Fatalf("pool options %s %v", pool.OptionsType, pool.Options)
	}
}

func TestWriteRejects(t *testing.T) {
	g := testGraphs(t)["float"]
	bad := *g
	bad.Ops = append([]model.Op(nil), g.Ops...)
	bad.Ops[0].Code = 41 // SUB
	if _, err := Write(&bad); err == nil || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("unsupported op: %v", err)
	}
	bad = *g
	bad.Ops = append([]model.Op(nil), g.Ops...)
	bad.Ops[0].Inputs = []int{0, 99, 2}
	if _, err := Write(&bad); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("bad index: %v", err)
	}
	if _, err := Write(nil); err == nil {
		t.Fatal("nil graph accepted")
	}
}

// mutate patches a written file through the generated mutators and returns
// the modified copy.
func mutate(t *testing.T, g *model.Graph, f func(m *fb.Model)) []byte {
	t.Helper()
	b, err := Write(g)
	if err != nil {
		t.Fatal(err)
	}
	b = append([]byte(nil), b...)
	f(fb.GetRootAsModel(b, 0))
	return b
}

func TestReadBadInput(t *testing.T) {
	gs := testGraphs(t)
	g := gs["int8-floatio"]
	good, err := Write(g)
	if err != nil {
		t.Fatal(err)
	}
	tensor := func(m *fb.Model, i int) *fb.Tensor {
		var sg fb.SubGraph
		m.Subgraphs(&sg, 0)
		var ten fb.Tensor
		sg.Tensors(&ten, i)
		return &ten
	}
	operator := func(m *fb.Model, i int) *fb.Operator {
		var sg fb.SubGraph
		m.Subgraphs(&sg, 0)
		var op fb.Operator
		sg.Operators(&op, i)
		return &op
	}
	wrongID := append([]byte(nil), good...)
	copy(wrongID[4:8], "ONNX")
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"truncated", good[:len(good)/2], "corrupt"},
		{"truncated-header", good[:12], "corrupt"},
		{"wrong identifier", wrongID, `file identifier "ONNX"`},
		{"buffer index", mutate(t, g, func(m *fb.Model) { tensor(m, 2).MutateBuffer(1000) }), "buffer index 1000 out of range"},
		{"tensor index", mutate(t, g, func(m *fb.Model) { operator(m, 1).MutateInputs(0, 5000) }), "tensor index 5000 out of range"},
		{"negative tensor index", mutate(t, g, func(m *fb.Model) { operator(m, 1).MutateOutputs(0, -7) }), "out of range"},
		{"opcode index", mutate(t, g, func(m *fb.Model) { operator(m, 1).MutateOpcodeIndex(77) }), "opcode index 77"},
		{"negative shape", mutate(t, g, func(m *fb.Model) { tensor(m, 3).MutateShape(1, -5) }), "negative dimension"},
		{"overflowing shape", mutate(t, g, func(m *fb.Model) { tensor(m, 3).MutateShape(1, 1<<30) }), "too large"},
		{"shape vs data", mutate(t, g, func(m *fb.Model) { tensor(m, 2).MutateShape(0, 3) }), "data bytes"},
		{"schema version", mutate(t, g, func(m *fb.Model) { m.MutateVersion(2) }), "schema version 2"},
		{"unsupported op", mutate(t, g, func(m *fb.Model) {
			var oc fb.OperatorCode
			m.OperatorCodes(&oc, 1)
			oc.MutateBuiltinCode(4)
			oc.MutateDeprecatedBuiltinCode(4)
		}), "DEPTHWISE_CONV_2D"},
		{"unsupported type", mutate(t, g, func(m *fb.Model) { tensor(m, 3).MutateType(fb.TensorTypeFLOAT16) }), "FLOAT16"},
		{"options mismatch", mutate(t, g, func(m *fb.Model) { operator(m, 1).MutateBuiltinOptionsType(fb.BuiltinOptionsSoftmaxOptions) }), "builtin options"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Read(c.data)
			if err == nil {
				t.Fatalf("accepted: %d tensors", len(g.Tensors))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
	// Every truncation and many random corruptions: errors, never panics.
	for n := 0; n < len(good); n += 1 + n/50 {
		if _, err := Read(good[:n]); err == nil {
			t.Fatalf("truncated to %d bytes accepted", n)
		}
	}
	r := rand.New(rand.NewSource(1))
	small, _ := Write(gs["float-softmax-static"])
	for k := 0; k < 2000; k++ {
		b := append([]byte(nil), small...)
		for j := 0; j < 1+r.Intn(4); j++ {
			b[r.Intn(len(b))] = byte(r.Intn(256))
		}
		_, _ = Read(b) // must not panic; an error or a (valid) graph are both fine
	}
	for k := 0; k < 200; k++ {
		b := make([]byte, r.Intn(512))
		r.Read(b)
		if k%2 == 0 && len(b) >= 8 {
			copy(b[4:], "TFL3")
		}
		if _, err := Read(b); err == nil {
			t.Fatalf("random bytes accepted: %x", b)
		}
	}
}

func FuzzReadTFLite(f *testing.F) {
	for _, g := range testGraphs(f) {
		b, err := Write(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Read(data)
		if err != nil {
			return
		}
		// Whatever is accepted must be valid and write back identically
		// after one normalizing round.
		if err := g.Validate(); err != nil {
			t.Fatalf("accepted invalid graph: %v", err)
		}
		b, err := Write(g)
		if err != nil {
			t.Fatalf("accepted graph does not write: %v", err)
		}
		g2, err := Read(b)
		if err != nil {
			t.Fatalf("rewritten graph does not read: %v", err)
		}
		b2, err := Write(g2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("not stable: %v", err)
		}
	})
}
