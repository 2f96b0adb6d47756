"""The OTA client as a service of the appliance loop (hearth.core.services).

    svc = OtaService(Client(storage, url=...), interval_s=3600, reboot=..., can_reboot=...)
    app.services.add(svc)

Every check runs in a worker thread (started with the service, fed through
a queue): the refresh (network), the download
(fetcher.ResumableDownload, in bounded steps that wait on the socket, not
on the loop), and the install (re-hashing and verifying the image, writing
the slot). poll() only drains the worker's queue and starts the next check
when it is due, so a turn never waits on the network or on storage.

States (`state`):
    idle         waiting for the next check (interval x (1 +- jitter), schedule.py)
    checking     refresh + select in the worker
    downloading  the target is being fetched (resumes after a reboot)
    installing   streaming into the inactive slot through the launcher
    installed    a trial image is staged; waiting for the reboot policy
    rebooting    reboot() was called: the app exits, the launcher boots the trial

Reboot policy: "now" reboots as soon as the image is staged, "idle" once
can_reboot() says the appliance is idle (the oven not cooking), "never"
leaves it to the next boot. The trial boot, its health check and the
confirm (or revert) are the launcher's and the app's (hearth.boot.trial);
the next check sees the confirmed (or reverted) image.

An error the channel can cause is an outcome (record.py), never an
exception; one that escapes the worker (a bug) is raised from poll(), so
the loop stops the service and reports it as a mode cause.
"""
import logging
import queue
import sys
import threading
import time

from ..core.log import DEBUG, INFO, WARN
from .schedule import next_check_delay

log = logging.getLogger("hearth.ota")

POLICIES = ("now", "idle", "never")
DEFAULT_INTERVAL_S = 3600.0
DEFAULT_JITTER = 0.25
OTA_BUDGET_S = 0.002            # a poll drains a queue: far below the loop's default
WORKER_SWITCH_S = 0.0005        # the interpreter's switch interval while a cycle runs


class OtaService:
    name = "ota"
    budget_s = OTA_BUDGET_S

    def __init__(self, client, interval_s=DEFAULT_INTERVAL_S, jitter=DEFAULT_JITTER, reboot_policy="idle",
                 reboot=None, can_reboot=None, first_check_s=None, give_up_s=None, rng=None,
                 provision=None, clock=time.monotonic, device_log=None):
        if reboot_policy not in POLICIES:
            raise ValueError("reboot policy must be one of %s, got %r" % (", ".join(POLICIES), reboot_policy))
        next_check_delay(interval_s, jitter)            # refuses a bad interval or jitter now
        self.client = client
        self.interval_s = float(interval_s)
        self.jitter = jitter
        self.reboot_policy = reboot_policy
        self.reboot = reboot
        self.can_reboot = can_reboot or (lambda: True)
        self.first_check_s = first_check_s
        # a cycle that keeps meeting errors gives up (the partial stays) and
        # the next check goes on from there
        self.give_up_s = self.interval_s if give_up_s is None else give_up_s
        self.rng = rng
        self.provision = provision                      # callable(client) before the first check, or None
        self.clock = clock
        # device_log(level, message): the app's log (the loop thread only calls it)
        self.device_log = device_log or (lambda level, msg: log.log(level, "%s", msg))
        self.state = "idle"
        self.now = None
        self.next_at = None                             # loop time of the next check
        self.last = None                                # the last outcome
        self.installed = None                           # the outcome that staged a trial image
        self._q = queue.Queue()                          # worker -> loop: stages, outcomes
        self._jobs = queue.Queue()                       # loop -> worker: True = one cycle, None = stop
        self._busy = False
        self._stop = threading.Event()
        # started here, not in a poll: starting a thread waits for it to run
        self._worker = threading.Thread(target=self._run, name="hearth-ota", daemon=True)
        self._worker.start()
        self.counters = {"checks": 0, "updates": 0, "refused": 0, "check_bytes": 0, "update_bytes": 0,
                         "resumes": 0}

    # -- the loop side ---------------------------------------------------------
    def poll(self, now, budget):
        self.now = now
        if self.next_at is None:
            first = self.first_check_s
            self.next_at = now + (first if first is not None else self._delay())
        while True:
            try:
                kind, value = self._q.get_nowait()
            except queue.Empty:
                break
            self._event(now, kind, value)
        if self.state == "idle" and not self._busy and now >= self.next_at:
            self._start()
        elif self.state == "installed" and self._reboot_now():
            self.state = "rebooting"
            self.device_log(INFO, "rebooting into the trial image %s" % self.installed.get("version"))
            self.reboot(self.installed)

    def _delay(self):
        return next_check_delay(self.interval_s, self.jitter, self.rng)

    def _reboot_now(self):
        if self.reboot is None or self.reboot_policy == "never":
            return False
        return self.reboot_policy == "now" or bool(self.can_reboot())

    def _event(self, now, kind, value):
        if kind == "stage":
            self.state = value
        elif kind == "crash":
            self._busy = False
            self.state = "failed"
            raise value                                 # the loop stops the service and reports it
        elif kind == "done":
            self._busy = False
            self._outcome(value)
            self.next_at = now + self._delay()

    def _outcome(self, out):
        self.last = out
        c = self.counters
        c["checks"] += 1
        c["check_bytes"] += out.get("check_bytes") or 0
        c["update_bytes"] += out.get("bytes") or 0
        c["resumes"] += out.get("resumes") or 0
        if out["event"] == "installed":
            c["updates"] += 1
            self.installed = out
            self.state = "installed"
            self.device_log(INFO, "installed %s (%s, %s bytes on the wire, %s resumes): reboots %s" % (
                out.get("version"), out.get("kind"), out.get("bytes"), out.get("resumes"),
                {"now": "now", "idle": "when the appliance is idle", "never": "at the next boot"}[
                    self.reboot_policy if self.reboot is not None else "never"]))
        else:
            if out["event"] == "refused":
                c["refused"] += 1
                self.device_log(WARN, "update refused (%s): %s" % (out.get("code"), out.get("reason")))
            else:
                self.device_log(DEBUG, "checked: %s (%s bytes)" % (out.get("reason"), out.get("check_bytes")))
            self.state = "idle"

    # -- the worker ------------------------------------------------------------
    def _start(self):
        self.state = "checking"
        self._busy = True
        self._jobs.put(True)                            # never blocks: the worker is already running

    def _run(self):
        """The worker: one cycle per job, until stop()."""
        while self._jobs.get():
            # While the worker runs Python (HTTP, metadata, decompression), the
            # loop thread waits for the interpreter lock up to the switch
            # interval (5 ms by default: a whole stage budget); shorter while
            # a cycle runs, restored after.
            was = sys.getswitchinterval()
            sys.setswitchinterval(min(was, WORKER_SWITCH_S))
            try:
                if self.provision is not None:
                    self.provision(self.client)
                start = self.clock()
                out = self.client.update(retry=lambda dl: self._retry(dl, start),
                                         progress=lambda stage: self._q.put(("stage", stage)))
                self._q.put(("done", out))
            except BaseException as e:                  # a bug: the loop's poll re-raises it
                self._q.put(("crash", e))
                return
            finally:
                sys.setswitchinterval(was)

    def _retry(self, dl, start):
        """Back off until the download's retry time; False gives this cycle up."""
        wait = max(0.0, dl.retry_at - self.clock())
        if self.clock() + wait - start > self.give_up_s:
            return False
        return not self._stop.wait(wait)

    def stop(self, timeout=5.0):
        """Stop the worker at its next wait (the partial download stays on storage)."""
        self._stop.set()
        self._jobs.put(None)
        self._worker.join(timeout)

    # -- what the console shows --------------------------------------------------
    def status(self):
        dl = self.client.last_download
        due = None
        if self.state == "idle" and self.next_at is not None and self.now is not None:
            due = max(0.0, self.next_at - self.now)
        out = {"state": self.state, "next_check_in_s": due, "last": self.last, "metrics": self.metrics()}
        if self.state == "downloading" and dl is not None:
            out["download"] = {"have": dl.have, "length": dl.length, "resumes": dl.stats["resumes"],
                               "state": dl.state, "last_error": dl.last_error}
        return out

    def metrics(self):
        """Per service run: checks, bytes per check (metadata) and per update
        (target), delta or full, resumes, the last outcome."""
        c = dict(self.counters)
        last = self.last or {}
        c["last_check_bytes"] = last.get("check_bytes")
        c["last_update_bytes"] = last.get("bytes")
        c["last_kind"] = last.get("kind")
        c["last_outcome"] = last.get("event")
        c["last_reason"] = last.get("code") or last.get("reason")
        return c


def from_board(board, storage=None, reboot=None, can_reboot=None, device_log=None):
    """The service a board's [ota] section asks for, or None (no section, or
    enabled = false). Defaults: interval_s 3600, jitter 0.25, first check
    after one jittered interval, ring "all", reboot "idle". device_id: the
    board's, else the one recorded when the storage was provisioned for OTA
    (`python -m hearth.ota init`, a random id kept on storage). root: a
    root.json ({storage} allowed) trusted on first start when the storage
    is not provisioned yet."""
    sec = board.section("ota")
    if not sec or not sec.get("enabled", True):
        return None
    from .client import Client
    client = Client(storage or board.storage_root, url=sec["url"], device_id=sec.get("device_id"),
                    ring=sec.get("ring"))
    root = board.path_of("ota.root")

    def provision(c):
        from . import record
        if root and record.load_config(c.st) is None:
            with open(root, "rb") as f:
                c.init(f.read(), device_id=sec.get("device_id"), ring=sec.get("ring"), url=sec["url"])
    return OtaService(client, interval_s=sec.get("interval_s", DEFAULT_INTERVAL_S),
                      jitter=sec.get("jitter", DEFAULT_JITTER), reboot_policy=sec.get("reboot", "idle"),
                      reboot=reboot, can_reboot=can_reboot, first_check_s=sec.get("first_check_s"),
                      provision=provision if root else None, device_log=device_log)
