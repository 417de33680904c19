// Package clustertest holds the tests of several Cairn nodes on one
// PostgreSQL database (it has no code of its own): the black-box API suite
// on three nodes with every request sent to a different node than the one
// before, a real `cairn server` process killed with SIGKILL mid-ingest, and
// PostgreSQL restarted under load.
//
// The node processes are this package's test binary started again with
// CAIRN_CLUSTERTEST_NODE=1, which makes TestMain run cli.Main with the
// process's arguments: the code cmd/cairn's main runs, without a separate
// build. Each test starts its own PostgreSQL (internal/pgtest) and stops
// every process it started.
package clustertest
