package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runPiped starts `edgecnn run` (the test binary as edgecnn) reading
// stdin from a pipe; it returns the pipe, stdout lines, the process's exit
// channel and its stderr.
type piped struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan string
	exited chan error
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu <- struct{}{}
	defer func() { <-l.mu }()
	return l.b.String()
}

func runPiped(t *testing.T, args ...string) *piped {
	t.Helper()
	exe, _ := os.Executable()
	p := &piped{lines: make(chan string, 1000), exited: make(chan error, 1), stderr: &lockedBuffer{mu: make(chan struct{}, 1)}}
	p.cmd = exec.Command(exe, append([]string{"run", "--model", cameraTestModel(t)}, args...)...)
	p.cmd.Env = append(os.Environ(), "EDGECNN_CAMERA_TEST_MAIN=1")
	p.in, _ = p.cmd.StdinPipe()
	out, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.exited <- p.cmd.Wait()
	}()
	return p
}

// wait returns the exit error and all stdout lines, failing after 30 s.
func (p *piped) wait(t *testing.T) (error, []string) {
	t.Helper()
	var lines []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return <-p.exited, lines
			}
			lines = append(lines, l)
		case <-timeout:
			t.Fatalf("still running after 30 s; stderr:\n%s", p.stderr.String())
		}
	}
}

func photoJPEG(t *testing.T, i int) []byte {
	b, err := os.ReadFile(samplePhotos(t)[i])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStdinBadFrameSkippedAndCounted: a garbage JPEG between good ones is
// skipped and counted; the stream goes on and ends with exit 0.
func TestStdinBadFrameSkippedAndCounted(t *testing.T) {
	p := runPiped(t, "--camera", "stdin:mjpeg", "--verbose")
	p.in.Write(photoJPEG(t, 0))
	p.in.Write([]byte("\xff\xd8\xff\xdb\x00\x04\x00\x00garbage\xff\xd9")) // SOI, a broken table, EOI
	p.in.Write(photoJPEG(t, 1))
	p.in.Close()
	err, lines := p.wait(t)
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, p.stderr.String())
	}
	// Latest frame wins: a frame may be dropped for a newer one, so count
	// the source's sequence numbers, not the lines.
	if got := lastSeq(t, lines); got != 2 {
		t.Fatalf("last frame seq %d, want 2 (two good frames, the bad one skipped):\n%s\n%s", got, strings.Join(lines, "\n"), p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "bad frame skipped") {
		t.Fatalf("the bad frame was not reported:\n%s", p.stderr.String())
	}
}

// TestStdinTruncatedAtEndExitsCleanly: input that stops inside a frame is
// a clean end (exit 0) after the complete frames, with the cut frame
// counted as bad.
func TestStdinTruncatedAtEndExitsCleanly(t *testing.T) {
	for _, c := range []struct {
		spec string
		data func() []byte
	}{
		{"stdin:mjpeg", func() []byte {
			j := photoJPEG(t, 2)
			return append(append([]byte(nil), j...), j[:len(j)/2]...)
		}},
		{"stdin:gray:32x24", func() []byte { return bytes.Repeat([]byte{200}, 32*24*2+100) }},
	} {
		p := runPiped(t, "--camera", c.spec)
		p.in.Write(c.data())
		p.in.Close()
		err, lines := p.wait(t)
		if err != nil {
			t.Errorf("%s: exit %v\n%s", c.spec, err, p.stderr.String())
			continue
		}
		want := 1
		if strings.HasPrefix(c.spec, "stdin:gray") {
			want = 2
		}
		if got := lastSeq(t, lines); got != want || !strings.Contains(p.stderr.String(), "input ended inside a frame") {
			t.Errorf("%s: last frame seq %d (want %d) / stderr:\n%s", c.spec, got, want, p.stderr.String())
		}
	}
}

// TestStdinBrokenStreamExitsNonZero: a stdin stream that breaks (a Y4M
// stream out of sync) cannot be reopened: the process exits non-zero at
// once, so systemd restarts it, instead of "reconnecting" forever.
func TestStdinBrokenStreamExitsNonZero(t *testing.T) {
	p := runPiped(t, "--camera", "stdin:y4m")
	var in bytes.Buffer
	fmt.Fprintf(&in, "YUV4MPEG2 W8 H8 F30:1 C420jpeg\nFRAME\n")
	in.Write(make([]byte, 8*8+2*4*4))
	in.WriteString("GARBAGE\n")
	p.in.Write(in.Bytes())
	// stdin stays open: the exit must come from the broken stream itself.
	err, lines := p.wait(t)
	var ee *exec.ExitError
	if err == nil || !errorAs(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit %v, want a non-zero exit code\n%s", err, p.stderr.String())
	}
	if len(lines) != 1 || !strings.Contains(p.stderr.String(), "cannot be reopened") {
		t.Fatalf("%d lines, stderr:\n%s", len(lines), p.stderr.String())
	}
	p.in.Close()
}

// lastSeq is the source sequence number of the last result line.
func lastSeq(t *testing.T, lines []string) int {
	t.Helper()
	if len(lines) == 0 {
		return 0
	}
	var l struct{ Seq int }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &l); err != nil {
		t.Fatalf("result line %q: %v", lines[len(lines)-1], err)
	}
	return l.Seq
}

func errorAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// TestHealthzTellsTheTruth follows /healthz of a stdin stream through its
// life: 503 before the first frame, 200 while frames arrive, 503 when they
// stop (--stale-after), 200 again when they resume.
func TestHealthzTellsTheTruth(t *testing.T) {
	p := runPiped(t, "--camera", "stdin:gray:32x24", "--http", "127.0.0.1:0", "--stale-after", "1s")
	re := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no http address:\n%s", p.stderr.String())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	health := func() (int, string) {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct{ Status, Reason string }
		json.NewDecoder(resp.Body).Decode(&b)
		return resp.StatusCode, b.Reason
	}
	// until returns once /healthz has the wanted code (or fails after 10 s).
	until := func(code int, what string) string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			c, reason := health()
			if c == code {
				return reason
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /healthz still %d (%s)\n%s", what, c, reason, p.stderr.String())
			}
		}
	}
	if c, reason := health(); c != 503 || !strings.Contains(reason, "first camera frame") {
		t.Fatalf("before any frame: %d %q", c, reason)
	}
	frame := bytes.Repeat([]byte{128}, 32*24)
	p.in.Write(frame)
	until(200, "after a frame")
	reason := until(503, "after frames stopped")
	if !strings.Contains(reason, "no camera frame") {
		t.Fatalf("stale reason %q", reason)
	}
	p.in.Write(frame)
	until(200, "after frames resumed")
	p.in.Close()
	if err, _ := p.wait(t); err != nil {
		t.Fatalf("exit %v", err)
	}

}
