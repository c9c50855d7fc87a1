// Package clock injects time into everything that checks expiry, rotates keys
// or measures windows, so that tests can pin and move it.
package clock
