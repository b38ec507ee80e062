//go:build tflite

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFallbackNeverSilent asks the tflite backend for the Edge TPU, which
// is not here, with --fallback: predict --json, the log, /healthz and
// /metrics of run all say that it runs on the CPU and why.
func TestFallbackNeverSilent(t *testing.T) {
	mp := cameraTestModel(t)
	args := []string{"--model", mp, "--backend", "tflite", "--delegate", "edgetpu", "--fallback"}
	out, errOut, err := cameraCLI(t, append(append([]string{"predict"}, args...), "--json", samplePhotos(t)[0])...)
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Engine struct {
			Backend, Delegate, Requested string
			Fallback                     bool
			Reason                       string `json:"fallback_reason"`
		}
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	e := line.Engine
	if e.Backend != "tflite" || e.Delegate != "cpu" || e.Requested != "edgetpu" || !e.Fallback || !strings.Contains(e.Reason, "libedgetpu") {
		t.Fatalf("predict --json engine %+v", e)
	}
	if !strings.Contains(errOut, "warning: running on tflite cpu, not edgetpu") {
		t.Fatalf("no warning on stderr: %q", errOut)
	}

	p := runPiped(t, append(args[2:], "--camera", "synthetic", "--size", "160x120", "--realtime", "--fps", "10", "--http", "127.0.0.1:0")...)
	re := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no http address:\n%s", p.stderr.String())
		}
	}
	if s := p.stderr.String(); !strings.Contains(s, `msg="engine fell back`) || !strings.Contains(s, "requested=edgetpu") || !strings.Contains(s, "libedgetpu") {
		t.Fatalf("log does not report the fallback:\n%s", s)
	}
	get := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if h := get("/healthz"); !strings.Contains(h, `"requested":"edgetpu"`) || !strings.Contains(h, `"fallback":true`) || !strings.Contains(h, "libedgetpu") {
		t.Fatalf("/healthz: %s", h)
	}
	if m := get("/metrics"); !strings.Contains(m, `edgecnn_engine_info{backend="tflite",delegate="cpu",fallback="true",requested="edgetpu"} 1`) {
		t.Fatalf("/metrics has no edgecnn_engine_info with the fallback")
	}
}
