package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	healthy := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy {
			http.Error(w, `{"status":"unhealthy"}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	if err := Probe(context.Background(), srv.URL+"/healthz", time.Second); err != nil {
		t.Fatal(err)
	}
	healthy = false
	if err := Probe(context.Background(), srv.URL+"/healthz", time.Second); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("unhealthy agent: %v", err)
	}
	srv.Close()
	if err := Probe(context.Background(), srv.URL+"/healthz", time.Second); err == nil {
		t.Fatal("no agent: no error")
	}
}
