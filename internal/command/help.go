package command

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/strongbox/strongbox/internal/command/format"
)

// printHelp writes Vault-style help for cmd: usage, description, examples,
// subcommands, and flags in sections, spelled with a single dash.
func printHelp(w io.Writer, cmd *cobra.Command) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n", cmd.UseLine())
	if long := strings.TrimSpace(cmd.Long); long != "" {
		b.WriteString("\n")
		b.WriteString(indent(long, "  "))
		b.WriteString("\n")
	} else if cmd.Short != "" {
		fmt.Fprintf(&b, "\n  %s\n", cmd.Short)
	}
	if ex := strings.Trim(cmd.Example, "\n"); ex != "" {
		b.WriteString("\nExamples:\n\n")
		b.WriteString(indent(ex, "  "))
		b.WriteString("\n")
	}
	if subs := visibleCommands(cmd); len(subs) > 0 {
		b.WriteString("\nSubcommands:\n")
		width := 0
		for _, c := range subs {
			width = max(width, len(c.Name()))
		}
		for _, c := range subs {
			fmt.Fprintf(&b, "    %-*s    %s\n", width, c.Name(), c.Short)
		}
	}
	if cmd.Annotations[groupMarker] != "true" || !cmd.HasParent() {
		groups := map[string][]*pflag.Flag{}
		collect := func(fs *pflag.FlagSet) {
			fs.VisitAll(func(f *pflag.Flag) {
				// cobra's own -help, and -version on the root only.
				if f.Hidden || f.Name == "help" || (f.Name == "version" && !cmd.HasParent()) {
					return
				}
				g := groupCommand
				if v := f.Annotations[groupAnnotation]; len(v) > 0 {
					g = v[0]
				}
				groups[g] = append(groups[g], f)
			})
		}
		collect(cmd.LocalFlags())
		collect(cmd.InheritedFlags())
		for _, g := range []string{groupCommand, groupOutput, groupHTTP} {
			if len(groups[g]) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n%s:\n", g)
			for _, f := range groups[g] {
				b.WriteString("\n")
				b.WriteString(flagHelp(f))
			}
		}
	}
	if !cmd.HasParent() {
		b.WriteString("\nEnvironment Variables:\n\n")
		b.WriteString(indent(format.WrapAtLength(
			"Each variable also has a STRONGBOX_ alias (STRONGBOX_ADDR for VAULT_ADDR, "+
				"STRONGBOX_TOKEN for VAULT_TOKEN, …). When both are set, the VAULT_ one wins. "+
				"A flag given on the command line overrides both."), "  "))
		b.WriteString("\n")
		for _, e := range envDocs() {
			fmt.Fprintf(&b, "\n  %s (%s)\n%s\n", e.name, aliasOf(e.name), format.WrapWithPadding(e.usage, 6))
		}
	}
	fmt.Fprint(w, b.String())
}

func visibleCommands(cmd *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			out = append(out, c)
		}
	}
	return out
}

// flagHelp renders one flag: "  -name=<type>" and its wrapped usage.
func flagHelp(f *pflag.Flag) string {
	head := "  -" + f.Name
	if f.Value.Type() != "bool" {
		head += "=<" + flagTypeName(f.Value.Type()) + ">"
	}
	usage := f.Usage
	switch def := f.DefValue; {
	case def == "" || def == "false" || def == "0" || def == "-1" || def == "[]":
	case f.Value.Type() == "stringArray" || strings.Contains(strings.ToLower(usage), "the default"):
	default:
		usage += fmt.Sprintf(" The default is %s.", def)
	}
	if f.Value.Type() == "stringArray" || f.Value.Type() == "key=value" {
		if !strings.Contains(usage, "Repeatable") {
			usage += " This can be specified multiple times."
		}
	}
	return head + "\n" + format.WrapWithPadding(usage, 6) + "\n"
}

func flagTypeName(t string) string {
	switch t {
	case "stringArray":
		return "string"
	}
	return t
}

func indent(s, pad string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}
