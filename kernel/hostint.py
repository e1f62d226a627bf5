"""Ctrl-C on the host while the machine runs (`ukern run` and `ukern boot`).

On a terminal in raw mode Ctrl-C is a key: the console's line discipline turns it into
SIGINT for the guest's foreground job.  Otherwise (input from a pipe or a file) the host's
terminal sends ukern itself a SIGINT, and this module passes it on the same way:

  - the first SIGINT goes to the guest's foreground job (kernel.host_signal), which
    usually ends the program, and with it the run (exit status 130, as in a shell);
  - a second one asks the kernel to stop (kernel.stop_requested): run() returns, the
    disks are written back, and ukern ends with one line;
  - a third ends ukern at once (KeyboardInterrupt), for a kernel that does not listen;
    so does the first under --gdb, when ukern mostly waits for gdb on a socket.

Python runs a signal handler only between bytecodes of the main thread, and a guest that
only computes keeps that thread inside Unicorn.  So the C-level handler's wakeup byte
(signal.set_wakeup_fd) is read by a watcher thread that stops the CPU (cpu.interrupt)
until the handler has run; the handler also wakes the console if the kernel is blocked
waiting for host input (console.attention_fd).  Host time decides when the signal
lands, so a run with a host Ctrl-C is not repeatable (a typed ^C under `--input` is).
"""

import os
import signal
import threading
import time

RETRY_SECONDS = 0.02       # how often the watcher stops the CPU until the handler has run


class HostInterrupts:
    """A context manager: SIGINT handled as above while the kernel runs inside it."""

    def __init__(self, kernel, gate=None):
        """gate: a recorder or replayer (trace/record.py), which takes the signals at the
        kernel's next input point; slices are bounded by instructions then, so the CPU is
        never stopped from outside (that would make the run unrepeatable)."""
        self.kernel = kernel
        self.gate = gate
        self.count = 0                     # SIGINTs the Python handler has seen
        self._closing = False
        self.active = threading.current_thread() is threading.main_thread()

    @property
    def stopped(self) -> bool:
        """Did a second Ctrl-C stop the run?"""
        return self.count >= 2

    def __enter__(self):
        if not self.active:
            return self
        self._wake_r, self._wake_w = os.pipe()
        self._attention_r, self._attention_w = os.pipe()
        for fd in (self._wake_w, self._attention_r, self._attention_w):
            os.set_blocking(fd, False)
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        self._old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        self.kernel.machine.console.attention_fd = self._attention_r
        self._watcher = threading.Thread(target=self._watch, name='ukern-sigint', daemon=True)
        self._watcher.start()
        return self

    def __exit__(self, *exc):
        if not self.active:
            return False
        self._closing = True
        signal.signal(signal.SIGINT, self._old_handler)
        signal.set_wakeup_fd(self._old_wakeup)
        self.kernel.machine.console.attention_fd = None
        os.close(self._wake_w)                  # the watcher reads end of file and ends
        self._watcher.join(timeout=1)
        for fd in (self._wake_r, self._attention_r, self._attention_w):
            os.close(fd)
        return False

    def _on_sigint(self, signum, frame) -> None:
        """The Python-level handler (main thread, between any two bytecodes): it only
        queues, so the kernel's state is never touched half-way."""
        self.count += 1
        if self.kernel.debugger is not None:
            raise KeyboardInterrupt             # waiting on gdb (a socket): end ukern now
        if self.count == 1:
            (self.gate or self.kernel).host_signal(signal.SIGINT)
        elif self.count == 2:
            if self.gate is not None:
                self.gate.request_stop()
            else:
                self.kernel.stop_requested = True
        else:
            raise KeyboardInterrupt
        try:
            os.write(self._attention_w, b'!')
        except BlockingIOError:
            pass

    def _watch(self) -> None:
        """Each wakeup byte is a signal: stop the CPU until the handler has run."""
        seen = 0
        while True:
            try:
                data = os.read(self._wake_r, 64)
            except OSError:
                return
            if not data:
                return
            seen += data.count(signal.SIGINT)
            while self.gate is None and not self._closing and self.count < 3 and (
                    self.count < seen or self.kernel.host_signals or self.kernel.stop_requested):
                try:                                # (the handler may run inside a system
                    self.kernel.cpu.interrupt()     # call, and the guest compute on after it)
                except Exception:
                    return                          # the machine is gone: nothing to stop
                time.sleep(RETRY_SECONDS)
