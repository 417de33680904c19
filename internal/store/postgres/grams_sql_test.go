package postgres

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/pgtest"
)

// TestGramsInSQL: gramsOK, the gram filter's test run by
// PostgreSQL, answers as gramFilter.mayMatch (the Go test the filter was
// built for) on random filters of every size, including sizes no filter
// has (which never rule a block out), with and without the backslash flag.
func TestGramsInSQL(t *testing.T) {
	pg := pgtest.Start(t)
	e, err := Open(Config{URL: pg.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	// The reads' expression, its slot parameters renumbered for a query
	// of its own.
	sqlTest := `SELECT ` + strings.NewReplacer("$11", "$3", "$12", "$4").Replace(gramsOK) + ` FROM (SELECT $1::bytea AS grams, $2::smallint AS flags) b`
	r := rand.New(rand.NewPCG(1, 2))
	var agreed, rejected int
	for i := range 600 {
		var size int
		switch i % 6 {
		case 0:
			size = 0
		case 1:
			size = 8 * (1 + r.IntN(1024)) // a filter's size
		case 2:
			size = 8*(1+r.IntN(1023)) + 1 + r.IntN(7) // not a multiple of 8
		case 3:
			size = 8192 + 8*(1+r.IntN(4)) // larger than any filter
		default:
			size = 8 * (1 + r.IntN(16))
		}
		filter := make([]byte, size)
		density := r.Float64()
		for j := range filter {
			for b := range 8 {
				if r.Float64() < density {
					filter[j] |= 1 << b
				}
			}
		}
		var q gramFilter
		for range r.IntN(5) {
			q.need = append(q.need, uint32(r.IntN(1<<scratchLog2)))
		}
		for range r.IntN(5) {
			q.needUnlessEscaped = append(q.needUnlessEscaped, uint32(r.IntN(1<<scratchLog2)))
		}
		flags := int16(r.IntN(2))
		want := q.mayMatch(filter, flags)
		var got bool
		if err := e.pool.QueryRow(ctx, sqlTest, filter, flags, slotArray(q.need), slotArray(q.needUnlessEscaped)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("filter of %d bytes, need %v, unless %v, flags %d: SQL says %v, mayMatch %v", size, q.need, q.needUnlessEscaped, flags, got, want)
		}
		agreed++
		if !want {
			rejected++
		}
	}
	if rejected < 50 || agreed-rejected < 50 {
		t.Fatalf("%d cases, %d ruled out: the cases do not exercise both answers", agreed, rejected)
	}
}
