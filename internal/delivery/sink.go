package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cairnlog/cairn/internal/store"
)

// Sink sends records to one destination. Send returns nil only once the
// destination acknowledged every record; a *PartialError names the records
// that were not; an error wrapped by Permanent will not succeed on retry.
// Everything else is retried.
type Sink interface {
	Limits() Limits
	// Size is a record's size as the destination counts it against
	// Limits.RecordBytes and BatchBytes.
	Size(r *Record) int
	// Send delivers records of filters of scope's account.
	Send(ctx context.Context, scope store.Scope, recs []*Record) error
	Close() error
}

// Limits bound one Send: records of at most RecordBytes, at most
// BatchRecords records of at most BatchBytes in all.
type Limits struct {
	RecordBytes  int
	BatchRecords int
	BatchBytes   int
}

// PartialError: Failed lists the indexes (into Send's recs) that were not
// acknowledged; Err says why (retryable unless Permanent).
type PartialError struct {
	Failed []int
	Err    error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d records not acknowledged: %v", len(e.Failed), e.Err)
}
func (e *PartialError) Unwrap() error { return e.Err }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one retrying will not cure (the destination
// refused the request: 4xx, access denied, not found).
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// errNoSink: the filter's ARN has no sink in the configuration yet. It is
// retryable: the events wait at the cursor until a sink is configured (a
// restart) or the 24-hour window ends.
var errNoSink = errors.New("no sink is configured for this destination ARN")

// awsError classifies an AWS SDK error: throttling, 5xx and network errors
// are retried, any other answer of the service is permanent.
func awsError(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "ServiceUnavailableException",
			"ServiceUnavailable", "InternalFailure", "InternalServerError", "KMSThrottlingException",
			"LimitExceededException", "TooManyRequestsException", "EC2ThrottledException", "ResourceInUseException":
			return err
		}
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
			return err
		}
		return Permanent(err)
	}
	return err // network, timeouts, a canceled context
}

// httpError classifies an HTTP answer: 2xx is success, 408/429/5xx are
// retried, any other status is permanent. The body is read (bounded) for
// the message and closed.
func httpError(resp *http.Response) error {
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	if resp.StatusCode == 408 || resp.StatusCode == 429 || resp.StatusCode >= 500 {
		return err
	}
	return Permanent(err)
}

// httpClient is the client of Cairn's HTTP sinks: bounded in time, no
// redirects (a configured URL is where data goes, not where it is sent on
// to).
func httpClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// decodeJSON decodes at most max bytes of r into v.
func decodeJSON(r io.Reader, max int64, v any) error {
	return json.NewDecoder(io.LimitReader(r, max)).Decode(v)
}
