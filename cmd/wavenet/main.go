package main

import (
	"os"

	"github.com/wavenet-go/wavenet/cmd/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
