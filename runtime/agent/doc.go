// Package agent is the conversation between the CLI and the node agent
// (`reconcile node <verb>` run over SSH): each verb has one request and one
// response type (verbs.go), the host side serves them from one table
// (Verbs), and the CLI side sends them with one typed call (Call).
//
// It lives under runtime/ rather than net/ because it is how the CLI acts on
// a host, like the SSH runner and the agent binary install next to it, and
// because its status verb lists the host's pods through Docker: under net/
// it would make the package that owns routes and rules depend on Docker.
// Nothing above it (reconcile/) touches JSON framing or the Docker SDK.
//
// Wire format: one JSON request on stdin, one JSON response on stdout; a
// failure is a non-zero exit with the reason on stderr. Adding a verb is a
// Verb value with its two types and one entry in Verbs.
package agent
