package fault

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

// 400 concurrent wrong MFA codes for one device, with bob's leaked access
// key: no more than mfa_max_failures (10) are ever evaluated, the rest
// are refused unevaluated, and the right code is then refused too (the
// device is locked for the window). Every attempt has its audit event.
func TestConcurrentMFAGuessing(t *testing.T) {
	// The limit holds within a fixed window (the quickstart's default,
	// 5 minutes, aligned to the clock): start far enough from a window's
	// end that the guesses and the last try fall into one. Run across a
	// boundary, the last try was rightly let in by the new window.
	const window = 5 * time.Minute
	if left := time.Until(time.Now().Truncate(window).Add(window)); left < time.Minute {
		time.Sleep(left + time.Second)
	}
	n := newNode(t, quickstart)
	n.start()
	bob := n.client(bobKey, bobSecret, "")
	right := bobCode(t, time.Now())
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		codes   = map[string]int{}
		granted int
	)
	for i := range 400 {
		wrong := fmt.Sprintf("%06d", i)
		if wrong == right {
			wrong = "999999"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := bob.GetSessionToken(context.Background(), &sts.GetSessionTokenInput{
				SerialNumber: aws.String(bobMFA), TokenCode: aws.String(wrong)})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				granted++
				return
			}
			code, status := proc.APICode(err)
			codes[fmt.Sprintf("%s %d", code, status)]++
		}()
	}
	wg.Wait()
	if granted != 0 || codes["AccessDenied 403"] != 400 {
		t.Fatalf("granted %d; refusals %v", granted, codes)
	}
	_, err := bob.GetSessionToken(context.Background(), &sts.GetSessionTokenInput{
		SerialNumber: aws.String(bobMFA), TokenCode: aws.String(bobCode(t, time.Now()))})
	if code, _ := proc.APICode(err); code != "AccessDenied" {
		t.Fatalf("the right code after 400 guesses: %v", err)
	}
	reasons := map[string]int{}
	for _, e := range n.events("--event-name", "GetSessionToken") {
		d, _ := e["additionalEventData"].(map[string]any)
		r, _ := d["reason"].(string)
		reasons[r]++
	}
	if reasons["mfa_code_invalid"] > 10 || reasons["mfa_code_invalid"]+reasons["mfa_locked_out"] != 401 {
		t.Fatalf("audited reasons %v: more than 10 codes evaluated, or attempts unaccounted", reasons)
	}
	t.Logf("reasons: %v", reasons)
}
