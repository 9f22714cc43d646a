package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// files maps each generated file to the function that writes it.
var files = []struct {
	name string
	gen  func(*asm)
}{
	{"elem", elemFile},
	{"gemm", gemmFile},
	{"matvec", matvecFile},
	{"packed", packedFile},
	{"q8", q8File},
}

func main() {
	out := flag.String("out", ".", "directory to write the NAME_amd64.s files to")
	flag.Parse()
	want := map[string]bool{}
	for _, a := range flag.Args() {
		want[a] = true
	}
	for _, f := range files {
		if len(want) > 0 && !want[f.name] {
			continue
		}
		delete(want, f.name)
		path := filepath.Join(*out, fileName(f.name))
		if err := os.WriteFile(path, generate(f.gen), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "asmgen:", err)
			os.Exit(1)
		}
	}
	for name := range want {
		fmt.Fprintf(os.Stderr, "asmgen: unknown file %q\n", name)
		os.Exit(2)
	}
}

// fileName is the assembly file written for a generator name.
func fileName(name string) string { return name + "_amd64.s" }

// generate returns the text one generator writes.
func generate(gen func(*asm)) []byte {
	a := newAsm()
	gen(a)
	return a.bytes()
}
