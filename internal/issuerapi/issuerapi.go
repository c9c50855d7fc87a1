package issuerapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/keyless-dev/keyless/internal/edge"
)

// Well-known paths under an issuer (OpenID Connect Discovery 1.0 section
// 4; the key set's name is the one AWS's issuers use).
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/.well-known/jwks.json"
)

// AccountIssuerPath is where an account's issuer lives under the
// deployment's issuer: ISSUER/tokens/ID.
const AccountIssuerPath = "/tokens/"

// Options configure the surface.
type Options struct {
	// JWKS returns the published key set, encoded (signing.Keys.JWKS).
	JWKS func() []byte
	// Issuer is the deployment's issuer identifier; Path is the route
	// prefix it is served under (issuer.path).
	Issuer string
	Path   string
	// Accounts are the account issuers' ids (outbound web identity
	// federation enabled).
	Accounts []string
	// Algorithms are the signing algorithms of each kind of issuer.
	Algorithms, AccountAlgorithms []string
	// MaxAge is how long relying parties may cache every answer.
	MaxAge time.Duration
}

// Handler serves the issuers' documents.
type Handler struct {
	o            Options
	discovery    []byte            // the deployment issuer's
	accounts     map[string][]byte // discovery documents by account issuer id
	cacheControl string
}

// discovery is an issuer's metadata (OpenID Connect Discovery 1.0 section
// 3), with the members AWS STS and other relying parties read.
type discovery struct {
	Issuer            string   `json:"issuer"`
	JWKSURI           string   `json:"jwks_uri"`
	ResponseTypes     []string `json:"response_types_supported"`
	SubjectTypes      []string `json:"subject_types_supported"`
	SigningAlgorithms []string `json:"id_token_signing_alg_values_supported"`
	Claims            []string `json:"claims_supported"`
	ScopesSupported   []string `json:"scopes_supported"`
}

func encode(issuer string, algs, claims []string) []byte {
	b, err := json.Marshal(discovery{Issuer: issuer, JWKSURI: issuer + JWKSPath, ResponseTypes: []string{"id_token"},
		SubjectTypes: []string{"public"}, SigningAlgorithms: algs, Claims: claims, ScopesSupported: []string{"openid"}})
	if err != nil {
		panic("issuerapi: encoding discovery: " + err.Error()) // strings only
	}
	return b
}

// Claims each kind of issuer puts in its tokens.
var (
	deploymentClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti"}
	accountClaims    = []string{"iss", "sub", "aud", "exp", "iat", "jti", "https://sts.amazonaws.com/"}
)

// New encodes the documents.
func New(o Options) *Handler {
	h := &Handler{o: o, discovery: encode(o.Issuer, o.Algorithms, deploymentClaims), accounts: map[string][]byte{},
		cacheControl: "public, max-age=" + strconv.Itoa(int(o.MaxAge/time.Second))}
	for _, id := range o.Accounts {
		h.accounts[id] = encode(AccountIssuerURL(o.Issuer, id), o.AccountAlgorithms, accountClaims)
	}
	return h
}

// AccountIssuerURL is the issuer identifier of the account issuer id.
func AccountIssuerURL(issuer, id string) string { return issuer + AccountIssuerPath + id }

// Surface mounts the four documents.
func (h *Handler) Surface() *edge.Surface {
	p, tokens := h.o.Path, h.o.Path+AccountIssuerPath+"{id}"
	return &edge.Surface{Name: "issuer", Wire: wire{h}, Routes: []edge.Route{
		{Pattern: p + DiscoveryPath, Handle: h.serveDiscovery, Operation: "Discovery"},
		{Pattern: p + JWKSPath, Handle: h.serveJWKS, Operation: "JWKS"},
		{Pattern: tokens + DiscoveryPath, Handle: h.serveDiscovery, Operation: "Discovery"},
		{Pattern: tokens + JWKSPath, Handle: h.serveJWKS, Operation: "JWKS"},
	}}
}

// document is an answer: bytes encoded beforehand.
type document []byte

var (
	errNotFound = errors.New("no such issuer")
	errMethod   = errors.New("method not allowed")
)

// issuer checks the method and finds the issuer a request names: nil
// for the deployment's, else the account issuer's discovery document.
func (h *Handler) issuer(c *edge.Call) ([]byte, error) {
	r := c.Request
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, errMethod
	}
	id := r.PathValue("id")
	if id == "" {
		return h.discovery, nil
	}
	d, ok := h.accounts[id]
	if !ok {
		return nil, errNotFound
	}
	return d, nil
}

func (h *Handler) serveDiscovery(c *edge.Call) (any, error) {
	d, err := h.issuer(c)
	if err != nil {
		return nil, err
	}
	return document(d), nil
}

func (h *Handler) serveJWKS(c *edge.Call) (any, error) {
	if _, err := h.issuer(c); err != nil {
		return nil, err
	}
	return document(h.o.JWKS()), nil
}

// wire writes documents as JSON with the cache period, and refusals as a
// small JSON object that is never cached.
type wire struct{ h *Handler }

func (wire) Refuse(err error) edge.Refusal {
	switch {
	case errors.Is(err, errNotFound):
		return edge.Refusal{Code: "NotFound", Message: "There is no issuer at this path.", Status: http.StatusNotFound, Reason: "issuer_not_found"}
	case errors.Is(err, errMethod):
		return edge.Refusal{Code: "MethodNotAllowed", Message: "Only GET and HEAD are allowed.", Status: http.StatusMethodNotAllowed,
			Reason: "method_not_allowed", Allow: "GET, HEAD"}
	}
	return edge.Refusal{Code: "InternalFailure", Message: "An internal error occurred.", Status: http.StatusInternalServerError,
		Reason: "internal", Cause: err}
}

func (w wire) Write(rw http.ResponseWriter, _ *edge.Call, answer any, f *edge.Refusal) {
	hdr := rw.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if f != nil {
		hdr.Set("Cache-Control", "no-store")
		rw.WriteHeader(f.Status)
		b, _ := json.Marshal(map[string]string{"error": f.Code, "message": f.Message})
		_, _ = rw.Write(b)
		return
	}
	d := answer.(document)
	hdr.Set("Cache-Control", w.h.cacheControl)
	hdr.Set("Content-Length", strconv.Itoa(len(d)))
	_, _ = rw.Write(d)
}
