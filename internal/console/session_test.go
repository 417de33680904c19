package console

import (
	"testing"
	"time"
)

func TestSessionsBoundedAndExpiring(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ss := newSessions(func() time.Time { return now }, time.Hour, 3)
	a := ss.create("K1", "arn1", "us-east-1")
	now = now.Add(time.Second)
	b := ss.create("K2", "arn2", "us-east-1")
	now = now.Add(time.Second)
	c := ss.create("K3", "arn3", "us-east-1")
	if a.id == b.id || a.csrf == b.csrf || a.id == a.csrf || len(a.id) != 43 {
		t.Fatalf("ids not random and distinct: %q %q %q", a.id, b.id, a.csrf)
	}
	// Full: the oldest session ends to make room.
	now = now.Add(time.Second)
	d := ss.create("K4", "arn4", "us-east-1")
	if ss.get(a.id) != nil || ss.get(b.id) == nil || ss.get(c.id) == nil || ss.get(d.id) == nil {
		t.Fatal("the oldest session was not the one ended")
	}
	// Expired sessions go first, and are refused.
	now = c.expires // b and c have expired, d has not
	e := ss.create("K5", "arn5", "us-east-1")
	if len(ss.byID) != 2 || ss.get(d.id) == nil || ss.get(e.id) == nil {
		t.Fatal("expired sessions were not purged before the live ones")
	}
	if ss.get(b.id) != nil || ss.get(c.id) != nil {
		t.Fatal("an expired session was accepted")
	}
	if ss.get("") != nil || ss.get(d.id+"x") != nil {
		t.Fatal("a wrong id matched")
	}
	if !d.checkCSRF(d.csrf) || d.checkCSRF("") || d.checkCSRF(d.csrf[:10]) || d.checkCSRF(e.csrf) {
		t.Fatal("CSRF check")
	}
}
