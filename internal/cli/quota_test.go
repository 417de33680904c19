package cli

import (
	"testing"
)

// TestQuotaSettings: quotas are off by default; --quotas aws turns AWS's
// quotas on, scaled by --quota-scale (flag over CAIRN_QUOTA_SCALE); bad
// values are refused.
func TestQuotaSettings(t *testing.T) {
	cfg, _, err := serverSettings(envOf(nil), nil)
	if err != nil || cfg.Quotas != nil {
		t.Fatalf("default: quotas %+v, err %v", cfg.Quotas, err)
	}
	f := func(vars map[string]string, args []string, scale float64) {
		t.Helper()
		cfg, _, err := serverSettings(envOf(vars), args)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Quotas == nil || cfg.Quotas.Scale != scale {
			t.Fatalf("%v %v: quotas %+v, want scale %v", vars, args, cfg.Quotas, scale)
		}
	}
	f(nil, []string{"--quotas", "aws"}, 1)
	f(map[string]string{"CAIRN_QUOTAS": "aws", "CAIRN_QUOTA_SCALE": "0.5"}, nil, 0.5)
	f(map[string]string{"CAIRN_QUOTAS": "aws", "CAIRN_QUOTA_SCALE": "0.5"}, []string{"--quota-scale", "3"}, 3)
	for _, bad := range [][]string{{"--quotas", "on"}, {"--quotas", "aws", "--quota-scale", "0"}, {"--quotas", "aws", "--quota-scale", "-1"},
		{"--quotas", "aws", "--quota-scale", "NaN"}, {"--quotas", "aws", "--quota-scale", "Inf"}, {"--quota-scale", "2"}} {
		if _, _, err := serverSettings(envOf(nil), bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
