// Package audit records one CloudTrail-shaped event per request, accepted
// or refused, and stores it before the response is sent.
//
// Events follow the CloudTrail record contents
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
// They never hold secrets: an issued credential appears by its access key id
// only, and TOTP codes, secret keys and session tokens have no field to go
// in. Every string is bounded, and the encoding escapes control, format and
// line-separator characters so that a record is always one safe JSON line.
//
// The Writer batches events from concurrent requests into one storage
// transaction (group commit): a request returns only after the transaction
// holding its event has committed, and a failed commit fails the request.
//
// The Writer also keeps the evidence about the log outside it: every
// second in which events were stored it checkpoints the chain's head
// (storage.AuditCheckpoints); every DigestEvery, and at Close, it signs a
// digest of the new events with the deployment's Ed25519 key, sealed under
// the key-encryption key (DigestKey, in the spirit of CloudTrail's digest
// files); and for a log kept in segments it compresses closed ones and
// applies retention, recording each deletion in the trail before the
// files go (SegmentsDeletedEvent). Verify checks all of it, with a public
// key obtained independently if given (docs/operations.md).
package audit
