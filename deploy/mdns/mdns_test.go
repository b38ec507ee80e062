package mdns_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/deploy/mdns"
	"github.com/edgecnn/edgecnn/deploy/mdns/mdnstest"
	"github.com/miekg/dns"
)

func TestLookupHost(t *testing.T) {
	want := []netip.Addr{netip.MustParseAddr("192.168.7.21"), netip.MustParseAddr("fe80::1")}
	resp := mdnstest.Start(t, map[string][]netip.Addr{"raspberrypi.local": want})
	r := &mdns.Resolver{Group: resp.Addr, Timeout: 2 * time.Second}
	got, err := r.LookupHost(context.Background(), "RaspberryPi.local")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0] != want[0] {
		t.Fatalf("got %v, want %v first", got, want[0])
	}
	qs := resp.Queries()
	if len(qs) == 0 {
		t.Fatal("responder saw no query")
	}
	for _, q := range qs {
		if q.Qclass&(1<<15) == 0 || q.Qclass&0x7fff != dns.ClassINET {
			t.Errorf("question %v: want class IN with the unicast-response bit", q)
		}
		if q.Name != "raspberrypi.local." {
			t.Errorf("question name %q", q.Name)
		}
	}
}

func TestLookupUnknownNameTimesOut(t *testing.T) {
	resp := mdnstest.Start(t, map[string][]netip.Addr{"other.local": {netip.MustParseAddr("10.0.0.1")}})
	r := &mdns.Resolver{Group: resp.Addr, Timeout: 300 * time.Millisecond, Retry: 100 * time.Millisecond}
	start := time.Now()
	_, err := r.LookupHost(context.Background(), "nosuchboard.local")
	var nf *mdns.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want a NotFoundError", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("lookup took %s, want it bounded by its timeout", el)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "nosuchboard.local") || !strings.Contains(msg, "300ms") {
		t.Fatalf("error %q: want one line naming the host and the timeout", msg)
	}
	// It retransmitted while waiting.
	if n := len(resp.Queries()); n < 4 {
		t.Fatalf("responder saw %d questions, want at least two queries of A+AAAA", n)
	}
}

func TestLookupCancelled(t *testing.T) {
	resp := mdnstest.Start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&mdns.Resolver{Group: resp.Addr}).LookupHost(ctx, "x.local")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestNotLocal(t *testing.T) {
	for _, n := range []string{"example.com", "local", ".local", "localhost"} {
		if mdns.IsLocal(n) {
			t.Errorf("IsLocal(%q) = true", n)
		}
	}
	for _, n := range []string{"pi.local", "Pi.LOCAL.", "a.b.local"} {
		if !mdns.IsLocal(n) {
			t.Errorf("IsLocal(%q) = false", n)
		}
	}
	if _, err := (&mdns.Resolver{}).LookupHost(context.Background(), "example.com"); err == nil {
		t.Fatal("want an error for a non-.local name")
	}
}
