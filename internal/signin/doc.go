// Package signin is what every browser sign-in of keyless shares,
// whatever proved who signs in (SAML today; OpenID Connect and passwords
// next): the pages and their strict headers and Content-Security-Policy,
// the role chooser and the SameSite cookie that ties a choice to the page
// this browser was shown (login CSRF), the credentials page with its
// copy-paste blocks, reading posted forms within bounds, and the edge wire
// format that writes pages and the error page.
//
// A sign-in method (package samlsignin) owns its routes and its proof,
// and adds its own page templates to the shared ones.
package signin
