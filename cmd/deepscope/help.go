package main

import "fmt"

// runHelp prints the usage, or one command's synopsis and flags.
func runHelp(c *cli, args []string) error {
	switch len(args) {
	case 0:
		usage(c.stdout)
		return nil
	case 1:
		cmd := lookup(args[0])
		if cmd == nil {
			return fmt.Errorf("help: unknown command %q (see 'deepscope help')", args[0])
		}
		if cmd.name == "help" {
			usage(c.stdout)
			return nil
		}
		return cmd.run(c, []string{"-h"})
	}
	return fmt.Errorf("help: want at most one COMMAND, got %d arguments", len(args))
}
