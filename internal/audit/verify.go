package audit

import (
	"context"
	"fmt"

	"github.com/keyless-dev/keyless/internal/storage"
)

// VerifyChain walks the whole log and reports the first place where a
// record is missing (a gap in sequence numbers) or was altered (its hash no
// longer chains to its predecessor). It returns the number of records.
func VerifyChain(ctx context.Context, log storage.AuditLog) (int64, error) {
	var (
		prev [32]byte
		n    int64
	)
	err := log.QueryAudit(ctx, storage.AuditFilter{}, func(r storage.AuditRecord) error {
		if r.Seq != n+1 {
			return fmt.Errorf("audit record %d is missing (next record is %d)", n+1, r.Seq)
		}
		if storage.ChainHash(prev, r.Seq, r.JSON) != r.Hash {
			return fmt.Errorf("audit record %d was altered: its hash does not chain to record %d", r.Seq, n)
		}
		prev, n = r.Hash, r.Seq
		return nil
	})
	return n, err
}
