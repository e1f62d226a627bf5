"""Programs people actually have, run as they run natively (issue: real programs run).

Debian's busybox-static, bash-static and e2fsck-static, and a Go program built here, each run
twice: natively on the host and under `ukern run`; what they print and how they exit must
match.  Busybox runs both with no disk (the host's tree through hostfs, the working directory
the host's) and from an ext2 disk (the same files under /data).  The programs are fetched and
built once and cached under build/realprogs/ (tests/realprogs.py).
"""

import shutil
from pathlib import Path

import pytest

from conftest import copy_image
from realprogs import clean_env, debian_program, go_program, native, under_ukern

INPUT = b"""the quick brown fox
jumps over the lazy dog
hello world
the end of the story
a line with 3 numbers 1 2
one more line here
"""
NUMBERS = b''.join(b'%d\n' % n for n in (42, 7, 1000, 3, 19, 256, 88, 5))
PASSWD = b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" \
         b"user:x:1000:1000:A User:/home/user:/bin/sh\n"

# Shell command lines run as `busybox sh -c LINE` in the data directory, natively and under
# ukern; each is one behaviour a user would try first.
BUSYBOX_LINES = [
    'echo a b c',
    "printf '%s-%d\\n' x 42",
    'cat input.txt',
    'wc input.txt',
    'wc -l < input.txt',
    'head -n 3 input.txt',
    'tail -n 2 input.txt',
    'sort input.txt',
    'sort -n numbers.txt',
    'sort -rn numbers.txt | head -n 3',
    'sort input.txt | uniq -c',
    'cut -d: -f1,7 passwd.txt',
    'tr a-z A-Z < input.txt',
    "sed -n '2,4p' input.txt",
    "sed 's/o/0/g' input.txt",
    "awk '{s+=$1} END {print s}' numbers.txt",
    "awk -F: '{print $3, $1}' passwd.txt",
    'grep -n fox input.txt',
    'grep -c the input.txt',
    'grep -v e input.txt; echo status $?',
    'grep nothing-here input.txt; echo status $?',
    'seq 1 10',
    'seq 5 -1 1',
    'expr 6 \\* 7',
    'basename /a/b/c.txt .txt; dirname /a/b/c.txt',
    'md5sum input.txt',
    'sha256sum input.txt numbers.txt',
    'sha1sum < input.txt',
    'od -c input.txt | head -n 2',
    'hexdump -C numbers.txt',
    'base64 input.txt',
    'xxd numbers.txt | head -n 2',
    'echo a b | wc -w',
    'yes | head -n 3',
    'ls',
    'ls -1 dir',
    "find . -name '*.txt' | sort",
    'cat input.txt | xargs -n 3 echo',
    'true; echo $?; false; echo $?',
    'test -f input.txt && echo file; test -d dir && echo dir; test -e nothing || echo none',
    '[ 3 -gt 2 ] && echo bigger',
    'factor 360 97 1001',
    'cmp input.txt input.txt && echo same; cmp -s input.txt numbers.txt || echo differ',
    'gzip -c input.txt | gunzip -c | md5sum',
    'tar cf - dir | tar tf - | sort',
    'busybox sleep 0.2 & wait; echo waited',
    'nl input.txt',
    'rev input.txt',
    'fold -w 10 input.txt',
    'paste numbers.txt numbers.txt | head -n 3',
    'tac input.txt',
    'dd if=/dev/zero bs=1024 count=4 2>/dev/null | wc -c',
    "stat -c '%s %F %n' input.txt dir",
    'f=$(mktemp) && cp input.txt $f && cmp input.txt $f && rm $f && echo copied',
    'd=$(mktemp -d) && mkdir -p $d/a/b && cd $d && ls -R && cd / && rm -r $d && echo cleaned',
    'id -u; id -g',
    'uname -m',
    'env -i A=1 B=2 env | sort',
    "sh -c 'exit 3'; echo $?",
    'echo $((3 * 7)) $((100 / 7)) $((100 % 7))',
    'for i in 1 2 3; do echo item $i; done',
    'x=5; while [ $x -gt 0 ]; do x=$((x - 1)); done; echo $x',
    'case abc in a*) echo match;; *) echo no;; esac',
    'echo "$(echo nested $(echo twice))"',
    'kill -0 $$ && echo alive',
    "trap 'echo caught' USR1; kill -USR1 $$; echo after",
    'timeout 1 sleep 0.1; echo $?',
    "printf 'b\\na\\nc\\n' | sort -r",
    'shuf -i 1-5 | sort -n',
    'cal 1 2000',
    'date -u -d @0',
    'echo hello > /dev/null; cat /dev/null; echo empty',
    'head -c 16 /dev/zero | od -An -tx1',
    'printf "x\\ty\\n" | expand',
    'read a b < input.txt; echo $b $a',
    'ls nothing-here 2>&1; echo $?',
    "echo 'a,b,c' | awk -F, '{print NF}'",
    'wc -c input.txt numbers.txt passwd.txt',
    'cat input.txt | while read line; do echo ${#line}; done',
    'echo abc | sed "s/b/B/" | tr a-c x-z',
    'f=$(mktemp) && cp input.txt $f && sort $f | head -n 1 && rm $f',
    'd=$(mktemp -d) && cp input.txt $d/i && ln -s i $d/l && head -n 1 $d/l && readlink $d/l && rm -r $d',
    'd=$(mktemp -d) && mkfifo $d/f && (echo through fifo > $d/f &) && cat $d/f; rm -r $d',
    'umask 027; umask',
    'exec 3<input.txt; read -r first <&3; echo $first; exec 3<&-',
    "set -- a 'b c' d; echo $#; for x in \"$@\"; do echo [$x]; done",
    'echo ${UNSET:-default} ${PATH:+path-set}; X=1 env | grep -c ^X=1',
    'strings numbers.txt | head -n 2',
    'du -a dir | wc -l',
]


@pytest.fixture(scope='module')
def busybox() -> Path:
    return debian_program('busybox-static', 'bin/busybox')


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp('data')
    (d / 'input.txt').write_bytes(INPUT)
    (d / 'numbers.txt').write_bytes(NUMBERS)
    (d / 'passwd.txt').write_bytes(PASSWD)
    (d / 'dir').mkdir()
    for name in ('alpha', 'beta', 'gamma'):
        (d / 'dir' / name).write_bytes(name.encode() * 10 + b'\n')
    return d


@pytest.fixture(scope='module')
def busybox_disk(busybox, data_dir, tmp_path_factory) -> Path:
    """An ext2 disk holding busybox as /bin/busybox and sh, and the data under /data."""
    from kernel.tools.mkdisk import make_disk
    root = tmp_path_factory.mktemp('bbroot')
    (root / 'bin').mkdir()
    shutil.copy(busybox, root / 'bin' / 'busybox')
    (root / 'tmp').mkdir()
    shutil.copytree(data_dir, root / 'data')
    image = tmp_path_factory.mktemp('bbdisk') / 'busybox.img'
    make_disk(image, root, 32 << 20)
    return image


def same(ours, theirs, what: str) -> None:
    assert (ours.status, ours.text) == (theirs.status, theirs.text), \
        f'{what}\nexpected (native): status {theirs.status}\n{theirs.text}\n' \
        f'got (ukern): status {ours.status}\n{ours.text}\nukern stderr:\n{ours.stderr.decode(errors="replace")}'


def with_busybox_on_path(busybox: Path) -> dict:
    env = clean_env()
    env['PATH'] = f'{busybox.parent}:{env["PATH"]}'
    return env


@pytest.mark.parametrize('line', BUSYBOX_LINES)
def test_busybox_runs_as_natively_without_a_disk(busybox, data_dir, line):
    env = with_busybox_on_path(busybox)
    expected = native([busybox, 'sh', '-c', line], cwd=data_dir, env=env)
    got = under_ukern([busybox, 'sh', '-c', line], cwd=data_dir, env=env)
    same(got, expected, f'busybox sh -c {line!r} (host tree, no disk)')


@pytest.mark.parametrize('line', BUSYBOX_LINES)
def test_busybox_runs_as_natively_from_a_disk(busybox, data_dir, busybox_disk, tmp_path, line):
    expected = native([busybox, 'sh', '-c', line], cwd=data_dir, env=with_busybox_on_path(busybox))
    image = copy_image(busybox_disk, tmp_path / 'disk.img')
    got = under_ukern(['/bin/busybox', 'sh', '-c', f'cd /data && {line}'], options=['--disk', image])
    same(got, expected, f'busybox sh -c {line!r} (ext2 disk)')


def test_busybox_ps_lists_the_processes(busybox, data_dir):
    got = under_ukern([busybox, 'sh', '-c', f'{busybox} sleep 1 & {busybox} usleep 100000; ps'], cwd=data_dir)
    assert got.status == 0, got.stderr
    header, *rows = got.text.splitlines()
    assert header.split()[:2] == ['PID', 'USER'], got.text
    assert any(row.split()[-2:] == ['sleep', '1'] for row in rows), got.text


# bash runs only its builtins here: the host's own programs on PATH are dynamically linked,
# which ukern refuses (ENOEXEC), as qemu-user without a sysroot would.
BASH_LINES = [
    'echo ${BASH_VERSINFO[0]}; declare -A m=([a]=1 [b]=2); echo ${m[b]}',
    'for ((i = 0; i < 3; i++)); do printf "%d " $i; done; echo',
    'f() { local x=$1; echo $((x * 2)); }; f 21',
    'a=(one two three); echo ${#a[@]} ${a[1]}; echo ${a[@]/o/0}',
    'x=hello; echo ${x^^} ${x:1:3} ${#x}',
    '[[ abc == a* ]] && echo glob; [[ 10 -gt 9 ]] && echo num',
    'while read -r w rest; do echo $w; done < input.txt | { mapfile -t w; echo ${#w[@]} ${w[0]}; }',
    'mapfile -t lines < input.txt; echo ${#lines[@]} "${lines[2]}"',
    'echo $(( 2 ** 10 )); printf "%05.1f\\n" 3.14159',
    'set -o pipefail; false | true; echo $?',
    'trap "echo bye" EXIT; echo hi',
    'coproc { read -r x; echo got $x; }; echo via coproc >&${COPROC[1]}; read -r l <&${COPROC[0]}; echo $l',
    '(exit 3) & pid=$!; wait $pid; echo waited $?',
]


@pytest.fixture(scope='module')
def bash() -> Path:
    return debian_program('bash-static', 'bin/bash-static')


@pytest.mark.parametrize('line', BASH_LINES)
def test_bash_runs_as_natively(bash, data_dir, line):
    expected = native([bash, '--norc', '-c', line], cwd=data_dir)
    got = under_ukern([bash, '--norc', '-c', line], cwd=data_dir)
    same(got, expected, f'bash -c {line!r}')


def test_e2fsck_checks_an_image_as_natively(master_image, tmp_path):
    from conftest import partition1
    e2fsck = debian_program('e2fsck-static', 'sbin/e2fsck.static')
    part = partition1(master_image, tmp_path / 'fs.img')
    expected = native([e2fsck, '-fn', part.name], cwd=tmp_path, merge_stderr=True)
    got = under_ukern([e2fsck, '-fn', part.name], cwd=tmp_path, merge_stderr=True)
    same(got, expected, 'e2fsck -fn fs.img')
    assert 'Pass 5' in got.text


def test_go_program_runs_goroutines_gc_and_preemption_as_natively(tmp_path):
    program = go_program('goroutines')
    expected = native([program], cwd=tmp_path)
    assert expected.status == 0 and expected.text.endswith('end\n'), expected.text
    got = under_ukern([program], cwd=tmp_path)
    same(got, expected, 'the Go program')
