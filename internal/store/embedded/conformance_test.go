package embedded

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		fs := vfs.NewMem()
		open := func(t *testing.T) store.Store {
			e, err := Open(Config{Dir: "/db", FS: fs})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		return open(t), open
	})
}
