package accesskey

import (
	"encoding/base32"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Prefixes of access key ids.
const (
	LongTermPrefix  = "AKIA"
	TemporaryPrefix = "ASIA"
)

// Len is the length of every id keyless mints.
const Len = 20

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrNotDecodable reports a key id that does not carry an account.
var ErrNotDecodable = errors.New("access key id does not encode an account")

const (
	accountMask  = 0x7fffffffff80
	accountShift = 7
	maxAccount   = 999999999999
)

// New mints an id with the given prefix for the 12-digit account, taking its
// 40 random bits from random.
func New(prefix, account string, random io.Reader) (string, error) {
	acct, err := strconv.ParseUint(account, 10, 64)
	if err != nil || acct > maxAccount || len(account) != 12 {
		return "", errors.New("accesskey: account must be 12 digits")
	}
	var raw [10]byte
	if _, err := io.ReadFull(random, raw[:]); err != nil {
		return "", err
	}
	var head uint64
	for _, b := range raw[:6] {
		head = head<<8 | uint64(b)
	}
	head = head&^uint64(accountMask) | acct<<accountShift
	for i := 5; i >= 0; i-- {
		raw[i] = byte(head)
		head >>= 8
	}
	return prefix + b32.EncodeToString(raw[:]), nil
}

// Account returns the 12-digit account id encoded in id.
func Account(id string) (string, error) {
	if len(id) != Len || !isUpperAlpha(id[:4]) {
		return "", ErrNotDecodable
	}
	raw, err := b32.DecodeString(id[4:])
	if err != nil || len(raw) != 10 {
		return "", ErrNotDecodable
	}
	var head uint64
	for _, b := range raw[:6] {
		head = head<<8 | uint64(b)
	}
	acct := (head & accountMask) >> accountShift
	if acct > maxAccount {
		return "", ErrNotDecodable
	}
	s := strconv.FormatUint(acct, 10)
	return strings.Repeat("0", 12-len(s)) + s, nil
}

// IsTemporary reports whether id names temporary (STS-issued) credentials.
func IsTemporary(id string) bool { return strings.HasPrefix(id, TemporaryPrefix) }

func isUpperAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
