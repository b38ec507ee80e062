// Package mdnstest runs a multicast-DNS responder on a loopback UDP port
// for tests: it answers A and AAAA questions for the names it owns the way
// RFC 6762 responders do (authoritative, cache-flush bit, unicast reply to
// a query from an ephemeral port repeating its ID), and stays silent for
// any other name. It is served by github.com/miekg/dns's own server, so the
// resolver under test speaks real mDNS on the wire.
package mdnstest

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Responder is a running responder.
type Responder struct {
	Addr string // 127.0.0.1:port, to use as mdns.Resolver.Group

	mu      sync.Mutex
	hosts   map[string][]netip.Addr
	queries []dns.Question
}

// Start serves hosts (name → addresses) until the test ends.
func Start(t testing.TB, hosts map[string][]netip.Addr) *Responder {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Responder{Addr: pc.LocalAddr().String(), hosts: map[string][]netip.Addr{}}
	for n, a := range hosts {
		r.hosts[dns.Fqdn(strings.ToLower(n))] = a
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: r, NotifyStartedFunc: func() { close(started) },
		MsgAcceptFunc: func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept }}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return r
}

// Queries are the questions received so far.
func (r *Responder) Queries() []dns.Question {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dns.Question(nil), r.queries...)
}

// ServeDNS answers the questions it owns; nothing at all otherwise.
func (r *Responder) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	r.mu.Lock()
	r.queries = append(r.queries, q.Question...)
	var answers []dns.RR
	for _, qq := range q.Question {
		for _, a := range r.hosts[strings.ToLower(qq.Name)] {
			// Cache-flush bit: this responder owns the name (RFC 6762 §10.2).
			hdr := dns.RR_Header{Name: qq.Name, Class: dns.ClassINET | 1<<15, Ttl: 120}
			switch {
			case qq.Qtype == dns.TypeA && a.Is4():
				hdr.Rrtype = dns.TypeA
				answers = append(answers, &dns.A{Hdr: hdr, A: a.AsSlice()})
			case qq.Qtype == dns.TypeAAAA && a.Is6():
				hdr.Rrtype = dns.TypeAAAA
				answers = append(answers, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
			}
		}
	}
	r.mu.Unlock()
	if len(answers) == 0 {
		return // not our name: a responder stays silent
	}
	m := new(dns.Msg)
	m.Id = q.Id // legacy unicast reply (RFC 6762 §6.7)
	m.Response, m.Authoritative = true, true
	m.Answer = answers
	w.WriteMsg(m)
}
