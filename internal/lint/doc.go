// Package lint holds tests that keep the house in order: which package may
// import which (the layers of DESIGN.md's request path), that only the
// command-line layer reads flags and the environment, and that AWS errors
// are built only by awserr's constructors. It has no code of its
// own; its test reads the module's packages with `go list` and their sources
// with go/parser.
package lint
