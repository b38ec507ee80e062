// Package mdns resolves host names under .local with multicast DNS (RFC
// 6762), which Go's pure resolver does not speak: a pure-Go edgecnn on a
// Linux laptop would otherwise send raspberrypi.local to the DNS server and
// get "no such host".
//
// A Resolver sends a one-shot query for the name's A and AAAA records to the
// mDNS group (224.0.0.251:5353) from an ephemeral port, with the
// unicast-response bit set, so responders (avahi, Apple's mDNSResponder,
// systemd-resolved) answer it directly (RFC 6762 §5.1, §6.7). It retries
// once a second until its timeout. Messages are packed and parsed with
// github.com/miekg/dns.
package mdns

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultGroup is the IPv4 mDNS multicast group and port.
const DefaultGroup = "224.0.0.251:5353"

// DefaultTimeout bounds one lookup when Resolver.Timeout is zero.
const DefaultTimeout = 3 * time.Second

// Resolver asks mDNS responders for addresses. The zero value queries the
// multicast group; tests point Group at a responder on loopback.
type Resolver struct {
	// Group is the UDP address queries are sent to ("": DefaultGroup).
	Group string
	// Timeout bounds a lookup (0: DefaultTimeout).
	Timeout time.Duration
	// Retry is the time between retransmissions (0: 1s).
	Retry time.Duration
}

// IsLocal reports whether name is a multicast-DNS name (ends in .local).
func IsLocal(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	return strings.HasSuffix(name, ".local") && len(name) > len(".local")
}

// NotFoundError is a lookup that got no answer in time.
type NotFoundError struct {
	Name    string
	Group   string
	Timeout time.Duration
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("mDNS: no answer for %s from %s within %s (is the board on this network segment, and is avahi-daemon running on it?)",
		e.Name, e.Group, e.Timeout)
}

// LookupHost returns the addresses of name (IPv4 first), or a
// *NotFoundError when no responder answered within the timeout.
func (r *Resolver) LookupHost(ctx context.Context, name string) ([]netip.Addr, error) {
	if !IsLocal(name) {
		return nil, fmt.Errorf("mDNS: %q is not a .local name", name)
	}
	group := r.Group
	if group == "" {
		group = DefaultGroup
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	retry := r.Retry
	if retry <= 0 {
		retry = time.Second
	}
	gaddr, err := net.ResolveUDPAddr("udp", group)
	if err != nil {
		return nil, fmt.Errorf("mDNS group %q: %w", group, err)
	}
	network := "udp4"
	if gaddr.IP.To4() == nil {
		network = "udp6"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, fmt.Errorf("mDNS: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	fqdn := dns.Fqdn(strings.ToLower(name))
	q := new(dns.Msg)
	var id [2]byte
	rand.Read(id[:])
	q.Id = binary.BigEndian.Uint16(id[:])
	// QU bit: ask for a unicast answer (RFC 6762 §5.4).
	q.Question = []dns.Question{
		{Name: fqdn, Qtype: dns.TypeA, Qclass: dns.ClassINET | 1<<15},
		{Name: fqdn, Qtype: dns.TypeAAAA, Qclass: dns.ClassINET | 1<<15},
	}
	pkt, err := q.Pack()
	if err != nil {
		return nil, fmt.Errorf("mDNS: %w", err)
	}
	send := func() error {
		if _, err := conn.WriteToUDP(pkt, gaddr); err != nil {
			return fmt.Errorf("mDNS: send to %s: %w", group, err)
		}
		return nil
	}
	if err := send(); err != nil {
		return nil, err
	}
	go func() {
		t := time.NewTicker(retry)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				send()
			}
		}
	}()
	buf := make([]byte, 9000) // an mDNS message fits in one jumbo frame (RFC 6762 §17)
	for {
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil, &NotFoundError{Name: name, Group: group, Timeout: timeout}
				}
				return nil, fmt.Errorf("mDNS lookup %s: %w", name, ctx.Err())
			}
			return nil, fmt.Errorf("mDNS: %w", err)
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) != nil || !m.Response || (m.Id != 0 && m.Id != q.Id) || m.Rcode != dns.RcodeSuccess {
			continue // not an answer to us: keep listening
		}
		if addrs := addresses(&m, fqdn); len(addrs) > 0 {
			return addrs, nil
		}
	}
}

// addresses collects A and AAAA records for fqdn from the answer and
// additional sections, IPv4 first.
func addresses(m *dns.Msg, fqdn string) []netip.Addr {
	var v4, v6 []netip.Addr
	for _, rr := range append(append([]dns.RR(nil), m.Answer...), m.Extra...) {
		if !strings.EqualFold(rr.Header().Name, fqdn) {
			continue
		}
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
				v4 = append(v4, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok && !a.Is4In6() {
				v6 = append(v6, a)
			}
		}
	}
	return append(v4, v6...)
}
