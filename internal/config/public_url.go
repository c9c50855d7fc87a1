package config

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// publicURL sets c.PublicURL: server.public_url, else the deprecated
// exchange.endpoint, else the listen address, and notes the deprecated
// overrides.
func (v *validator) publicURL(f *File, c *Config) {
	switch {
	case f.Server.PublicURL != "":
		c.PublicURL, c.publicURLSet = strings.TrimSuffix(f.Server.PublicURL, "/"), true
		if err := checkPublicURL(c.PublicURL); err != nil {
			v.at("server.public_url", "%v", err)
		}
	case c.Exchange.Endpoint != "":
		// The deprecated key stands for the public URL, under its rules.
		c.PublicURL, c.publicURLSet = strings.TrimSuffix(c.Exchange.Endpoint, "/"), true
		if err := checkPublicURL(c.PublicURL); err != nil {
			v.at("exchange.endpoint", "%v (it is the public URL when server.public_url is not set)", err)
		}
	}
	if c.Exchange.Endpoint != "" {
		c.Notes = append(c.Notes, "exchange.endpoint is deprecated: set server.public_url, from which the credential documents' endpoint is derived ("+
			"exchange.endpoint still overrides it for them)")
	}
	if c.SAML.BaseURL != "" {
		c.Notes = append(c.Notes, "saml.base_url is deprecated: set server.public_url, from which the sign-in URLs are derived "+
			"(saml.base_url still overrides it for them)")
	}
	if c.publicURLSet {
		return
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return // reported at server.addr
	}
	if err := c.ResolvePublicURL(c.Addr); err != nil {
		v.at("server.public_url", "%v", err)
	}
}

// ResolvePublicURL derives PublicURL from the address keyless listens on
// (after --addr, and once a port 0 is bound), unless the file gave one:
// http://ADDR, or https://ADDR with TLS. Plain http is allowed on a
// loopback address only, and an unspecified host (0.0.0.0, [::]) names
// no URL a client can use: then the file must give server.public_url.
func (c *Config) ResolvePublicURL(listenAddr string) error {
	if c.publicURLSet {
		return nil
	}
	host, _, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return err
	}
	scheme := "http"
	if c.TLSCertFile != "" {
		scheme = "https"
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.IsUnspecified():
		return errors.New("is required when keyless listens on every address (" + listenAddr + "): give the https URL clients reach it at")
	case scheme == "http" && !IsLoopback(host):
		return errors.New("is required when keyless listens without TLS on a non-loopback address (" + listenAddr +
			"): give the https URL clients reach it at (plain http is for loopback only)")
	}
	c.PublicURL = scheme + "://" + listenAddr
	return nil
}

// checkPublicURL checks an explicit public URL.
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Hostname() == "" || u.Opaque != "":
		return errors.New("must be an absolute https:// URL")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("must have no user information, query or fragment")
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		return errors.New("must be https: plain http is allowed only for a loopback address")
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("must be an https:// URL")
	}
	return nil
}

// IsLoopback reports whether host is localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ExchangeEndpoint is the endpoint credential documents name:
// exchange.endpoint if the file sets it, else the public URL.
func (c *Config) ExchangeEndpoint() string { return or(c.Exchange.Endpoint, c.PublicURL) }

// SAMLBaseURL is where browsers reach the SAML sign-in pages:
// saml.base_url if the file sets it, else the public URL.
func (c *Config) SAMLBaseURL() string {
	return or(c.SAML.BaseURL, c.PublicURL) // trimmed at load
}

// PublicURLSet reports whether the file gave the public URL, rather than
// the listen address.
func (c *Config) PublicURLSet() bool { return c.publicURLSet }
