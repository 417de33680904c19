package logs

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/store"
)

// groupResource is the ARN IAM evaluates for operations on a log group. AWS
// reports group-level refusals on "…:log-group:NAME:log-stream:", which is
// what makes the common policy resource "…:log-group:NAME:*" cover them.
func groupResource(s store.Scope, name string) string {
	return GroupARN(s, name) + ":log-stream:"
}

// LogGroup is the wire shape of a log group.
type LogGroup struct {
	Arn                       string   `json:"arn,omitempty"`
	CreationTime              int64    `json:"creationTime"`
	DeletionProtectionEnabled *bool    `json:"deletionProtectionEnabled,omitempty"`
	DataProtectionStatus      string   `json:"dataProtectionStatus,omitempty"`
	InheritedProperties       []string `json:"inheritedProperties,omitempty"`
	BearerTokenAuthEnabled    *bool    `json:"bearerTokenAuthenticationEnabled,omitempty"`
	KmsKeyID                  string   `json:"kmsKeyId,omitempty"`
	LogGroupArn               string   `json:"logGroupArn,omitempty"`
	LogGroupClass             string   `json:"logGroupClass,omitempty"`
	LogGroupName              string   `json:"logGroupName"`
	MetricFilterCount         *int     `json:"metricFilterCount,omitempty"`
	RetentionInDays           *int32   `json:"retentionInDays,omitempty"`
	StoredBytes               *int64   `json:"storedBytes,omitempty"`
}

type CreateLogGroupInput struct {
	LogGroupName              string            `json:"logGroupName"`
	KmsKeyID                  string            `json:"kmsKeyId"`
	Tags                      map[string]string `json:"tags"`
	LogGroupClass             string            `json:"logGroupClass"`
	DeletionProtectionEnabled bool              `json:"deletionProtectionEnabled"`
}

func (s *Service) CreateLogGroup(ctx context.Context, c caller.Caller, in *CreateLogGroupInput) (*struct{}, error) {
	scope := scopeOf(c)
	if err := c.Authorize("logs:CreateLogGroup", groupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.LogGroupName, "aws/") {
		return nil, awserr.ReservedGroupName()
	}
	class := in.LogGroupClass
	if class == "" {
		class = "STANDARD"
	}
	g := store.Group{
		Scope:              scope,
		Name:               in.LogGroupName,
		CreationTime:       s.now().UnixMilli(),
		Class:              class,
		KMSKeyID:           in.KmsKeyID,
		Tags:               in.Tags,
		DeletionProtection: in.DeletionProtectionEnabled,
	}
	if class == "DELIVERY" {
		g.RetentionDays = 1 // DELIVERY groups keep one day, as on AWS
	}
	return nil, storeErr(s.st.CreateGroup(ctx, g))
}

type DeleteLogGroupInput struct {
	LogGroupName string `json:"logGroupName"`
}

func (s *Service) DeleteLogGroup(ctx context.Context, c caller.Caller, in *DeleteLogGroupInput) (*struct{}, error) {
	scope := scopeOf(c)
	if err := c.Authorize("logs:DeleteLogGroup", groupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	g, err := s.st.GetGroup(ctx, scope, in.LogGroupName)
	if err != nil {
		return nil, storeErr(err)
	}
	if g.DeletionProtection {
		return nil, awserr.DeletionProtected(in.LogGroupName)
	}
	return nil, storeErr(s.st.DeleteGroup(ctx, scope, in.LogGroupName))
}

type DescribeLogGroupsInput struct {
	LogGroupNamePrefix    string   `json:"logGroupNamePrefix"`
	LogGroupNamePattern   string   `json:"logGroupNamePattern"`
	LogGroupIdentifiers   []string `json:"logGroupIdentifiers"`
	LogGroupClass         string   `json:"logGroupClass"`
	AccountIdentifiers    []string `json:"accountIdentifiers"`
	IncludeLinkedAccounts bool     `json:"includeLinkedAccounts"`
	Limit                 int      `json:"limit"`
	NextToken             string   `json:"nextToken"`
}

type DescribeLogGroupsOutput struct {
	LogGroups []LogGroup `json:"logGroups"`
	NextToken string     `json:"nextToken,omitempty"`
}

func (s *Service) DescribeLogGroups(ctx context.Context, c caller.Caller, in *DescribeLogGroupsInput) (*DescribeLogGroupsOutput, error) {
	scope := scopeOf(c)
	if err := c.Authorize("logs:DescribeLogGroups", groupResource(scope, "")); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != "" && in.LogGroupNamePattern != "" {
		return nil, awserr.MutuallyExclusive("LogGroup name prefix", "LogGroup name pattern")
	}
	if len(in.LogGroupIdentifiers) > 0 && (in.LogGroupNamePrefix != "" || in.LogGroupNamePattern != "") {
		return nil, awserr.MutuallyExclusive("LogGroup identifiers", "LogGroup name prefix or pattern")
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	after := ""
	if in.NextToken != "" {
		b, err := decodeToken(tokenGroups, in.NextToken)
		if err != nil {
			return nil, err
		}
		after = string(b)
	}
	var wanted map[string]bool
	if len(in.LogGroupIdentifiers) > 0 {
		wanted = map[string]bool{}
		for _, id := range in.LogGroupIdentifiers {
			name := id
			if strings.HasPrefix(id, "arn:") {
				sc, n, ok := parseGroupARN(id)
				if !ok || sc != scope {
					continue
				}
				name = n
			}
			wanted[name] = true
		}
	}
	out := &DescribeLogGroupsOutput{LogGroups: []LogGroup{}}
	var last string
	more := false
	err := s.st.ListGroups(ctx, scope, in.LogGroupNamePrefix, after, func(g store.Group) bool {
		if wanted != nil && !wanted[g.Name] {
			return true
		}
		if in.LogGroupNamePattern != "" && !strings.Contains(g.Name, in.LogGroupNamePattern) {
			return true
		}
		if in.LogGroupClass != "" && g.Class != in.LogGroupClass {
			return true
		}
		if len(out.LogGroups) == limit {
			more = true
			return false
		}
		out.LogGroups = append(out.LogGroups, describeGroup(g, in.LogGroupNamePattern != ""))
		last = g.Name
		return true
	})
	if err != nil {
		return nil, storeErr(err)
	}
	if more {
		out.NextToken = encodeToken(tokenGroups, []byte(last))
	}
	// metricFilterCount: the group's metric-filter records, counted after
	// the listing so that no engine call runs inside ListGroups' callback.
	for i := range out.LogGroups {
		n := 0
		err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Group: out.LogGroups[i].LogGroupName, Kind: MetricFilterKind}, "", "",
			func(string, []byte) bool { n++; return true })
		if err != nil && !errors.Is(err, store.ErrGroupNotFound) { // deleted meanwhile: 0
			return nil, storeErr(err)
		}
		out.LogGroups[i].MetricFilterCount = ptr(n)
	}
	if in.LogGroupNamePattern == "" {
		if err := s.groupProtection(ctx, scope, out.LogGroups); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// groupProtection fills in the details other families keep as records:
// dataProtectionStatus ACTIVATED while the group has a data protection
// policy (the other values, DELETED, ARCHIVED and DISABLED, describe a
// policy's history, which Cairn does not keep: the member is left out once
// the policy is gone); inheritedProperties ACCOUNT_DATA_PROTECTION while an
// account-level data protection policy applies to every group; and
// bearerTokenAuthenticationEnabled true while the group accepts bearer
// tokens (left out when off, as the reference suggests for a never-set
// group). They are left out of a logGroupNamePattern answer, as the other
// details are there (the recorded answer has none of them).
func (s *Service) groupProtection(ctx context.Context, scope store.Scope, groups []LogGroup) error {
	account := false
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: AccountPolicyKind}, "DATA_PROTECTION_POLICY/", "",
		func(string, []byte) bool { account = true; return false })
	if err != nil {
		return storeErr(err)
	}
	for i := range groups {
		g := &groups[i]
		if account {
			g.InheritedProperties = []string{"ACCOUNT_DATA_PROTECTION"}
		}
		for _, k := range []store.ResourceKey{
			{Scope: scope, Group: g.LogGroupName, Kind: DataProtectionPolicyKind, Name: "policy"},
			{Scope: scope, Group: g.LogGroupName, Kind: BearerKind, Name: "enabled"},
		} {
			_, err := s.st.GetResource(ctx, k)
			if errors.Is(err, store.ErrResourceNotFound) || errors.Is(err, store.ErrGroupNotFound) {
				continue
			}
			if err != nil {
				return storeErr(err)
			}
			if k.Kind == BearerKind {
				g.BearerTokenAuthEnabled = ptr(true)
			} else {
				g.DataProtectionStatus = "ACTIVATED"
			}
		}
	}
	return nil
}

// describeGroup renders a group. With logGroupNamePattern AWS leaves out
// storedBytes and deletionProtectionEnabled (recorded AWS responses; the
// model's documentation says even less is returned, the recording wins).
func describeGroup(g store.Group, patternQuery bool) LogGroup {
	class := g.Class
	if class == "" {
		class = "STANDARD"
	}
	lg := LogGroup{
		Arn:               GroupARN(g.Scope, g.Name) + ":*",
		CreationTime:      g.CreationTime,
		KmsKeyID:          g.KMSKeyID,
		LogGroupArn:       GroupARN(g.Scope, g.Name),
		LogGroupClass:     class,
		LogGroupName:      g.Name,
		MetricFilterCount: ptr(0),
	}
	if g.RetentionDays > 0 {
		lg.RetentionInDays = ptr(g.RetentionDays)
	}
	if !patternQuery {
		lg.StoredBytes = ptr(g.StoredBytes)
		lg.DeletionProtectionEnabled = ptr(g.DeletionProtection)
	}
	return lg
}

// retentionDays are the values PutRetentionPolicy accepts.
var retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

type PutRetentionPolicyInput struct {
	LogGroupName    string `json:"logGroupName"`
	RetentionInDays int32  `json:"retentionInDays"`
}

func (s *Service) PutRetentionPolicy(ctx context.Context, c caller.Caller, in *PutRetentionPolicyInput) (*struct{}, error) {
	scope := scopeOf(c)
	if err := c.Authorize("logs:PutRetentionPolicy", groupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	if !slices.Contains(retentionDays, in.RetentionInDays) {
		vals := make([]string, len(retentionDays))
		for i, d := range retentionDays {
			vals[i] = itoa(int64(d))
		}
		return nil, awserr.Constraint(itoa(int64(in.RetentionInDays)), "retentionInDays",
			"Member must satisfy enum value set: ["+strings.Join(vals, ", ")+"]")
	}
	return nil, storeErr(s.st.UpdateGroup(ctx, scope, in.LogGroupName, func(g *store.Group) error {
		if g.Class == "DELIVERY" {
			return awserr.DeliveryClassRetention()
		}
		g.RetentionDays = in.RetentionInDays
		return nil
	}))
}

type DeleteRetentionPolicyInput struct {
	LogGroupName string `json:"logGroupName"`
}

func (s *Service) DeleteRetentionPolicy(ctx context.Context, c caller.Caller, in *DeleteRetentionPolicyInput) (*struct{}, error) {
	scope := scopeOf(c)
	if err := c.Authorize("logs:DeleteRetentionPolicy", groupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	return nil, storeErr(s.st.UpdateGroup(ctx, scope, in.LogGroupName, func(g *store.Group) error {
		g.RetentionDays = 0
		return nil
	}))
}

type AssociateKmsKeyInput struct {
	LogGroupName       string `json:"logGroupName"`
	KmsKeyID           string `json:"kmsKeyId"`
	ResourceIdentifier string `json:"resourceIdentifier"`
}

// AssociateKmsKey records the key (Terraform sets and reads it); Cairn does
// not encrypt with KMS keys it cannot reach.
func (s *Service) AssociateKmsKey(ctx context.Context, c caller.Caller, in *AssociateKmsKeyInput) (*struct{}, error) {
	return nil, s.setKMS(ctx, c, "logs:AssociateKmsKey", in.LogGroupName, in.ResourceIdentifier, in.KmsKeyID)
}

type DisassociateKmsKeyInput struct {
	LogGroupName       string `json:"logGroupName"`
	ResourceIdentifier string `json:"resourceIdentifier"`
}

func (s *Service) DisassociateKmsKey(ctx context.Context, c caller.Caller, in *DisassociateKmsKeyInput) (*struct{}, error) {
	return nil, s.setKMS(ctx, c, "logs:DisassociateKmsKey", in.LogGroupName, in.ResourceIdentifier, "")
}

func (s *Service) setKMS(ctx context.Context, c caller.Caller, action, name, identifier, key string) error {
	scope := scopeOf(c)
	if identifier != "" && !strings.HasPrefix(identifier, "arn:") {
		return awserr.KMSResourceIdentifier()
	}
	name, err := resolveGroup(scope, name, identifier,
		func() *awserr.Error { return awserr.MutuallyExclusive("logGroupName", "resourceIdentifier") })
	if err != nil {
		return err
	}
	if err := c.Authorize(action, groupResource(scope, name)); err != nil {
		return err
	}
	return storeErr(s.st.UpdateGroup(ctx, scope, name, func(g *store.Group) error {
		g.KMSKeyID = key
		return nil
	}))
}

type PutLogGroupDeletionProtectionInput struct {
	LogGroupIdentifier        string `json:"logGroupIdentifier"`
	DeletionProtectionEnabled bool   `json:"deletionProtectionEnabled"`
}

func (s *Service) PutLogGroupDeletionProtection(ctx context.Context, c caller.Caller, in *PutLogGroupDeletionProtectionInput) (*struct{}, error) {
	scope := scopeOf(c)
	name, err := resolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:PutLogGroupDeletionProtection", groupResource(scope, name)); err != nil {
		return nil, err
	}
	return nil, storeErr(s.st.UpdateGroup(ctx, scope, name, func(g *store.Group) error {
		g.DeletionProtection = in.DeletionProtectionEnabled
		return nil
	}))
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
