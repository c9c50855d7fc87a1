package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlidp"
	dsig "github.com/russellhaering/goxmldsig"
)

// maxBody bounds every request body (SP metadata, users, attributes) and
// the -attributes file.
const maxBody = 1 << 20

// attrNameFormat is the NameFormat of the AWS attributes: they are URIs
// (SAML core 8.2.2).
const attrNameFormat = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"

func main() {
	if err := run(os.Args[1:], os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "samlidp:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, url, state, signatureMethod, attributes string
}

// run serves until SIGTERM or SIGINT.
func run(args []string, stdout io.Writer, now func() time.Time) error {
	var o options
	fs := flag.NewFlagSet("samlidp", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8200", "listen address host:port (port 0 picks a free one)")
	fs.StringVar(&o.url, "url", "", "base URL the IdP is reached at (default http://ADDR, the bound address)")
	fs.StringVar(&o.state, "state", "", "directory holding idp-key.pem and idp-cert.pem, made on first start (required)")
	fs.StringVar(&o.signatureMethod, "signature-method", dsig.RSASHA256SignatureMethod, "XML-DSig SignatureMethod of responses and assertions")
	fs.StringVar(&o.attributes, "attributes", "", `JSON file {"USER": {"ATTRIBUTE NAME": ["VALUE", ...]}} of AWS attributes`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if o.url == "" {
		o.url = "http://" + ln.Addr().String()
	}
	h, err := newHandler(o, now)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(stdout, "samlidp listening on %s\n", o.url)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler builds the IdP: crewjam's server over an in-memory store,
// with the AWS attributes and the extra endpoint that sets them.
func newHandler(o options, now func() time.Time) (http.Handler, error) {
	base, err := url.Parse(o.url)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("-url %q is not an http(s) base URL", o.url)
	}
	key, cert, err := loadOrCreateState(o.state, base.Hostname(), now())
	if err != nil {
		return nil, err
	}
	attrs := &attributeStore{byUser: map[string]map[string][]string{}}
	if o.attributes != "" {
		if err := attrs.load(o.attributes); err != nil {
			return nil, err
		}
	}
	srv, err := samlidp.New(samlidp.Options{URL: *base, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{}})
	if err != nil {
		return nil, err
	}
	srv.IDP.SignatureMethod = o.signatureMethod
	srv.IDP.AssertionMaker = awsAssertionMaker{attrs}

	mux := http.NewServeMux()
	mux.HandleFunc("PUT /aws-attributes/{name}", attrs.put)
	mux.Handle("/", srv)
	return http.MaxBytesHandler(mux, maxBody), nil
}

// attributeStore holds each user's AWS attributes.
type attributeStore struct {
	mu     sync.RWMutex
	byUser map[string]map[string][]string
}

func (s *attributeStore) load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var all map[string]map[string][]string
	if err := json.NewDecoder(io.LimitReader(f, maxBody)).Decode(&all); err != nil {
		return fmt.Errorf("-attributes %s: %v", path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for user, attrs := range all {
		s.byUser[user] = attrs
	}
	return nil
}

// put replaces a user's attributes with the request's JSON object.
func (s *attributeStore) put(w http.ResponseWriter, r *http.Request) {
	var attrs map[string][]string
	if err := json.NewDecoder(r.Body).Decode(&attrs); err != nil {
		http.Error(w, "the body is not a JSON object of attribute name to values", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.byUser[r.PathValue("name")] = attrs
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *attributeStore) get(user string) map[string][]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byUser[user]
}

// awsAssertionMaker is crewjam's assertion with the user's AWS
// attributes appended to its AttributeStatement (SAML core 2.7.3), in
// name order, values as given.
type awsAssertionMaker struct{ attrs *attributeStore }

func (m awsAssertionMaker) MakeAssertion(req *saml.IdpAuthnRequest, session *saml.Session) error {
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, session); err != nil {
		return err
	}
	extra := m.attrs.get(session.UserName)
	if len(extra) == 0 {
		return nil
	}
	a := req.Assertion
	if len(a.AttributeStatements) == 0 {
		a.AttributeStatements = []saml.AttributeStatement{{}}
	}
	names := make([]string, 0, len(extra))
	for name := range extra {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		at := saml.Attribute{Name: name, NameFormat: attrNameFormat}
		for _, v := range extra[name] {
			at.Values = append(at.Values, saml.AttributeValue{Type: "xs:string", Value: v})
		}
		a.AttributeStatements[0].Attributes = append(a.AttributeStatements[0].Attributes, at)
	}
	return nil
}
