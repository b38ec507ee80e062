package publish

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQueueDiskFull runs a publisher in a child process whose files may
// not grow beyond 8 KiB (RLIMIT_FSIZE: writes fail as on a full disk). The
// webhook answers 503, so the queue only grows. The child logs one clear
// error line, keeps running, and every record it had queued is intact.
func TestQueueDiskFull(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EDGECNN_DISKFULL_CHILD="+dir, "EDGECNN_DISKFULL_URL="+srv.URL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	queued, err := strconv.Atoi(strings.TrimSpace(stdout.String()))
	if err != nil || queued < 10 || queued >= 200 {
		t.Fatalf("child queued %q readings of 200 (want some, not all)\n%s", stdout.String(), stderr.String())
	}
	var errLines []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			errLines = append(errLines, l)
		}
	}
	t.Logf("child log: %s", errLines)
	if len(errLines) != 1 || !strings.Contains(errLines[0], "cannot write readings to the queue") ||
		!strings.Contains(errLines[0], "file too large") {
		t.Fatalf("want one error line about the queue write, got:\n%s", stderr.String())
	}
	q := mustOpen(t, filepath.Join(dir, "webhook"), QueueOptions{})
	if q.Len() != queued || q.Lost() != 0 {
		t.Fatalf("reopened queue: %d records (lost %d), the child had %d queued", q.Len(), q.Lost(), queued)
	}
	got := drainQueue(t, q)
	for i, p := range got {
		if !strings.Contains(p, fmt.Sprintf(`"seq":%d,`, i+1)) {
			t.Fatalf("record %d = %s", i, p)
		}
	}
}

// diskFullChild is the child process of TestQueueDiskFull.
func diskFullChild(dir string) {
	signal.Ignore(syscall.SIGXFSZ)
	lim := &syscall.Rlimit{Cur: 8 << 10, Max: 8 << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, lim); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w, err := NewWebhook(WebhookConfig{URL: os.Getenv("EDGECNN_DISKFULL_URL"), Timeout: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lb := &logBuf{}
	p, err := New(Options{Policy: Policy{Mode: Every}, QueueDir: dir, BackoffMin: time.Second, Log: slog.New(slog.NewTextHandler(lb, nil))}, w)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 1; i <= 200; i++ {
		p.accept(Reading{Seq: uint64(i), Digits: strconv.Itoa(i), Confidence: 0.5})
	}
	fmt.Println(p.queued())
	fmt.Fprint(os.Stderr, lb.String())
}
