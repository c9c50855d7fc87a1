package integration

import (
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// Status is where an integration stands.
type Status string

// Statuses.
const (
	// Configuring: declared, never checked.
	Configuring Status = "configuring"
	// Active: the last check succeeded.
	Active Status = "active"
	// Error: the last check failed.
	Error Status = "error"
	// Missing: no successful check for longer than MissingAfter.
	Missing Status = "missing"
	// Deleted: no longer declared; its record stays.
	Deleted Status = "deleted"
)

// Statuses lists every status, for metrics.
var Statuses = []Status{Configuring, Active, Error, Missing, Deleted}

// statusOf is a state's status at now.
func statusOf(st storage.IntegrationState, declared bool, now time.Time, missingAfter time.Duration) Status {
	if !declared {
		return Deleted
	}
	since := st.SucceededAt
	if since.IsZero() {
		since = st.DeclaredAt
	}
	switch {
	case now.Sub(since) > missingAfter:
		return Missing
	case st.CheckedAt.IsZero():
		return Configuring
	case st.Failure == "":
		return Active
	}
	return Error
}

// View is an integration as an operator sees it: never a secret.
type View struct {
	ARN, ID, Account, Space, Name string
	Method                        Method
	RoleARN, Audience, Subject    string
	Endpoint, Region              string
	Status                        Status
	DeclaredAt, CheckedAt         time.Time
	SucceededAt                   time.Time
	AssumedARN                    string
	Failure, Diagnosis            string
	// KeyID and KeyAge describe an access_key integration's key;
	// KeyWarning is set once it is older than KeyMaxAge.
	KeyID      string
	KeyAge     time.Duration
	KeyWarning string
}
