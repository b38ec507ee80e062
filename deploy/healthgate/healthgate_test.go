package healthgate

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitBecomesHealthy(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			http.Error(w, "camera reconnecting", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	if err := Wait(context.Background(), srv.URL+"/healthz", Options{Timeout: 10 * time.Second, Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got != 3 {
		t.Fatalf("%d requests, want 3 (two 503s, then 200)", got)
	}
}

func TestWaitFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no frames", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	err := Wait(context.Background(), srv.URL+"/healthz", Options{Timeout: 3 * time.Second, Interval: 50 * time.Millisecond}) // generous: a loaded CI machine
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no frames") {
		t.Fatalf("%v", err)
	}
	// Nothing listening.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	err = Wait(context.Background(), "http://"+addr+"/healthz", Options{Timeout: 2 * time.Second, Interval: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("%v", err)
	}
	for _, bad := range []string{"", "ftp://x/", "127.0.0.1:8080/healthz", "http://"} {
		if err := Wait(context.Background(), bad, Options{}); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
