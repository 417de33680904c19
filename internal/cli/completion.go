package cli

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// runCompletion prints a shell completion script for bash, zsh or fish:
//
//	source <(cairn completion bash)            # ~/.bashrc
//	cairn completion zsh > "${fpath[1]}/_cairn"
//	cairn completion fish > ~/.config/fish/completions/cairn.fish
//
// The flags in the script are read from each command's own -h output when
// the script is generated, so they never drift from the binary.
func runCompletion(env Env, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(env.Stderr, "usage: cairn completion bash|zsh|fish")
		return 2
	}
	spec := completionSpec()
	var out string
	switch args[0] {
	case "bash":
		out = bashCompletion(spec)
	case "zsh":
		out = zshCompletion(spec)
	case "fish":
		out = fishCompletion(spec)
	default:
		fmt.Fprintf(env.Stderr, "cairn completion: %q: give bash, zsh or fish\n", args[0])
		return 2
	}
	fmt.Fprint(env.Stdout, out)
	return 0
}

// completionCommand is one command (or `logs` subcommand) and its flags.
type completionCommand struct {
	name    string
	summary string
	flags   []string
	subs    []completionCommand
}

var flagLine = regexp.MustCompile(`(?m)^\s+--?([A-Za-z0-9][A-Za-z0-9-]*)`)

// helpFlags runs a command with -h and collects the flags its usage lists.
func helpFlags(args ...string) []string {
	var buf bytes.Buffer
	Run(Env{Stdin: strings.NewReader(""), Stdout: &buf, Stderr: &buf, Getenv: func(string) string { return "" }}, append(args, "-h"))
	seen := map[string]bool{}
	var out []string
	for _, m := range flagLine.FindAllStringSubmatch(buf.String(), -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, "--"+m[1])
		}
	}
	sort.Strings(out)
	return out
}

func completionSpec() []completionCommand {
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []completionCommand
	for _, n := range names {
		c := completionCommand{name: n, summary: cmds[n].summary}
		switch n {
		case "logs":
			subs := logsCommands()
			var sn []string
			for s := range subs {
				sn = append(sn, s)
			}
			sort.Strings(sn)
			for _, s := range sn {
				summary, _, _ := strings.Cut(subs[s].synopsis, "\n")
				c.subs = append(c.subs, completionCommand{name: s, summary: summary, flags: helpFlags("logs", s)})
			}
		case "completion":
			c.subs = []completionCommand{{name: "bash"}, {name: "zsh"}, {name: "fish"}}
		case "version":
		default:
			c.flags = helpFlags(n)
		}
		out = append(out, c)
	}
	return out
}

func bashCompletion(spec []completionCommand) string {
	var b strings.Builder
	b.WriteString("# bash completion for cairn: source <(cairn completion bash)\n_cairn() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} sub=${COMP_WORDS[2]} words=\"\"\n")
	b.WriteString("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    words=\"")
	for i, c := range spec {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.name)
	}
	b.WriteString(" --version\"\n  else\n    case \"$cmd\" in\n")
	for _, c := range spec {
		if len(c.subs) > 0 {
			fmt.Fprintf(&b, "    %s)\n      if [ \"$COMP_CWORD\" -eq 2 ]; then words=%q; else\n        case \"$sub\" in\n", c.name, subNames(c))
			for _, s := range c.subs {
				fmt.Fprintf(&b, "        %s) words=%q ;;\n", s.name, strings.Join(s.flags, " "))
			}
			b.WriteString("        esac\n      fi ;;\n")
			continue
		}
		fmt.Fprintf(&b, "    %s) words=%q ;;\n", c.name, strings.Join(c.flags, " "))
	}
	b.WriteString("    esac\n  fi\n  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n  case \"$cur\" in -*) ;; *) [ \"$COMP_CWORD\" -gt 1 ] && COMPREPLY+=($(compgen -f -- \"$cur\")) ;; esac\n}\ncomplete -F _cairn cairn\n")
	return b.String()
}

func zshCompletion(spec []completionCommand) string {
	var b strings.Builder
	b.WriteString("#compdef cairn\n# zsh completion for cairn: cairn completion zsh > \"${fpath[1]}/_cairn\"\n_cairn() {\n  local -a cmds\n  if (( CURRENT == 2 )); then\n    cmds=(\n")
	for _, c := range spec {
		fmt.Fprintf(&b, "      %s\n", zshQuote(c.name+":"+c.summary))
	}
	b.WriteString("    )\n    _describe command cmds\n    return\n  fi\n  case $words[2] in\n")
	for _, c := range spec {
		if len(c.subs) > 0 {
			fmt.Fprintf(&b, "    %s)\n      if (( CURRENT == 3 )); then compadd -- %s; return; fi\n      case $words[3] in\n", c.name, subNames(c))
			for _, s := range c.subs {
				fmt.Fprintf(&b, "        %s) compadd -- %s ;;\n", s.name, strings.Join(s.flags, " "))
			}
			b.WriteString("      esac ;;\n")
			continue
		}
		fmt.Fprintf(&b, "    %s) [[ $PREFIX == -* ]] && compadd -- %s || _files ;;\n", c.name, strings.Join(c.flags, " "))
	}
	b.WriteString("  esac\n}\ncompdef _cairn cairn\n")
	return b.String()
}

func fishCompletion(spec []completionCommand) string {
	var b strings.Builder
	b.WriteString("# fish completion for cairn: cairn completion fish > ~/.config/fish/completions/cairn.fish\n")
	var top []string
	for _, c := range spec {
		top = append(top, c.name)
	}
	all := strings.Join(top, " ")
	for _, c := range spec {
		fmt.Fprintf(&b, "complete -c cairn -f -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", all, c.name, fishQuote(c.summary))
		if len(c.subs) > 0 {
			for _, s := range c.subs {
				fmt.Fprintf(&b, "complete -c cairn -f -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %s -d %s\n", c.name, subNames(c), s.name, fishQuote(s.summary))
				for _, f := range s.flags {
					fmt.Fprintf(&b, "complete -c cairn -n '__fish_seen_subcommand_from %s; and __fish_seen_subcommand_from %s' -l %s\n", c.name, s.name, strings.TrimPrefix(f, "--"))
				}
			}
			continue
		}
		for _, f := range c.flags {
			fmt.Fprintf(&b, "complete -c cairn -n '__fish_seen_subcommand_from %s' -l %s\n", c.name, strings.TrimPrefix(f, "--"))
		}
	}
	return b.String()
}

func subNames(c completionCommand) string {
	var n []string
	for _, s := range c.subs {
		n = append(n, s.name)
	}
	return strings.Join(n, " ")
}

func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
