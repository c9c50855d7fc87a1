// Package attempts limits guesses (MFA codes today; console passwords
// later, per user and per source address) to a number per key per fixed
// window, across concurrent requests and nodes.
//
// An attempt is reserved before the guess is evaluated, by an increment in
// shared storage that returns the new count (storage.Attempts). Reading a
// count, evaluating, and only then recording a failure would check every
// concurrent guess against a count that has not moved yet. A reservation
// that must not count, because the guess was right or was a right guess
// sent again, is given back; one that is not given back stays counted
// until its window ends.
package attempts
