package main

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is the import path prefix of this repository's packages.
const module = "github.com/wavenet-go/wavenet/"

// layoutRow matches a row of the README's layout table:
// "| 3 | `wavenet` | what it owns |".
var layoutRow = regexp.MustCompile("^\\| *([0-9]+) *\\| *`([a-z0-9/]+)` *\\|")

// readLayout returns the row of every package the README's layout table
// lists, by directory.
func readLayout(t *testing.T, readme string) map[string]int {
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := layoutRow.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r, _ := strconv.Atoi(m[1])
		if _, dup := rows[m[2]]; dup {
			t.Errorf("README layout lists %s twice", m[2])
		}
		rows[m[2]] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("README has no layout table rows (| row | `package` | owns |)")
	}
	return rows
}

// packageImports returns, by directory relative to root, the project
// packages that the non-test Go files of each package import.
func packageImports(t *testing.T, root string) map[string][]string {
	imports := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		dir = filepath.ToSlash(dir)
		if _, ok := imports[dir]; !ok {
			imports[dir] = nil
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(p, module); ok && !slices.Contains(imports[dir], rest) {
				imports[dir] = append(imports[dir], rest)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return imports
}

// TestLayout checks the README's layout section against the tree: every
// package is listed, nothing listed is missing, and a package imports only
// packages on lower rows (tests may import anything).
func TestLayout(t *testing.T) {
	root := filepath.Join("..", "..")
	rows := readLayout(t, filepath.Join(root, "README.md"))
	imports := packageImports(t, root)
	for dir := range rows {
		if _, ok := imports[dir]; !ok {
			t.Errorf("README layout lists %s, which is not a package with non-test Go files", dir)
		}
	}
	for dir, imps := range imports {
		r, ok := rows[dir]
		if !ok {
			t.Errorf("package %s is missing from the README's layout table", dir)
			continue
		}
		for _, imp := range imps {
			ri, ok := rows[imp]
			if ok && ri >= r {
				t.Errorf("%s (row %d) imports %s (row %d); a package may import only packages on lower rows", dir, r, imp, ri)
			}
		}
	}
}
