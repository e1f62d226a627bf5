"""pdb for a failing grading test: `make grade LAB=NAME PDB=1` (labs/grade.py --pdb), and
for a kernel bug while a lab is active: `ukern lab run --pdb run PROGRAM` (on_kernel_bug).

The grader runs the tests one at a time on the student's terminal and, at the first test
that fails, opens pdb on the exception where it was raised: at the innermost frame of the
student's own code when the exception came through it, else where it was raised (a kernel
assertion your code's state tripped, or the grader's failed check).  Besides pdb's own
commands (where, up, down, list, p, pp, interact, q):

    guest          the current process and its page tables (the pgtbl lab's vmprint format):
                   the running process of the kernel the test booted last, else a process,
                   address space or kernel found in the frames from here out
    guest EXPR     the same for the Process, AddressSpace or Kernel that EXPR evaluates to
    code           the student's functions the lab put in the kernel and how often each ran
"""

from __future__ import annotations

import os
import pdb
import sys


def _guest_object(value):
    """value if it is a Kernel, a Process or an AddressSpace, else None."""
    if hasattr(value, 'procs') and hasattr(value, 'frames'):
        return value
    if hasattr(value, 'aspace') and hasattr(value, 'pid'):
        return value
    if hasattr(value, 'pt') and hasattr(value, 'regions'):
        return value
    return None


class GradePdb(pdb.Pdb):
    """pdb with the commands `guest` and `code`."""
    kernel = None                     # the kernel to show (default: the test's last booted)

    def do_guest(self, arg):
        """guest [EXPR]: print a process and its page tables (EXPR: a Process, an
        AddressSpace or a Kernel; default: the nearest in the frames, else the kernel)."""
        import gradelib
        target = None
        if arg.strip():
            try:
                target = eval(arg, self.curframe.f_globals, self.curframe_locals)
            except Exception as e:                  # noqa: BLE001 -- a typo at the prompt
                self.error(f'{type(e).__name__}: {e}')
                return
        else:
            kernel = self.kernel or gradelib.latest_kernel()
            if (kernel is not None and kernel.current is not None
                    and kernel.current.tgid not in kernel.daemons):     # (not the kernel's servers)
                target = kernel.current
            frames = [] if target is not None else [f for f, _ in self.stack[:self.curindex + 1]]
            for frame in reversed(frames):
                names = self.curframe_locals if frame is self.curframe else frame.f_locals
                for name in ('p', 'proc', 'process', 'aspace', 'self', 'a', 'child', 'k', 'kernel'):
                    target = _guest_object(names.get(name))
                    if target is not None:
                        break
                if target is not None:
                    break
        gradelib.show_guest(target, out=self.stdout)

    def do_code(self, arg):
        """code: the student's code the lab put in the kernel, and how often it ran."""
        from kernel import labs
        self.message(labs.student_code())


def _student_index(stack, directory: str) -> int | None:
    mine = [i for i, (frame, _) in enumerate(stack)
            if frame.f_code.co_filename.startswith(directory + os.sep)]
    return mine[-1] if mine else None


def on_kernel_bug(kernel, bug: BaseException) -> None:
    """kernel.labs.on_kernel_bug under `ukern lab run --pdb`: pdb on the first bug, before
    the kernel contains it (kills the process) or raises it."""
    from kernel import labs
    labs.on_kernel_bug = None                 # the first bug only: the others follow from it
    which = labs._active
    directory = str(which[1]) if which else ''
    result = {'what': f'kernel bug while serving pid {getattr(kernel.current, "pid", "?")}',
              'expected': 'no exception', 'got': f'{type(bug).__name__}: {bug}'.splitlines()[0][:300]}
    import traceback
    mine = [f for f in traceback.extract_tb(bug.__traceback__)
            if directory and f.filename.startswith(directory + os.sep)]
    if mine:
        result['where'] = f'{mine[-1].filename.rsplit(os.sep, 1)[-1]} line {mine[-1].lineno}, in {mine[-1].name}'
    post_mortem(bug, directory, result, kernel)


def post_mortem(e: BaseException, directory: str, result: dict, kernel=None) -> None:
    """pdb on `e`'s traceback, at the student's innermost frame if it is there."""
    print(f'\n*** {result["what"]}\n    expected: {result["expected"]}\n    got:      {result["got"]}')
    if result.get('where'):
        print(f'    raised in {result["where"]}')
    print("*** pdb: `guest` prints the current process and its page tables, `code` your "
          "code's calls, `where`/`up`/`down` move, `q` leaves pdb")
    sys.stdout.flush()
    debugger = GradePdb()
    debugger.kernel = kernel
    debugger.reset()
    tb = e.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    stack, _ = debugger.get_stack(tb.tb_frame, e.__traceback__)
    at = _student_index(stack, directory) if directory else None
    if at is not None and at != len(stack) - 1:
        print(f'*** stopped in your code, {len(stack) - 1 - at} frame(s) above where it was raised')
    debugger.setup(tb.tb_frame, e.__traceback__)
    if at is not None:
        debugger.curindex = at
        debugger.curframe = stack[at][0]
        debugger.curframe_locals = debugger.curframe.f_locals
    try:
        debugger.print_stack_entry(debugger.stack[debugger.curindex])
        debugger.cmdloop()
    except (KeyboardInterrupt, EOFError):
        pass
    debugger.forget()
