package metricfilter

import "golang.org/x/sys/cpu"

// haveAVX2 says whether this CPU (and its OS) runs AVX2: blockScan then
// finds a block's literals from byte masks (maskScan). Set once, when the
// program starts, from the CPU; never written after.
var haveAVX2 = cpu.X86.HasAVX2

// eqMasksAVX2 is eqMasks in AVX2 (masks_amd64.s); call it only when
// haveAVX2.
//
//go:noescape
func eqMasksAVX2(p *byte, chunks int, rows *[maskRows][32]byte, n int, out *uint64)
