package dataprotect

import "golang.org/x/sys/cpu"

// haveAVX2 says whether this CPU (and its OS) runs AVX2: scan classifies
// 64 bytes at a time with masks64AVX2 then, and walks the message eight
// bytes at a time otherwise (scanWords). Set once, when the program starts,
// from the CPU; never written after.
var haveAVX2 = cpu.X86.HasAVX2

// masks64AVX2 is masks64 in AVX2 (chunks_amd64.s); call it only when
// haveAVX2.
//
//go:noescape
func masks64AVX2(p *byte, m *chunkMasks)
