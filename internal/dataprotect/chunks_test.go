package dataprotect

import (
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/cairnlog/cairn/internal/bench"
)

// samePaths checks that the three ways scan can walk a message find the
// same, in the same order: eight bytes at a time (scanWords, the fallback),
// 64 at a time with the byte-by-byte masks (masks64), and with the AVX2
// masks where the CPU has AVX2. samePass calls it, so TestSinglePassGolden,
// TestPlanted, FuzzSinglePass and FuzzPlanted hold every path to the
// oracle.
func samePaths(t testing.TB, m *Masker, msg string) {
	t.Helper()
	want := m.scanWords(msg, nil)
	if got := m.scanChunks(msg, nil, false); !slices.Equal(got, want) {
		t.Fatalf("on %q: chunks (Go masks) %v, words %v", msg, got, want)
	}
	if haveAVX2 {
		if got := m.scanChunks(msg, nil, true); !slices.Equal(got, want) {
			t.Fatalf("on %q: chunks (AVX2 masks) %v, words %v", msg, got, want)
		}
	}
}

// sameMasks checks masks64AVX2 against masks64 on the 64 bytes of b.
func sameMasks(t testing.TB, b *[64]byte) {
	t.Helper()
	var got, want chunkMasks
	masks64(&b[0], &want)
	masks64AVX2(&b[0], &got)
	if got != want {
		t.Fatalf("on %q:\nAVX2 %+v\nGo   %+v", b[:], got, want)
	}
}

// TestMasks64AVX2: every byte value at every position of a chunk (among
// random neighbours), and random chunks, classified alike by the AVX2
// masks and the byte-by-byte ones.
func TestMasks64AVX2(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2 on this CPU: scan walks eight bytes at a time")
	}
	r := rand.New(rand.NewPCG(1, 2))
	var b [64]byte
	for pos := range 64 {
		for v := range 256 {
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			b[pos] = byte(v)
			sameMasks(t, &b)
		}
	}
	const alphabet = "0123456789abcdefABCDEF.:-@AJPcCrR xyz\x00\x7f\x80\xff"
	for range 10000 {
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		sameMasks(t, &b)
	}
}

// TestChunkEdges: triggers and card runs on either side of and across the
// 64-byte edges, with their neighbours in the other chunk (4222222222222 is
// a card of 13 digits, the shortest run that can hold one).
func TestChunkEdges(t *testing.T) {
	all := Compile(policyFrom(1<<numManaged-1, 0))
	pieces := []string{"10.1.2.3", "fe80::1", "::1", "123-45-6789", "4111 1111 1111 1111", "4111111111111111", "4222222222222",
		"a@b.co", "AKIAIOSFODNN7EXAMPLE", "eyJa.eyJb.c", "-----BEGIN PRIVATE KEY-----", "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"credential", "PuTTY-User-Key-File-3", "12:34:56", "1.2", "-", ":", ".", "c", "r"}
	for _, piece := range pieces {
		for _, filler := range []string{"x", " ", "1", "-", ":", "."} {
			for k := 40; k <= 140; k++ {
				pad := ""
				for len(pad) < k {
					pad += filler
				}
				msg := pad + piece + pad
				samePaths(t, all, msg)
				samePaths(t, all, pad+piece)
				samePaths(t, all, msg[:k+len(piece)/2])
				if piece == "4222222222222" && filler == "." {
					if got, _ := all.Mask(msg); got == msg {
						t.Fatalf("card not masked in %q", msg)
					}
				}
			}
		}
	}
}

// FuzzChunkMasks: any 64 bytes, classified alike by both mask functions.
func FuzzChunkMasks(f *testing.F) {
	if !haveAVX2 {
		f.Skip("no AVX2 on this CPU")
	}
	f.Add([]byte("2026-11-22T05:09:14.003Z DEBUG [req=1f0975b8] 108.54.199.28 a@b.co AKIA eyJ PuTTY Cr"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var b [64]byte
		copy(b[:], in)
		sameMasks(t, &b)
	})
}

// chunkMasks' layout is masks64AVX2's: nine words in the order it stores them.
var _ = [1]struct{}{}[unsafe.Sizeof(chunkMasks{})-9*8]

// BenchmarkScanPaths: the standard benchmark lines with every identifier
// on, through each path of scan, in one run (a same-run ratio):
//
//	go test -run XXX -bench ScanPaths -cpu=1 ./internal/dataprotect/
func BenchmarkScanPaths(b *testing.B) {
	g := bench.NewLineGen(42)
	lines := make([]string, 1000)
	n := 0
	for i := range lines {
		lines[i] = g.Line()
		n += len(lines[i])
	}
	m := Compile(policyFrom(1<<numManaged-1, 0))
	paths := map[string]func(string, []found) []found{
		"words":       m.scanWords,
		"chunks-go":   func(s string, out []found) []found { return m.scanChunks(s, out, false) },
		"chunks-avx2": func(s string, out []found) []found { return m.scanChunks(s, out, true) },
	}
	for _, name := range []string{"words", "chunks-go", "chunks-avx2"} {
		if name == "chunks-avx2" && !haveAVX2 {
			continue
		}
		scan := paths[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(n))
			var out []found
			for b.Loop() {
				for _, l := range lines {
					out = scan(l, out[:0])
				}
			}
		})
	}
}

// TestScanPathsInterleaved: the CPU time (of the test's own thread) the
// standard lines take through scanWords and through the AVX2 chunks, one
// pass over 1,000 lines each in turn, so that a loaded machine disturbs
// both alike. Skipped without CAIRN_SCAN_AB=<rounds>:
//
//	CAIRN_SCAN_AB=2000 go test -run TestScanPathsInterleaved -v ./internal/dataprotect/
func TestScanPathsInterleaved(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CAIRN_SCAN_AB"))
	if n <= 0 || !haveAVX2 {
		t.Skip("set CAIRN_SCAN_AB=<rounds> (on a CPU with AVX2) to measure")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	threadCPU := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	g := bench.NewLineGen(42)
	lines := make([]string, 1000)
	for i := range lines {
		lines[i] = g.Line()
	}
	m := Compile(policyFrom(1<<numManaged-1, 0))
	var cpu [2]time.Duration
	var out []found
	for i := range 2 * n {
		avx2 := i%2 == 1
		c0 := threadCPU()
		for _, l := range lines {
			if avx2 {
				out = m.scanChunks(l, out[:0], true)
			} else {
				out = m.scanWords(l, out[:0])
			}
		}
		k := 0
		if avx2 {
			k = 1
		}
		cpu[k] += threadCPU() - c0
	}
	lav, _ := os.ReadFile("/proc/loadavg")
	ev := float64(n * len(lines))
	t.Logf("%d rounds of 1,000 lines; load average %s: words %.1f ns/line, AVX2 chunks %.1f ns/line (%.2f×)",
		n, strings.Join(strings.Fields(string(lav))[:3], " "), float64(cpu[0].Nanoseconds())/ev, float64(cpu[1].Nanoseconds())/ev, float64(cpu[1])/float64(cpu[0]))
}
