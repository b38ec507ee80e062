package agent

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// HTTPSecurity protects the HTTP API.
//
// With a Token, every path but GET /healthz (so that health checks need no
// secret) requires it: "Authorization: Bearer TOKEN", or, for the preview
// page in a browser, a visit to /?token=TOKEN, which sets an HttpOnly,
// SameSite=Strict cookie that the page's own requests (/state, /frame.jpg)
// then carry.
//
// Every request's Host header must name this machine (see AllowHosts), so a
// web page on another site cannot reach the API through DNS rebinding.
type HTTPSecurity struct {
	// Token is the bearer token ("": no authentication).
	Token string
	// CertFile and KeyFile serve HTTPS instead of HTTP (both or neither).
	CertFile string `flag:"tls-cert" usage:"serve HTTPS with this certificate (PEM; with --tls-key)"`
	KeyFile  string `flag:"tls-key" usage:"private key of --tls-cert (PEM)"`
	// AllowHosts are host names accepted in the Host header in addition to
	// DefaultAllowHosts; "*" accepts any. IP literals are always accepted.
	AllowHosts []string `flag:"http-allow-host" usage:"host name accepted in the Host header besides localhost, the host name, NAME.local and IP addresses (\"*\": any)"`
}

// ReadTokenFile reads a bearer token from path (surrounding white space is
// dropped). The token must be 16 to 4096 printable ASCII characters.
func ReadTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("http token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 || len(tok) > 4096 {
		return "", fmt.Errorf("http token in %s: %d characters, want 16 to 4096", path, len(tok))
	}
	for _, c := range []byte(tok) {
		if c <= ' ' || c > '~' {
			return "", fmt.Errorf("http token in %s: only printable ASCII without spaces is allowed", path)
		}
	}
	return tok, nil
}

// DefaultAllowHosts are the host names accepted without configuration:
// localhost, the machine's host name and its mDNS name (NAME.local).
func DefaultAllowHosts() []string {
	hs := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" {
		h = strings.ToLower(h)
		hs = append(hs, h)
		if short, _, _ := strings.Cut(h, "."); !strings.HasSuffix(h, ".local") {
			hs = append(hs, short+".local")
		}
	}
	return hs
}

// Check validates the settings.
func (s HTTPSecurity) Check() error {
	if (s.CertFile == "") != (s.KeyFile == "") {
		return errors.New("tls: give both --tls-cert and --tls-key")
	}
	for _, h := range s.AllowHosts {
		if h == "" || strings.ContainsAny(h, " /\\@\t\r\n") {
			return fmt.Errorf("http-allow-host %q is not a host name", h)
		}
	}
	return nil
}

// tlsConfig loads the certificate (nil without TLS).
func (s HTTPSecurity) tlsConfig() (*tls.Config, error) {
	if s.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// hostAllowed reports whether the Host header value names this machine.
func hostAllowed(host string, allow []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(strings.ToLower(host), "[]"), ".")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	for _, a := range allow {
		if a == "*" || strings.TrimSuffix(strings.ToLower(a), ".") == host {
			return true
		}
	}
	return false
}

const tokenCookie = "edgecnn_token"

// guard wraps h with the Host allow-list and the token check.
func (s HTTPSecurity) guard(h http.Handler, denied func(reason string)) http.Handler {
	allow := append(DefaultAllowHosts(), s.AllowHosts...)
	var want [32]byte
	if s.Token != "" {
		want = sha256.Sum256([]byte(s.Token))
	}
	ok := func(tok string) bool {
		got := sha256.Sum256([]byte(tok))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, allow) {
			denied("host")
			httpError(w, http.StatusMisdirectedRequest, fmt.Sprintf("host %q is not this device's name (allowed: IP addresses, %s; see --http-allow-host)", r.Host, strings.Join(allow, ", ")))
			return
		}
		if s.Token == "" || r.URL.Path == "/healthz" {
			h.ServeHTTP(w, r)
			return
		}
		if auth := r.Header.Get("Authorization"); auth != "" {
			scheme, tok, _ := strings.Cut(auth, " ")
			if strings.EqualFold(scheme, "Bearer") && ok(strings.TrimSpace(tok)) {
				h.ServeHTTP(w, r)
				return
			}
		} else if c, err := r.Cookie(tokenCookie); err == nil && ok(c.Value) {
			h.ServeHTTP(w, r)
			return
		} else if tok := r.URL.Query().Get("token"); tok != "" && r.URL.Path == "/" && ok(tok) {
			// The preview page opened with ?token=: keep it in a cookie and
			// drop it from the address bar.
			http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: tok, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			q := r.URL.Query()
			q.Del("token")
			u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
		denied("token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="edgecnn"`)
		httpError(w, http.StatusUnauthorized, "missing or wrong bearer token (Authorization: Bearer TOKEN, see --http-token-file)")
	})
}

// isLoopback reports whether a listen address only accepts connections
// from this machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
