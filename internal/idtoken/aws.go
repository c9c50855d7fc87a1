package idtoken

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
)

// AWS's claims for session tags and source identity (IAM User Guide,
// id_session-tags "Passing session tags using AssumeRoleWithWebIdentity";
// id_credentials_temp_control-access_monitor).
const (
	tagsClaim           = "https://aws.amazon.com/tags"
	sourceIdentityClaim = "https://aws.amazon.com/source_identity"
)

// SessionTag is a tag from the tags claim.
type SessionTag struct {
	Key, Value string
	Transitive bool
}

var errTagsClaim = errors.New("malformed https://aws.amazon.com/tags claim")

// SessionTags reads the tags claim: {"principal_tags": {"Key": ["value"]},
// "transitive_tag_keys": ["Key"]}. Each value is a list of one string.
// Tags come back sorted by key; limits are the caller's to check.
func (c *Claims) SessionTags() ([]SessionTag, error) {
	raw, ok := c.raw[tagsClaim]
	if !ok {
		return nil, nil
	}
	var claim struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&claim); err != nil {
		return nil, errTagsClaim
	}
	var tags []SessionTag
	for k, v := range claim.PrincipalTags {
		if len(v) != 1 {
			return nil, errTagsClaim
		}
		tags = append(tags, SessionTag{Key: k, Value: v[0]})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	for _, k := range claim.TransitiveTagKeys {
		found := false
		for i := range tags {
			if tags[i].Key == k {
				tags[i].Transitive, found = true, true
			}
		}
		if !found {
			return nil, errors.New("transitive tag key not among the principal tags")
		}
	}
	return tags, nil
}

// SourceIdentity reads the source identity claim; ok is false when the
// claim is present but not a string.
func (c *Claims) SourceIdentity() (value string, present, ok bool) {
	if _, has := c.raw[sourceIdentityClaim]; !has {
		return "", false, true
	}
	v, ok := c.String(sourceIdentityClaim)
	return v, true, ok
}
