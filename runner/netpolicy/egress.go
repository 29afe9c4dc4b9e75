package netpolicy

// The egress side of domain allow-lists: a DNS responder and a transparent
// HTTP/TLS proxy in the runner process, listening on the policy bridge's
// gateway address at ports the sandbox cannot choose. For a sandbox whose
// policy names domains, the nat table sends its UDP/TCP 53 to the
// responder and its TCP 80/443 to the proxy (DNAT, whatever address it
// dialled), and CP-IN lets through only those redirected connections: a
// sandbox connecting to the listeners' ports itself is refused like every
// other connection to the runner host.
//
// The proxy reads the HTTP Host header (port 80) or the TLS ClientHello's
// SNI (port 443, not terminated), checks it against the allow list, then
// resolves the name itself through the upstream resolver and connects to
// that address — not to the address the sandbox dialled — so a sandbox
// that sends an allowed Host/SNI to another address still reaches only the
// allowed name's server.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/codepod-dev/codepod"
	"github.com/codepod-dev/codepod/wire"
)

const (
	// helloLimit bounds what the proxy reads before it decides (HTTP
	// request head, TLS ClientHello).
	helloLimit = 16 << 10
	// helloTimeout bounds how long it waits for them.
	helloTimeout = 10 * time.Second
	// ReasonDomain is the reason of the egress proxy's and DNS
	// responder's refusals.
	ReasonDomain = "domain"
	// logSize is how many refusals the egress keeps per sandbox.
	logSize  = 200
	chainNAT = "CP-NAT"
)

// egressSandbox is what the egress knows of a sandbox whose policy names
// domains (in its allow or its deny list).
type egressSandbox struct {
	id        string
	mode      string            // codepod.PolicyAllow or codepod.PolicyInternet
	rules     []codepod.NetRule // the domain rules of its allow list
	denyNames []codepod.NetRule // the domain rules of its deny list
	deny      []codepod.NetRule // its deny list's addresses
	public    []netip.Prefix    // ranges treated as public (Config.Public)
}

// dialable reports whether the proxy may connect to an allowed name's
// address a: never loopback, link-local (cloud metadata), unspecified or
// multicast, nor one of the runner host's own addresses (the proxy dials
// from the host, where CP-IN does not apply), nor a deny entry; under
// internet, never a private range either.
func (s *egressSandbox) dialable(a netip.Addr, port uint16) bool {
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() || !a.Is4() {
		return false
	}
	for _, r := range s.deny {
		if r.Prefix.Contains(a) && (r.Port == 0 || r.Port == port) {
			return false
		}
	}
	if contains(s.public, a) {
		return true
	}
	if isHostAddr(a) {
		return false
	}
	return s.mode != codepod.PolicyInternet || !contains(codepod.PrivateRanges, a)
}

// denies reports whether a deny rule names host on port (port 0: a rule
// for every port, which is what DNS answers are checked against).
func (s *egressSandbox) denies(host string, port uint16) bool {
	for _, r := range s.denyNames {
		if port == 0 && r.Port != 0 {
			continue
		}
		if port == 0 || r.Port == 0 {
			r.Port = port
		}
		if r.MatchHost(host, port) {
			return true
		}
	}
	return false
}

// allows reports whether the proxy lets the sandbox reach host on port:
// never a denied name; under internet every other name; under allow the
// names of the allow list.
func (s *egressSandbox) allows(host string, port uint16) bool {
	if s.denies(host, port) {
		return false
	}
	if s.mode == codepod.PolicyInternet {
		return true
	}
	for _, r := range s.rules {
		if r.MatchHost(host, port) {
			return true
		}
	}
	return false
}

// resolvable reports whether the DNS responder answers host (on any port).
func (s *egressSandbox) resolvable(host string) bool {
	if s.denies(host, 0) {
		return false
	}
	if s.mode == codepod.PolicyInternet {
		return true
	}
	for _, r := range s.rules {
		r.Port = 0
		if r.MatchHost(host, 0) {
			return true
		}
	}
	return false
}

func contains(ranges []netip.Prefix, a netip.Addr) bool {
	for _, p := range ranges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// isHostAddr reports whether a is an address of one of this host's
// interfaces (read each time: bridges come and go).
func isHostAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // unknown: refuse
	}
	for _, ia := range addrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().Unmap() == a {
			return true
		}
	}
	return false
}

type egress struct {
	gw       netip.Addr
	upstream string
	log      func(msg string, args ...any)

	dnsUDP  net.PacketConn
	dnsTCP  net.Listener
	httpLn  net.Listener
	tlsLn   net.Listener
	servers []*dns.Server

	mu    sync.Mutex
	bySrc map[netip.Addr]*egressSandbox
	logs  map[string][]wire.NetDenial
}

// startEgress starts the listeners on gw.
func startEgress(gw netip.Addr, upstream string, log func(string, ...any)) (*egress, error) {
	e := &egress{gw: gw, upstream: upstream, log: log, bySrc: map[netip.Addr]*egressSandbox{}, logs: map[string][]wire.NetDenial{}}
	var err error
	at := net.JoinHostPort(gw.String(), "0")
	if e.dnsUDP, err = net.ListenPacket("udp4", at); err != nil {
		return nil, fmt.Errorf("egress DNS: %w", err)
	}
	if e.dnsTCP, err = net.Listen("tcp4", at); err != nil {
		e.close()
		return nil, fmt.Errorf("egress DNS: %w", err)
	}
	if e.httpLn, err = net.Listen("tcp4", at); err != nil {
		e.close()
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	if e.tlsLn, err = net.Listen("tcp4", at); err != nil {
		e.close()
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	h := dns.HandlerFunc(e.serveDNS)
	e.servers = []*dns.Server{{PacketConn: e.dnsUDP, Handler: h}, {Listener: e.dnsTCP, Handler: h}}
	for _, s := range e.servers {
		go s.ActivateAndServe()
	}
	go e.accept(e.httpLn, 80, e.serveHTTP)
	go e.accept(e.tlsLn, 443, e.serveTLS)
	return e, nil
}

func (e *egress) close() {
	for _, s := range e.servers {
		s.Shutdown()
	}
	for _, c := range []io.Closer{e.dnsUDP, e.dnsTCP, e.httpLn, e.tlsLn} {
		if c != nil {
			c.Close()
		}
	}
}

func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// natRules are the nat lines that send sandbox id at src to the egress;
// connections to the addresses of its allow list (allow) go their own
// way (RETURN), through CP-FWD.
func (e *egress) natRules(id, src string, allow []codepod.NetRule) []string {
	gw := e.gw.String()
	tag := "-m comment --comment " + commentTag + id
	var out []string
	for _, r := range allow {
		if r.Domain != "" {
			continue
		}
		if r.Port == 0 {
			out = append(out, fmt.Sprintf("-A %s -s %s -d %s %s -j RETURN", chainNAT, src, r.Prefix, tag))
		} else {
			for _, proto := range []string{"tcp", "udp"} {
				out = append(out, fmt.Sprintf("-A %s -s %s -d %s -p %s --dport %d %s -j RETURN", chainNAT, src, r.Prefix, proto, r.Port, tag))
			}
		}
	}
	return append(out,
		fmt.Sprintf("-A %s -s %s -p udp --dport 53 %s -j DNAT --to-destination %s:%s", chainNAT, src, tag, gw, port(e.dnsUDP.LocalAddr())),
		fmt.Sprintf("-A %s -s %s -p tcp --dport 53 %s -j DNAT --to-destination %s:%s", chainNAT, src, tag, gw, port(e.dnsTCP.Addr())),
		fmt.Sprintf("-A %s -s %s -p tcp --dport 80 %s -j DNAT --to-destination %s:%s", chainNAT, src, tag, gw, port(e.httpLn.Addr())),
		fmt.Sprintf("-A %s -s %s -p tcp --dport 443 %s -j DNAT --to-destination %s:%s", chainNAT, src, tag, gw, port(e.tlsLn.Addr())),
	)
}

// set makes sandbox s at addr known (or, when its policy names no
// domains, forgets it).
func (e *egress) set(addr netip.Addr, s *egressSandbox) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for a, old := range e.bySrc {
		if old.id == s.id || a == addr {
			delete(e.bySrc, a)
		}
	}
	if len(s.rules) > 0 || len(s.denyNames) > 0 {
		e.bySrc[addr] = s
	}
}

func (e *egress) forget(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for a, s := range e.bySrc {
		if s.id == id {
			delete(e.bySrc, a)
		}
	}
	delete(e.logs, id)
}

func (e *egress) sandbox(a net.Addr) *egressSandbox {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bySrc[ap.Addr().Unmap()]
}

// refused records a refusal of sandbox id (the last logSize are kept).
func (e *egress) refused(id, name, addr string, port int) {
	now := time.Now().UTC()
	d := wire.NetDenial{Reason: ReasonDomain, Destination: name, Name: name, Address: addr, Port: port, Packets: 1, Time: &now}
	if port != 0 && name != "" {
		d.Destination = net.JoinHostPort(name, strconv.Itoa(port))
	}
	if name == "" {
		d.Destination = "no name given to " + net.JoinHostPort(addr, strconv.Itoa(port))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l := append(e.logs[id], d)
	if len(l) > logSize {
		l = append([]wire.NetDenial(nil), l[len(l)-logSize:]...)
	}
	e.logs[id] = l
	e.log("egress refused", "sandbox_id", id, "name", name, "address", addr, "port", port)
}

func (e *egress) denied(id string) []wire.NetDenial {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]wire.NetDenial(nil), e.logs[id]...)
}

// serveDNS answers a sandbox's query: allowed names from the upstream
// resolver, everything else NXDOMAIN (unknown sources: REFUSED).
func (e *egress) serveDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	s := e.sandbox(w.RemoteAddr())
	if s == nil || len(q.Question) != 1 {
		m.SetRcode(q, dns.RcodeRefused)
		w.WriteMsg(m)
		return
	}
	name := strings.TrimSuffix(strings.ToLower(q.Question[0].Name), ".")
	if !s.resolvable(name) {
		e.refused(s.id, name, "", 53)
		m.SetRcode(q, dns.RcodeNameError)
		w.WriteMsg(m)
		return
	}
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	if _, tcp := w.RemoteAddr().(*net.TCPAddr); tcp {
		c.Net = "tcp"
	}
	r, _, err := c.Exchange(q, e.upstream)
	if err != nil {
		m.SetRcode(q, dns.RcodeServerFailure)
		w.WriteMsg(m)
		return
	}
	w.WriteMsg(r)
}

// resolve is name's first IPv4 address from the upstream resolver.
func (e *egress) resolve(name string) (netip.Addr, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, e.upstream)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no IPv4 address (%s)", name, dns.RcodeToString[r.Rcode])
}

func (e *egress) accept(ln net.Listener, port uint16, serve func(net.Conn, *egressSandbox, uint16)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s := e.sandbox(c.RemoteAddr())
		if s == nil {
			c.Close()
			continue
		}
		go serve(c, s, port)
	}
}

// recorder reads from a conn at most N bytes (until the head is parsed)
// and keeps what it read, to replay upstream.
type recorder struct {
	r   io.LimitedReader
	buf bytes.Buffer
}

func newRecorder(c net.Conn) *recorder {
	return &recorder{r: io.LimitedReader{R: c, N: helloLimit}}
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

// serveHTTP checks the request's Host and splices to the allowed server.
func (e *egress) serveHTTP(c net.Conn, s *egressSandbox, port uint16) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(helloTimeout))
	rec := newRecorder(c)
	req, err := http.ReadRequest(bufio.NewReaderSize(rec, 4096))
	orig := originalDst(c)
	if err != nil {
		e.refused(s.id, "", orig.Addr().String(), int(port))
		return
	}
	host := req.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" && s.mode == codepod.PolicyInternet {
		e.spliceAddr(c, s, "", orig, rec.buf.Bytes())
		return
	}
	if !s.allows(host, port) {
		e.refused(s.id, host, orig.Addr().String(), int(port))
		why := "is not on this sandbox's network allow list"
		if s.denies(host, port) {
			why = "is on this sandbox's network deny list"
		}
		body := fmt.Sprintf("%s %s (CodePod network policy; codepod sandbox net-log shows refusals)\n", host, why)
		fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		return
	}
	e.splice(c, s, host, port, rec.buf.Bytes())
}

// serveTLS reads the ClientHello's SNI (without terminating TLS) and
// splices to the allowed server.
func (e *egress) serveTLS(c net.Conn, s *egressSandbox, port uint16) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(helloTimeout))
	rec := newRecorder(c)
	var sni string
	stop := errors.New("hello read")
	tls.Server(readOnly{rec}, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni = h.ServerName
		return nil, stop
	}}).Handshake()
	orig := originalDst(c)
	if sni == "" && s.mode == codepod.PolicyInternet {
		// No name to check (a client dialling an address): under internet
		// the address decides, as it would without the proxy.
		e.spliceAddr(c, s, "", orig, rec.buf.Bytes())
		return
	}
	if sni == "" || !s.allows(sni, port) {
		e.refused(s.id, sni, orig.Addr().String(), int(port))
		return
	}
	e.splice(c, s, sni, port, rec.buf.Bytes())
}

// splice connects to host's address (resolved by the runner) and copies
// both ways, first replaying head.
func (e *egress) splice(c net.Conn, s *egressSandbox, host string, port uint16, head []byte) {
	addr, err := e.resolve(host)
	if err != nil {
		e.refused(s.id, host, "", int(port))
		return
	}
	e.spliceAddr(c, s, host, netip.AddrPortFrom(addr, port), head)
}

// spliceAddr connects to to (host's address, or the address the sandbox
// dialled when it named no host) and copies both ways, first replaying
// head.
func (e *egress) spliceAddr(c net.Conn, s *egressSandbox, host string, to netip.AddrPort, head []byte) {
	if !to.IsValid() || !s.dialable(to.Addr(), to.Port()) {
		e.refused(s.id, host, to.Addr().String(), int(to.Port()))
		return
	}
	up, err := net.DialTimeout("tcp4", to.String(), 10*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	c.SetDeadline(time.Time{})
	if _, err := up.Write(head); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(c, up)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		close(done)
	}()
	io.Copy(up, c)
	if tc, ok := up.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	<-done
}

// readOnly is a conn that reads from r and swallows writes (the TLS
// server's alert after the hello was read).
type readOnly struct{ r io.Reader }

func (c readOnly) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c readOnly) Write(p []byte) (int, error)        { return len(p), nil }
func (c readOnly) Close() error                       { return nil }
func (c readOnly) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c readOnly) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c readOnly) SetDeadline(t time.Time) error      { return nil }
func (c readOnly) SetReadDeadline(t time.Time) error  { return nil }
func (c readOnly) SetWriteDeadline(t time.Time) error { return nil }

// originalDst is the address the sandbox dialled before DNAT
// (SO_ORIGINAL_DST), for the log.
func originalDst(c net.Conn) netip.AddrPort {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return netip.AddrPort{}
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return netip.AddrPort{}
	}
	var out netip.AddrPort
	raw.Control(func(fd uintptr) {
		const soOriginalDst = 80
		m, err := syscall.GetsockoptIPv6Mreq(int(fd), syscall.IPPROTO_IP, soOriginalDst)
		if err != nil {
			return
		}
		a := netip.AddrFrom4([4]byte(m.Multiaddr[4:8]))
		out = netip.AddrPortFrom(a, uint16(m.Multiaddr[2])<<8|uint16(m.Multiaddr[3]))
	})
	return out
}

// hostResolver is the first nameserver of /etc/resolv.conf, port 53.
func hostResolver() string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "nameserver" {
				return net.JoinHostPort(f[1], "53")
			}
		}
	}
	return "127.0.0.1:53"
}

// gatewayAddr is the bridge interface's IPv4 address.
func gatewayAddr(bridge string) (netip.Addr, error) {
	ifc, err := net.InterfaceByName(bridge)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("policy bridge %s: %w", bridge, err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("policy bridge %s has no IPv4 address", bridge)
}
