package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/keyless-dev/keyless/internal/storage"
)

// ListIntegrationStates implements storage.IntegrationStates.
func (s *Store) ListIntegrationStates(ctx context.Context) ([]storage.IntegrationState, error) {
	rows, err := s.db.QueryContext(ctx, s.query("listIntegrations"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.IntegrationState
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var st storage.IntegrationState
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// PutIntegrationState implements storage.IntegrationStates.
func (s *Store) PutIntegrationState(ctx context.Context, st storage.IntegrationState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var stored int64
		err := tx.QueryRowContext(ctx, s.query("integrationVersion")+s.d.ForUpdate, st.ID).Scan(&stored)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			stored = 0
		case err != nil:
			return err
		}
		if stored != st.Version-1 {
			return storage.ErrConflict
		}
		if stored == 0 {
			_, err = tx.ExecContext(ctx, s.query("insertIntegration"), st.ID, st.Version, b)
		} else {
			_, err = tx.ExecContext(ctx, s.query("updateIntegration"), st.Version, b, st.ID, stored)
		}
		return err
	})
}
