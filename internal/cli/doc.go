// Package cli is keyless's command line: one file per command. Commands
// parse flags, load configuration and call into app, storage or audit; they
// hold no logic of their own.
package cli
