// Command reglock keeps domain names locked (or deliberately unlocked) at
// their registrars: an HTTP API and CLI for producers, asynq workers that
// carry out each change, and a scheduler that sweeps for drift.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
