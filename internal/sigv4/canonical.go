package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
)

// Authorization is a parsed AWS4-HMAC-SHA256 Authorization header.
type Authorization struct {
	Credential       string // raw "AKID/date/region/service/aws4_request"
	Scope            Scope
	SignedHeaders    []string
	SignedHeadersRaw string
	Signature        string
}

// ParseAuthorization parses an Authorization header value. It checks the
// header's shape only: the credential scope is split but not judged.
func ParseAuthorization(h string) (Authorization, error) {
	a, missing, err := parseAuthorization(h)
	if err != nil {
		return Authorization{}, err
	}
	if len(missing) > 0 {
		return Authorization{}, awserr.AuthorizationIncomplete(missing, h)
	}
	if a.Scope, err = parseCredential(a.Credential); err != nil {
		return Authorization{}, err
	}
	return a, nil
}

// parseAuthorization returns the header's parts and AWS's sentence for each
// required part that is absent, so the caller can add the date sentence.
func parseAuthorization(h string) (Authorization, []string, error) {
	var a Authorization
	alg, rest, _ := strings.Cut(strings.TrimLeft(h, " "), " ")
	if alg != Algorithm {
		return a, nil, awserr.UnsupportedAlgorithm(alg)
	}
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return a, nil, awserr.AuthorizationPair(part, h)
		}
		switch k {
		case "Credential":
			a.Credential = v
		case "SignedHeaders":
			a.SignedHeadersRaw = v
		case "Signature":
			a.Signature = v
		}
	}
	var missing []string
	if a.Credential == "" {
		missing = append(missing, awserr.RequiresParameter("Credential"))
	}
	if a.Signature == "" {
		missing = append(missing, awserr.RequiresParameter("Signature"))
	}
	if a.SignedHeadersRaw == "" {
		missing = append(missing, awserr.RequiresParameter("SignedHeaders"))
	} else {
		a.SignedHeaders = strings.Split(a.SignedHeadersRaw, ";")
	}
	return a, missing, nil
}

// canonicalRequest builds the SigV4 canonical request of r.
func canonicalRequest(r *http.Request, a *authInfo, payload string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, r.Method...)
	b = append(b, '\n')

	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	// The path arrives encoded once; non-S3 services sign it encoded twice.
	b = appendURIEncode(b, path, false)
	b = append(b, '\n')

	b = appendCanonicalQuery(b, r.URL.RawQuery, a.presigned)
	b = append(b, '\n')

	for _, name := range a.signedHeaders {
		b = append(b, name...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, name)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, a.signedHeadersRaw...)
	b = append(b, '\n')
	b = append(b, payload...)
	return b
}

func appendHeaderValue(b []byte, r *http.Request, name string) []byte {
	lower := strings.ToLower(name)
	if lower == "host" {
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		return appendTrimmed(b, host)
	}
	values := r.Header.Values(name)
	if len(values) == 0 && lower == "content-length" && r.ContentLength > 0 {
		// A server-side request keeps Content-Length in Header; a request
		// built in-process carries it only in the field.
		return strconv.AppendInt(b, r.ContentLength, 10)
	}
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b
}

// appendTrimmed appends v without leading or trailing spaces and with runs of
// spaces collapsed to one, as the canonical header rules require.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b = append(b, c)
	}
	return b
}

type queryParam struct{ k, v string }

// appendCanonicalQuery decodes the raw query, re-encodes every name and value
// with SigV4's rules and sorts by encoded name, then encoded value. The
// presigned form leaves out X-Amz-Signature.
func appendCanonicalQuery(b []byte, raw string, presigned bool) []byte {
	if raw == "" {
		return b
	}
	params := make([]queryParam, 0, 8)
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = unescapeQuery(k), unescapeQuery(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		params = append(params, queryParam{string(appendURIEncode(nil, k, true)), string(appendURIEncode(nil, v, true))})
	}
	slices.SortFunc(params, func(x, y queryParam) int {
		if c := strings.Compare(x.k, y.k); c != 0 {
			return c
		}
		return strings.Compare(x.v, y.v)
	})
	for i, p := range params {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// appendURIEncode encodes s per SigV4: unreserved characters (A-Z a-z 0-9 - _ .
// ~) stay, everything else becomes %XX with upper-case hex; '/' stays when
// encodeSlash is false.
func appendURIEncode(b []byte, s string, encodeSlash bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == '/' && !encodeSlash:
			b = append(b, c)
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}
