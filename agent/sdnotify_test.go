package agent

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera"
)

// A real unixgram socket plays systemd: the agent must say READY=1 once
// running, WATCHDOG=1 periodically, and STOPPING=1 on a graceful stop.
func TestSDNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "40000")
	n, err := NotifierFromEnv()
	if err != nil || n == nil {
		t.Fatalf("notifier: %v", err)
	}
	wd, err := WatchdogInterval()
	if err != nil || wd != 20*time.Millisecond {
		t.Fatalf("watchdog interval %v %v", wd, err)
	}
	src := &scriptedSource{items: syntheticFrames(2, 64, 48, 4), hold: true}
	a, _ := New(Config{
		OpenCamera:    func(context.Context) (camera.Source, error) { return src, nil },
		NewRecognizer: func() (*Recognizer, error) { return NewRecognizer(&fakeEngine{answer: []int{2}}, RecognizerConfig{}) },
		Notifier:      n, Watchdog: wd,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	got := map[string]int{}
	buf := make([]byte, 256)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for got["WATCHDOG=1"] < 3 {
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got[string(buf[:k])]++
	}
	if got["READY=1"] != 1 {
		t.Fatalf("messages %v: want READY=1 first", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for {
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no STOPPING=1 (got %v): %v", got, err)
		}
		if string(buf[:k]) == "STOPPING=1" {
			break
		}
	}
}

func TestSDNotifyEnv(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if n, err := NotifierFromEnv(); n != nil || err != nil {
		t.Fatal("no NOTIFY_SOCKET must give a nil notifier")
	}
	if err := (*Notifier)(nil).Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", "relative/path")
	if _, err := NotifierFromEnv(); err == nil {
		t.Fatal("relative NOTIFY_SOCKET accepted")
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent.sock"))
	n, _ := NotifierFromEnv()
	if err := n.Notify("READY=1"); err == nil || !strings.Contains(err.Error(), "sd_notify") {
		t.Fatalf("absent socket: %v", err)
	}
	t.Setenv("WATCHDOG_USEC", "soon")
	if _, err := WatchdogInterval(); err == nil {
		t.Fatal("bad WATCHDOG_USEC accepted")
	}
	t.Setenv("WATCHDOG_USEC", "1000000")
	t.Setenv("WATCHDOG_PID", "1")
	if d, _ := WatchdogInterval(); d != 0 {
		t.Fatal("watchdog meant for another pid was used")
	}
}
