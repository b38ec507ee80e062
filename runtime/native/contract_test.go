package native

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/enginetest"
)

// The native engine passes the same contract as the cgo backends.
func TestContract(t *testing.T) {
	path, _, _ := committedFloat(t)
	img := make([]float32, 28*28)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range img {
		img[i] = rng.Float32()*2.5 - 0.4
	}
	open := func(p string, o runtime.Options) (runtime.Engine, error) { return runtime.Open("native", p, o) }
	e, err := open(path, runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.DynamicBatch(t, img, e, 0)
	enginetest.ConcurrentRun(t, img, e, 0)
	enginetest.BadInputAndClose(t, e)
	enginetest.Inapplicable(t, "native", path, open)
}

// committedFloat writes the float graph of models/mnist.ckpt as a .tflite
// in a temporary folder and returns its path, the checkpoint and the graph.
func committedFloat(t *testing.T) (string, *model.Checkpoint, *model.Graph) {
	t.Helper()
	ck, err := model.ReadCheckpointFile(filepath.Join(testenv.RepoRoot(t), "models", "mnist.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := model.FloatGraph(ck.Model)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.tflite")
	if err := tflite.WriteFile(path, g); err != nil {
		t.Fatal(err)
	}
	return path, ck, g
}
