package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
)

// Shell completion: bash and zsh ask chaosctl itself for the words that
// fit, with urfave/cli's --generate-bash-completion as the last argument
// (the command words so far before it: commands, subcommands, or flags
// when the word being completed starts with "-"); where it has nothing
// to offer, the shell completes file names. fish gets a static script of
// every command and flag, generated from the same command tree.

// bashCompletion is `chaosctl completion bash`.
const bashCompletion = `# bash completion for chaosctl
# load it in this shell:   source <(chaosctl completion bash)
# or for every shell:      chaosctl completion bash > ~/.local/share/bash-completion/completions/chaosctl
_chaosctl_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=()
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  return 0
}
complete -o bashdefault -o default -F _chaosctl_complete chaosctl
`

// zshCompletion is `chaosctl completion zsh`.
const zshCompletion = `#compdef chaosctl
# zsh completion for chaosctl
# load it in this shell:   source <(chaosctl completion zsh)
# or put it on $fpath as _chaosctl
_chaosctl() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
if [[ "${funcstack[1]}" == "_chaosctl" ]]; then
  _chaosctl "$@"
else
  compdef _chaosctl chaosctl
fi
`

func completionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "Prints a script that completes chaosctl's commands, subcommands and flags (and\n" +
			"file names where a command takes files):\n\n" +
			"   source <(chaosctl completion bash)     # bash, in ~/.bashrc\n" +
			"   source <(chaosctl completion zsh)      # zsh, in ~/.zshrc\n" +
			"   chaosctl completion fish > ~/.config/fish/completions/chaosctl.fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError(errors.New("completion takes one shell: chaosctl completion bash|zsh|fish"))
			}
			switch shell := c.Args().First(); shell {
			case "bash":
				_, err := fmt.Fprint(e.stdout, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(e.stdout, zshCompletion)
				return err
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return fmt.Errorf("generate the fish script: %w", err)
				}
				_, err = fmt.Fprint(e.stdout, script)
				return err
			default:
				return usageError(fmt.Errorf("completion %q: allowed are bash, zsh, fish", shell))
			}
		},
	}
}
