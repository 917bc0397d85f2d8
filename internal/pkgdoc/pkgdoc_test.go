package pkgdoc

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackageDocs(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "sdk") {
			return filepath.SkipDir
		}
		// Each non-test Go file's package clause and doc comment, by
		// package (parser.ParseDir is deprecated).
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		documented := map[string]bool{}
		fset := token.NewFileSet()
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(path, e.Name()), nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				return err
			}
			pname := f.Name.Name
			documented[pname] = documented[pname] || (f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "")
		}
		for pname, documented := range documented {
			checked++
			if !documented {
				t.Errorf("package %s (%s) has no doc comment", pname, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages; is the walk rooted right?", checked)
	}
}
