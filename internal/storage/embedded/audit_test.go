package embedded_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
)

// Issue 15: every column a query or filter reads is covered by the chain,
// so editing one in the audit table is reported as an alteration.
func TestAuditInDatabaseColumnEdits(t *testing.T) {
	for column, value := range map[string]string{
		"issued_key_id": "'ASIAEDITED'",
		"access_key_id": "'AKIAEDITED'",
		"principal_arn": "'arn:aws:iam::111122223333:user/mallory'",
		"event_name":    "'GetCallerIdentity'",
		"error_code":    "'AccessDenied'",
		"event_time":    "event_time + 1",
		"event":         "CAST('{}' AS BLOB)",
	} {
		t.Run(column, func(t *testing.T) {
			dir := t.TempDir()
			s, err := embedded.Open(ctx, dir, embedded.Options{AuditInDatabase: true})
			if err != nil {
				t.Fatal(err)
			}
			var recs []storage.AuditRecord
			for i := range 5 {
				recs = append(recs, storage.AuditRecord{Time: time.Unix(int64(i), 0), EventName: "GetSessionToken", AccessKeyID: "AKIA1",
					IssuedKeyID: "ASIA" + strings.Repeat("1", i+1), PrincipalARN: "arn:aws:iam::111122223333:user/alice",
					JSON: []byte(`{"eventName":"GetSessionToken"}`)})
			}
			if err := s.AppendAudit(ctx, recs); err != nil {
				t.Fatal(err)
			}
			s.Close()

			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, embedded.DatabaseFile))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE audit SET ` + column + ` = ` + value + ` WHERE seq = 3`); err != nil {
				t.Fatal(err)
			}
			db.Close()

			s, err = embedded.Open(ctx, dir, embedded.Options{AuditInDatabase: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := audit.VerifyChain(ctx, s); err == nil || !strings.Contains(err.Error(), "record 3 was altered") {
				t.Errorf("after editing %s: %v, want record 3 reported as altered", column, err)
			}
		})
	}
}
