package sts_test

import (
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/sts"
)

// TestAssumeRoleNeverOutlivesCaller: a session assumed with session
// credentials ends no later than the calling session, however it is
// chained (docs/compatibility.md: AWS caps chained sessions at an hour but
// lets them outlive their source; keyless does not). Chaining back and
// forth never moves the end forward, so a stolen session cannot be renewed
// by chaining.
func TestAssumeRoleNeverOutlivesCaller(t *testing.T) {
	f := newFixture(t)
	const nextARN = "arn:aws:iam::111122223333:role/Next"
	f.roles(t,
		role(t, account, "Demo", demoID, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["`+aliceARN+`","`+nextARN+`"]},"Action":"sts:AssumeRole"}]}`, allowGAKI),
		role(t, account, "Next", "AROANEXTNEXTNEXTNEXT1", trustOf(demoARN, `"sts:AssumeRole"`, ""), allowGAKI),
	)
	aliceC := caller(t, f, "AKIAIOSFODNN7EXAMPLE")
	src, demo := mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Duration: 15 * time.Minute})
	end := src.Credentials.Expiration

	f.clock.Advance(10 * time.Minute) // 5 minutes left
	res, next := mustAssume(t, f, demo, sts.AssumeRoleRequest{RoleARN: nextARN})
	if got := res.Credentials.Expiration; !got.Equal(end) {
		t.Errorf("chained with the default hour: expires %v, want the calling session's end %v", got, end)
	}
	if got := f.session(t, res.Credentials).Expiration; !got.Equal(end) {
		t.Errorf("the sealed session expires %v, want %v", got, end)
	}
	// An explicit duration is still checked (AR-05), then capped.
	_, err := f.assume(t, demo, sts.AssumeRoleRequest{RoleARN: nextARN, Duration: time.Hour + time.Second})
	wantCode(t, err, sts.ValidationError, "chained_duration")
	res, _ = mustAssume(t, f, demo, sts.AssumeRoleRequest{RoleARN: nextARN, Duration: 15 * time.Minute})
	if got := res.Credentials.Expiration; !got.Equal(end) {
		t.Errorf("chained with 15 minutes asked: expires %v, want %v", got, end)
	}

	// Back and forth: the end never moves forward.
	f.clock.Advance(time.Minute)
	back, demo2 := mustAssume(t, f, next, sts.AssumeRoleRequest{RoleARN: demoARN})
	f.clock.Advance(time.Minute)
	again, _ := mustAssume(t, f, demo2, sts.AssumeRoleRequest{RoleARN: nextARN})
	for name, got := range map[string]time.Time{"Next to Demo": back.Credentials.Expiration, "Demo to Next again": again.Credentials.Expiration} {
		if !got.Equal(end) {
			t.Errorf("%s: expires %v, want %v", name, got, end)
		}
	}

	// A GetSessionToken session is session credentials too: the role
	// session it assumes ends with it (AWS would give the role's hour).
	gst, err := f.svc.GetSessionToken(ctx, aliceC, sts.GetSessionTokenRequest{Duration: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Minute)
	res, _ = mustAssume(t, f, f.as(t, gst), sts.AssumeRoleRequest{RoleARN: demoARN, Duration: time.Hour})
	if got := res.Credentials.Expiration; !got.Equal(gst.Expiration) {
		t.Errorf("assumed with a GetSessionToken session: expires %v, want its end %v", got, gst.Expiration)
	}

	// Long-term keys have no end: the role session gets what it asks.
	res, _ = mustAssume(t, f, aliceC, sts.AssumeRoleRequest{RoleARN: demoARN, Duration: 2 * time.Hour})
	if got := res.Credentials.Expiration.Sub(f.clock.Now().Truncate(time.Second)); got != 2*time.Hour {
		t.Errorf("assumed with alice's key: lasts %v, want 2h", got)
	}
}
