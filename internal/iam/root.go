package iam

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CredentialsFileName is the file, in the data directory, that holds the root
// user's access key when the server runs without an IAM file.
const CredentialsFileName = "credentials"

// EnsureRootCredentials returns a Store with one account whose root user has
// the access key kept in <dataDir>/credentials. On first start it creates a
// random key (AKIA + 16 characters, and a 40-character secret) and writes the
// file with mode 0600 in the AWS shared-credentials format, so it can be used
// directly as AWS_SHARED_CREDENTIALS_FILE; created reports that. Later starts
// reuse the file. A file that others can read is refused.
func EnsureRootCredentials(dataDir, accountID string) (store *Store, created bool, err error) {
	return EnsureSharedRootCredentials(dataDir, accountID, nil)
}

// EnsureSharedRootCredentials is EnsureRootCredentials for a node of a
// cluster: share offers this node's key (its file's, or a new one) and
// returns the cluster's (the first node's offer); the node's file is
// rewritten to hold the cluster's key when it held another, so that every
// node's credentials file signs requests every node accepts. share nil:
// the node is alone.
func EnsureSharedRootCredentials(dataDir, accountID string, share func(keyID, secret string) (string, string, error)) (store *Store, created bool, err error) {
	if !isAccountID(accountID) {
		return nil, false, fmt.Errorf("account id %q is not 12 digits", accountID)
	}
	path := filepath.Join(dataDir, CredentialsFileName)
	keyID, secret, err := ReadCredentials(path)
	exists := err == nil
	if errors.Is(err, fs.ErrNotExist) {
		if keyID, secret, err = newRootKey(); err != nil {
			return nil, false, err
		}
	} else if err != nil {
		return nil, false, err
	}
	if share != nil {
		k, sec, err := share(keyID, secret)
		if err != nil {
			return nil, false, fmt.Errorf("shared root key: %w", err)
		}
		if exists && (k != keyID || sec != secret) {
			if err := os.Remove(path); err != nil {
				return nil, false, fmt.Errorf("write credentials: %w", err)
			}
			exists = false
		}
		keyID, secret = k, sec
	}
	if !exists {
		if err := writeCredentials(path, keyID, secret); err != nil {
			return nil, false, err
		}
		created = true
	}
	s, err := NewRootStore(accountID, keyID, secret)
	return s, created, err
}

// NewRootStore returns a Store with one account whose root user owns one key.
func NewRootStore(accountID, keyID, secret string) (*Store, error) {
	if !isAccountID(accountID) {
		return nil, fmt.Errorf("account id %q is not 12 digits", accountID)
	}
	s := newStore()
	s.accounts = []string{accountID}
	root := &Identity{Account: accountID, ARN: RootARN(accountID), UserID: accountID, Root: true}
	s.addIdentity(root)
	if err := s.addKeys("root", []fileKey{{ID: keyID, Secret: secret}}, root); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadCredentials reads the [default] profile of a shared-credentials file,
// refusing a file other users can read.
func ReadCredentials(path string) (keyID, secret string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", "", fmt.Errorf("credentials file %s is accessible by other users (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	inDefault := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			inDefault = line == "[default]"
		case inDefault:
			k, v, _ := strings.Cut(line, "=")
			switch strings.TrimSpace(k) {
			case "aws_access_key_id":
				keyID = strings.TrimSpace(v)
			case "aws_secret_access_key":
				secret = strings.TrimSpace(v)
			}
		}
	}
	if keyID == "" || secret == "" {
		return "", "", fmt.Errorf("credentials file %s: the [default] profile needs aws_access_key_id and aws_secret_access_key", path)
	}
	return keyID, secret, nil
}

func writeCredentials(path, keyID, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	content := "[default]\naws_access_key_id = " + keyID + "\naws_secret_access_key = " + secret + "\n"
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	// Link rather than rename, so two servers starting on one directory
	// cannot overwrite each other's key: the loser reads the winner's.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		// Some file systems have no hard links; fall back to a rename.
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("write credentials: %w", err)
		}
	}
	return nil
}

const (
	keyAlphabet    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// newRootKey returns an AKIA-style key id (20 characters) and a 40-character
// secret, both from crypto/rand.
func newRootKey() (string, string, error) {
	id, err := randomString(16, keyAlphabet)
	if err != nil {
		return "", "", err
	}
	secret, err := randomString(40, secretAlphabet)
	if err != nil {
		return "", "", err
	}
	return "AKIA" + id, secret, nil
}

// randomString draws n characters uniformly from alphabet, whose length
// must divide 256.
func randomString(n int, alphabet string) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random key: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}
