package cli

import "testing"

// TestCacheSetting: --cache-mib wins over CAIRN_CACHE_MIB, neither gives 0
// (the engine's default, 64 MiB), and bad values are refused.
func TestCacheSetting(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want int
	}{{"", nil, 0}, {"16", nil, 16}, {"16", []string{"--cache-mib", "32"}, 32}, {"", []string{"--cache-mib=8"}, 8}} {
		cfg, _, err := serverSettings(envOf(map[string]string{"CAIRN_CACHE_MIB": c.env}), c.args)
		if err != nil || cfg.CacheMiB != c.want {
			t.Fatalf("env %q args %v: %d, %v; want %d", c.env, c.args, cfg.CacheMiB, err, c.want)
		}
	}
	for _, bad := range []struct {
		env  string
		args []string
	}{{"", []string{"--cache-mib", "-1"}}, {"lots", nil}, {"-5", nil}} {
		if _, _, err := serverSettings(envOf(map[string]string{"CAIRN_CACHE_MIB": bad.env}), bad.args); err == nil {
			t.Errorf("env %q args %v accepted", bad.env, bad.args)
		}
	}
}
