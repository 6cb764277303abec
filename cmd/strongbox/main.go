// Command strongbox is the Strongbox server and CLI. All commands live in
// internal/command; this file only hands them the process's arguments and
// streams and exits with their code.
package main

import (
	"os"

	"github.com/strongbox/strongbox/internal/command"
)

func main() {
	os.Exit(command.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
