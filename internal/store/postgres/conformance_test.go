package postgres

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestMain fails the package when a listener or pool goroutine outlives the
// tests.
func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/internal/store/", "github.com/jackc/"))
}

func TestConformance(t *testing.T) {
	pg := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		url := pg.NewDatabase(t)
		open := func(t *testing.T) store.Store {
			e, err := Open(Config{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		return open(t), open
	})
}
