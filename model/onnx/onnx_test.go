package onnx

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/edgecnn/edgecnn/model"
	pb "github.com/edgecnn/edgecnn/model/onnx/onnxpb"
	"github.com/edgecnn/edgecnn/model/tflite/graphtest"
)

const python = "/usr/bin/python3"

type fixture struct {
	m      *model.Model
	graphs map[string]*model.Graph
}

func newFixture(t testing.TB, a model.Arch) fixture {
	t.Helper()
	m, err := graphtest.RandomModel(a, 5)
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
	gs := map[string]*model.Graph{"float": fg, "float-softmax-static": sm}
	calib := graphtest.RandomImages(m, 4, 9)
	for name, io := range map[string]model.DType{"int8-floatio": model.Float32, "int8-int8io": model.Int8, "int8-uint8io": model.UInt8} {
		g, err := graphtest.Int8Graph(fg, calib, io)
		if err != nil {
			t.Fatal(err)
		}
		gs[name] = g
	}
	q, err := graphtest.Int8Graph(sm, calib, model.Float32)
	if err != nil {
		t.Fatal(err)
	}
	gs["int8-softmax"] = q
	return fixture{m, gs}
}

func smallArch() model.Arch {
	a := model.SeedArch()
	a.Width, a.Hidden, a.BatchNorm = 4, 16, true
	return a
}

func TestRoundTrip(t *testing.T) {
	fx := newFixture(t, smallArch())
	x := graphtest.RandomImages(fx.m, 1, 3)[0]
	for name, g := range fx.graphs {
		t.Run(name, func(t *testing.T) {
			b1, err := Write(g)
			if err != nil {
				t.Fatal(err)
			}
			g2, err := Read(b1)
			if err != nil {
				t.Fatal(err)
			}
			b2, err := Write(g2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b1, b2) {
				t.Fatalf("write→read→write not byte-identical (%d vs %d bytes)", len(b1), len(b2))
			}
			// The graph read back computes exactly what the original does.
			y1, err := graphtest.Eval(g, x)
			if err != nil {
				t.Fatal(err)
			}
			y2, err := graphtest.Eval(g2, x)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(y1, y2) {
				t.Fatalf("outputs differ:\n%v\n%v", y1, y2)
			}
			if g2.DynamicBatch != g.DynamicBatch || !reflect.DeepEqual(g2.Metadata, g.Metadata) {
				t.Fatalf("dynamic batch %v/%v, metadata %v/%v", g.DynamicBatch, g2.DynamicBatch, g.Metadata, g2.Metadata)
			}
			if len(g2.Ops) != len(g.Ops) {
				t.Fatalf("%d ops read, %d written", len(g2.Ops), len(g.Ops))
			}
			for k := range g.Ops {
				a, b := g.Ops[k], g2.Ops[k]
				if a.Code != b.Code || a.Activation != b.Activation || a.Padding != b.Padding || a.StrideH != b.StrideH || a.FilterH != b.FilterH {
					t.Fatalf("op %d: %+v vs %+v", k, a, b)
				}
			}
		})
	}
}

func TestStructure(t *testing.T) {
	fx := newFixture(t, model.SeedArch())
	m, err := ToProto(fx.graphs["float"])
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, n := range m.GetGraph().GetNode() {
		ops = append(ops, n.GetOpType())
	}
	if got := strings.Join(ops, " "); got != "Conv Relu MaxPool Conv Relu MaxPool Reshape Gemm Relu Gemm" {
		t.Fatalf("float nodes: %s", got)
	}
	in := m.GetGraph().GetInput()[0].GetType().GetTensorType().GetShape().GetDim()
	if len(in) != 4 || in[0].GetDimParam() != "N" || in[1].GetDimValue() != 1 || in[2].GetDimValue() != 28 {
		t.Fatalf("input dims %v", in)
	}
	if m.GetOpsetImport()[0].GetVersion() != 13 {
		t.Fatal("opset")
	}
	q, err := ToProto(fx.graphs["int8-floatio"])
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range q.GetGraph().GetNode() {
		count[n.GetOpType()]++
		if n.GetOpType() == "DequantizeLinear" && strings.HasPrefix(n.GetInput()[0], "conv1/weights") {
			if len(n.GetAttribute()) != 1 || n.GetAttribute()[0].GetName() != "axis" || n.GetAttribute()[0].GetI() != 0 {
				t.Fatalf("per-channel weight DQ without axis=0: %v", n)
			}
		}
	}
	// 4 weights + 4 biases + 7 activations dequantized + DEQUANTIZE; 7 activations + input quantized.
	if count["DequantizeLinear"] != 4+4+7+1 || count["QuantizeLinear"] != 8 || count["Conv"] != 2 || count["Gemm"] != 2 {
		t.Fatalf("QDQ node counts %v", count)
	}
	for _, init := range q.GetGraph().GetInitializer() {
		if init.GetName() == "conv1/bias_scale" && len(init.GetDims()) != 1 {
			t.Fatalf("bias scale dims %v", init.GetDims())
		}
	}
}

// pythonOK fails the test when /usr/bin/python3 lacks onnx or torch
// (make test installs python3-onnx and python3-torch).
func pythonOK(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import onnx, torch, numpy").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import onnx/torch/numpy (install python3-onnx python3-torch: make deps): %v\n%s", python, err, out)
	}
}

func TestCheckerFullCheck(t *testing.T) {
	pythonOK(t)
	fx := newFixture(t, smallArch())
	dir := t.TempDir()
	var paths []string
	for name, g := range fx.graphs {
		p := filepath.Join(dir, name+".onnx")
		if err := WriteFile(p, g); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	script := `import sys, onnx
for p in sys.argv[1:]:
    onnx.checker.check_model(p, full_check=True)
    m = onnx.load(p)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
print("checked", len(sys.argv) - 1)`
	out, err := exec.Command(python, append([]string{"-c", script}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// runPython evaluates model file path on images with testdata/onnx_eval.py.
func runPython(t *testing.T, path string, images [][]float32, outSize int) [][]float32 {
	t.Helper()
	dir := t.TempDir()
	var in []float32
	for _, x := range images {
		in = append(in, x...) // C=1: NHWC and NCHW are the same bytes
	}
	if err := os.WriteFile(filepath.Join(dir, "in.f32"), model.F32Bytes(in), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "testdata/onnx_eval.py", path, filepath.Join(dir, "in.f32"), itoa(len(images)), filepath.Join(dir, "out.f32"), "--check")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("onnx_eval.py: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "out.f32"))
	if err != nil {
		t.Fatal(err)
	}
	flat := model.BytesF32(raw)
	if len(flat) != len(images)*outSize {
		t.Fatalf("python returned %d values, want %d", len(flat), len(images)*outSize)
	}
	res := make([][]float32, len(images))
	for i := range res {
		res[i] = flat[i*outSize : (i+1)*outSize]
	}
	return res
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestFloatNumerics: the float .onnx, executed node by node by PyTorch at
// batch 100 (dynamic batch), equals model.Forward within 1e-4 on every logit.
func TestFloatNumerics(t *testing.T) {
	pythonOK(t)
	fx := newFixture(t, model.SeedArch())
	p := filepath.Join(t.TempDir(), "float.onnx")
	if err := WriteFile(p, fx.graphs["float"]); err != nil {
		t.Fatal(err)
	}
	imgs := graphtest.RandomImages(fx.m, 100, 11)
	got := runPython(t, p, imgs, 10)
	worst := 0.0
	for i, x := range imgs {
		want, err := fx.m.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		for j := range want {
			worst = math.Max(worst, math.Abs(float64(got[i][j]-want[j])))
		}
	}
	t.Logf("100 images: max |onnx(torch) - Forward| = %.3g", worst)
	if worst > 1e-4 {
		t.Fatalf("float ONNX differs from Model.Forward by %g (> 1e-4)", worst)
	}
}

// TestQDQNumerics: the int8 QDQ .onnx executed by PyTorch matches the
// graph's own QDQ simulation (graphtest.Eval): same top-1 on all images
// and every output within one output quantum (float32 vs float64
// accumulation flips a few roundings; at most 5% of outputs may differ).
func TestQDQNumerics(t *testing.T) {
	pythonOK(t)
	fx := newFixture(t, model.SeedArch())
	g := fx.graphs["int8-floatio"]
	p := filepath.Join(t.TempDir(), "int8.onnx")
	if err := WriteFile(p, g); err != nil {
		t.Fatal(err)
	}
	imgs := graphtest.RandomImages(fx.m, 100, 12)
	got := runPython(t, p, imgs, 10)
	// Output quantum: the scale of the quantized tensor DEQUANTIZE reads.
	q := g.Tensors[g.Ops[len(g.Ops)-1].Inputs[0]].Quant.Scale[0]
	off, agree := 0, 0
	worst := 0.0
	for i, x := range imgs {
		want, err := graphtest.Eval(g, x)
		if err != nil {
			t.Fatal(err)
		}
		for j := range want {
			d := math.Abs(float64(got[i][j] - want[j]))
			worst = math.Max(worst, d)
			if d > 1e-6 {
				off++
			}
			if d > 1.01*float64(q) {
				t.Fatalf("image %d logit %d: %v vs %v (> one quantum %v)", i, j, got[i][j], want[j], q)
			}
		}
		if argmax(got[i]) == argmax(want) {
			agree++
		}
	}
	t.Logf("100 images: %d/1000 outputs off by one quantum, max diff %.3g, top-1 agreement %d/100", off, worst, agree)
	if off > 50 || agree < 99 {
		t.Fatalf("QDQ ONNX disagrees with the int8 graph: %d outputs off, top-1 %d/100", off, agree)
	}
}

func argmax(v []float32) int {
	b := 0
	for i := range v {
		if v[i] > v[b] {
			b = i
		}
	}
	return b
}

func TestWriteRejects(t *testing.T) {
	fx := newFixture(t, smallArch())
	g := *fx.graphs["float"]
	g.Ops = append([]model.Op(nil), g.Ops...)
	g.Ops[len(g.Ops)-1].Activation = model.ActReLU6
	if _, err := Write(&g); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("relu6: %v", err)
	}
	g.Ops[len(g.Ops)-1].Activation = model.ActNone
	g.Ops[0].Code = 41
	if _, err := Write(&g); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "op(41)") {
		t.Fatalf("unsupported op: %v", err)
	}
	if _, err := Write(nil); err == nil {
		t.Fatal("nil graph accepted")
	}
}

func TestReadBadInput(t *testing.T) {
	fx := newFixture(t, smallArch())
	good, err := Write(fx.graphs["int8-floatio"])
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m *pb.ModelProto)) []byte {
		m := &pb.ModelProto{}
		if err := proto.Unmarshal(good, m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	node := func(m *pb.ModelProto, op string) *pb.NodeProto {
		for _, n := range m.GetGraph().GetNode() {
			if n.GetOpType() == op {
				return n
			}
		}
		t.Fatalf("no %s node", op)
		return nil
	}
	init := func(m *pb.ModelProto, name string) *pb.TensorProto {
		for _, i := range m.GetGraph().GetInitializer() {
			if i.GetName() == name {
				return i
			}
		}
		t.Fatalf("no initializer %s", name)
		return nil
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no graph"},
		{"truncated", good[:len(good)/2], "corrupt"},
		{"random", []byte("\x08\x07\x12\x09not a model at all, just text"), "corrupt"},
		{"unsupported op", edit(func(m *pb.ModelProto) { node(m, "MaxPool").OpType = proto.String("AveragePool") }), `"AveragePool"`},
		{"old opset", edit(func(m *pb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(11) }), "opset 11"},
		{"undefined input", edit(func(m *pb.ModelProto) { node(m, "Conv").Input[0] = "nope" }), "not defined"},
		{"short weights", edit(func(m *pb.ModelProto) { w := init(m, "conv1/weights"); w.RawData = w.RawData[:5] }), "data bytes"},
		{"negative dim", edit(func(m *pb.ModelProto) { init(m, "conv1/weights").Dims[0] = -4 }), "out of range"},
		{"overflowing dims", edit(func(m *pb.ModelProto) {
			w := init(m, "fc1/weights")
			w.Dims = []int64{1 << 24, 1 << 24, 1 << 24}
		}), "too large"},
		{"bad scale", edit(func(m *pb.ModelProto) { init(m, "conv1/out_scale").RawData = model.F32Bytes([]float32{-1}) }), "scale"},
		{"symbolic dim", edit(func(m *pb.ModelProto) {
			m.Graph.ValueInfo[0].Type.GetTensorType().Shape.Dim[2].Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: "H"}
		}), `symbolic dimension "H"`},
		{"asymmetric pads", edit(func(m *pb.ModelProto) {
			for _, a := range node(m, "Conv").Attribute {
				if a.GetName() == "pads" {
					a.Ints = []int64{0, 1, 2, 1}
				}
			}
		}), "neither SAME nor VALID"},
		{"missing output", edit(func(m *pb.ModelProto) { m.Graph.Output[0].Name = proto.String("ghost") }), "ghost"},
		{"custom domain", edit(func(m *pb.ModelProto) { node(m, "Conv").Domain = proto.String("com.microsoft") }), "com.microsoft"},
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
	r := rand.New(rand.NewSource(1))
	for k := 0; k < 2000; k++ {
		b := append([]byte(nil), good...)
		for j := 0; j < 1+r.Intn(4); j++ {
			b[r.Intn(len(b))] = byte(r.Intn(256))
		}
		_, _ = Read(b) // must not panic
	}
	for n := 0; n < len(good); n += 1 + n/40 {
		_, _ = Read(good[:n])
	}
}

func FuzzReadONNX(f *testing.F) {
	fx := newFixture(f, smallArch())
	for _, g := range fx.graphs {
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
		if err := g.Validate(); err != nil {
			t.Fatalf("accepted invalid graph: %v", err)
		}
		b, err := Write(g)
		if err != nil {
			return // readable but not writable (e.g. odd combinations): fine, no panic
		}
		g2, err := Read(b)
		if err != nil {
			t.Fatalf("rewritten model does not read: %v", err)
		}
		b2, err := Write(g2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("not stable: %v", err)
		}
	})
}
