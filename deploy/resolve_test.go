package deploy

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/deploy/mdns"
	"github.com/edgecnn/edgecnn/deploy/mdns/mdnstest"
)

// A board named by its .local name is found over mDNS (a real responder on
// loopback) and flashed over the real sshd.
func TestDialMDNSName(t *testing.T) {
	b := newTestBoard(t)
	resp := mdnstest.Start(t, map[string][]netip.Addr{"edgecnn-test-board.local": {netip.MustParseAddr("127.0.0.1")}})
	tg := b.target()
	tg.Host = "edgecnn-test-board.local"
	o := b.ssh()
	o.MDNS = &mdns.Resolver{Group: resp.Addr, Timeout: 2 * time.Second}
	c, err := Dial(context.Background(), tg, o)
	if err != nil {
		t.Fatalf("dial %s: %v", tg, err)
	}
	defer c.Close()
	out, err := c.Run(context.Background(), "echo hi")
	if err != nil || strings.TrimSpace(out) != "hi" {
		t.Fatalf("run: %q %v", out, err)
	}
	if len(resp.Queries()) == 0 {
		t.Fatal("the mDNS responder was never asked")
	}
	// The host key is recorded under the name the user typed.
	data, err := os.ReadFile(b.srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	kh := string(data)
	if !strings.Contains(kh, "edgecnn-test-board.local") {
		t.Fatalf("known_hosts does not name the .local host:\n%s", kh)
	}
}

func TestDialUnknownMDNSName(t *testing.T) {
	b := newTestBoard(t)
	resp := mdnstest.Start(t, nil)
	tg := b.target()
	tg.Host = "edgecnn-absent-board.local"
	o := b.ssh()
	o.MDNS = &mdns.Resolver{Group: resp.Addr, Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, err := Dial(context.Background(), tg, o)
	if err == nil {
		t.Fatal("dial of an unknown .local name succeeded")
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("took %s; want it bounded by the mDNS timeout", el)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "edgecnn-absent-board.local") || !strings.Contains(msg, "mDNS") {
		t.Fatalf("error %q: want one line naming the host and mDNS", msg)
	}
	t.Log(msg)
}

func TestResolveAddrLeavesOtherNames(t *testing.T) {
	for _, a := range []string{"192.168.1.2:22", "[::1]:22", "example.com:22", "nonsense"} {
		got, err := ResolveAddr(context.Background(), a, &mdns.Resolver{Group: "127.0.0.1:9"})
		if err != nil || got != a {
			t.Errorf("ResolveAddr(%q) = %q, %v; want it unchanged", a, got, err)
		}
	}
}
