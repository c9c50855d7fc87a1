package signin

import (
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/internal/arn"
)

// Role is a role the chooser offers, and the identity provider it is
// signed in to through (the pair a SAML Role attribute names).
type Role struct{ ARN, Provider string }

// Value is the role's chooser value, "ROLEARN,PROVIDERARN".
func (r Role) Value() string { return r.ARN + "," + r.Provider }

// Group is an account's roles on the chooser, as the AWS sign-in page
// groups them.
type Group struct {
	Account string
	Roles   []Option
}

// Option is one radio button: its value is the pair posted back.
type Option struct {
	ID, Value, Name, RoleARN, Provider string
	Checked                            bool
}

// Chooser groups the offered roles by account, in the order given,
// without duplicates; with one role it is preselected. values are the
// options' values, for the audit event.
func Chooser(roles []Role) (groups []Group, values []string) {
	index := map[string]int{}
	seen := map[string]bool{}
	for _, r := range roles {
		value := r.Value()
		if seen[value] {
			continue
		}
		seen[value] = true
		values = append(values, value)
		acct := arn.AccountOf(r.ARN)
		i, ok := index[acct]
		if !ok {
			i = len(groups)
			index[acct] = i
			groups = append(groups, Group{Account: acct})
		}
		groups[i].Roles = append(groups[i].Roles, Option{Value: value, Name: RoleName(r.ARN), RoleARN: r.ARN, Provider: r.Provider})
	}
	n := 0
	for gi := range groups {
		for ri := range groups[gi].Roles {
			groups[gi].Roles[ri].ID = "role-" + strconv.Itoa(n)
			n++
		}
	}
	if n == 1 {
		groups[0].Roles[0].Checked = true
	}
	return groups, values
}

// RoleName is the last segment of a role ARN's resource (role names have
// paths: role/PATH/NAME).
func RoleName(a string) string {
	_, res, ok := strings.Cut(a, ":role/")
	if !ok {
		return a
	}
	return res[strings.LastIndexByte(res, '/')+1:]
}

// Choice ties a role choice to the chooser page this browser was shown:
// the page carries a nonce in its form and in a SameSite=Strict,
// HttpOnly cookie, and a choice counts only with both (a cross-site form
// cannot send the cookie: login CSRF).
type Choice struct {
	// Cookie is the cookie's name.
	Cookie string
	// Field is the form field that carries the nonce.
	Field string
}

// New makes a nonce and the cookie that carries it for 10 minutes.
func (ch Choice) New(random io.Reader, secure bool) (nonce string, cookie *http.Cookie, err error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", nil, err
	}
	nonce = hex.EncodeToString(b)
	return nonce, &http.Cookie{Name: ch.Cookie, Value: nonce, Path: "/", MaxAge: 600, HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode}, nil
}

// Check reports whether the form's nonce is the cookie's.
func (ch Choice) Check(r *http.Request, form url.Values) bool {
	c, err := r.Cookie(ch.Cookie)
	return err == nil && c.Value != "" && len(form[ch.Field]) == 1 &&
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(form.Get(ch.Field))) == 1
}
