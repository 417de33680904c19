package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const awserrPath = module + "internal/awserr"

// TestErrorsOnlyFromAwserr fails when a package other than awserr builds an
// AWS error any way but through one of awserr's constructors: writing an
// awserr.Error literal (or new(awserr.Error)), making a Code from a string (a
// code not in the table), or calling a generic awserr.New (awserr has none
// now; TestNoGenericConstructor keeps it so). awserr is the one table of
// codes, statuses and texts; a handler that spells its own text drifts from
// AWS's and from the other handlers that raise the same error.
func TestErrorsOnlyFromAwserr(t *testing.T) {
	checked := 0
	for _, p := range listPackages(t) {
		if p.ImportPath == "internal/awserr" {
			continue
		}
		for _, f := range p.GoFiles { // non-test files only
			name := filepath.Join(p.Dir, f)
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range inlineErrors(fset, file) {
				t.Errorf("%s: %s; call the error's constructor in internal/awserr (add one there if it is new)", bad.pos, bad.what)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d files", checked)
	}
}

type finding struct {
	pos  token.Position
	what string
}

// inlineErrors returns the places in file that build an awserr.Error
// without a constructor.
func inlineErrors(fset *token.FileSet, file *ast.File) []finding {
	local := ""
	for _, imp := range file.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == awserrPath {
			local = "awserr"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" || local == "_" {
		return nil
	}
	// isAwserr reports whether e is awserr.<name>.
	isAwserr := func(e ast.Expr, name string) bool {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != name {
			return false
		}
		id, ok := sel.X.(*ast.Ident)
		return ok && id.Name == local
	}
	var out []finding
	add := func(n ast.Node, what string) { out = append(out, finding{fset.Position(n.Pos()), what}) }
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			switch {
			case isAwserr(n.Fun, "New"):
				add(n, "calls awserr.New")
			case isAwserr(n.Fun, "Code"):
				add(n, "makes an awserr.Code from a string")
			case len(n.Args) == 1 && isIdent(n.Fun, "new") && isAwserr(n.Args[0], "Error"):
				add(n, "allocates an awserr.Error")
			}
		case *ast.CompositeLit:
			if isAwserr(n.Type, "Error") {
				add(n, "writes an awserr.Error literal")
			}
		}
		return true
	})
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// TestInlineErrorsFinds keeps the check honest: every way of building an
// error inline is found, under an alias too, and constructors are not.
func TestInlineErrorsFinds(t *testing.T) {
	src := `package p

import (
	"errors"
	ae "` + awserrPath + `"
)

var (
	a = ae.New(ae.InvalidParameter, "inline text")
	b = &ae.Error{Code: ae.Validation, Message: "inline"}
	c = ae.Error{}
	d = new(ae.Error)
	e = ae.New(ae.Code("MadeUpException"), "x")
	ok1 = ae.GroupNotFound()
	ok2 = ae.MutuallyExclusive("a", "b")
	ok3 = errors.New("not an AWS error")
)
`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range inlineErrors(fset, file) {
		got = append(got, strconv.Itoa(f.pos.Line)+": "+f.what)
	}
	want := []string{
		"9: calls awserr.New",
		"10: writes an awserr.Error literal",
		"11: writes an awserr.Error literal",
		"12: allocates an awserr.Error",
		"13: calls awserr.New",
		"13: makes an awserr.Code from a string",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNoGenericConstructor fails when awserr exports a function that takes a
// Code: such a function (a New(code, format, ...)) would let any package
// write its own text under any code, around the table of constructors.
func TestNoGenericConstructor(t *testing.T) {
	found := false
	for _, p := range listPackages(t) {
		if p.ImportPath == "internal/awserr" {
			found = true
			for _, f := range p.GoFiles {
				fset := token.NewFileSet()
				file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, bad := range codeTakers(fset, file) {
					t.Errorf("%s: awserr exports %s, which takes a Code; export a constructor per error instead", bad.pos, bad.what)
				}
			}
		}
	}
	if !found {
		t.Fatal("internal/awserr not listed")
	}
}

// codeTakers returns the exported functions of file (not methods) that
// return an *Error and have a parameter of type Code (Is, which takes a Code
// to compare, builds nothing).
func codeTakers(fset *token.FileSet, file *ast.File) []finding {
	var out []finding
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || !fn.Name.IsExported() || !returnsError(fn) {
			continue
		}
		for _, p := range fn.Type.Params.List {
			if isIdent(p.Type, "Code") {
				out = append(out, finding{fset.Position(fn.Pos()), fn.Name.Name})
				break
			}
		}
	}
	return out
}

func returnsError(fn *ast.FuncDecl) bool {
	if fn.Type.Results == nil {
		return false
	}
	for _, r := range fn.Type.Results.List {
		if star, ok := r.Type.(*ast.StarExpr); ok && isIdent(star.X, "Error") {
			return true
		}
	}
	return false
}

// TestCodeTakersFinds keeps TestNoGenericConstructor honest.
func TestCodeTakersFinds(t *testing.T) {
	src := `package awserr

func New(code Code, format string, args ...any) *Error { return nil }
func newError(code Code, format string) *Error      { return nil }
func GroupNotFound() *Error                         { return nil }
func Is(err error, code Code) bool                  { return false }
func (c Code) Status() int                          { return 0 }
`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := codeTakers(fset, file)
	if len(got) != 1 || got[0].what != "New" || got[0].pos.Line != 3 {
		t.Errorf("found %+v, want only New on line 3", got)
	}
}
