"""`python -m kernel` is the `ukern` command; the console script `ukern` calls main() here too.

Importing the kernel makes tens of thousands of objects (code, classes, tables) that live
as long as the process.  Python's cyclic collector would walk them again and again while
they are being made, then on every collection during the run and once more at exit: about
a fifth of `ukern run hello`, for nothing.  So it rests during the imports, and what they
made is then set aside for good (gc.freeze: never scanned again); what the run itself makes
is collected as usual.  This is done here, where the process is surely the command, and
not in kernel.cli, which tests import into processes whose garbage must stay collectable.
"""
import gc
import sys


def main() -> int:
    collecting = gc.isenabled()
    gc.disable()
    from .cli import main as command
    gc.freeze()
    if collecting:
        gc.enable()
    return command()


if __name__ == '__main__':
    sys.exit(main())
