package dataprotect

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"

	"github.com/cairnlog/cairn/internal/bench"
)

// TestScanPageEnd: messages of every length up to 200 that end on the last
// byte before an unmapped page, through every path of scan: a load of even
// one byte past the message's end (a 64-byte vector load of a short tail, a
// word load past the end) faults instead of reading a neighbour's bytes.
func TestScanPageEnd(t *testing.T) {
	ps := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[ps:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	m := Compile(policyFrom(1<<numManaged-1, 0))
	r := rand.New(rand.NewPCG(7, 7))
	const alphabet = "0123456789abcdef.:-@AJPcCrR eyJ\x80"
	for n := 0; n <= 200; n++ {
		for range 20 {
			b := mem[ps-n : ps]
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			var msg string
			if n > 0 {
				msg = unsafe.String(&b[0], n)
			}
			samePaths(t, m, msg)
		}
	}
}

// TestScanPathsRandom: messages made of the pieces identifiers are built
// from, of lengths around the 64-byte chunk edges, with every subset of
// identifiers the seed picks: the 64-byte passes find what the eight-byte
// one does.
func TestScanPathsRandom(t *testing.T) {
	pieces := []string{"10.1.2.3", "1.2", "fe80::1", "::", ":", "12:34", "123-45-6789", "-", "--", "-----BEGIN ", "PRIVATE KEY-----",
		"4111 1111 1111 1111", "4111111111111111", "1", "22", " ", "a@b.co", "@", "AKIAIOSFODNN7EXAMPLE", "A", "eyJa.eyJb.c", "eyJ",
		"secret ", "cr", "Cr", "credential", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "PuTTY-User-Key-File-3", "P", "x", "é", "\xff"}
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 20000 {
		var b []byte
		want := 40 + r.IntN(160)
		for len(b) < want {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		m := Compile(policyFrom(uint16(r.Uint32()), uint8(round)))
		samePaths(t, m, string(b))
	}
	// Long messages (many chunks): the standard lines joined, a few KB,
	// held to the per-identifier oracle as well.
	g := bench.NewLineGen(8)
	all := policyFrom(1<<numManaged-1, 0)
	for range 300 {
		var b []byte
		for want := 500 + r.IntN(4000); len(b) < want; {
			b = append(b, g.Line()...)
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
		samePass(t, all, string(b))
	}
}

// TestHasRun13: hasRun13 against counting the longest run bit by bit, on
// words dense enough to hold runs around 13 long, and on every run of one
// length at one place.
func TestHasRun13(t *testing.T) {
	longest := func(x uint64) int {
		best, run := 0, 0
		for i := range 64 {
			if x>>i&1 != 0 {
				run++
				best = max(best, run)
			} else {
				run = 0
			}
		}
		return best
	}
	r := rand.New(rand.NewPCG(5, 6))
	check := func(x uint64) {
		if got, want := hasRun13(x), longest(x) >= minCardBytes; got != want {
			t.Fatalf("hasRun13(%064b) = %v, want %v", x, got, want)
		}
	}
	for n := 0; n <= 64; n++ {
		for at := 0; at+n <= 64; at++ {
			check((uint64(1)<<n - 1) << at)
			if n == 64 {
				check(^uint64(0))
			}
		}
	}
	for range 200000 {
		check(r.Uint64() | r.Uint64() | r.Uint64())
	}
}
