package command

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// normaliseArgs lets Vault's single-dash long flags through cobra/pflag:
// "-key-shares=5" and "-format json" become "--key-shares=5" and
// "--format json" when the name is a long flag of the command being run
// (pflag would otherwise read "-k…" as shorthand flags). Anything else is
// left alone: "-" (stdin), negative numbers, unknown names (pflag then
// reports them), and everything after "--".
func normaliseArgs(root *cobra.Command, args []string) []string {
	cmd := findCommand(root, args)
	out := make([]string, 0, len(args))
	for i, arg := range args {
		if arg == "--" {
			out = append(out, args[i:]...)
			break
		}
		if len(arg) > 2 && arg[0] == '-' && arg[1] != '-' {
			name, _, _ := strings.Cut(arg[1:], "=")
			if isLongFlag(cmd, name) {
				arg = "-" + arg
			}
		}
		out = append(out, arg)
	}
	return out
}

// findCommand walks args from root down through subcommand names, skipping
// flags (and the separate value of a known non-boolean flag).
func findCommand(root *cobra.Command, args []string) *cobra.Command {
	cmd := root
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		if strings.HasPrefix(arg, "-") && arg != "-" {
			name := strings.TrimLeft(arg, "-")
			if !strings.Contains(name, "=") {
				if f := lookupFlag(cmd, name); f != nil && f.NoOptDefVal == "" {
					i++
				}
			}
			continue
		}
		next := subcommand(cmd, arg)
		if next == nil {
			break
		}
		cmd = next
	}
	return cmd
}

func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// lookupFlag finds a long flag visible to cmd: its own, its persistent ones
// and those inherited from parents.
func lookupFlag(cmd *cobra.Command, name string) *pflag.Flag {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	if f := cmd.PersistentFlags().Lookup(name); f != nil {
		return f
	}
	return cmd.InheritedFlags().Lookup(name)
}

// isLongFlag reports whether name is a long flag of cmd, counting the help
// and version flags cobra adds only when it runs.
func isLongFlag(cmd *cobra.Command, name string) bool {
	if lookupFlag(cmd, name) != nil {
		return true
	}
	switch name {
	case "help":
		return true
	case "version":
		return !cmd.HasParent()
	}
	return false
}
