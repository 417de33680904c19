package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The IAM file (YAML, or JSON, which YAML reads too). docs/iam-example.yaml
// documents every field.
type fileDoc struct {
	Accounts []fileAccount `yaml:"accounts"`
}

type fileAccount struct {
	ID    string     `yaml:"id"`
	Root  *fileRoot  `yaml:"root"`
	Users []fileUser `yaml:"users"`
	Roles []fileRole `yaml:"roles"`
}

type fileRoot struct {
	AccessKeys []fileKey `yaml:"accessKeys"`
}

type fileUser struct {
	Name       string       `yaml:"name"`
	AccessKeys []fileKey    `yaml:"accessKeys"`
	APIKeys    []fileAPIKey `yaml:"apiKeys"`
	Policies   []filePolicy `yaml:"policies"`
}

type fileKey struct {
	ID     string `yaml:"id"`
	Secret string `yaml:"secret"`
}

type filePolicy struct {
	Name     string    `yaml:"name"`
	Document policyDoc `yaml:"document"`
}

type fileRole struct {
	Name               string       `yaml:"name"`
	MaxSessionDuration int          `yaml:"maxSessionDuration"`
	TrustPolicy        policyDoc    `yaml:"trustPolicy"`
	Policies           []filePolicy `yaml:"policies"`
}

// policyDoc is a policy written either as a JSON string or as a YAML
// mapping; both become JSON for Parse.
type policyDoc struct {
	json []byte
}

func (d *policyDoc) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		d.json = []byte(n.Value)
		return nil
	}
	c := nodeConverter{line: n.Line, left: maxPolicyValues, open: map[*yaml.Node]bool{}}
	v, err := c.toJSON(n)
	if err != nil {
		return err
	}
	d.json, err = json.Marshal(v)
	return err
}

// maxPolicyValues bounds the JSON values one policy document written as YAML
// may expand to. yaml.v3 shares an anchored node among its aliases, so the
// node tree stays as small as the file, but converting it expands every
// alias: "&a [*b, *b]" chains double at each step (a few hundred bytes would
// expand past any memory) and an alias inside its own anchor never ends (it
// overflowed the stack, which no recover catches, so a SIGHUP reload of such
// a file killed the server). AWS's largest policy is 10,240 characters, and
// every JSON value takes at least one character plus a separator, so no
// policy AWS accepts comes near 16,384 values.
const maxPolicyValues = 1 << 14

// nodeConverter converts a YAML node to JSON values, keeping scalars the way
// they were written (so Version: 2012-10-17 stays a string, not a date).
type nodeConverter struct {
	line int                 // the document's, for errors
	left int                 // values still allowed (maxPolicyValues at the start)
	open map[*yaml.Node]bool // anchors being expanded, to name a cycle
}

func (c *nodeConverter) toJSON(n *yaml.Node) (any, error) {
	if c.left--; c.left < 0 {
		return nil, fmt.Errorf("line %d: policy document expands to more than %d values", c.line, maxPolicyValues)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.toJSON(n.Content[0])
	case yaml.AliasNode:
		if c.open[n.Alias] {
			return nil, fmt.Errorf("line %d: alias *%s is inside its own anchor", n.Line, n.Value)
		}
		c.open[n.Alias] = true
		v, err := c.toJSON(n.Alias)
		delete(c.open, n.Alias)
		return v, err
	case yaml.MappingNode:
		m := make(orderedMap, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := c.toJSON(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m = append(m, kv{n.Content[i].Value, v})
		}
		return m, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.toJSON(e)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	default:
		switch n.Tag {
		case "!!int", "!!float":
			return json.Number(n.Value), nil
		case "!!bool":
			return strings.EqualFold(n.Value, "true"), nil
		case "!!null":
			return nil, nil
		default:
			return n.Value, nil
		}
	}
}

// orderedMap keeps the key order of the YAML mapping in the JSON output.
type orderedMap []kv

type kv struct {
	k string
	v any
}

func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// LoadFile reads and validates an IAM file. The file holds secret keys, so
// one that other users can read or write is refused, as the root credentials
// file is: the mode is checked on the descriptor that is read, so the file
// cannot be swapped in between.
func LoadFile(path string) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read IAM file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read IAM file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("IAM file %s is accessible by other users (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read IAM file: %w", err)
	}
	s, err := ParseFile(data)
	if err != nil {
		return nil, fmt.Errorf("IAM file %s: %w", path, err)
	}
	return s, nil
}

var (
	userNameRE  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	accessKeyRE = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
)

// ParseFile validates an IAM document and builds its Store. Every error
// names the element at fault, e.g. "accounts[0].users[1].policies[0].document:
// MalformedPolicyDocument: ...".
func ParseFile(data []byte) (*Store, error) {
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(doc.Accounts) == 0 {
		return nil, errors.New("accounts: at least one account is required")
	}
	s := newStore()
	seenAccounts := map[string]bool{}
	for ai, a := range doc.Accounts {
		ap := fmt.Sprintf("accounts[%d]", ai)
		if !isAccountID(a.ID) {
			return nil, fmt.Errorf("%s.id: %q is not a 12-digit account id", ap, a.ID)
		}
		if seenAccounts[a.ID] {
			return nil, fmt.Errorf("%s.id: account %s is listed twice", ap, a.ID)
		}
		seenAccounts[a.ID] = true
		s.accounts = append(s.accounts, a.ID)

		root := &Identity{Account: a.ID, ARN: RootARN(a.ID), UserID: a.ID, Root: true}
		s.addIdentity(root)
		if a.Root != nil {
			if err := s.addKeys(ap+".root", a.Root.AccessKeys, root); err != nil {
				return nil, err
			}
		}

		for ui, u := range a.Users {
			up := fmt.Sprintf("%s.users[%d]", ap, ui)
			if !userNameRE.MatchString(u.Name) {
				return nil, fmt.Errorf("%s.name: %q must be 1-64 characters of letters, digits and +=,.@_-", up, u.Name)
			}
			arn := UserARN(a.ID, u.Name)
			if _, dup := s.identities[arn]; dup {
				return nil, fmt.Errorf("%s.name: user %s is listed twice", up, u.Name)
			}
			pols, err := parsePolicies(up, u.Policies)
			if err != nil {
				return nil, err
			}
			id := &Identity{Account: a.ID, ARN: arn, UserID: uniqueID("AIDA", arn), Name: u.Name, Policies: pols}
			s.addIdentity(id)
			if err := s.addKeys(up, u.AccessKeys, id); err != nil {
				return nil, err
			}
			if err := s.addAPIKeys(up, u.APIKeys, id); err != nil {
				return nil, err
			}
		}

		for ri, r := range a.Roles {
			rp := fmt.Sprintf("%s.roles[%d]", ap, ri)
			if !userNameRE.MatchString(r.Name) {
				return nil, fmt.Errorf("%s.name: %q must be 1-64 characters of letters, digits and +=,.@_-", rp, r.Name)
			}
			arn := RoleARN(a.ID, r.Name)
			if _, dup := s.roles[arn]; dup {
				return nil, fmt.Errorf("%s.name: role %s is listed twice", rp, r.Name)
			}
			maxDur := r.MaxSessionDuration
			if maxDur == 0 {
				maxDur = 3600
			}
			if maxDur < 3600 || maxDur > 43200 {
				return nil, fmt.Errorf("%s.maxSessionDuration: %d must be between 3600 and 43200 seconds", rp, r.MaxSessionDuration)
			}
			if r.TrustPolicy.json == nil {
				return nil, fmt.Errorf("%s.trustPolicy: a role needs a trust policy naming who may assume it", rp)
			}
			trust, err := Parse(r.TrustPolicy.json, TrustPolicy)
			if err != nil {
				return nil, fmt.Errorf("%s.trustPolicy: %w", rp, err)
			}
			pols, err := parsePolicies(rp, r.Policies)
			if err != nil {
				return nil, err
			}
			s.addRole(&Role{Account: a.ID, Name: r.Name, ARN: arn, RoleID: uniqueID("AROA", arn),
				MaxSessionDuration: time.Duration(maxDur) * time.Second, Trust: trust, Policies: pols})
		}
	}
	return s, nil
}

func parsePolicies(path string, in []filePolicy) ([]*Policy, error) {
	var out []*Policy
	names := map[string]bool{}
	for pi, p := range in {
		pp := path + ".policies[" + strconv.Itoa(pi) + "]"
		if p.Name == "" {
			return nil, fmt.Errorf("%s.name: a policy needs a name", pp)
		}
		if names[p.Name] {
			return nil, fmt.Errorf("%s.name: policy %s is listed twice", pp, p.Name)
		}
		names[p.Name] = true
		if p.Document.json == nil {
			return nil, fmt.Errorf("%s.document: missing", pp)
		}
		pol, err := ParsePolicy(p.Document.json)
		if err != nil {
			return nil, fmt.Errorf("%s.document: %w", pp, err)
		}
		out = append(out, pol)
	}
	return out, nil
}

func (s *Store) addKeys(path string, keys []fileKey, id *Identity) error {
	for ki, k := range keys {
		kp := fmt.Sprintf("%s.accessKeys[%d]", path, ki)
		if !accessKeyRE.MatchString(k.ID) {
			return fmt.Errorf("%s.id: %q must be 16-128 upper-case letters and digits", kp, k.ID)
		}
		if strings.HasPrefix(k.ID, "ASIA") {
			return fmt.Errorf("%s.id: %q: the ASIA prefix is reserved for temporary credentials", kp, k.ID)
		}
		if _, dup := s.keys[k.ID]; dup {
			return fmt.Errorf("%s.id: access key %s is used twice", kp, k.ID)
		}
		if len(k.Secret) < 16 {
			return fmt.Errorf("%s.secret: must be at least 16 characters", kp)
		}
		s.keys[k.ID] = accessKey{id: id, secret: k.Secret}
	}
	return nil
}
