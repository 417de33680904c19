package pattern

import (
	"fmt"
	"strings"
	"testing"
)

// Realistic ~100-byte lines: an access log, an application log with a
// request id, and a small JSON object.
var (
	benchAccess = []string{
		`10.0.3.17 - alice [21/Nov/2025:04:22:17 +0000] "GET /api/v1/items/8812 HTTP/1.1" 200 5321`,
		`10.0.3.18 - bob [21/Nov/2025:04:22:18 +0000] "POST /api/v1/orders HTTP/1.1" 503 118`,
		`10.0.9.2 - - [21/Nov/2025:04:22:19 +0000] "GET /static/app.9f2c1.js HTTP/1.1" 304 0`,
		`10.0.3.17 - alice [21/Nov/2025:04:22:20 +0000] "DELETE /api/v1/items/8812 HTTP/1.1" 404 77`,
	}
	benchApp = []string{
		`2025-11-21T04:22:17.123Z INFO  [req=9f86d081884c7d65] order service: created order 88123 in 12ms`,
		`2025-11-21T04:22:17.456Z WARN  [req=2c26b46b68ffc68f] payment gateway slow: 1450ms for card auth`,
		`2025-11-21T04:22:17.789Z ERROR [req=fcde2b2edba56bf4] inventory: timeout talking to db-replica-2`,
		`2025-11-21T04:22:18.012Z DEBUG [req=9f86d081884c7d65] cache miss for key items:8812, loading`,
	}
	benchJSON = []string{
		`{"level":"info","msg":"request done","status":200,"latency":12.5,"path":"/api/v1/items","user":"alice"}`,
		`{"level":"error","msg":"request failed","status":503,"latency":1450,"path":"/api/v1/orders","user":"bob"}`,
		`{"level":"info","msg":"request done","status":304,"latency":0.8,"path":"/static/app.js","user":null}`,
		`{"level":"warn","msg":"slow request","status":200,"latency":980,"path":"/api/v1/items","user":"carol"}`,
	}
)

func benchPattern(b *testing.B, expr string, lines []string) {
	p := mustCompile(b, expr)
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for b.Loop() {
		for _, l := range lines {
			if p.Match(l) {
				matched++
			}
		}
	}
	if matched == 0 {
		b.Fatalf("%q matched nothing", expr)
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, c := range []struct {
		name, expr string
		lines      []string
	}{
		{"term", `ERROR`, benchApp},
		{"terms-and", `ERROR inventory timeout`, benchApp},
		{"quoted", `"[req=fcde2b2edba56bf4]"`, benchApp},
		{"exclusion", `order -DEBUG -WARN`, benchApp},
		{"alternatives", `?ERROR ?WARN`, benchApp},
		{"regex", `%\[req=[0-9a-f]{16}\] inventory%`, benchApp},
		{"regex-anchored", `%^2025-11-21T04:22:1[0-9]%`, benchApp},
		{"json-eq", `{ $.level = "error" }`, benchJSON},
		{"json-num", `{ $.status >= 500 || $.latency > 1000 }`, benchJSON},
		{"json-glob-and", `{ $.path = "/api/*" && $.user != "bob" }`, benchJSON},
		{"json-wildcard", `{ $.* = "slow*" }`, benchJSON},
		{"spaced", `[ip, id, user, timestamp, request = "*/api/*", status_code = 5*, bytes]`, benchAccess},
		{"spaced-ellipsis", `[..., status_code = 4* || status_code = 5*, bytes > 100]`, benchAccess},
	} {
		b.Run(c.name, func(b *testing.B) { benchPattern(b, c.expr, c.lines) })
	}
}

func BenchmarkCompile(b *testing.B) {
	for i, expr := range []string{
		`ERROR -DEBUG ?WARN`,
		`{ ($.status >= 500 || $.latency > 1000) && $.path = "/api/*" }`,
		`[ip, id, user, timestamp, request = "*/api/*", status_code = 5*, bytes]`,
	} {
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSpacedGroup is the attack on groups between ellipses: one
// 240 KB event of 120,000 one-letter fields, and a group that matches every
// field but its last element (250 equal conditions, 1,000 elements without
// one, 150 different conditions). "ref" is the matcher before session 14
// (matchSplitRef), which tried every position.
func BenchmarkSpacedGroup(b *testing.B) {
	msg := strings.Repeat("x ", 120_000)
	var distinct []string
	for i := range 150 {
		distinct = append(distinct, fmt.Sprintf("a!=%d", i))
	}
	for _, c := range []struct{ name, expr string }{
		{"same", "[...," + strings.Repeat("a=x,", 250) + "b=y,...]"},
		{"free", "[...," + strings.Repeat(",", 1000) + "b=y,...]"},
		{"distinct", "[...," + strings.Join(distinct, ",") + ",b=y,...]"},
		{"access", `[..., status_code = 4* || status_code = 5*, bytes > 100, ...]`},
	} {
		p := mustCompile(b, c.expr)
		for _, ref := range []bool{false, true} {
			name := c.name
			if ref {
				name += "/ref"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				var fs fieldSplit
				for b.Loop() {
					fs = fieldSplit{fields: fs.fields[:0]}
					if ref {
						p.spaced.matchSplitRef(msg, nil, &fs)
					} else {
						p.spaced.matchSplit(msg, nil, &fs)
					}
				}
			})
		}
	}
}

// BenchmarkRegexProgram is the cost of a regex by its program's size on
// one 256 KB message it does not match (every thread stays alive): Go's
// regexp simulates the NFA, so the time per byte grows with the
// instructions (RegexCost; about 2.6 ns per instruction per byte).
func BenchmarkRegexProgram(b *testing.B) {
	msg := strings.Repeat("a", 256<<10)
	for _, n := range []int{10, 60, 250} {
		p := mustCompile(b, fmt.Sprintf("%%.{0,%d}z%%", n))
		b.Run(fmt.Sprintf("inst%d", p.RegexCost()), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				p.Match(msg)
			}
		})
	}
}
