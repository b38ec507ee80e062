package publish

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustOpen(t *testing.T, dir string, opt QueueOptions) *Queue {
	t.Helper()
	q, err := OpenQueue(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// drain acknowledges every record and returns the payloads in order.
func drainQueue(t *testing.T, q *Queue) []string {
	t.Helper()
	var out []string
	for {
		seq, p, ok := q.Front()
		if !ok {
			return out
		}
		out = append(out, string(p))
		if err := q.Ack(seq); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueueOrderAckAndReopen(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, dir, QueueOptions{SegBytes: 100}) // several segments
	for i := range 30 {
		if _, err := q.Append([]byte(fmt.Sprintf("r%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		seq, _, _ := q.Front()
		if err := q.Ack(seq); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	q = mustOpen(t, dir, QueueOptions{SegBytes: 100})
	if q.Len() != 20 {
		t.Fatalf("after reopen %d records, want 20", q.Len())
	}
	seq, p, _ := q.Front()
	if seq != 11 || string(p) != "r10" {
		t.Fatalf("front after reopen = %d %q, want 11 r10", seq, p)
	}
	got := drainQueue(t, q)
	for i, g := range got {
		if want := fmt.Sprintf("r%02d", i+10); g != want {
			t.Fatalf("record %d = %q, want %q", i, g, want)
		}
	}
	// Acknowledged segments are deleted (at the latest when the
	// acknowledgements are written, here at Close): only the current one stays.
	q.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Errorf("%d segment files left after everything was acknowledged: %v", len(segs), segs)
	}
	// Numbering goes on after a restart with an empty queue.
	q.Close()
	q = mustOpen(t, dir, QueueOptions{SegBytes: 100})
	if s, _ := q.Append([]byte("x")); s != 31 {
		t.Fatalf("next seq after restart = %d, want 31", s)
	}
}

func TestQueueBoundDropsOldestAndCounts(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, dir, QueueOptions{MaxRecords: 5})
	for i := range 12 {
		q.Append([]byte(strconv.Itoa(i)))
	}
	if q.Len() != 5 || q.Dropped() != 7 {
		t.Fatalf("len %d dropped %d, want 5 and 7", q.Len(), q.Dropped())
	}
	q.Close()
	q = mustOpen(t, dir, QueueOptions{MaxRecords: 5})
	if q.Dropped() != 7 {
		t.Fatalf("dropped counter after reopen = %d, want 7 (persisted)", q.Dropped())
	}
	if got := strings.Join(drainQueue(t, q), ","); got != "7,8,9,10,11" {
		t.Fatalf("kept %s, want the newest 7..11", got)
	}
	// The byte bound too.
	q2 := mustOpen(t, t.TempDir(), QueueOptions{MaxBytes: 10})
	for range 4 {
		q2.Append([]byte("abcd"))
	}
	if q2.Len() != 2 || q2.Dropped() != 2 {
		t.Fatalf("byte bound: len %d dropped %d, want 2 and 2", q2.Len(), q2.Dropped())
	}
	if _, err := q2.Append(make([]byte, 11)); err == nil {
		t.Fatal("a record larger than the whole queue was accepted")
	}
}

func TestQueueTornTailAndCorruption(t *testing.T) {
	dir := t.TempDir()
	q := mustOpen(t, dir, QueueOptions{})
	for i := range 5 {
		q.Append([]byte(fmt.Sprintf("payload-%d", i)))
	}
	q.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%016x.seg", 1))
	// A crash in the middle of the sixth Append: half a record at the end.
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{9, 0, 0, 0, 1, 2, 3})
	f.Close()
	q = mustOpen(t, dir, QueueOptions{})
	if q.Len() != 5 || q.Lost() != 0 {
		t.Fatalf("torn tail: len %d lost %d, want 5 and 0", q.Len(), q.Lost())
	}
	if s, _ := q.Append([]byte("after")); s != 6 {
		t.Fatalf("append after a torn tail got seq %d, want 6", s)
	}
	q.Close()
	// Flip one payload byte of the third record: its checksum fails and
	// the queue keeps the two records before it.
	b, _ := os.ReadFile(seg)
	recLen := recHeader + len("payload-0")
	b[2*recLen+recHeader+1] ^= 0xff
	os.WriteFile(seg, b, 0o600)
	q = mustOpen(t, dir, QueueOptions{})
	if got := strings.Join(drainQueue(t, q), ","); got != "payload-0,payload-1" {
		t.Fatalf("after corruption kept %q", got)
	}
}

func TestQueueBadHeadFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "head"), []byte("garbage"), 0o600)
	if _, err := OpenQueue(dir, QueueOptions{}); err == nil || !strings.Contains(err.Error(), "head file") {
		t.Fatalf("bad head file: err = %v", err)
	}
}

// TestQueueSurvivesKill9 appends in a child process that prints each seq
// once Append returned, kills it with SIGKILL mid-stream, and checks that
// every printed record is in the reopened queue, in order.
func TestQueueSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EDGECNN_QUEUE_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var acked []uint64
	for sc.Scan() {
		s, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 64)
		if err != nil {
			continue
		}
		acked = append(acked, s)
		if len(acked) == 200 {
			cmd.Process.Kill()
			break
		}
	}
	cmd.Wait()
	if len(acked) < 200 {
		t.Fatalf("child appended only %d records", len(acked))
	}
	q := mustOpen(t, dir, QueueOptions{})
	var prev uint64
	n := 0
	for {
		seq, p, ok := q.Front()
		if !ok {
			break
		}
		if string(p) != fmt.Sprintf("reading %d", seq) || (prev != 0 && seq != prev+1) {
			t.Fatalf("record %d = %q after %d", seq, p, prev)
		}
		prev = seq
		n++
		q.Ack(seq)
	}
	if n < len(acked) || acked[len(acked)-1] > prev {
		t.Fatalf("reopened queue has %d records up to %d; the child saw %d acknowledged up to %d",
			n, prev, len(acked), acked[len(acked)-1])
	}
}

// queueChild is the child process of TestQueueSurvivesKill9 (see TestMain).
func queueChild(dir string) {
	q, err := OpenQueue(dir, QueueOptions{SegBytes: 4096})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := uint64(1); i < 100000; i++ {
		s, err := q.Append([]byte(fmt.Sprintf("reading %d", i)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(s)
	}
	time.Sleep(time.Minute) // the parent kills us long before
}
