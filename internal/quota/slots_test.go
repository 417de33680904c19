package quota_test

import (
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/quota"
)

// TestSlots: max slots per account and region, LimitExceededException with
// AWS's text past it, a released slot can be taken again, releasing twice
// frees one slot only, and released keys leave the map.
func TestSlots(t *testing.T) {
	s := quota.NewSlots(quota.AWSConcurrentQueries)
	var releases []func()
	for range quota.AWSConcurrentQueries {
		rel, err := s.Acquire("111111111111", "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, rel)
	}
	_, err := s.Acquire("111111111111", "us-east-1")
	ae, ok := awserr.As(err)
	if !ok || ae.Code != awserr.LimitExceeded || ae.Message != "Resource limit exceeded." {
		t.Fatalf("past the limit: %v", err)
	}
	// Another account, or the same account in another region, is unaffected.
	if _, err := s.Acquire("222222222222", "us-east-1"); err != nil {
		t.Fatal(err)
	}
	relEU, err := s.Acquire("111111111111", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	relEU()

	releases[0]()
	releases[0]() // a second release must not free a slot someone else holds
	if n := s.InUse("111111111111", "us-east-1"); n != quota.AWSConcurrentQueries-1 {
		t.Fatalf("in use %d after one release", n)
	}
	rel, err := s.Acquire("111111111111", "us-east-1")
	if err != nil {
		t.Fatalf("a released slot is not available: %v", err)
	}
	if _, err := s.Acquire("111111111111", "us-east-1"); !awserr.Is(err, awserr.LimitExceeded) {
		t.Fatalf("the double release freed a second slot: %v", err)
	}
	rel()
	for _, r := range releases[1:] {
		r()
	}
	if n := s.Keys(); n != 1 { // 222222222222 still holds its slot
		t.Fatalf("%d keys held, want 1", n)
	}
}
