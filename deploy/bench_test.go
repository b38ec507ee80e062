package deploy

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
)

// BenchmarkFlashLoopback flashes the real pure-Go edgecnn bundle (built by
// package cross for generic-amd64, so this machine can play the board) to a
// real sshd on 127.0.0.1, end to end: bundle hashing, SSH connect, upload,
// unit install, switch, restart (stand-in systemctl) and health check.
// Then it re-flashes the unchanged bundle and reports the bytes sent.
// Targets (issue 7): flash ≤ 5 s; unchanged re-flash ≤ 1% of the bytes.
func BenchmarkFlashLoopback(b *testing.B) {
	root, err := cross.ModuleRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	board, _ := boards.Lookup("generic-amd64")
	binary := os.Getenv("EDGECNN_BENCH_BINARY") // a prebuilt pure-Go edgecnn, else built here
	if binary == "" {
		res, err := cross.Build(context.Background(), cross.Request{Board: board, ModuleRoot: root, Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		binary = res.Binary
	}
	model := filepath.Join(root, "models", "mnist.int8.tflite")
	if _, err := os.Stat(model); err != nil {
		model = filepath.Join(b.TempDir(), "model.tflite")
		buf := make([]byte, 110<<10) // the size of the int8 MNIST model
		rand.Read(buf)
		os.WriteFile(model, buf, 0o644)
	}
	tb := newTestBoardB(b)
	ctx := context.Background()
	var first Result
	var bundle *Bundle
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		bundle, err = NewBundle(Spec{Board: board, Binary: binary, Model: model, Version: "bench",
			Service: Service{Prefix: filepath.Join(tb.dir, fmt.Sprintf("p%d", i))}})
		if err != nil {
			b.Fatal(err)
		}
		c, err := Dial(ctx, tb.target(), tb.ssh())
		if err != nil {
			b.Fatal(err)
		}
		first = Flash(ctx, c, bundle, tb.opts())
		c.Close()
		if first.Err != nil {
			b.Fatal(first.Err)
		}
		first.Duration = time.Since(start)
	}
	b.StopTimer()
	c, err := Dial(ctx, tb.target(), tb.ssh())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	again := Flash(ctx, c, bundle, tb.opts())
	if again.Err != nil || !again.Unchanged {
		b.Fatalf("re-flash: %+v", again)
	}
	pct := 100 * float64(again.BytesSent) / float64(first.BytesSent)
	b.ReportMetric(first.Duration.Seconds(), "s/flash")
	b.ReportMetric(float64(first.BytesSent), "bytes-first")
	b.ReportMetric(float64(again.BytesSent), "bytes-reflash")
	b.ReportMetric(pct, "%reflash")
	b.Logf("bundle %s (binary %.1f MiB); flash %.2fs end to end (target ≤ 5 s); first flash sent %d bytes, unchanged re-flash %d bytes = %.3f%% (target ≤ 1%%)",
		bundle.Release, float64(bundle.TotalSize())/(1<<20), first.Duration.Seconds(), first.BytesSent, again.BytesSent, pct)
	if first.Duration > 5*time.Second {
		b.Errorf("flash took %s, target ≤ 5 s", first.Duration)
	}
	if pct > 1 {
		b.Errorf("re-flash sent %.3f%% of the bytes, target ≤ 1%%", pct)
	}
}
