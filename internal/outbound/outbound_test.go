package outbound

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts accepted connections, to prove a refused fetch
// never reached the server.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// server starts an httptest server on 127.0.0.1 whose accepts are counted.
func server(t *testing.T, tlsOn bool, h http.HandlerFunc) (*httptest.Server, *countingListener) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	cl := &countingListener{Listener: srv.Listener}
	srv.Listener = cl
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, cl
}

func okHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"ok":true}`)
}

func pool(srv *httptest.Server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(srv.Certificate())
	return p
}

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func wantRefused(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want one wrapping ErrRefused", err)
	}
}

func TestLoopbackRefusedByDefault(t *testing.T) {
	srv, cl := server(t, true, okHandler)

	c := newClient(t, Options{RootCAs: pool(srv)})
	_, err := c.Get(t.Context(), srv.URL)
	wantRefused(t, err)
	if !strings.Contains(err.Error(), "loopback") {
		t.Errorf("err = %v, want it to say loopback", err)
	}
	if n := cl.n.Load(); n != 0 {
		t.Fatalf("refused fetch reached the server: %d connections", n)
	}

	c = newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true})
	resp, err := c.Get(t.Context(), srv.URL)
	if err != nil {
		t.Fatalf("AllowLoopback: %v", err)
	}
	if resp.Status != 200 || string(resp.Body) != `{"ok":true}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("resp = %d %q %v", resp.Status, resp.Body, resp.Header)
	}
	// The counter works: the permitted fetch is the one and only connection.
	if n := cl.n.Load(); n != 1 {
		t.Fatalf("connections = %d, want 1", n)
	}
}

func TestLocalhostNameRefused(t *testing.T) {
	srv, cl := server(t, true, okHandler)
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	c := newClient(t, Options{RootCAs: pool(srv), AllowPrivate: true})
	_, err := c.Get(t.Context(), fmt.Sprintf("https://localhost:%d/", port))
	wantRefused(t, err)
	if n := cl.n.Load(); n != 0 {
		t.Fatalf("refused fetch reached the server: %d connections", n)
	}
}

func TestRequestHeaders(t *testing.T) {
	var ua, accept string
	srv, _ := server(t, true, func(w http.ResponseWriter, r *http.Request) {
		ua, accept = r.Header.Get("User-Agent"), r.Header.Get("Accept")
		w.WriteHeader(http.StatusNotFound)
	})
	c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true})
	resp, err := c.Get(t.Context(), srv.URL+"/jwks")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusNotFound {
		t.Errorf("status = %d, want 404 returned as a response", resp.Status)
	}
	if ua != "keyless" || accept != "application/json" {
		t.Errorf("User-Agent %q, Accept %q", ua, accept)
	}
}

func TestPlainHTTP(t *testing.T) {
	srv, cl := server(t, false, okHandler)
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	c := newClient(t, Options{AllowPrivate: true})
	_, err := c.Get(t.Context(), srv.URL)
	wantRefused(t, err)
	if n := cl.n.Load(); n != 0 {
		t.Fatalf("refused fetch reached the server: %d connections", n)
	}

	c = newClient(t, Options{AllowLoopback: true})
	for _, u := range []string{srv.URL, fmt.Sprintf("http://localhost:%d/", port)} {
		if _, err := c.Get(t.Context(), u); err != nil {
			t.Errorf("GET %s with AllowLoopback: %v", u, err)
		}
	}

	// Plain http to anything but loopback is refused even with every
	// option on, before any dial.
	var dials atomic.Int64
	c = newClient(t, Options{AllowLoopback: true, AllowPrivate: true,
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("test dialer")
		}})
	for _, u := range []string{"http://10.0.0.1/", "http://8.8.8.8/", "http://example.com/", "http://[::ffff:10.0.0.1]/"} {
		_, err := c.Get(t.Context(), u)
		wantRefused(t, err)
	}
	// Should "localhost" resolve elsewhere, the plain transport's own dial
	// check still holds it to loopback.
	plainDial := c.plain.Transport.(*http.Transport).DialContext
	for _, addr := range []string{"10.0.0.1:80", "8.8.8.8:80"} {
		_, err := plainDial(t.Context(), "tcp", addr)
		wantRefused(t, err)
	}
	if n := dials.Load(); n != 0 {
		t.Fatalf("dials = %d, want 0", n)
	}
}

func TestURLShape(t *testing.T) {
	c := newClient(t, Options{AllowLoopback: true})
	for _, u := range []string{
		"ftp://example.com/",
		"file:///etc/passwd",
		"gopher://127.0.0.1/",
		"//example.com/",
		"/relative",
		"https://",
		"https:example.com",
		"https://user:pass@127.0.0.1/",
		"https://user@127.0.0.1/",
		"https://example.com/" + strings.Repeat("a", 2048),
		"https://exa mple.com/",
	} {
		_, err := c.Get(t.Context(), u)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("GET %.60q: err = %v, want ErrRefused", u, err)
		}
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	target, tcl := server(t, true, okHandler)
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv, _ := server(t, true, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/redirect-target-marker", code)
			})
			// Both servers share a certificate, so one pool trusts both and
			// a followed redirect would succeed.
			c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true})
			_, err := c.Get(t.Context(), srv.URL)
			wantRefused(t, err)
			if msg := err.Error(); !strings.Contains(msg, fmt.Sprint(code)) || strings.Contains(msg, "redirect-target-marker") {
				t.Errorf("err = %q, want the status and not the Location", msg)
			}
			if n := tcl.n.Load(); n != 0 {
				t.Fatalf("redirect target got %d connections", n)
			}
		})
	}
	// The target is reachable with the same options, so zero meant something.
	c := newClient(t, Options{RootCAs: pool(target), AllowLoopback: true})
	if _, err := c.Get(t.Context(), target.URL+"/redirect-target-marker"); err != nil {
		t.Fatal(err)
	}
	if n := tcl.n.Load(); n != 1 {
		t.Fatalf("target connections = %d, want 1", n)
	}
}

func TestBodyCap(t *testing.T) {
	const max = 1000
	secret := "SECRET-BODY-"
	for _, tc := range []struct {
		name    string
		n       int
		chunked bool
		ok      bool
	}{
		{"exact", max, false, true},
		{"exact chunked", max, true, true},
		{"one over", max + 1, false, false},
		{"one over chunked", max + 1, true, false},
		{"empty", 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := (secret + strings.Repeat("x", tc.n))[:tc.n]
			srv, _ := server(t, true, func(w http.ResponseWriter, _ *http.Request) {
				if tc.chunked {
					// Flushing before writing forces chunked encoding,
					// so no Content-Length warns the client.
					w.(http.Flusher).Flush()
				}
				fmt.Fprint(w, body)
			})
			c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true, MaxBytes: max})
			resp, err := c.Get(t.Context(), srv.URL)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if string(resp.Body) != body {
					t.Fatalf("body: got %d bytes, want %d", len(resp.Body), len(body))
				}
				return
			}
			wantRefused(t, err)
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error contains the body: %v", err)
			}
		})
	}
}

func TestDefaultBodyCap(t *testing.T) {
	srv, _ := server(t, true, func(w http.ResponseWriter, _ *http.Request) {
		w.Write(make([]byte, 1<<20+1))
	})
	c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true})
	_, err := c.Get(t.Context(), srv.URL)
	wantRefused(t, err)
}

func TestTimeout(t *testing.T) {
	for _, partial := range []bool{false, true} {
		t.Run(fmt.Sprintf("partial body %v", partial), func(t *testing.T) {
			release := make(chan struct{})
			srv, _ := server(t, true, func(w http.ResponseWriter, r *http.Request) {
				if partial {
					fmt.Fprint(w, `{"keys":[`)
					w.(http.Flusher).Flush()
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
			t.Cleanup(func() { close(release) }) // runs before srv.Close
			c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true, Timeout: 200 * time.Millisecond})

			done := make(chan error, 1)
			go func() {
				_, err := c.Get(context.Background(), srv.URL)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || errors.Is(err, ErrRefused) {
					t.Fatalf("err = %v, want a timeout that is not a refusal", err)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want context.DeadlineExceeded", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Get did not time out")
			}
		})
	}
}

func TestThumbprints(t *testing.T) {
	srv, _ := server(t, true, okHandler)
	sum := sha1.Sum(srv.Certificate().Raw)
	good := hex.EncodeToString(sum[:])
	wrong := strings.Repeat("0", 40)

	for _, tc := range []struct {
		name   string
		thumbs []string
		ok     bool
	}{
		{"none", nil, true},
		{"match", []string{good}, true},
		{"match among several", []string{wrong, good}, true},
		{"wrong", []string{wrong}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true, Thumbprints: tc.thumbs})
			_, err := c.Get(t.Context(), srv.URL)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantRefused(t, err)
			if !strings.Contains(err.Error(), "thumbprint") {
				t.Errorf("err = %v, want it to name the thumbprint", err)
			}
		})
	}

	// A thumbprint does not replace chain verification.
	c := newClient(t, Options{AllowLoopback: true, Thumbprints: []string{good}})
	_, err := c.Get(t.Context(), srv.URL)
	if err == nil || errors.Is(err, ErrRefused) {
		t.Fatalf("untrusted root: err = %v, want a TLS failure that is not a refusal", err)
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
		t.Errorf("untrusted root: err = %v, want x509.UnknownAuthorityError", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tp := range []string{
		"",
		"abc",
		strings.Repeat("a", 39),
		strings.Repeat("a", 41),
		strings.Repeat("A", 40),
		strings.Repeat("g", 40),
		strings.Repeat("ab:", 13) + "a",
		" " + strings.Repeat("a", 39),
	} {
		if _, err := New(Options{Thumbprints: []string{strings.Repeat("b", 40), tp}}); err == nil {
			t.Errorf("New accepted thumbprint %q", tp)
		}
	}
	for _, o := range []Options{{Timeout: -1}, {MaxBytes: -1}, {MaxBytes: 1<<62 + 1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	if _, err := New(Options{Thumbprints: []string{strings.Repeat("0123456789", 4)}}); err != nil {
		t.Errorf("New rejected a valid thumbprint: %v", err)
	}
}

// TestDialerAfterCheck: Options.Dialer sees only addresses that passed the
// check, and as IP literals.
func TestDialerAfterCheck(t *testing.T) {
	var mu sync.Mutex
	var got []string
	dial := func(_ context.Context, _, addr string) (net.Conn, error) {
		mu.Lock()
		got = append(got, addr)
		mu.Unlock()
		return nil, errors.New("test dialer")
	}
	for _, tc := range []struct {
		url     string
		private bool
		want    string // "" means refused before dialing
	}{
		{"https://8.8.8.8/", false, "8.8.8.8:443"},
		{"https://[2606:4700::1111]:8443/", false, "[2606:4700::1111]:8443"},
		{"https://[::ffff:8.8.8.8]/", false, "8.8.8.8:443"},
		{"https://10.0.0.1/", false, ""},
		{"https://10.0.0.1/", true, "10.0.0.1:443"},
		{"https://169.254.169.254/latest/meta-data/", true, ""},
		{"https://[::ffff:169.254.169.254]/", true, ""},
		{"https://[fd00:ec2::254]/", true, ""},
		{"https://100.100.100.200/", true, ""},
		{"https://[64:ff9b::a9fe:a9fe]/", true, ""},
		{"https://0.0.0.0/", true, ""},
		{"https://[::]/", true, ""},
		{"https://127.0.0.1/", true, ""},
		{"https://localhost/", true, ""},
	} {
		got = nil
		c := newClient(t, Options{AllowPrivate: tc.private, Dialer: dial})
		_, err := c.Get(t.Context(), tc.url)
		if tc.want == "" {
			if !errors.Is(err, ErrRefused) || len(got) != 0 {
				t.Errorf("%s (private %v): err = %v, dials %q; want refused before dialing", tc.url, tc.private, err, got)
			}
			continue
		}
		if errors.Is(err, ErrRefused) || len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s (private %v): err = %v, dials %q; want a dial of %s", tc.url, tc.private, err, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	// Expected verdict under: default, AllowPrivate, AllowLoopback, both.
	const Y, N = true, false
	var (
		never    = [4]bool{N, N, N, N}
		always   = [4]bool{Y, Y, Y, Y}
		priv     = [4]bool{N, Y, N, Y}
		loopback = [4]bool{N, N, Y, Y}
	)
	for _, tc := range []struct {
		addr string
		want [4]bool
	}{
		// Public.
		{"8.8.8.8", always},
		{"1.1.1.1", always},
		{"172.15.255.255", always},
		{"172.32.0.0", always},
		{"100.63.255.255", always},
		{"100.128.0.0", always},
		{"169.253.255.255", always},
		{"223.255.255.255", always},
		{"2606:4700::1111", always},
		{"2a00:1450:4001::200e", always},
		{"::ffff:8.8.8.8", always},
		{"64:ff9b::808:808", always},
		{"2002:808:808::1", always},

		// Unspecified, multicast, broadcast, reserved.
		{"0.0.0.0", never},
		{"0.1.2.3", never},
		{"::", never},
		{"::ffff:0.0.0.0", never},
		{"224.0.0.1", never},
		{"239.255.255.250", never},
		{"ff02::1", never},
		{"ff0e::1", never},
		{"255.255.255.255", never},
		{"240.0.0.1", never},
		{"::ffff:240.0.0.1", never},
		{"192.0.0.1", never},
		{"192.0.0.192", never}, // OCI metadata
		{"198.18.0.1", never},
		{"192.88.99.1", never},
		{"100::1", never},
		{"::8.8.8.8", never}, // IPv4-compatible, deprecated
		{"fec0::1", never},
		{"64:ff9b:1::808:808", never},
		{"2001::1", never}, // Teredo
		{"2001:2::1", never},

		// Documentation.
		{"192.0.2.1", never},
		{"198.51.100.7", never},
		{"203.0.113.200", never},
		{"2001:db8::1", never},
		{"3fff::1", never},
		{"::ffff:192.0.2.1", never},

		// Cloud metadata: never, even with AllowPrivate.
		{"169.254.169.254", never},
		{"169.254.170.2", never},
		{"169.254.170.23", never},
		{"100.100.100.200", never},
		{"fd00:ec2::254", never},
		{"fd00:ec2::23", never},
		{"::ffff:169.254.169.254", never},
		{"::ffff:100.100.100.200", never},
		{"64:ff9b::a9fe:a9fe", never},
		{"::ffff:0:a9fe:a9fe", never},
		{"2002:a9fe:a9fe::1", never},

		// Loopback.
		{"127.0.0.1", loopback},
		{"127.255.255.254", loopback},
		{"::1", loopback},
		{"::ffff:127.0.0.1", loopback},
		{"64:ff9b::7f00:1", never}, // translated: another host's loopback
		{"2002:7f00:1::1", never},

		// Private.
		{"10.0.0.1", priv},
		{"10.255.255.255", priv},
		{"172.16.0.1", priv},
		{"172.31.255.255", priv},
		{"192.168.1.1", priv},
		{"100.64.0.1", priv},
		{"100.127.255.255", priv},
		{"169.254.1.1", priv},
		{"fc00::1", priv},
		{"fd12:3456:789a::1", priv},
		{"fe80::1", priv},
		{"fe80::1%eth0", priv},
		{"febf::1", priv},
		{"::ffff:10.0.0.1", priv},
		{"::ffff:192.168.0.1", priv},
		{"64:ff9b::a00:1", never}, // translated private
		{"::ffff:0:a00:1", never},
	} {
		a := netip.MustParseAddr(tc.addr)
		for i, p := range []policy{
			{},
			{allowPrivate: true},
			{allowLoopback: true},
			{allowPrivate: true, allowLoopback: true},
		} {
			err := p.check(a)
			if got := err == nil; got != tc.want[i] {
				t.Errorf("%s under %+v: allowed = %v, want %v (%v)", tc.addr, p, got, tc.want[i], err)
			}
			if err != nil && !errors.Is(err, ErrRefused) {
				t.Errorf("%s: err %v does not wrap ErrRefused", tc.addr, err)
			}
		}
		// Plain http: loopback and nothing else, whatever the class.
		if err := (policy{loopbackOnly: true}).check(a); (err == nil) != (tc.want == loopback) {
			t.Errorf("%s under loopbackOnly: err = %v", tc.addr, err)
		}
	}
}

func TestCheckPeer(t *testing.T) {
	p := policy{allowLoopback: true}
	for _, tc := range []struct {
		network, addr string
		ok            bool
	}{
		{"tcp4", "127.0.0.1:443", true},
		{"tcp6", "[::1]:443", true},
		{"tcp4", "10.0.0.1:443", false},
		{"udp4", "127.0.0.1:53", false},
		{"tcp4", "not-an-address", false},
		{"tcp6", "[fe80::1%eth0]:443", false},
	} {
		if err := p.checkPeer(tc.network, tc.addr); (err == nil) != tc.ok {
			t.Errorf("checkPeer(%s, %s) = %v, want ok %v", tc.network, tc.addr, err, tc.ok)
		}
	}
}

func TestPost(t *testing.T) {
	type seen struct {
		method, path, query, body, host string
		header                          http.Header
		contentLength                   int64
	}
	got := make(chan seen, 1)
	srv, cl := server(t, true, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Host, r.Header.Clone(), r.ContentLength}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "<x/>")
	})
	c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true})
	h := http.Header{
		"x-amz-date":   {"20240101T000000Z"},
		"Content-Type": {"application/x-www-form-urlencoded"},
		"User-Agent":   {"spoofed"},
	}
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	resp, err := c.Post(t.Context(), srv.URL+"/?a=b", h, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusForbidden || string(resp.Body) != "<x/>" || resp.Header.Get("Content-Type") != "text/xml" {
		t.Fatalf("resp = %d %q %v", resp.Status, resp.Body, resp.Header)
	}
	r := <-got
	if r.method != http.MethodPost || r.path != "/" || r.query != "a=b" || r.body != body || r.contentLength != int64(len(body)) {
		t.Errorf("server saw %+v", r)
	}
	if r.header.Get("X-Amz-Date") != "20240101T000000Z" || r.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("caller headers not sent: %v", r.header)
	}
	if ua := r.header.Values("User-Agent"); len(ua) != 1 || ua[0] != "keyless" {
		t.Errorf("User-Agent = %q, want keyless only", ua)
	}
	if a := r.header.Get("Accept"); a != "" {
		t.Errorf("Post sent Accept %q; only Get sets one", a)
	}
	if h.Get("User-Agent") != "spoofed" || len(h) != 3 {
		t.Errorf("Post modified the caller's header: %v", h)
	}
	// An empty body is sent as Content-Length: 0.
	if _, err := c.Post(t.Context(), srv.URL, nil, nil); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.body != "" || r.contentLength != 0 || r.method != http.MethodPost {
		t.Errorf("empty POST: server saw %+v", r)
	}
	if n := cl.n.Load(); n != 2 {
		t.Fatalf("connections = %d, want 2", n)
	}
}

func TestPostRefusals(t *testing.T) {
	srv, cl := server(t, true, okHandler)
	c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true})
	for name, tc := range map[string]struct {
		url  string
		h    http.Header
		body []byte
	}{
		"host header":       {srv.URL, http.Header{"Host": {"evil.example"}}, nil},
		"content-length":    {srv.URL, http.Header{"content-length": {"5"}}, nil},
		"transfer-encoding": {srv.URL, http.Header{"Transfer-Encoding": {"chunked"}}, nil},
		"connection":        {srv.URL, http.Header{"Connection": {"close"}}, nil},
		"te":                {srv.URL, http.Header{"TE": {"trailers"}}, nil},
		"two spellings":     {srv.URL, http.Header{"x-a": {"1"}, "X-A": {"2"}}, nil},
		"crlf value":        {srv.URL, http.Header{"X-A": {"1\r\nX-B: 2"}}, nil},
		"nul value":         {srv.URL, http.Header{"X-A": {"1\x00"}}, nil},
		"bad name":          {srv.URL, http.Header{"X A": {"1"}}, nil},
		"huge header":       {srv.URL, http.Header{"X-A": {strings.Repeat("a", 64<<10)}}, nil},
		"huge body":         {srv.URL, nil, make([]byte, 1<<20+1)},
		"ftp":               {"ftp://127.0.0.1/", nil, nil},
		"userinfo":          {"https://u:p@127.0.0.1/", nil, nil},
	} {
		_, err := c.Post(t.Context(), tc.url, tc.h, tc.body)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err = %v, want ErrRefused", name, err)
		}
	}
	if n := cl.n.Load(); n != 0 {
		t.Fatalf("refused posts reached the server: %d connections", n)
	}
}

func TestPostRedirect(t *testing.T) {
	target, tcl := server(t, true, okHandler)
	for _, code := range []int{301, 302, 307, 308} {
		srv, _ := server(t, true, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/x", code)
		})
		c := newClient(t, Options{RootCAs: pool(srv), AllowLoopback: true})
		_, err := c.Post(t.Context(), srv.URL, nil, []byte("a=b"))
		if !errors.Is(err, ErrRedirect) || !errors.Is(err, ErrRefused) {
			t.Errorf("%d: err = %v, want ErrRedirect wrapping ErrRefused", code, err)
		}
	}
	if n := tcl.n.Load(); n != 0 {
		t.Fatalf("redirect target got %d connections", n)
	}
}

// TestResolver: a test resolver's answers meet the same address check as
// DNS answers (security.md GCIX-24), and IP literals bypass it.
func TestResolver(t *testing.T) {
	srv, cl := server(t, true, okHandler)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	var asked atomic.Int64
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		asked.Add(1)
		if host != "rebound.example" {
			return nil, errors.New("no such host")
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	c := newClient(t, Options{RootCAs: pool(srv), Resolver: resolve})
	_, err := c.Post(t.Context(), fmt.Sprintf("https://rebound.example:%d/", port), nil, nil)
	wantRefused(t, err)
	if !strings.Contains(err.Error(), "loopback") {
		t.Errorf("err = %v, want it to say loopback", err)
	}
	if n := cl.n.Load(); n != 0 {
		t.Fatalf("refused dial reached the server: %d connections", n)
	}
	if asked.Load() != 1 {
		t.Fatalf("resolver asked %d times, want 1", asked.Load())
	}

	// With loopback allowed, the same answer is dialed, without a Dialer,
	// and an IP literal is not sent to the resolver.
	c = newClient(t, Options{RootCAs: pool(srv), Resolver: resolve, AllowLoopback: true})
	if _, err := c.Get(t.Context(), srv.URL); err != nil {
		t.Fatal(err)
	}
	if n := cl.n.Load(); n != 1 {
		t.Fatalf("connections = %d, want 1", n)
	}
	if asked.Load() != 1 {
		t.Fatalf("resolver asked for an IP literal")
	}
}

// HTTPClient applies the same rules to a library's requests: a form POST
// gets through with its fields, a redirect is not followed, a long body
// and a metadata address are refused.
func TestHTTPClient(t *testing.T) {
	target, tcl := server(t, false, okHandler)
	var got string
	srv, _ := server(t, false, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/form":
			_ = r.ParseForm()
			got = r.PostForm.Get("code") + " " + r.Header.Get("Authorization")
			okHandler(w, r)
		case "/redirect":
			http.Redirect(w, r, target.URL, http.StatusFound)
		case "/long":
			fmt.Fprint(w, strings.Repeat("x", 2000))
		}
	})
	hc := newClient(t, Options{AllowLoopback: true, MaxBytes: 1000}).HTTPClient()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/form", strings.NewReader("code=abc"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("client", "secret")
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 200 || got != "abc Basic Y2xpZW50OnNlY3JldA==" {
		t.Fatalf("form POST: %v %v, the server saw %q", resp, err, got)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != `{"ok":true}` {
		t.Errorf("body %q", body)
	}
	if _, err := hc.Get(srv.URL + "/redirect"); !errors.Is(err, ErrRedirect) || tcl.n.Load() != 0 {
		t.Errorf("redirect: %v, %d connections to its target", err, tcl.n.Load())
	}
	if _, err := hc.Get(srv.URL + "/long"); !errors.Is(err, ErrRefused) {
		t.Errorf("a body over the cap: %v", err)
	}
	if _, err := hc.Get("http://169.254.169.254/latest/meta-data/"); !errors.Is(err, ErrRefused) {
		t.Errorf("the metadata address: %v", err)
	}
}
