package native

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
)

// FuzzOpenModel reads arbitrary bytes as a .tflite file and compiles what
// the reader accepts with a 32 MiB engine limit: nothing panics, a model
// above the limit is refused before allocating, and an accepted one runs
// one image. Seeds: the reader's corpus and the 17 KB model declaring 9 GiB
// of activations (hugeGraph).
func FuzzOpenModel(f *testing.F) {
	seeds, _ := filepath.Glob("../../model/tflite/testdata/fuzz/FuzzReadTFLite/*")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			if data, ok := corpusBytes(b); ok {
				f.Add(data)
			}
		}
	}
	for _, g := range [][2]int{{8192, 4096}, {64, 64}} {
		b, err := tflite.Write(hugeGraph(g[0], g[1]))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := tflite.Read(data)
		if err != nil {
			return
		}
		e, err := New(g, runtime.Options{MaxMemory: 32 << 20})
		if err != nil {
			return
		}
		defer e.Close()
		if need := e.MemoryNeed(1); need > 32<<20 {
			t.Fatalf("accepted a model needing %d bytes under a 32 MiB limit", need)
		}
		in := make([]float32, e.InputSize())
		out := make([]float32, e.OutputSize())
		e.Run(context.Background(), in, 1, out)
	})
}

// corpusBytes decodes a one-[]byte go fuzz corpus file.
func corpusBytes(file []byte) ([]byte, bool) {
	vals, err := unmarshalCorpus(file)
	if err != nil || len(vals) != 1 {
		return nil, false
	}
	return vals[0], true
}

func unmarshalCorpus(file []byte) ([][]byte, error) {
	var out [][]byte
	for _, line := range strings.Split(string(file), "\n")[1:] {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "[]byte(") || !strings.HasSuffix(line, ")") {
			continue
		}
		s, err := strconv.Unquote(line[len("[]byte(") : len(line)-1])
		if err != nil {
			return nil, err
		}
		out = append(out, []byte(s))
	}
	return out, nil
}
