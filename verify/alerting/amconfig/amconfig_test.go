package main

import (
	"context"
	"flag"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*/alertmanager.yaml from the rendering")

// Every testdata/<case>/dist renders to testdata/<case>/alertmanager.yaml, or fails with an
// error that contains the line of testdata/<case>/error.txt.
func TestFixtures(t *testing.T) {
	dists, err := filepath.Glob("testdata/*/dist")
	if err != nil || len(dists) == 0 {
		t.Fatalf("no testdata/*/dist (%v)", err)
	}
	for _, dist := range dists {
		dir := filepath.Dir(dist)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			o := options{dist: dist, version: defaultAlertmanagerVersion, stackNamespace: "monitoring"}
			out, err := render(context.Background(), o, slog.New(slog.DiscardHandler))

			if want, readErr := os.ReadFile(filepath.Join(dir, "error.txt")); readErr == nil {
				want := strings.TrimSpace(string(want))
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("want an error containing\n  %s\ngot %v", want, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(dir, "alertmanager.yaml")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if string(out) != string(want) {
				t.Errorf("the rendering differs from %s (go test -update rewrites it):\n%s", golden, out)
			}
		})
	}
}

// The declarations of operator.go are linked by name to unexported functions of the operator,
// which the compiler does not check: they must read exactly as in the operator's source.
func TestLinkedSignatures(t *testing.T) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus-operator/prometheus-operator").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	theirs := funcTypes(t, filepath.Join(strings.TrimSpace(string(dir)), "pkg", "alertmanager", "operator.go"))
	ours := funcTypes(t, "operator.go")
	if len(ours) != 2 {
		t.Fatalf("operator.go declares %d functions, want the 2 linked ones", len(ours))
	}
	for name, sig := range ours {
		if theirs[name] != sig {
			t.Errorf("%s: linked as\n  %s\nthe operator has\n  %s", name, sig, theirs[name])
		}
	}
}

// funcTypes maps each top-level function of file to its signature, as written (parameter names
// and import aliases included).
func funcTypes(t *testing.T, file string) map[string]string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, decl := range f.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil {
			var b strings.Builder
			if err := printer.Fprint(&b, fset, fn.Type); err != nil {
				t.Fatal(err)
			}
			out[fn.Name.Name] = b.String()
		}
	}
	return out
}
