package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// agentStandIn serves /healthz and /state like `edgecnn run --http`.
func agentStandIn(t *testing.T, healthy bool, digits string) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			if !healthy {
				http.Error(w, `{"status":"unhealthy","reason":"camera reconnecting"}`, http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`{"status":"ok"}`))
		case "/state":
			json.NewEncoder(w).Encode(map[string]any{"seq": 7, "time": time.Now().Add(-3 * time.Second), "digits": digits, "confidence": 0.97, "healthy": healthy})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(hs.Close)
	return strings.TrimPrefix(hs.URL, "http://")
}

func TestFleetStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A flashed board, a board with nothing installed, a closed port and a
	// port that accepts but never speaks SSH.
	a := newTestBoard(t)
	in := makeInputs(t, 4096, "", "model-v1")
	bu := a.bundle(t, in, "1.4.0")
	if r := Flash(ctx, a.dial(t), bu, a.opts()); r.Err != nil {
		t.Fatal(r.Err)
	}
	empty := newTestBoard(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	hang, _ := net.Listen("tcp", "127.0.0.1:0")
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ta, te := a.target(), empty.target()
	ta.Name, te.Name = "kitchen", "garage"
	off := Target{Name: "attic", User: "root", Host: "127.0.0.1", Port: closed}
	silent := Target{Name: "shed", User: "root", Host: "127.0.0.1", Port: hang.Addr().(*net.TCPAddr).Port}
	ssh := a.ssh()
	ssh.Identity = ""
	ssh.NoAgent, ssh.NoDefaultKeys = true, true
	// Both sshds accept the same test user; each has its own key.
	ta.Identity, te.Identity = a.srv.KeyFile, empty.srv.KeyFile
	off.Identity, silent.Identity = a.srv.KeyFile, a.srv.KeyFile
	o := StatusOptions{Prefix: a.prefix, HTTP: agentStandIn(t, true, "42"), Systemctl: a.systemctl, Timeout: 8 * time.Second} // generous: a loaded CI machine
	start := time.Now()
	rows := FleetStatus(ctx, []Target{ta, off, silent}, ssh, o)
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("status took %s; boards must be asked in parallel within the timeout", el)
	}
	k, at, sh := rows[0], rows[1], rows[2]
	if !k.Online || k.Release != bu.Release || k.Version != "1.4.0" || k.Service != "active" || !k.Healthy {
		t.Errorf("kitchen: %+v", k)
	}
	if !strings.HasPrefix(k.Model, "model.tflite ") || !strings.Contains(string(bu.Sums), k.Model[len("model.tflite "):]) {
		t.Errorf("kitchen model %q, want the bundle's model checksum", k.Model)
	}
	if k.Reading == nil || k.Reading.Digits != "42" || k.Reading.Confidence < 0.9 {
		t.Errorf("kitchen reading %+v", k.Reading)
	}
	if len(k.Releases) != 1 || k.Releases[0] != bu.Release {
		t.Errorf("kitchen releases %v", k.Releases)
	}
	// Both sshds share this machine's file system: garage is asked about
	// its own (empty) prefix.
	oe := o
	oe.Prefix = empty.prefix
	g := FleetStatus(ctx, []Target{te}, ssh, oe)[0]
	if !g.Online || g.Release != "" || !strings.Contains(g.Health, "not installed") {
		t.Errorf("garage: %+v", g)
	}
	if at.Online || at.Error == "" || sh.Online || !(strings.Contains(sh.Error, "no answer within 8s") || strings.Contains(sh.Error, "timeout")) {
		t.Errorf("offline boards: %+v / %+v", at, sh)
	}
	var buf bytes.Buffer
	StatusTable(&buf, rows, time.Now())
	table := buf.String()
	for _, want := range []string{"kitchen", "online", bu.Release, "42 (0.97,", "attic", "OFFLINE", "shed"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if n := strings.Count(table, "\n"); n != 4 {
		t.Errorf("table has %d lines, want a header and one row per board:\n%s", n, table)
	}

	// An unhealthy agent.
	o.HTTP = agentStandIn(t, false, "")
	rows = FleetStatus(ctx, []Target{ta}, ssh, o)
	if !rows[0].Online || rows[0].Healthy || !strings.Contains(rows[0].Health, "503") {
		t.Errorf("unhealthy agent: %+v", rows[0])
	}
}
