package lint

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/cairnlog/cairn/"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"...")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errb.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func under(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

// rule is one forbidden import: packages matching from must not import
// anything matching to, except the packages in allowed.
type rule struct {
	why     string
	from    func(string) bool
	to      func(string) bool
	allowed []string
}

func TestLayering(t *testing.T) {
	is := func(names ...string) func(string) bool {
		return func(p string) bool {
			for _, n := range names {
				if under(p, n) {
					return true
				}
			}
			return false
		}
	}
	any := func(string) bool { return true }
	rules := []rule{
		{why: "storage engines know nothing of HTTP, the wire protocol or AWS errors",
			from: is("internal/store"), to: is("net/http", "internal/protocol", "internal/awserr", "internal/logs", "internal/server")},
		{why: "the logs service speaks CloudWatch semantics, not HTTP",
			from: is("internal/logs", "internal/pattern", "internal/tail"), to: is("net/http")},
		{why: "only the command-line layer reads flags",
			from: any, to: is("flag"), allowed: []string{"internal/cli", "cmd/cairn"}},
		{why: "nothing below the command line imports it",
			from: any, to: is("internal/cli"), allowed: []string{"cmd/cairn"}},
		{why: "server assembles everything; only the command line and the test harness start it",
			from: any, to: is("internal/server"), allowed: []string{"internal/cli", "internal/harness"}},
		{why: "the service reaches an engine only through the store contract; server picks the engine",
			from: any, to: is("internal/store/embedded", "internal/store/postgres"), allowed: []string{"internal/server", "internal/harness",
				"internal/migrate"}}, // migrate moves data from one engine to the other
		{why: "tests' helpers are for tests",
			from: any, to: is("internal/harness", "internal/leakcheck"), allowed: []string{"internal/harness"}},
		{why: "the doors that write through the logs service (OTLP, the audit trail, the console and its build log) stand above it: no family imports them",
			from: is("internal/logs"), to: is("internal/otlp", "internal/audit", "internal/console", "internal/buildlog")},
		{why: "syslog parsing and listening knows no log group: logs/syslogconfig turns its messages into events",
			from: is("internal/syslog"), to: is("internal/logs", "internal/store", "internal/server")},
		{why: "the wire layer does not know the services behind it",
			from: is("internal/protocol", "internal/awserr", "internal/awsmodel", "internal/sigv4"),
			to:   is("internal/logs", "internal/server", "internal/auth", "internal/store")},
	}
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			imp = strings.TrimPrefix(imp, module)
			for _, r := range rules {
				if r.from(p.ImportPath) && r.to(imp) && !contains(r.allowed, p.ImportPath) && p.ImportPath != imp {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, r.why)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestEnvironmentOnlyInCLI fails when a library reads the process
// environment: configuration enters through Config structs filled by cli.
func TestEnvironmentOnlyInCLI(t *testing.T) {
	reads := map[string]bool{"Getenv": true, "LookupEnv": true, "Environ": true}
	for _, p := range listPackages(t) {
		if under(p.ImportPath, "internal/cli") || under(p.ImportPath, "cmd") {
			continue
		}
		for _, f := range p.GoFiles { // non-test files only
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || !reads[sel.Sel.Name] {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" {
					t.Errorf("%s: %s reads the environment (os.%s); only internal/cli may", fset.Position(sel.Pos()), p.ImportPath, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
