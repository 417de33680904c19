package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/tlsconf"
)

// BackupPath is the admin endpoint `cairn backup` calls: POST, a JSON body
// {"to": "/absolute/dir"}, signed with SigV4 (service "logs") by a caller
// allowed "cairn:Backup" (the account's root, or a user whose policy names
// that action), from a loopback peer only. Both: the snapshot is written on
// the server's own disk as the server's user, so only a local operator can
// ask for one, and only one who holds credentials of the server (a local
// user without them could otherwise fill the disk or place copies).
const BackupPath = "/cairn/admin/backup"

// BackupAction is the IAM action the backup endpoint authorizes.
const BackupAction = "cairn:Backup"

// Backup writes a consistent online snapshot of the data directory into
// dir (absolute; it must not exist): the engine's checkpoint, then the
// other files the data directory holds (the generated root credentials,
// the unmask key, a self-signed TLS pair...), modes preserved. The snapshot
// directory is 0700 and its database files 0600; `cairn server --data dir`
// opens it as it is.
func (s *Server) Backup(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("backup directory %q is not absolute", dir)
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("backup directory %s exists already", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	// Only the embedded engine lives in the data directory; a PostgreSQL
	// store is backed up with PostgreSQL's own tools (pg_dump, base backups).
	cp, ok := s.engine.(interface{ Checkpoint(dir string) error })
	if !ok {
		return fmt.Errorf("backup copies the embedded engine's data directory; this server's store is PostgreSQL: back it up with pg_dump or pg_basebackup")
	}
	if err := cp.Checkpoint(dir); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	made := map[string]bool{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range entries {
		made[de.Name()] = true
		if de.Type().IsRegular() {
			if err := os.Chmod(filepath.Join(dir, de.Name()), 0o600); err != nil {
				return err
			}
		}
	}
	src, err := os.ReadDir(s.cfg.DataDir)
	if err != nil {
		return err
	}
	for _, de := range src {
		if !de.Type().IsRegular() || made[de.Name()] || pebbleFile(de.Name()) {
			continue
		}
		if err := copyFile(filepath.Join(s.cfg.DataDir, de.Name()), filepath.Join(dir, de.Name())); err != nil {
			return err
		}
	}
	return nil
}

// pebbleFile names the database's own files, which the checkpoint wrote
// as of its instant (or left out on purpose: the lock, obsolete WALs).
func pebbleFile(name string) bool {
	for _, p := range []string{"MANIFEST-", "OPTIONS-", "marker.", "CURRENT", "LOCK"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, ext := range []string{".sst", ".log", ".blob", ".dbtmp"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// copyFile copies a small file (credentials, keys), keeping its mode.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile
		}
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// serveBackup is the admin endpoint (BackupPath).
func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	}
	if !tlsconf.IsLoopbackRemote(r.RemoteAddr) {
		fail(http.StatusForbidden, string(awserr.AccessDenied), "backups are taken from the server's own host (loopback) only")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		fail(http.StatusBadRequest, string(awserr.InvalidParameter), "cannot read the request body")
		return
	}
	c, err := s.sec.Authenticate(r, body)
	if err == nil {
		err = c.Authorize(BackupAction, "*")
	}
	if err != nil {
		ae, ok := awserr.As(err)
		if !ok {
			ae = awserr.Internal()
		}
		fail(ae.Code.Status(), string(ae.Code), ae.Message)
		return
	}
	var in struct {
		To string `json:"to"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.To == "" {
		fail(http.StatusBadRequest, string(awserr.InvalidParameter), `the body must be {"to": "/absolute/directory"}`)
		return
	}
	if err := s.Backup(in.To); err != nil {
		s.log.Warn("backup failed", "to", in.To, "err", err)
		fail(http.StatusBadRequest, string(awserr.InvalidParameter), err.Error())
		return
	}
	s.log.Info("backup written", "to", in.To, "principal", c.Identity.ARN)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"to": in.To})
}
