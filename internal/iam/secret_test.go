package iam

import "testing"

func TestCheckSecret(t *testing.T) {
	s, err := NewRootStore("123456789012", "AKIAEXAMPLEROOT00001", "root-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := s.CheckSecret("AKIAEXAMPLEROOT00001", "root-secret-0123456789"); !ok || id.ARN != "arn:aws:iam::123456789012:root" {
		t.Fatalf("right secret: %v %v", id, ok)
	}
	for _, c := range [][2]string{
		{"AKIAEXAMPLEROOT00001", "root-secret-012345678"},   // a prefix
		{"AKIAEXAMPLEROOT00001", "root-secret-01234567890"}, // longer
		{"AKIAEXAMPLEROOT00001", ""},
		{"AKIANOSUCHKEY0000001", ""}, // an unknown key's secret is not ""
		{"", ""},
	} {
		if id, ok := s.CheckSecret(c[0], c[1]); ok || id != nil {
			t.Errorf("CheckSecret(%q, %q) = %v, %v", c[0], c[1], id, ok)
		}
	}
}
