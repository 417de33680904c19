package cwli

import (
	"fmt"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

func TestSmoke(t *testing.T) {
	evs := []store.StoredEvent{
		{Stream: "s", Timestamp: 1000, Message: `{"user":"a","latency":10}`},
		{Stream: "s", Timestamp: 2000, Message: `{"user":"b","latency":20}`},
		{Stream: "s", Timestamp: 3000, Message: `ERROR boom`},
	}
	for _, qs := range []string{
		"fields @timestamp, @message",
		"stats count() by bin(1s)",
		"stats avg(latency), count() by user",
		"filter @message like /ERROR/ | stats count()",
		"fields user | sort @timestamp asc | limit 2",
	} {
		q, err := Compile(qs)
		if err != nil {
			t.Fatal(qs, err)
		}
		x := q.Run(Options{})
		x.AddBlock("g", store.ScanBlock{Group: "g", Events: evs})
		r, err := x.Finish()
		fmt.Println(qs, r, err, q.Pushdown())
	}
}
