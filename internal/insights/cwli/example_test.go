package cwli_test

import (
	"fmt"

	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/store"
)

// A runner compiles the query, asks for its pushdown, feeds the scan's
// blocks and renders the result.
func Example() {
	q, err := cwli.Compile(`filter @message like /ERROR/ | stats count() as errors by bin(1h)`)
	if err != nil {
		fmt.Println(err.(*cwli.CompileError).Message)
		return
	}
	p := q.Pushdown()
	fmt.Println("needs messages:", p.NeedMessage, "required:", p.Filter.Required())

	x := q.Run(cwli.Options{Start: 0, End: 7200_000})
	x.AddBlock("app", store.ScanBlock{Group: "app", Events: []store.StoredEvent{
		{Stream: "s", Timestamp: 1000, Message: "ERROR disk full"},
		{Stream: "s", Timestamp: 2000, Message: "INFO ok"},
		{Stream: "s", Timestamp: 3_700_000, Message: "ERROR again"},
	}})
	res, _ := x.Finish()
	for _, row := range res.Rows {
		fmt.Println(row)
	}
	fmt.Println("matched", res.RecordsMatched, "scanned", res.RecordsScanned)

	_, err = cwli.Compile(`fields a | sort bin(1h) desc`)
	ce := err.(*cwli.CompileError)
	fmt.Println(ce.Message, ce.Start, ce.End)
	// Output:
	// needs messages: true required: [ERROR]
	// [{bin(1h) 1970-01-01 00:00:00.000} {errors 1}]
	// [{bin(1h) 1970-01-01 01:00:00.000} {errors 1}]
	// matched 2 scanned 3
	// unexpected symbol found ( at line 1 and position 19 19 20
}
