// Command cairn is a self-hosted log service that speaks the Amazon
// CloudWatch Logs API. All of its subcommands live in internal/cli.
package main

import (
	"os"

	"github.com/cairnlog/cairn/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
