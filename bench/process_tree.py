"""Run a command and measure its whole process tree: wall time, CPU, peak memory.

One run happens in a forked child of the benchmark that is a child subreaper, so that:

- controller CPU is RUSAGE_CHILDREN of that child, which holds this command alone: the command,
  every process it forks and what outlives it (ssh's ControlPersist masters are orphans that
  come back to the subreaper, are ended after the command and reaped, so they count too);
- peak memory is read three ways: the kernel's peak for a memory cgroup (v1) holding the whole
  tree (memory.max_usage_in_bytes: each page once, anonymous memory, page tables and the page
  cache the tree created; files already cached are charged elsewhere); RSS summed over the
  tree, sampled every 50 ms from /proc/<pid>/statm (pages shared by forks count once per
  process, so this overstates); and the largest single process (ru_maxrss from wait4).
"""

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time

MEMORY_CGROUP = "/sys/fs/cgroup/memory"
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05
SETTLE_SECONDS = 0.5
COMMAND_TIMEOUT = 1800
PR_SET_CHILD_SUBREAPER = 36
MIB = 1024.0 * 1024.0


def children(pid):
    found = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                found.extend(int(p) for p in f.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def tree_rss(root):
    """RSS bytes summed over every process below `root` (shared pages once per process)."""
    total = 0
    todo = children(root)
    while todo:
        pid = todo.pop()
        todo.extend(children(pid))
        try:
            with open("/proc/%d/statm" % pid) as f:
                total += int(f.read().split()[1]) * PAGE
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


class Sampler(threading.Thread):
    """Peak summed RSS of this process's descendants, sampled every SAMPLE_SECONDS."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.rss = 0

    def run(self):
        me = os.getpid()
        while not self.stop.is_set():
            self.rss = max(self.rss, tree_rss(me))
            self.stop.wait(SAMPLE_SECONDS)


class MemoryCgroup:
    """A memory cgroup (v1) of its own for one run: the kernel records the peak of what the
    command's whole tree has charged (anonymous memory, page tables, page cache it created),
    each page once. Files already cached (Python, ansible) are charged elsewhere."""

    def __init__(self, tag):
        self.path = os.path.join(MEMORY_CGROUP, "pg-bench-fleet-%d-%s" % (os.getpid(), tag))
        os.mkdir(self.path)

    def join(self):
        """preexec_fn of the command: move the new process in before it execs."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def peak(self):
        with open(os.path.join(self.path, "memory.max_usage_in_bytes")) as f:
            return int(f.read())

    def remove(self):
        """Empty once the run's processes are reaped; after an interruption, what is left of
        the run (only its own processes are in here) is ended first."""
        for attempt in range(50):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                if attempt >= 10:
                    with open(os.path.join(self.path, "cgroup.procs")) as f:
                        for pid in f.read().split():
                            os.kill(int(pid), signal.SIGKILL)
                time.sleep(0.1)
        sys.stderr.write("bench: could not remove %s\n" % self.path)


def reap_orphans():
    """End what outlived the command (ssh's ControlPersist masters) and reap it, so its CPU
    counts for this run and the next run starts without open connections."""
    deadline = time.monotonic() + 10
    sent = set()
    while True:
        pids = children(os.getpid())
        if not pids:
            return
        for pid in pids:
            if pid not in sent:
                os.kill(pid, signal.SIGKILL if time.monotonic() > deadline else signal.SIGTERM)
                sent.add(pid)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return
        if time.monotonic() > deadline:
            sent.clear()
        time.sleep(0.01)


def run_measured(argv, env, log, cgroup):
    """In a fresh child (see measure): run argv in `cgroup`, return its figures."""
    libc = ctypes.CDLL(None, use_errno=True)
    # Orphans (ssh masters) come back to this process: their CPU lands in RUSAGE_CHILDREN.
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    sampler = Sampler()
    before = os.times()
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(  # no thread runs yet: preexec_fn is safe
            argv,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=cgroup.join,
        )
        sampler.start()
        timer = threading.Timer(COMMAND_TIMEOUT, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            timer.cancel()
            sampler.stop.set()
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    reap_orphans()
    after = os.times()
    return {
        "rc": proc.returncode,
        "wall": wall,
        "cpu": (after.children_user - before.children_user)
        + (after.children_system - before.children_system),
        "peak": cgroup.peak() / MIB,
        "rss": sampler.rss / MIB,
        # ansible's own process or its largest worker (wait4 counts its reaped children)
        "largest": usage.ru_maxrss / 1024.0,
        "sampler": (after.user - before.user) + (after.system - before.system),
    }


def measure(argv, env, log, tag, host_cpu=None):
    """Figures of one run of argv (output to `log`), in a forked child so that
    RUSAGE_CHILDREN holds this command alone; host_cpu() read around it as "host_cpu"."""
    cgroup = MemoryCgroup(tag)
    try:
        read_fd, write_fd = os.pipe()
        host_before = host_cpu() if host_cpu else 0.0
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(read_fd)
                result = run_measured(argv, env, log, cgroup)
                with os.fdopen(write_fd, "w") as w:
                    json.dump(result, w)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        try:
            with os.fdopen(read_fd) as r:
                data = r.read()
        except BaseException:
            os.kill(pid, signal.SIGTERM)  # the child ends its command and exits
            raise
        finally:
            _pid, status = os.waitpid(pid, 0)
        if status != 0 or not data:
            raise SystemExit("bench: measuring %s failed" % argv[0])
        result = json.loads(data)
        if host_cpu:
            time.sleep(SETTLE_SECONDS)  # let the far side finish (sshd, logind end sessions)
            result["host_cpu"] = host_cpu() - host_before
        return result
    finally:
        cgroup.remove()
