package cli

import (
	"runtime/debug"
	"testing"
)

// TestMemoryLimitSetting: --memory-limit-mib wins over
// CAIRN_MEMORY_LIMIT_MIB; 0 (unset) means the server's default; bad values
// are refused; tuneGC sets Go's soft limit from it unless GOMEMLIMIT is set.
func TestMemoryLimitSetting(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want int
	}{{"", nil, 0}, {"200", nil, 200}, {"200", []string{"--memory-limit-mib", "96"}, 96}} {
		cfg, _, err := serverSettings(envOf(map[string]string{"CAIRN_MEMORY_LIMIT_MIB": c.env}), c.args)
		if err != nil || cfg.MemoryLimitMiB != c.want {
			t.Fatalf("env %q args %v: %d, %v; want %d", c.env, c.args, cfg.MemoryLimitMiB, err, c.want)
		}
	}
	for _, bad := range []struct {
		env  string
		args []string
	}{{"", []string{"--memory-limit-mib", "-1"}}, {"lots", nil}, {"-5", nil}} {
		if _, _, err := serverSettings(envOf(map[string]string{"CAIRN_MEMORY_LIMIT_MIB": bad.env}), bad.args); err == nil {
			t.Errorf("env %q args %v accepted", bad.env, bad.args)
		}
	}

	oldLimit, oldPercent := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(oldPercent)
	t.Cleanup(func() { debug.SetMemoryLimit(oldLimit); debug.SetGCPercent(oldPercent) })
	for _, c := range []struct {
		env  map[string]string
		mib  int
		want int64
	}{
		{nil, 0, serverMemoryLimitMiB << 20},
		{nil, 96, 96 << 20},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, 96, 12345 << 20}, // untouched: the runtime read GOMEMLIMIT itself
	} {
		debug.SetMemoryLimit(12345 << 20)
		tuneGC(envOf(c.env), c.mib)
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("env %v, %d MiB: limit %d, want %d", c.env, c.mib, got, c.want)
		}
	}
}
