package cli

import "testing"

// The Live Tail session quota: 0 (the server's default, AWS's 15) unless
// set; the flag wins over CAIRN_LIVE_TAIL_MAX_SESSIONS; bad values refused.
func TestLiveTailSessionsSetting(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want int
	}{
		{"", nil, 0},
		{"30", nil, 30},
		{"30", []string{"--live-tail-max-sessions", "2"}, 2},
	} {
		cfg, _, err := serverSettings(envOf(map[string]string{"CAIRN_LIVE_TAIL_MAX_SESSIONS": c.env}), c.args)
		if err != nil || cfg.LiveTailMaxSessions != c.want {
			t.Fatalf("env %q args %v: %d, %v; want %d", c.env, c.args, cfg.LiveTailMaxSessions, err, c.want)
		}
	}
	for _, bad := range []struct {
		env  string
		args []string
	}{{"", []string{"--live-tail-max-sessions", "-1"}}, {"many", nil}, {"-3", nil}} {
		if _, _, err := serverSettings(envOf(map[string]string{"CAIRN_LIVE_TAIL_MAX_SESSIONS": bad.env}), bad.args); err == nil {
			t.Errorf("env %q args %v accepted", bad.env, bad.args)
		}
	}
}

// TestInsightsSettings: --insights-max-queries wins over
// CAIRN_INSIGHTS_MAX_QUERIES; 0 means AWS's 100 (server.Config's default);
// bad values are refused.
func TestInsightsSettings(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want int
	}{{"", nil, 0}, {"7", nil, 7}, {"7", []string{"--insights-max-queries", "3"}, 3}} {
		cfg, _, err := serverSettings(envOf(map[string]string{"CAIRN_INSIGHTS_MAX_QUERIES": c.env}), c.args)
		if err != nil || cfg.InsightsConcurrentQueries != c.want {
			t.Fatalf("env %q args %v: %d, %v; want %d", c.env, c.args, cfg.InsightsConcurrentQueries, err, c.want)
		}
	}
	for _, bad := range []string{"many", "-1"} {
		if _, _, err := serverSettings(envOf(map[string]string{"CAIRN_INSIGHTS_MAX_QUERIES": bad}), nil); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
