package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/cairnlog/cairn/internal/migrate"
	"github.com/cairnlog/cairn/internal/server"
)

const migrateUsage = `usage: cairn migrate --from DATA_DIR --to postgres://user:password@host:5432/db

Copies a stopped embedded server's data (every log group with its settings,
streams, events with their eventIds, resource records such as filters and
policies, and the subscription and metric-filter cursors) into an empty
PostgreSQL database, for 'cairn server --store postgres://…'. The server on
DATA_DIR must be stopped (its data directory is locked while it runs). Start
the first PostgreSQL node with --data DATA_DIR to keep its root key (the
first node's key becomes the cluster's). See docs/scaling.md.
`

func runMigrate(env Env, args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, migrateUsage, "\nflags:\n"); fs.PrintDefaults() }
	from := fs.String("from", "", "the embedded server's data directory")
	to := fs.String("to", "", "the PostgreSQL database's URL (postgres://…)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if !strings.HasPrefix(*to, "postgres://") && !strings.HasPrefix(*to, "postgresql://") {
		fmt.Fprintln(env.Stderr, "cairn migrate: --to must be a postgres:// URL")
		return 2
	}
	st, err := migrate.Copy(context.Background(), *from, *to, server.CachedKinds())
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn migrate:", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "migrated %d log groups, %d streams, %d events in %d blocks, %d resources, %d cursors\n",
		st.Groups, st.Streams, st.Events, st.Blocks, st.Resources, st.Cursors)
	return 0
}
