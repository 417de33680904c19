package awserr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"strings"
	"testing"
)

// TestEveryCodeInTable parses codes.go and checks that each declared Code
// constant has a row in the table, so a new code cannot silently fall back
// to the default status.
func TestEveryCodeInTable(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, v := range vs.Values {
				lit := v.(*ast.BasicLit)
				c := Code(strings.Trim(lit.Value, `"`))
				n++
				if _, ok := codes[c]; !ok {
					t.Errorf("%s has no row in the code table", c)
				}
			}
		}
	}
	if n != len(codes) || n < 20 {
		t.Errorf("%d Code constants, %d table rows", n, len(codes))
	}
}

func TestTagLimitNamesResource(t *testing.T) {
	e := TagLimit(50, "arn:aws:logs:r:1:log-group:g")
	if e.Code != TooManyTags || e.Message != "A resource can have no more than 50 tags." || e.Extra["resourceName"] != "arn:aws:logs:r:1:log-group:g" {
		t.Errorf("TagLimit = %+v", e)
	}
}

func TestStatusAndQuery(t *testing.T) {
	for _, tc := range []struct {
		code        Code
		status      int
		query       string
		queryStatus int
	}{
		{ResourceNotFound, 400, "ResourceNotFoundException", 400},
		{ServiceUnavailable, 500, "ServiceUnavailableException", 500},
		{MissingAuthToken, 403, "MissingAuthenticationToken", 403},
		{AccessDenied, 400, "AccessDenied", 403},
		{InvalidParameter, 400, "ValidationError", 400},
		{Validation, 400, "ValidationError", 400},
		{UnrecognizedClient, 400, "InvalidClientTokenId", 403},
		{InvalidSignature, 400, "SignatureDoesNotMatch", 403},
		{RequestEntityTooLarge, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", http.StatusRequestEntityTooLarge},
		{RequestTimeout, http.StatusRequestTimeout, "RequestTimeoutException", http.StatusRequestTimeout},
		{InternalFailure, 500, "InternalFailure", 500},
	} {
		if got := tc.code.Status(); got != tc.status {
			t.Errorf("%s.Status() = %d, want %d", tc.code, got, tc.status)
		}
		if q, s := tc.code.Query(); q != tc.query || s != tc.queryStatus {
			t.Errorf("%s.Query() = %s %d, want %s %d", tc.code, q, s, tc.query, tc.queryStatus)
		}
	}
}

func TestMessages(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		code Code
		msg  string
	}{
		{MutuallyExclusive("LogGroup name prefix", "LogGroup name pattern"), InvalidParameter,
			"LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."},
		{GroupNameAndARN(), Validation, "LogGroup name and LogGroup ARN are mutually exclusive parameters."},
		{Constraint("10001", "limit", "Member must have value less than or equal to 10000"), InvalidParameter,
			"1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		{InvalidParameters(Violation{"null", "a", "Member must not be null"}, Violation{"'x'", "b.1.member", "Member must have length greater than or equal to 2"}), InvalidParameter,
			"2 validation errors detected: Value null at 'a' failed to satisfy constraint: Member must not be null; Value 'x' at 'b.1.member' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{ValidationFailed(Violation{"", "policy", "Member must have length less than or equal to 2048"}), Validation,
			"1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{DuplicateField("a", ""), SerializationException, "Duplicate field 'a'"},
		{DuplicateField("a", "b"), SerializationException, "Duplicate field 'a' at 'b'"},
		{UnexpectedType("limit", "number", ""), SerializationException, "Unexpected value type at 'limit': expected number"},
		{AuthorizationIncomplete([]string{RequiresParameter("Signature"), RequiresDate}, "AWS4-HMAC-SHA256 x"), IncompleteSignature,
			"Authorization header requires 'Signature' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 x"},
		{ExplicitDeny("u", "logs:A", "r", true), AccessDenied, "User: u is not authorized to perform: logs:A on resource: r with an explicit deny in a session policy"},
		{ImplicitDeny("u", "logs:A", "r", false), AccessDenied, "User: u is not authorized to perform: logs:A on resource: r because no identity-based policy allows the logs:A action"},
		{PackedPolicy(120), PackedPolicyTooLarge, "Packed policy consumes 120% of allotted space, please use smaller policy."},
		{MalformedPolicyDocument("100% wrong"), MalformedPolicy, "100% wrong"},
		{MutuallyExclusive("logStreamNames", "logStreamNamePrefix"), InvalidParameter, "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."},
		{DeletionProtected("g"), OperationAborted, "Log group g has deletion protection enabled and cannot be deleted."},
		{EventTooLarge(1048577, 1048576), InvalidParameter, "Log event too large: 1048577 bytes exceeds limit of 1048576"},
		{SamplesTooCostly(600000, 533618), InvalidParameter, "Log event messages too large for the filter pattern's regular expressions: 600000 bytes exceeds limit of 533618"},
		{InvalidGroupIdentifier("arn:x"), InvalidParameter, "Invalid log group identifier: arn:x"},
		{InvalidPattern("100% bad"), InvalidParameter, "100% bad"},
		{UnknownTarget("Logs_20140328.Nope"), UnknownOperation, "Unknown operation Logs_20140328.Nope"},
		{NotSupported("PutQueryDefinition"), InvalidOperation, "The operation PutQueryDefinition is not supported by Cairn yet."},
		{UnsupportedEncoding("br"), SerializationException, `Unsupported Content-Encoding "br".`},
		{PresignExpired("a", "b", "c", 60), InvalidSignature, "Signature expired: a is now earlier than b (c - 60 sec.)"},
		{CredentialTerminator("aws4_request", "x"), InvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not 'x'. "},
		{SessionCredentialsRefused("GetSessionToken"), AccessDenied, "Cannot call GetSessionToken with session credentials"},
	} {
		if tc.err.Code != tc.code || tc.err.Message != tc.msg {
			t.Errorf("got %s %q\nwant %s %q", tc.err.Code, tc.err.Message, tc.code, tc.msg)
		}
	}
}
