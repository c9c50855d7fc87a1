// Command keyless is a self-hosted, AWS STS-compatible security token
// service. Run "keyless" for the list of commands.
package main
