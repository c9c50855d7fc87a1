// Package arn parses and formats Amazon Resource Names and the identifiers
// that appear inside them (account ids, IAM names and paths), following
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html.
package arn
