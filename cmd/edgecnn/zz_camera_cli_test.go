package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/edgecnn/edgecnn/agent"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
)

var (
	camModelOnce sync.Once
	camModel     string
	camModelErr  error
)

// cameraTestModel exports models/mnist.ckpt to a float .tflite once.
func cameraTestModel(t *testing.T) string {
	t.Helper()
	camModelOnce.Do(func() {
		root := "../.."
		ck, err := model.ReadCheckpointFile(filepath.Join(root, "models", "mnist.ckpt"))
		if err != nil {
			camModelErr = err
			return
		}
		g, err := model.FloatGraph(ck.Model)
		if err != nil {
			camModelErr = err
			return
		}
		dir, err := os.MkdirTemp("", "edgecnn-camera-cli")
		if err != nil {
			camModelErr = err
			return
		}
		camModel = filepath.Join(dir, "mnist.tflite")
		camModelErr = tflite.WriteFile(camModel, g)
	})
	if camModelErr != nil {
		t.Fatalf("test model from models/mnist.ckpt: %v", camModelErr)
	}
	return camModel
}

// removeCameraTestModel removes cameraTestModel's directory (TestMain,
// after the tests).
func removeCameraTestModel() {
	if camModel != "" {
		os.RemoveAll(filepath.Dir(camModel))
	}
}

func cameraCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	app := newApp()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errb
	err := app.RunContext(context.Background(), append([]string{"edgecnn"}, args...))
	return out.String(), errb.String(), err
}

func samplePhotos(t *testing.T) []string {
	m, _ := filepath.Glob("../../camera/testdata/photos/photo-000*.jpg")
	if len(m) < 5 {
		t.Fatalf("sample photos missing: %v", m)
	}
	return m[:5]
}

func TestPredictCommand(t *testing.T) {
	mp := cameraTestModel(t)
	ps := samplePhotos(t)
	out, _, err := cameraCLI(t, append([]string{"predict", "--model", mp}, ps...)...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(ps) {
		t.Fatalf("output %q", out)
	}
	right := 0
	for i, l := range lines {
		want := ps[i][strings.LastIndex(ps[i], "-d")+2 : len(ps[i])-4]
		if strings.HasPrefix(l, ps[i]+": "+want+" (confidence ") {
			right++
		}
	}
	if right < 4 {
		t.Fatalf("only %d of 5 right:\n%s", right, out)
	}
	out, _, err = cameraCLI(t, "predict", "--json", "--model", mp, ps[0])
	var pl agent.PredictLine
	if err != nil || json.Unmarshal([]byte(out), &pl) != nil || pl.File != ps[0] || len(pl.Digits) != 1 || pl.Digits[0].BoxXYWH[2] <= 0 {
		t.Fatalf("--json: %v %q", err, out)
	}
}

func TestPredictBadInput(t *testing.T) {
	mp := cameraTestModel(t)
	notImage := filepath.Join(t.TempDir(), "notes.png")
	os.WriteFile(notImage, []byte("not an image"), 0o644)
	for name, args := range map[string][]string{
		"no images":       {"predict", "--model", mp},
		"missing file":    {"predict", "--model", mp, "/no/such.jpg"},
		"not an image":    {"predict", "--model", mp, notImage},
		"bad roi":         {"predict", "--model", mp, "--roi", "1,2,3", samplePhotos(t)[0]},
		"bad confidence":  {"predict", "--model", mp, "--min-confidence", "2", samplePhotos(t)[0]},
		"missing model":   {"predict", "--model", "/no/model.tflite", samplePhotos(t)[0]},
		"unknown backend": {"predict", "--model", mp, "--backend", "nope", samplePhotos(t)[0]},
		"--digits alone":  {"predict", "--model", mp, "--digits", "4", samplePhotos(t)[0]},
		"--digits -1":     {"predict", "--model", mp, "--multi", "--digits", "-1", samplePhotos(t)[0]},
		"--digits 65":     {"predict", "--model", mp, "--multi", "--digits", "65", samplePhotos(t)[0]},
	} {
		out, errOut, err := cameraCLI(t, args...)
		if err == nil {
			t.Errorf("%s: no error (out %q)", name, out)
			continue
		}
		if strings.Contains(err.Error()+errOut, "panic") {
			t.Errorf("%s: %v", name, err)
		}
		if strings.HasPrefix(name, "--digits") && !strings.Contains(err.Error(), "--digits") {
			t.Errorf("%s: %v does not name the flag", name, err)
		}
	}
	// One bad file among good ones: the good ones are still answered.
	out, _, err := cameraCLI(t, "predict", "--model", mp, samplePhotos(t)[0], notImage)
	if err == nil || !strings.Contains(err.Error(), "1 of 2") || !strings.Contains(out, "confidence") {
		t.Fatalf("mixed: %v %q", err, out)
	}
}

func TestRunSyntheticAndErrors(t *testing.T) {
	mp := cameraTestModel(t)
	out, _, err := cameraCLI(t, "run", "--model", mp, "--camera", "synthetic:5", "--size", "160x120", "--max-frames", "5", "--smooth", "3")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var l struct {
			Digits    *string  `json:"digits"`
			LatencyMS *float64 `json:"latency_ms"`
			Time      string   `json:"time"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Digits == nil || l.LatencyMS == nil || l.Time == "" {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		n++
	}
	if n != 5 {
		t.Fatalf("%d lines, want 5", n)
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"missing device": {[]string{"--camera", "/dev/video-none"}, "/dev/video-none"},
		"bad spec":       {[]string{"--camera", "stdin:h264"}, "stdin format"},
		"bad size":       {[]string{"--camera", "synthetic", "--size", "0x0"}, "size"},
		"gpio":           {[]string{"--camera", "synthetic", "--gpio-trigger", "GPIO17"}, "GPIO17"},
		"bad http":       {[]string{"--camera", "synthetic", "--http", "256.0.0.1:99999"}, "http"},
	} {
		_, _, err := cameraCLI(t, append([]string{"run", "--model", mp, "--max-frames", "1"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (want it to mention %q)", name, err, c.want)
		}
	}
}

// TestRunSIGTERMAndNotify runs `edgecnn run` as a process under a fake
// systemd: READY=1 arrives on NOTIFY_SOCKET, SIGTERM stops it cleanly.
func TestRunSIGTERMAndNotify(t *testing.T) {
	mp := cameraTestModel(t)
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "run", "--model", mp, "--camera", "synthetic", "--size", "160x120", "--realtime", "--fps", "50")
	cmd.Env = append(os.Environ(), "EDGECNN_CAMERA_TEST_MAIN=1", "NOTIFY_SOCKET="+sock)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 64)
	k, err := conn.Read(buf)
	if err != nil || string(buf[:k]) != "READY=1" {
		t.Fatalf("notify: %q %v (stderr %s)", buf[:k], err, stderr.String())
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatalf("no JSON line (stderr %s)", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		for sc.Scan() {
		}
	}()
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v (stderr %s)", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGTERM")
	}
	k, err = conn.Read(buf)
	if err != nil || string(buf[:k]) != "STOPPING=1" {
		t.Fatalf("want STOPPING=1, got %q %v", buf[:k], err)
	}
}

// TestRunStdinY4M pipes a YUV4MPEG2 stream into `edgecnn run --camera
// stdin:y4m`: it recognizes the frames and exits 0 at the end of input.
func TestRunStdinY4M(t *testing.T) {
	mp := cameraTestModel(t)
	img, err := camera.DecodeFile(samplePhotos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	yc, ok := img.(*image.YCbCr)
	if !ok || yc.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("sample photo is %T, want 4:2:0 YCbCr", img)
	}
	w, h := yc.Rect.Dx(), yc.Rect.Dy()
	var in bytes.Buffer
	fmt.Fprintf(&in, "YUV4MPEG2 W%d H%d F30:1 Ip C420jpeg\n", w, h)
	for i := 0; i < 3; i++ {
		in.WriteString("FRAME\n")
		for y := 0; y < h; y++ {
			in.Write(yc.Y[y*yc.YStride : y*yc.YStride+w])
		}
		for _, p := range [][]byte{yc.Cb, yc.Cr} {
			for y := 0; y < (h+1)/2; y++ {
				in.Write(p[y*yc.CStride : y*yc.CStride+(w+1)/2])
			}
		}
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "run", "--model", mp, "--camera", "stdin:y4m")
	cmd.Env = append(os.Environ(), "EDGECNN_CAMERA_TEST_MAIN=1")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	want := samplePhotos(t)[0]
	want = want[strings.LastIndex(want, "-d")+2 : len(want)-4]
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 0 || !strings.Contains(lines[len(lines)-1], `"digits":"`+want+`"`) {
		t.Fatalf("output %q, want digit %s", out, want)
	}
}

// predict takes a directory (its images in name order) and - (stdin).
func TestPredictDirAndStdin(t *testing.T) {
	mp := cameraTestModel(t)
	ps := samplePhotos(t)
	dir := t.TempDir()
	for _, p := range ps[:3] {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(p)), data, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)
	out, _, err := cameraCLI(t, "predict", "--model", mp, dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], filepath.Join(dir, filepath.Base(ps[0]))+": ") {
		t.Fatalf("directory: %q", out)
	}
	if _, _, err := cameraCLI(t, "predict", "--model", mp, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("empty directory: %v", err)
	}

	want := ps[0][strings.LastIndex(ps[0], "-d")+2 : len(ps[0])-4]
	f, err := os.Open(ps[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	app := newApp()
	var o, e bytes.Buffer
	app.Reader, app.Writer, app.ErrWriter = f, &o, &e
	if err := app.RunContext(context.Background(), []string{"edgecnn", "predict", "--model", mp, "-"}); err != nil {
		t.Fatal(err, e.String())
	}
	if !strings.HasPrefix(o.String(), "-: "+want+" (confidence ") {
		t.Errorf("stdin: %q, want digit %s", o.String(), want)
	}
	if _, _, err := cameraCLI(t, "predict", "--model", mp, "-", "-"); err == nil {
		t.Error("- twice: no error")
	}
}

// run --camera DIR reads every file (no "latest frame wins" for files) and
// names each in its JSON line.
func TestRunDirectoryEveryFile(t *testing.T) {
	mp := cameraTestModel(t)
	all, _ := filepath.Glob("../../camera/testdata/photos/*.jpg")
	if len(all) < 50 {
		t.Fatalf("want 50 sample photos, have %d", len(all))
	}
	dir := t.TempDir()
	for _, p := range all[:50] {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(p)), data, 0o644)
	}
	out, _, err := cameraCLI(t, "run", "--model", mp, "--camera", dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l struct {
			File    string `json:"file"`
			Dropped int    `json:"dropped"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l.Dropped != 0 {
			t.Fatalf("dropped %d frames: %s", l.Dropped, sc.Text())
		}
		files = append(files, filepath.Base(l.File))
	}
	if len(files) != 50 {
		t.Fatalf("%d result lines, want 50", len(files))
	}
	for i, p := range all[:50] {
		if files[i] != filepath.Base(p) {
			t.Fatalf("line %d names %q, want %q", i, files[i], filepath.Base(p))
		}
	}
}
