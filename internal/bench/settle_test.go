package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// TestWaitSettledWithoutRecompaction: a server that runs no re-compaction
// (the default) exports none of its figures, and WaitSettled says there is
// nothing to wait for at once instead of timing out.
func TestWaitSettledWithoutRecompaction(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# HELP cairn_store_flushes_total x\n# TYPE cairn_store_flushes_total counter\ncairn_store_flushes_total 3\n"))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := WaitSettled(ctx, srv.URL, os.Getpid(), time.Minute)
	if err != nil || s != nil {
		t.Fatalf("WaitSettled = %+v, %v; want nil, nil", s, err)
	}
}
