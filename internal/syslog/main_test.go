package syslog

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/")) }
