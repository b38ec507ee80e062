package deploy

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/edgecnn/edgecnn/deploy/mdns"
)

// ResolveAddr turns host:port into the address Dial connects to. Names
// under .local are resolved here, by the system resolver (which reads
// /etc/hosts, and uses nss-mdns in cgo builds) and by multicast DNS
// (package mdns) at the same time, first answer wins: Go's pure resolver
// does no mDNS, so `--host pi@raspberrypi.local` would otherwise fail from
// a Linux laptop. Other names and IP addresses are returned unchanged for
// the dialer. r configures mDNS (nil: the multicast group, 3 s). Every
// command that dials a board (flash, bench --host, status, pull) goes
// through Dial and so through this function.
func ResolveAddr(ctx context.Context, addr string, r *mdns.Resolver) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !mdns.IsLocal(host) {
		return addr, nil
	}
	if r == nil {
		r = &mdns.Resolver{}
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = mdns.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		addrs []netip.Addr
		err   error
		sys   bool
	}
	ch := make(chan answer, 2)
	go func() {
		a, err := r.LookupHost(ctx, host)
		ch <- answer{a, err, false}
	}()
	go func() {
		var addrs []netip.Addr
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		for _, ip := range ips {
			addrs = append(addrs, ip.Unmap())
		}
		ch <- answer{addrs, err, true}
	}()
	var mErr, sErr error
	for range 2 {
		a := <-ch
		if a.err == nil && len(a.addrs) > 0 {
			return net.JoinHostPort(pick(a.addrs).String(), port), nil
		}
		if a.err == nil {
			a.err = fmt.Errorf("no addresses")
		}
		if a.sys {
			sErr = a.err
		} else {
			mErr = a.err
		}
	}
	if ctx.Err() != nil && ctx.Err() != context.DeadlineExceeded {
		return "", fmt.Errorf("resolve %s: %w", host, ctx.Err())
	}
	return "", fmt.Errorf("resolve %s: %v; the system resolver: %v (use the board's IP address if mDNS is blocked on this network)", host, mErr, shortErr(sErr))
}

// pick prefers an IPv4 address (an IPv6 link-local one needs a zone).
func pick(addrs []netip.Addr) netip.Addr {
	for _, a := range addrs {
		if a.Is4() {
			return a
		}
	}
	return addrs[0]
}

func shortErr(err error) string {
	if de, ok := err.(*net.DNSError); ok {
		if de.IsTimeout {
			return "timed out"
		}
		return de.Err
	}
	return fmt.Sprint(err)
}
