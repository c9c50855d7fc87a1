package storage

import (
	"context"
	"errors"
	"time"
)

// Record is a small piece of server-side state that lives for a bounded
// time: a browser's sign-in sessions, a developer sign-in's refresh token
// family. The domain that owns a kind encodes Data; backends store it as
// it is.
type Record struct {
	Kind string // what the record is, such as "signin-browser"
	ID   string // unique within its kind
	// Owner is what the record is listed by (ListRecords): a browser, a
	// principal's unique id.
	Owner string
	Data  []byte
	// Expires is when the record stops existing: past it, a record is
	// neither returned nor listed, a new one may take its id, and it may
	// be deleted at any time.
	Expires time.Time
	// Version increases with every change, for compare-and-swap.
	Version int64
}

// Records stores records. Kinds and ids are at most MaxRecordKey bytes;
// owners too; Data at most MaxRecordData.
type Records interface {
	// PutRecord stores r if the stored record of its kind and id has
	// version r.Version-1 (r.Version 1: none is stored, or it has
	// expired at now). Otherwise ErrConflict.
	PutRecord(ctx context.Context, r Record, now time.Time) error
	// GetRecord returns the record of kind and id unless it has expired
	// at now. ErrNotFound otherwise.
	GetRecord(ctx context.Context, kind, id string, now time.Time) (Record, error)
	// ListRecords returns the records of kind whose owner is owner and
	// that have not expired at now, by id.
	ListRecords(ctx context.Context, kind, owner string, now time.Time) ([]Record, error)
	// DeleteRecord removes the record of kind and id; nothing if there is
	// none.
	DeleteRecord(ctx context.Context, kind, id string) error
}

// Bounds of a record's fields.
const (
	MaxRecordKey  = 256
	MaxRecordData = 64 << 10
)

// ErrRecordTooLarge is returned for a record over the bounds.
var ErrRecordTooLarge = errors.New("storage: record over its bounds")

// CheckRecord returns ErrRecordTooLarge for a record over the bounds, for
// backends to call before storing it.
func CheckRecord(r Record) error {
	if r.Kind == "" || r.ID == "" || len(r.Kind) > MaxRecordKey || len(r.ID) > MaxRecordKey || len(r.Owner) > MaxRecordKey ||
		len(r.Data) > MaxRecordData {
		return ErrRecordTooLarge
	}
	return nil
}
