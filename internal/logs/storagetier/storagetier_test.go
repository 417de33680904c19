package storagetier_test

import (
	"testing"
	"time"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

func TestStorageTier(t *testing.T) {
	at := time.Now().Truncate(time.Millisecond) // fixed: the answer must carry exactly this time
	h := harness.Start(t, harness.WithClock(func() time.Time { return at }))
	c := h.Client()
	g, err := c.GetStorageTierPolicy(t.Context(), &cwl.GetStorageTierPolicyInput{})
	if err != nil || g.StorageTier != types.StorageTierStandard || g.LastUpdatedTime != nil {
		t.Fatalf("default: %v %+v", err, g)
	}
	p, err := c.PutStorageTierPolicy(t.Context(), &cwl.PutStorageTierPolicyInput{StorageTier: types.StorageTierIntelligentTiering})
	if err != nil || p.StorageTier != types.StorageTierIntelligentTiering || *p.LastUpdatedTime != at.UnixMilli() {
		t.Fatalf("put: %v %+v", err, p)
	}
	g, err = c.GetStorageTierPolicy(t.Context(), &cwl.GetStorageTierPolicyInput{})
	if err != nil || g.StorageTier != types.StorageTierIntelligentTiering || *g.LastUpdatedTime != at.UnixMilli() {
		t.Fatalf("get: %v %+v", err, g)
	}
	r := h.Call(t, "PutStorageTierPolicy", []byte(`{"storageTier":"GLACIER"}`))
	if r.Code != "InvalidParameterException" || r.Message != "1 validation error detected: Value 'GLACIER' at 'storageTier' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INTELLIGENT_TIERING]" {
		t.Fatalf("enum: %s", r)
	}
	r = h.Call(t, "PutStorageTierPolicy", []byte(`{}`))
	if r.Code != "InvalidParameterException" || r.Message != "1 validation error detected: Value null at 'storageTier' failed to satisfy constraint: Member must not be null" {
		t.Fatalf("required: %s", r)
	}
}
