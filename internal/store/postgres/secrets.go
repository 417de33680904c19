package postgres

import "context"

// SharedSecret stores offer under name unless a value is there, and returns
// the stored value: the first node to start on a database sets the
// cluster's root key and STS key, the others adopt them (auth.SharedSecrets).
// The values are as secret as the database's contents: whoever can read the
// database can read the logs too.
func (e *Engine) SharedSecret(ctx context.Context, name string, offer []byte) ([]byte, error) {
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.exit()
	if _, err := e.pool.Exec(ctx, `INSERT INTO cairn_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, offer); err != nil {
		return nil, err
	}
	var v []byte
	if err := e.pool.QueryRow(ctx, `SELECT value FROM cairn_secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, err
	}
	return v, nil
}
