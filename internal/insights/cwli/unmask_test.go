package cwli

import (
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// TestUnmaskField: unmask(f) of a field of the message's JSON is that field
// read from the original (data protection's kept text), beside the masked
// field; an event without an original, or a caller not allowed to unmask
// (no Options.Unmask), shows the stored value; fields not read from the
// message are refused at compile time.
func TestUnmaskField(t *testing.T) {
	evs := []store.StoredEvent{
		{Stream: "s", Timestamp: 1000, Message: `{"user":"u1","email":"***************","req":{"ip":"********"}}`, Pos: store.Position{Seq: 1, Index: 0}},
		{Stream: "s", Timestamp: 2000, Message: `{"user":"u2","email":"plain"}`, Pos: store.Position{Seq: 1, Index: 1}},
	}
	originals := map[uint32]string{0: `{"user":"u1","email":"alice@example.com","req":{"ip":"10.0.0.1"}}`}
	unmask := func(_ string, ev store.StoredEvent) (string, bool) {
		s, ok := originals[ev.Pos.Index]
		return s, ok
	}
	const q = `fields user, email, unmask(email) as e, unmask(req.ip) as ip, unmask(@message) as m | sort user asc`
	res, err := run(t, q, evs, Options{Start: 0, End: 1_000_000, Now: 500_000, Unmask: unmask})
	if err != nil {
		t.Fatal(err)
	}
	want := `user=u1 email=*************** e=alice@example.com ip=10.0.0.1 m=` + originals[0] +
		` | user=u2 email=plain e=plain m=` + evs[1].Message
	if got := render(res.Rows); got != want {
		t.Errorf("allowed:\n got %s\nwant %s", got, want)
	}
	res, err = run(t, q, evs, Options{Start: 0, End: 1_000_000, Now: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	want = `user=u1 email=*************** e=*************** ip=******** m=` + evs[0].Message + ` | user=u2 email=plain e=plain m=` + evs[1].Message
	if got := render(res.Rows); got != want {
		t.Errorf("not allowed:\n got %s\nwant %s", got, want)
	}
	for _, bad := range []string{`parse @message "* *" as a, b | fields unmask(a)`, `fields unmask(@timestamp)`, `fields unmask(1)`,
		`fields unmask(email, user)`} {
		_, err := Compile(bad)
		if err == nil || !strings.Contains(err.Error(), "unmask takes @message or a field of the message's JSON") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
