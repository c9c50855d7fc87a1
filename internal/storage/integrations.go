package storage

import (
	"context"
	"time"
)

// IntegrationState is what keyless last learned of an integration (a
// target account it reaches): the outcome of its last check and the
// status last reported. It stays after the integration is removed from
// the configuration, for the audit trail.
type IntegrationState struct {
	ID          string // the integration's id
	ARN         string // arn:aws:keyless::ACCOUNT:integration/SPACE/NAME
	Status      string // as last reported (audited, exported)
	DeclaredAt  time.Time
	CheckedAt   time.Time // zero: never checked
	SucceededAt time.Time // zero: never succeeded
	AssumedARN  string    // the target's answer to GetCallerIdentity at the last success
	// Failure is the last failed check's stable code, "" after a success;
	// Diagnosis says what a person can do about it.
	Failure   string
	Diagnosis string
	// DeletedAt is when it was found removed from the configuration; zero
	// while declared.
	DeletedAt time.Time
	// Version increases with every change, for compare-and-swap.
	Version int64
}

// IntegrationStates stores integration states.
type IntegrationStates interface {
	// ListIntegrationStates returns every stored state, by id.
	ListIntegrationStates(ctx context.Context) ([]IntegrationState, error)
	// PutIntegrationState stores s if the stored state's version is
	// s.Version-1 (s.Version 1: none is stored). ErrConflict otherwise.
	PutIntegrationState(ctx context.Context, s IntegrationState) error
}
