"""How the `ukern` command reads its command line: argparse, with two conventions added.

  - A mistake in the command line is one line on stderr and exit status 2, naming the
    command and where to look:  `ukern run: argument --swap: bad size 'BANANA' ... (ukern run --help)`.
    A mistake found later (a file that is not there, a port in use) is a CommandError:
    one line and exit status 1.
  - An option made with add_optional_value (`--strace`, `--strace=PID`) takes a value
    only when it is attached with '=': `ukern run --strace prog` must not take `prog`
    for the value.  argparse alone would, so a bare `--strace` before the program is
    rewritten to `--strace=CONST` before parsing (the program's own arguments are
    never touched).  An option that says which words can be its values (`joins`) also
    takes the next word when it is one: `--faults walk` is `--faults=walk`.
"""

import argparse


class CommandError(Exception):
    """A mistake found while carrying out a command: cli.main prints it as one line."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault('allow_abbrev', False)     # `--strac prog` must not be `--strace=prog`
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f'{self.prog}: {message} ({self.prog} --help)\n')

    def parse_known_args(self, args=None, namespace=None):
        if args is not None:
            args = self._attach_bare_values(list(args))
        return super().parse_known_args(args, namespace)

    def _attach_bare_values(self, args: list[str]) -> list[str]:
        """`--strace` -> `--strace=CONST` for optional-value options met before the first
        positional argument (the options' own values are skipped over)."""
        out, i = [], 0
        while i < len(args):
            token = args[i]
            action = self._option_string_actions.get(token)
            if token == '--' or (not token.startswith('-') or token == '-'):
                return out + args[i:]                  # the first positional: leave the rest
            if action is not None and getattr(action, 'attached_only', False):
                joins = getattr(action, 'joins', None)
                if joins is not None and i + 1 < len(args) and joins(args[i + 1]):
                    out.append(f'{token}={args[i + 1]}')   # a word that can only be its value
                    i += 1
                else:
                    out.append(f'{token}={action.const}')
            else:
                out.append(token)
                takes = action.nargs if action is not None else 0
                if action is not None and takes is None and i + 1 < len(args):
                    out.append(args[i + 1])            # the option's value, whatever it looks like
                    i += 1
            i += 1
        return out


def add_optional_value(group, *names: str, const: str, joins=None, **kwargs) -> argparse.Action:
    """An option given bare (the value `const`) or as NAME=VALUE; as NAME VALUE only when
    `joins(VALUE)` says the word is one of its values."""
    action = group.add_argument(*names, nargs='?', const=const, **kwargs)
    action.attached_only = True
    action.joins = joins
    return action


def int_between(low: int, high: int):
    """An argparse type: a whole number from low to high."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f'{text!r}: expected a number from {low} to {high}')
        return value
    return parse
