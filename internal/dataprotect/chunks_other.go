//go:build !amd64

package dataprotect

// haveAVX2 is false off amd64: scan walks eight bytes at a time (scanWords).
const haveAVX2 = false

// masks64AVX2 is never called off amd64 (haveAVX2 is false); it is masks64
// so that the package builds the same everywhere.
func masks64AVX2(p *byte, m *chunkMasks) { masks64(p, m) }
