package auditfile_test

import (
	"testing"

	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/auditfile"
)

// BenchmarkAppend measures durable appends of one record by concurrent
// callers, the way the audit writer's flushers call it.
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 8, 32} {
		b.Run(map[int]string{1: "batch1", 8: "batch8", 32: "batch32"}[batch], func(b *testing.B) {
			l, err := auditfile.Open(b.TempDir(), auditfile.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			recs := make([]storage.AuditRecord, batch)
			for i := range recs {
				recs[i] = rec(1)
				recs[i].JSON = make([]byte, 900)
			}
			b.SetParallelism(2)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.AppendAudit(ctx, recs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
