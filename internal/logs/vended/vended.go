// Package vended is the family of vended-log deliveries: delivery sources,
// delivery destinations and their policies, deliveries between them, and the
// configuration templates (Put/Get/Describe/DeleteDeliverySource,
// …DeliveryDestination, Put/Get/DeleteDeliveryDestinationPolicy,
// Create/Get/Describe/DeleteDelivery, UpdateDeliveryConfiguration,
// DescribeConfigurationTemplates).
//
// Deliveries configure AWS services (CloudFront, load balancers, Bedrock...)
// to send their logs; no such service exists behind Cairn, so these
// operations store and return the resources, validated and limited as AWS
// does, and nothing is delivered (docs/control-plane.md says so). Each
// resource is a store record of the account and region: kinds
// "deliverySource", "deliveryDestination", "deliveryDestinationPolicy"
// (keyed by name) and "delivery" (keyed by id). A log group named as a CWL
// destination must exist. The family's model errors have no
// InvalidParameterException, so model violations answer ValidationException
// (protocol.DecodedValidation), as AWS does.
package vended

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

const (
	kindSource      = "deliverySource"
	kindDestination = "deliveryDestination"
	kindPolicy      = "deliveryDestinationPolicy"
	kindDelivery    = "delivery"
)

// Config configures a Service.
type Config struct {
	Store store.Store
	// Enforcer, when set, gives a CWL destination's log group the policy
	// AWS's delivery service needs when a delivery into it is created, as
	// AWS does ("If the log group currently does not have a resource
	// policy … AWS automatically creates the following policy"). No vended
	// source sends anything to Cairn, so nothing is written under it; the
	// policy is there for clients that read it back.
	Enforcer *policygate.Enforcer
}

// Service implements the delivery operations.
type Service struct {
	st      store.Store
	enforce *policygate.Enforcer
}

// New returns a Service.
func New(cfg Config) *Service { return &Service{st: cfg.Store, enforce: cfg.Enforcer} }

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutDeliverySource", protocol.DecodedValidation(s.PutDeliverySource))
	t.Add("GetDeliverySource", protocol.DecodedValidation(s.GetDeliverySource))
	t.Add("DescribeDeliverySources", protocol.DecodedValidation(s.DescribeDeliverySources))
	t.Add("DeleteDeliverySource", protocol.DecodedValidation(s.DeleteDeliverySource))
	t.Add("PutDeliveryDestination", protocol.DecodedValidation(s.PutDeliveryDestination))
	t.Add("GetDeliveryDestination", protocol.DecodedValidation(s.GetDeliveryDestination))
	t.Add("DescribeDeliveryDestinations", protocol.DecodedValidation(s.DescribeDeliveryDestinations))
	t.Add("DeleteDeliveryDestination", protocol.DecodedValidation(s.DeleteDeliveryDestination))
	t.Add("PutDeliveryDestinationPolicy", protocol.DecodedValidation(s.PutDeliveryDestinationPolicy))
	t.Add("GetDeliveryDestinationPolicy", protocol.DecodedValidation(s.GetDeliveryDestinationPolicy))
	t.Add("DeleteDeliveryDestinationPolicy", protocol.DecodedValidation(s.DeleteDeliveryDestinationPolicy))
	t.Add("CreateDelivery", protocol.DecodedValidation(s.CreateDelivery))
	t.Add("GetDelivery", protocol.DecodedValidation(s.GetDelivery))
	t.Add("DescribeDeliveries", protocol.DecodedValidation(s.DescribeDeliveries))
	t.Add("DeleteDelivery", protocol.DecodedValidation(s.DeleteDelivery))
	t.Add("UpdateDeliveryConfiguration", protocol.DecodedValidation(s.UpdateDeliveryConfiguration))
	t.Add("DescribeConfigurationTemplates", protocol.DecodedValidation(s.DescribeConfigurationTemplates))
}

// Wire shapes.

type DeliverySource struct {
	Name                        string            `json:"name"`
	Arn                         string            `json:"arn"`
	ResourceArns                []string          `json:"resourceArns"`
	Service                     string            `json:"service"`
	LogType                     string            `json:"logType"`
	Tags                        map[string]string `json:"tags,omitempty"`
	DeliverySourceConfiguration map[string]string `json:"deliverySourceConfiguration,omitempty"`
}

type DeliveryDestinationConfiguration struct {
	DestinationResourceArn string `json:"destinationResourceArn"`
}

type DeliveryDestination struct {
	Name                             string                            `json:"name"`
	Arn                              string                            `json:"arn"`
	DeliveryDestinationType          string                            `json:"deliveryDestinationType"`
	OutputFormat                     string                            `json:"outputFormat,omitempty"`
	DeliveryDestinationConfiguration *DeliveryDestinationConfiguration `json:"deliveryDestinationConfiguration,omitempty"`
	Tags                             map[string]string                 `json:"tags,omitempty"`
}

type S3DeliveryConfiguration struct {
	SuffixPath               string `json:"suffixPath,omitempty"`
	EnableHiveCompatiblePath *bool  `json:"enableHiveCompatiblePath,omitempty"`
}

type Delivery struct {
	ID                      string                   `json:"id"`
	Arn                     string                   `json:"arn"`
	DeliverySourceName      string                   `json:"deliverySourceName"`
	DeliveryDestinationArn  string                   `json:"deliveryDestinationArn"`
	DeliveryDestinationType string                   `json:"deliveryDestinationType"`
	RecordFields            []string                 `json:"recordFields,omitempty"`
	FieldDelimiter          *string                  `json:"fieldDelimiter,omitempty"`
	S3DeliveryConfiguration *S3DeliveryConfiguration `json:"s3DeliveryConfiguration,omitempty"`
	Tags                    map[string]string        `json:"tags,omitempty"`
}

type RecordField struct {
	Name      string `json:"name"`
	Mandatory bool   `json:"mandatory"`
}

type ConfigurationTemplateDeliveryConfigValues struct {
	RecordFields            []string                 `json:"recordFields,omitempty"`
	FieldDelimiter          string                   `json:"fieldDelimiter,omitempty"`
	S3DeliveryConfiguration *S3DeliveryConfiguration `json:"s3DeliveryConfiguration,omitempty"`
}

type ConfigurationTemplate struct {
	Service                                            string                                     `json:"service"`
	LogType                                            string                                     `json:"logType"`
	ResourceType                                       string                                     `json:"resourceType"`
	DeliveryDestinationType                            string                                     `json:"deliveryDestinationType"`
	DefaultDeliveryConfigValues                        *ConfigurationTemplateDeliveryConfigValues `json:"defaultDeliveryConfigValues,omitempty"`
	AllowedFields                                      []RecordField                              `json:"allowedFields"`
	AllowedOutputFormats                               []string                                   `json:"allowedOutputFormats"`
	AllowedActionForAllowVendedLogsDeliveryForResource string                                     `json:"allowedActionForAllowVendedLogsDeliveryForResource,omitempty"`
	AllowedFieldDelimiters                             []string                                   `json:"allowedFieldDelimiters"`
	AllowedSuffixPathFields                            []string                                   `json:"allowedSuffixPathFields,omitempty"`
}

// ARNs of the family's resources.
func arn(scope store.Scope, typ, name string) string {
	return strings.TrimSuffix(logs.GroupARN(scope, ""), "log-group:") + typ + ":" + name
}

// Delivery sources.

type PutDeliverySourceInput struct {
	Name                        string            `json:"name"`
	ResourceArn                 string            `json:"resourceArn"`
	LogType                     string            `json:"logType"`
	Tags                        map[string]string `json:"tags"`
	DeliverySourceConfiguration map[string]string `json:"deliverySourceConfiguration"`
}

type DeliverySourceOutput struct {
	DeliverySource *DeliverySource `json:"deliverySource"`
}

// PutDeliverySource creates or replaces a source. The service is the
// resource ARN's service component (recorded "cloudfront"); a service that
// sends no vended logs is AWS's "Cannot access provided service." (recorded
// for an S3 bucket), a log type the service does not send is refused, and
// an existing source cannot change its resource or log type (AWS's
// ConflictException for a changed source; the text is Cairn's).
func (s *Service) PutDeliverySource(ctx context.Context, c caller.Caller, in *PutDeliverySourceInput) (*DeliverySourceOutput, error) {
	scope := logs.Scope(c)
	a := arn(scope, "delivery-source", in.Name)
	if err := c.Authorize("logs:PutDeliverySource", a); err != nil {
		return nil, err
	}
	parts := strings.SplitN(in.ResourceArn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return nil, awserr.ValidationMessage("Invalid resourceArn: " + in.ResourceArn)
	}
	service := parts[2]
	types := logTypes(service)
	if types == nil {
		return nil, awserr.ServiceInaccessible()
	}
	if !slices.Contains(types, in.LogType) {
		return nil, awserr.ValidationMessage("Log type " + in.LogType + " is not supported by service " + service + ". Supported log types: [" + strings.Join(types, ", ") + "]")
	}
	k := s.key(scope, kindSource, in.Name)
	var old DeliverySource
	if err := s.get(ctx, k, &old); err == nil {
		if old.ResourceArns[0] != in.ResourceArn || old.LogType != in.LogType {
			return nil, awserr.ConflictMessage("Delivery source " + in.Name + " already exists with a different resourceArn or logType.")
		}
	} else if !errors.Is(err, store.ErrResourceNotFound) {
		return nil, err
	}
	src := DeliverySource{Name: in.Name, Arn: a, ResourceArns: []string{in.ResourceArn}, Service: service, LogType: in.LogType,
		Tags: in.Tags, DeliverySourceConfiguration: in.DeliverySourceConfiguration}
	if err := s.put(ctx, k, src); err != nil {
		return nil, err
	}
	return &DeliverySourceOutput{DeliverySource: &src}, nil
}

type NameInput struct {
	Name string `json:"name"`
}

// GetDeliverySource answers the source without its tags (recorded; tags are
// read with ListTagsForResource).
func (s *Service) GetDeliverySource(ctx context.Context, c caller.Caller, in *NameInput) (*DeliverySourceOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:GetDeliverySource", arn(scope, "delivery-source", in.Name)); err != nil {
		return nil, err
	}
	var src DeliverySource
	if err := s.get(ctx, s.key(scope, kindSource, in.Name), &src); err != nil {
		return nil, notFound(err, awserr.DeliverySourceNotFound())
	}
	src.Tags = nil
	return &DeliverySourceOutput{DeliverySource: &src}, nil
}

type DescribeInput struct {
	NextToken string `json:"nextToken"`
	Limit     int    `json:"limit"`
}

type DescribeDeliverySourcesOutput struct {
	DeliverySources []DeliverySource `json:"deliverySources"`
	NextToken       string           `json:"nextToken,omitempty"`
}

func (s *Service) DescribeDeliverySources(ctx context.Context, c caller.Caller, in *DescribeInput) (*DescribeDeliverySourcesOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DescribeDeliverySources", "*"); err != nil {
		return nil, err
	}
	out := &DescribeDeliverySourcesOutput{DeliverySources: []DeliverySource{}}
	next, err := list(ctx, s, scope, kindSource, in, func(v []byte) {
		var src DeliverySource
		if json.Unmarshal(v, &src) == nil {
			src.Tags = nil
			out.DeliverySources = append(out.DeliverySources, src)
		}
	})
	out.NextToken = next
	return out, err
}

// DeleteDeliverySource refuses a source that deliveries still use (AWS:
// "You can't delete a delivery source if any current deliveries are
// associated with it"; ConflictException, the text is Cairn's).
func (s *Service) DeleteDeliverySource(ctx context.Context, c caller.Caller, in *NameInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DeleteDeliverySource", arn(scope, "delivery-source", in.Name)); err != nil {
		return nil, err
	}
	k := s.key(scope, kindSource, in.Name)
	var src DeliverySource
	if err := s.get(ctx, k, &src); err != nil {
		return nil, notFound(err, awserr.DeliverySourceNotFound())
	}
	inUse, err := s.deliveryWhere(ctx, scope, func(d Delivery) bool { return d.DeliverySourceName == in.Name })
	if err != nil {
		return nil, err
	}
	if inUse {
		return nil, awserr.ConflictMessage("Delivery source " + in.Name + " is used by a delivery; delete the delivery first.")
	}
	return nil, logs.StoreError(s.st.DeleteResource(ctx, k))
}

// Delivery destinations.

type PutDeliveryDestinationInput struct {
	Name                             string                            `json:"name"`
	OutputFormat                     string                            `json:"outputFormat"`
	DeliveryDestinationConfiguration *DeliveryDestinationConfiguration `json:"deliveryDestinationConfiguration"`
	DeliveryDestinationType          string                            `json:"deliveryDestinationType"`
	Tags                             map[string]string                 `json:"tags"`
}

type DeliveryDestinationOutput struct {
	DeliveryDestination *DeliveryDestination `json:"deliveryDestination"`
}

// destinationType is the type a destination resource ARN's service implies
// (AWS derives it: s3 → S3, logs → CWL, firehose → FH).
func destinationType(resourceArn string) string {
	parts := strings.SplitN(resourceArn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	switch parts[2] {
	case "s3":
		return "S3"
	case "logs":
		return "CWL"
	case "firehose":
		return "FH"
	}
	return ""
}

// PutDeliveryDestination creates or replaces a destination: a second Put
// takes every member from the new request (an omitted outputFormat is
// cleared, recorded); a changed destination type is a conflict. The type is
// derived from the resource ARN, and only XRAY needs it stated (and then no
// resource). A CWL destination's log group must exist.
func (s *Service) PutDeliveryDestination(ctx context.Context, c caller.Caller, in *PutDeliveryDestinationInput) (*DeliveryDestinationOutput, error) {
	scope := logs.Scope(c)
	a := arn(scope, "delivery-destination", in.Name)
	if err := c.Authorize("logs:PutDeliveryDestination", a); err != nil {
		return nil, err
	}
	typ := in.DeliveryDestinationType
	switch {
	case in.DeliveryDestinationConfiguration == nil && typ != "XRAY":
		return nil, awserr.ValidationMessage("deliveryDestinationConfiguration is required for destination type " + orDefault(typ, "S3, CWL or FH") + ".")
	case in.DeliveryDestinationConfiguration != nil && typ == "XRAY":
		return nil, awserr.ValidationMessage("deliveryDestinationConfiguration cannot be specified for destination type XRAY.")
	case in.DeliveryDestinationConfiguration != nil:
		derived := destinationType(in.DeliveryDestinationConfiguration.DestinationResourceArn)
		if derived == "" {
			return nil, awserr.ValidationMessage("Invalid destinationResourceArn: " + in.DeliveryDestinationConfiguration.DestinationResourceArn + ". It must be an S3 bucket, a log group or a Firehose delivery stream.")
		}
		if typ != "" && typ != derived {
			return nil, awserr.ValidationMessage("deliveryDestinationType " + typ + " does not match the destinationResourceArn's type " + derived + ".")
		}
		typ = derived
		if typ == "CWL" {
			if err := s.groupExists(ctx, scope, in.DeliveryDestinationConfiguration.DestinationResourceArn); err != nil {
				return nil, err
			}
		}
	}
	k := s.key(scope, kindDestination, in.Name)
	var old DeliveryDestination
	if err := s.get(ctx, k, &old); err == nil {
		if old.DeliveryDestinationType != typ {
			return nil, awserr.ConflictMessage("Delivery destination " + in.Name + " already exists with destination type " + old.DeliveryDestinationType + ".")
		}
	} else if !errors.Is(err, store.ErrResourceNotFound) {
		return nil, err
	}
	d := DeliveryDestination{Name: in.Name, Arn: a, DeliveryDestinationType: typ, OutputFormat: in.OutputFormat,
		DeliveryDestinationConfiguration: in.DeliveryDestinationConfiguration, Tags: in.Tags}
	if err := s.put(ctx, k, d); err != nil {
		return nil, err
	}
	return &DeliveryDestinationOutput{DeliveryDestination: &d}, nil
}

func (s *Service) groupExists(ctx context.Context, scope store.Scope, groupArn string) error {
	name, err := logs.ResolveGroup(scope, "", groupArn, nil)
	if err != nil {
		return awserr.ValidationMessage("Invalid destinationResourceArn: " + groupArn)
	}
	_, err = s.st.GetGroup(ctx, scope, name)
	return logs.StoreError(err)
}

func (s *Service) GetDeliveryDestination(ctx context.Context, c caller.Caller, in *NameInput) (*DeliveryDestinationOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:GetDeliveryDestination", arn(scope, "delivery-destination", in.Name)); err != nil {
		return nil, err
	}
	var d DeliveryDestination
	if err := s.get(ctx, s.key(scope, kindDestination, in.Name), &d); err != nil {
		return nil, notFound(err, awserr.DeliveryDestinationNotFound())
	}
	d.Tags = nil
	return &DeliveryDestinationOutput{DeliveryDestination: &d}, nil
}

type DescribeDeliveryDestinationsOutput struct {
	DeliveryDestinations []DeliveryDestination `json:"deliveryDestinations"`
	NextToken            string                `json:"nextToken,omitempty"`
}

func (s *Service) DescribeDeliveryDestinations(ctx context.Context, c caller.Caller, in *DescribeInput) (*DescribeDeliveryDestinationsOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DescribeDeliveryDestinations", "*"); err != nil {
		return nil, err
	}
	out := &DescribeDeliveryDestinationsOutput{DeliveryDestinations: []DeliveryDestination{}}
	next, err := list(ctx, s, scope, kindDestination, in, func(v []byte) {
		var d DeliveryDestination
		if json.Unmarshal(v, &d) == nil {
			d.Tags = nil
			out.DeliveryDestinations = append(out.DeliveryDestinations, d)
		}
	})
	out.NextToken = next
	return out, err
}

func (s *Service) DeleteDeliveryDestination(ctx context.Context, c caller.Caller, in *NameInput) (*struct{}, error) {
	scope := logs.Scope(c)
	a := arn(scope, "delivery-destination", in.Name)
	if err := c.Authorize("logs:DeleteDeliveryDestination", a); err != nil {
		return nil, err
	}
	k := s.key(scope, kindDestination, in.Name)
	var d DeliveryDestination
	if err := s.get(ctx, k, &d); err != nil {
		return nil, notFound(err, awserr.DeliveryDestinationNotFound())
	}
	inUse, err := s.deliveryWhere(ctx, scope, func(d Delivery) bool { return d.DeliveryDestinationArn == a })
	if err != nil {
		return nil, err
	}
	if inUse {
		return nil, awserr.ConflictMessage("Delivery destination " + in.Name + " is used by a delivery; delete the delivery first.")
	}
	if err := s.st.DeleteResource(ctx, s.key(scope, kindPolicy, in.Name)); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	return nil, logs.StoreError(s.st.DeleteResource(ctx, k))
}

// Delivery destination policies.

type PutDeliveryDestinationPolicyInput struct {
	DeliveryDestinationName   string `json:"deliveryDestinationName"`
	DeliveryDestinationPolicy string `json:"deliveryDestinationPolicy"`
}

type Policy struct {
	DeliveryDestinationPolicy string `json:"deliveryDestinationPolicy,omitempty"`
}

type PolicyOutput struct {
	Policy Policy `json:"policy"`
}

// PutDeliveryDestinationPolicy stores the policy as given (recorded: the
// answer is the string as stored; AWS accepted a one-statement policy). It
// must be a JSON object, as every IAM policy is.
func (s *Service) PutDeliveryDestinationPolicy(ctx context.Context, c caller.Caller, in *PutDeliveryDestinationPolicyInput) (*PolicyOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:PutDeliveryDestinationPolicy", arn(scope, "delivery-destination", in.DeliveryDestinationName)); err != nil {
		return nil, err
	}
	var obj map[string]any
	if json.Unmarshal([]byte(in.DeliveryDestinationPolicy), &obj) != nil {
		return nil, awserr.ValidationMessage("The deliveryDestinationPolicy is not a valid JSON policy document.")
	}
	var d DeliveryDestination
	if err := s.get(ctx, s.key(scope, kindDestination, in.DeliveryDestinationName), &d); err != nil {
		return nil, notFound(err, awserr.DeliveryDestinationNotFound())
	}
	p := Policy{DeliveryDestinationPolicy: in.DeliveryDestinationPolicy}
	if err := s.put(ctx, s.key(scope, kindPolicy, in.DeliveryDestinationName), p); err != nil {
		return nil, err
	}
	return &PolicyOutput{Policy: p}, nil
}

type DestinationNameInput struct {
	DeliveryDestinationName string `json:"deliveryDestinationName"`
}

// GetDeliveryDestinationPolicy answers {"policy":{}} for a destination
// without a policy (recorded after a delete; Terraform reads output.Policy
// before its member, so the object is always there).
func (s *Service) GetDeliveryDestinationPolicy(ctx context.Context, c caller.Caller, in *DestinationNameInput) (*PolicyOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:GetDeliveryDestinationPolicy", arn(scope, "delivery-destination", in.DeliveryDestinationName)); err != nil {
		return nil, err
	}
	var d DeliveryDestination
	if err := s.get(ctx, s.key(scope, kindDestination, in.DeliveryDestinationName), &d); err != nil {
		return nil, notFound(err, awserr.DeliveryDestinationNotFound())
	}
	var p Policy
	if err := s.get(ctx, s.key(scope, kindPolicy, in.DeliveryDestinationName), &p); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, err
	}
	return &PolicyOutput{Policy: p}, nil
}

func (s *Service) DeleteDeliveryDestinationPolicy(ctx context.Context, c caller.Caller, in *DestinationNameInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DeleteDeliveryDestinationPolicy", arn(scope, "delivery-destination", in.DeliveryDestinationName)); err != nil {
		return nil, err
	}
	var d DeliveryDestination
	if err := s.get(ctx, s.key(scope, kindDestination, in.DeliveryDestinationName), &d); err != nil {
		return nil, notFound(err, awserr.DeliveryDestinationNotFound())
	}
	k := s.key(scope, kindPolicy, in.DeliveryDestinationName)
	var p Policy
	if err := s.get(ctx, k, &p); err != nil {
		return nil, notFound(err, awserr.ResourceNotFoundMessage("Requested Delivery Destination Policy does not exist in this account."))
	}
	return nil, logs.StoreError(s.st.DeleteResource(ctx, k))
}

// Deliveries.

type CreateDeliveryInput struct {
	DeliverySourceName      string                   `json:"deliverySourceName"`
	DeliveryDestinationArn  string                   `json:"deliveryDestinationArn"`
	RecordFields            []string                 `json:"recordFields"`
	FieldDelimiter          *string                  `json:"fieldDelimiter"`
	S3DeliveryConfiguration *S3DeliveryConfiguration `json:"s3DeliveryConfiguration"`
	Tags                    map[string]string        `json:"tags"`
}

type DeliveryOutput struct {
	Delivery *Delivery `json:"delivery"`
}

// CreateDelivery pairs a source with a destination of this account and
// region (a destination elsewhere is not found: Cairn's accounts do not
// deliver across accounts). The same pair twice is a conflict. Options left
// out take the template's defaults; given ones are checked against it.
func (s *Service) CreateDelivery(ctx context.Context, c caller.Caller, in *CreateDeliveryInput) (*DeliveryOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:CreateDelivery", arn(scope, "delivery-source", in.DeliverySourceName)); err != nil {
		return nil, err
	}
	var src DeliverySource
	if err := s.get(ctx, s.key(scope, kindSource, in.DeliverySourceName), &src); err != nil {
		return nil, notFound(err, awserr.DeliverySourceNotFound())
	}
	prefix := arn(scope, "delivery-destination", "")
	name, ok := strings.CutPrefix(in.DeliveryDestinationArn, prefix)
	if !ok || name == "" {
		return nil, awserr.DeliveryDestinationNotFound()
	}
	var dest DeliveryDestination
	if err := s.get(ctx, s.key(scope, kindDestination, name), &dest); err != nil {
		return nil, notFound(err, awserr.DeliveryDestinationNotFound())
	}
	dup, err := s.deliveryWhere(ctx, scope, func(d Delivery) bool {
		return d.DeliverySourceName == src.Name && d.DeliveryDestinationArn == dest.Arn
	})
	if err != nil {
		return nil, err
	}
	if dup {
		return nil, awserr.ConflictMessage("A delivery already exists between delivery source " + src.Name + " and delivery destination " + dest.Name + ".")
	}
	d := Delivery{ID: newID(), DeliverySourceName: src.Name, DeliveryDestinationArn: dest.Arn, DeliveryDestinationType: dest.DeliveryDestinationType,
		RecordFields: in.RecordFields, FieldDelimiter: in.FieldDelimiter, S3DeliveryConfiguration: in.S3DeliveryConfiguration, Tags: in.Tags}
	d.Arn = arn(scope, "delivery", d.ID)
	if err := configure(&d, template(src.Service, src.LogType, dest.DeliveryDestinationType), true); err != nil {
		return nil, err
	}
	if err := s.put(ctx, s.key(scope, kindDelivery, d.ID), d); err != nil {
		return nil, err
	}
	if dc := dest.DeliveryDestinationConfiguration; s.enforce != nil && dest.DeliveryDestinationType == "CWL" && dc != nil {
		if group, err := logs.ResolveGroup(scope, "", dc.DestinationResourceArn, nil); err == nil {
			s.enforce.EnsureDelivery(ctx, c, group, "vended")
		}
	}
	return &DeliveryOutput{Delivery: &d}, nil
}

// configure fills a delivery's options from t's defaults (create only) and
// checks them against t: record fields among the allowed ones and the
// mandatory ones present, the delimiter among the allowed ones, the suffix
// path's {variables} among the allowed ones, S3 options only for S3.
func configure(d *Delivery, t *ConfigurationTemplate, create bool) error {
	if d.S3DeliveryConfiguration != nil && d.DeliveryDestinationType != "S3" {
		return awserr.ValidationMessage("s3DeliveryConfiguration can be specified only for S3 destinations.")
	}
	if t == nil {
		return nil
	}
	if create && d.RecordFields == nil && t.DefaultDeliveryConfigValues != nil {
		d.RecordFields = slices.Clone(t.DefaultDeliveryConfigValues.RecordFields)
	}
	if create && d.S3DeliveryConfiguration == nil && t.DefaultDeliveryConfigValues != nil && t.DefaultDeliveryConfigValues.S3DeliveryConfiguration != nil {
		c := *t.DefaultDeliveryConfigValues.S3DeliveryConfiguration
		d.S3DeliveryConfiguration = &c
	}
	for _, f := range d.RecordFields {
		if !allowedField(t, f) {
			return awserr.ValidationMessage("Record field " + f + " is not allowed for " + t.Service + " " + t.LogType + ".")
		}
	}
	for _, f := range t.AllowedFields {
		if f.Mandatory && !slices.Contains(d.RecordFields, f.Name) {
			return awserr.ValidationMessage("Record field " + f.Name + " is mandatory for " + t.Service + " " + t.LogType + ".")
		}
	}
	if d.FieldDelimiter != nil && *d.FieldDelimiter != "" && !slices.Contains(t.AllowedFieldDelimiters, *d.FieldDelimiter) {
		return awserr.ValidationMessage("Field delimiter " + *d.FieldDelimiter + " is not allowed. Allowed delimiters: [" + strings.Join(t.AllowedFieldDelimiters, ", ") + "]")
	}
	if d.S3DeliveryConfiguration != nil {
		rest := d.S3DeliveryConfiguration.SuffixPath
		for {
			i := strings.IndexByte(rest, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(rest[i:], '}')
			if j < 0 {
				return awserr.ValidationMessage("Invalid suffixPath: unclosed {.")
			}
			v := rest[i : i+j+1]
			if !slices.Contains(t.AllowedSuffixPathFields, v) {
				return awserr.ValidationMessage("Suffix path field " + v + " is not allowed. Allowed fields: [" + strings.Join(t.AllowedSuffixPathFields, ", ") + "]")
			}
			rest = rest[i+j+1:]
		}
	}
	return nil
}

type IDInput struct {
	ID string `json:"id"`
}

func (s *Service) GetDelivery(ctx context.Context, c caller.Caller, in *IDInput) (*DeliveryOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:GetDelivery", arn(scope, "delivery", in.ID)); err != nil {
		return nil, err
	}
	var d Delivery
	if err := s.get(ctx, s.key(scope, kindDelivery, in.ID), &d); err != nil {
		return nil, notFound(err, awserr.DeliveryNotFound())
	}
	d.Tags = nil
	return &DeliveryOutput{Delivery: &d}, nil
}

type DescribeDeliveriesOutput struct {
	Deliveries []Delivery `json:"deliveries"`
	NextToken  string     `json:"nextToken,omitempty"`
}

func (s *Service) DescribeDeliveries(ctx context.Context, c caller.Caller, in *DescribeInput) (*DescribeDeliveriesOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DescribeDeliveries", "*"); err != nil {
		return nil, err
	}
	out := &DescribeDeliveriesOutput{Deliveries: []Delivery{}}
	next, err := list(ctx, s, scope, kindDelivery, in, func(v []byte) {
		var d Delivery
		if json.Unmarshal(v, &d) == nil {
			d.Tags = nil
			out.Deliveries = append(out.Deliveries, d)
		}
	})
	out.NextToken = next
	return out, err
}

func (s *Service) DeleteDelivery(ctx context.Context, c caller.Caller, in *IDInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DeleteDelivery", arn(scope, "delivery", in.ID)); err != nil {
		return nil, err
	}
	k := s.key(scope, kindDelivery, in.ID)
	var d Delivery
	if err := s.get(ctx, k, &d); err != nil {
		return nil, notFound(err, awserr.DeliveryNotFound())
	}
	return nil, logs.StoreError(s.st.DeleteResource(ctx, k))
}

type UpdateDeliveryConfigurationInput struct {
	ID                      string                   `json:"id"`
	RecordFields            []string                 `json:"recordFields"`
	FieldDelimiter          *string                  `json:"fieldDelimiter"`
	S3DeliveryConfiguration *S3DeliveryConfiguration `json:"s3DeliveryConfiguration"`
}

// UpdateDeliveryConfiguration changes the options given and keeps the rest
// (the source and destination cannot change).
func (s *Service) UpdateDeliveryConfiguration(ctx context.Context, c caller.Caller, in *UpdateDeliveryConfigurationInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:UpdateDeliveryConfiguration", arn(scope, "delivery", in.ID)); err != nil {
		return nil, err
	}
	k := s.key(scope, kindDelivery, in.ID)
	var d Delivery
	if err := s.get(ctx, k, &d); err != nil {
		return nil, notFound(err, awserr.DeliveryNotFound())
	}
	if in.RecordFields != nil {
		d.RecordFields = in.RecordFields
	}
	if in.FieldDelimiter != nil {
		d.FieldDelimiter = in.FieldDelimiter
	}
	if in.S3DeliveryConfiguration != nil {
		d.S3DeliveryConfiguration = in.S3DeliveryConfiguration
	}
	var src DeliverySource
	var t *ConfigurationTemplate
	if s.get(ctx, s.key(scope, kindSource, d.DeliverySourceName), &src) == nil {
		t = template(src.Service, src.LogType, d.DeliveryDestinationType)
	}
	if err := configure(&d, t, false); err != nil {
		return nil, err
	}
	return &struct{}{}, s.put(ctx, k, d)
}

type DescribeConfigurationTemplatesInput struct {
	Service                  string   `json:"service"`
	LogTypes                 []string `json:"logTypes"`
	ResourceTypes            []string `json:"resourceTypes"`
	DeliveryDestinationTypes []string `json:"deliveryDestinationTypes"`
	NextToken                string   `json:"nextToken"`
	Limit                    int      `json:"limit"`
}

type DescribeConfigurationTemplatesOutput struct {
	ConfigurationTemplates []ConfigurationTemplate `json:"configurationTemplates"`
	NextToken              string                  `json:"nextToken,omitempty"`
}

func (s *Service) DescribeConfigurationTemplates(ctx context.Context, c caller.Caller, in *DescribeConfigurationTemplatesInput) (*DescribeConfigurationTemplatesOutput, error) {
	if err := c.Authorize("logs:DescribeConfigurationTemplates", "*"); err != nil {
		return nil, err
	}
	skip, err := logs.DecodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	out := &DescribeConfigurationTemplatesOutput{ConfigurationTemplates: []ConfigurationTemplate{}}
	for _, t := range templates() {
		key := t.Service + "/" + t.LogType + "/" + t.DeliveryDestinationType
		switch {
		case skip != "" && key <= skip,
			in.Service != "" && t.Service != in.Service,
			len(in.LogTypes) > 0 && !slices.Contains(in.LogTypes, t.LogType),
			len(in.ResourceTypes) > 0 && !slices.Contains(in.ResourceTypes, t.ResourceType),
			len(in.DeliveryDestinationTypes) > 0 && !slices.Contains(in.DeliveryDestinationTypes, t.DeliveryDestinationType):
			continue
		}
		if len(out.ConfigurationTemplates) == limit {
			last := out.ConfigurationTemplates[limit-1]
			out.NextToken = logs.EncodePageToken(last.Service + "/" + last.LogType + "/" + last.DeliveryDestinationType)
			break
		}
		out.ConfigurationTemplates = append(out.ConfigurationTemplates, t)
	}
	return out, nil
}

// Storage helpers.

func (s *Service) key(scope store.Scope, kind, name string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kind, Name: name}
}

func (s *Service) get(ctx context.Context, k store.ResourceKey, v any) error {
	b, err := s.st.GetResource(ctx, k)
	if err != nil {
		if errors.Is(err, store.ErrResourceNotFound) {
			return err
		}
		return logs.StoreError(err)
	}
	return json.Unmarshal(b, v)
}

func (s *Service) put(ctx context.Context, k store.ResourceKey, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return logs.StoreError(s.st.PutResource(ctx, k, b))
}

// deliveryWhere reports whether a delivery of scope satisfies fn.
func (s *Service) deliveryWhere(ctx context.Context, scope store.Scope, fn func(Delivery) bool) (bool, error) {
	found := false
	err := s.st.ListResources(ctx, s.key(scope, kindDelivery, ""), "", "", func(_ string, v []byte) bool {
		var d Delivery
		if json.Unmarshal(v, &d) == nil && fn(d) {
			found = true
			return false
		}
		return true
	})
	return found, logs.StoreError(err)
}

// list pages through kind's records in name order.
func list(ctx context.Context, s *Service, scope store.Scope, kind string, in *DescribeInput, add func([]byte)) (string, error) {
	after, err := logs.DecodePageToken(in.NextToken)
	if err != nil {
		return "", err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	n, last, more := 0, "", false
	err = s.st.ListResources(ctx, s.key(scope, kind, ""), "", after, func(name string, v []byte) bool {
		if n == limit {
			more = true
			return false
		}
		add(v)
		n++
		last = name
		return true
	})
	if err != nil {
		return "", logs.StoreError(err)
	}
	if more {
		return logs.EncodePageToken(last), nil
	}
	return "", nil
}

func notFound(err, nf error) error {
	if errors.Is(err, store.ErrResourceNotFound) {
		return nf
	}
	return err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// newID is a delivery id: 16 letters and digits (AWS's ids are alphanumeric,
// e.g. "oAsYWFBnTE8sgJkr"; the model allows 1–64).
func newID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// TaggableKinds are the ARN resource types of the family's records that
// TagResource, UntagResource and ListTagsForResource reach, with their store
// kinds (logs.Service.Taggable): each record keeps its tags in "tags".
func TaggableKinds() map[string]string {
	return map[string]string{"delivery-source": kindSource, "delivery-destination": kindDestination, "delivery": kindDelivery}
}
