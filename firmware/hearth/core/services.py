"""Services: work the loop runs after actuate, one poll per turn, each within
its own latency budget.

    services.add(svc, name="uploader", budget_s=0.005)
    ... every turn, after the outputs are written:  services.poll(now, timer)

A service is any object with poll(now, budget_s): `now` is the loop's audio
time (the monotonic clock budgets, timers and hysteresis run on; wall time,
for timestamps and expiry, is the application's `wall` port), budget_s the
seconds it may take this turn. The loop times every poll with its own timer:
latency and overruns (a poll longer than its budget) go to
metrics.services[name]. A service that raises is stopped (never polled
again), logged, and reported as one mode cause (SERVICE_FAILED, the failed
services' names in the detail): the loop, and cooking, go on.

Long work (hashing, downloading, patching, uploading) must not block a turn:
cut it into slices a generator yields between (SlicedService runs slices
until the turn's budget is spent), or hand it to a worker that the poll
only checks on.
"""
from .causes import SERVICE_FAILED
from .log import ERROR

DEFAULT_BUDGET_S = 0.005
# per poll: an outlier slice (the process preempted) halves out of the
# estimate in about seven turns
SLICE_DECAY = 0.9
# slices fill this much of a poll's budget: the rest is headroom for a slice
# a little slower than the estimate, and for the loop's own timing of the poll
SLICE_FILL = 0.95


class Services:
    def __init__(self, metrics, modes, log):
        self.metrics = metrics
        self.modes = modes
        self.log = log
        # [service, name, budget_s, stats]; the loop tests this list's
        # truthiness every turn, so it is never replaced, only changed
        self.live = []
        self.failed = {}            # name -> why it was stopped
        self.now = 0.0              # the loop time of the last poll

    def add(self, service, name=None, budget_s=None):
        """Run `service` every turn from now on; returns its name."""
        if name is None:
            name = getattr(service, "name", None) or type(service).__name__
        if budget_s is None:
            budget_s = getattr(service, "budget_s", None) or DEFAULT_BUDGET_S
        for entry in self.live:
            if entry[1] == name:
                raise ValueError("a service named %r is already running" % name)
        if self.failed.pop(name, None) is not None:
            self._report_failed()   # a restarted service: the cause clears when none is left
        self.live.append([service, name, float(budget_s), self.metrics.service(name)])
        return name

    def remove(self, name):
        for entry in self.live:
            if entry[1] == name:
                self.live.remove(entry)
                return True
        return False

    def names(self):
        return [e[1] for e in self.live]

    def __len__(self):
        return len(self.live)

    def poll(self, now, timer):
        """Poll each live service once (the loop calls this after actuate)."""
        self.now = now
        failed = None
        for entry in self.live:
            service, name, budget, st = entry
            t0 = timer()
            try:
                service.poll(now, budget)
            except Exception as e:
                st.record(timer() - t0, budget)
                failed = (failed or []) + [(entry, e)]      # leaves the list after this turn
                continue
            st.record(timer() - t0, budget)
        if failed:
            for entry, e in failed:
                self._stop(entry, e, now)

    def _stop(self, entry, e, now):
        name = entry[1]
        self.live.remove(entry)
        why = "%s: %s" % (type(e).__name__, e)
        self.failed[name] = why
        entry[3].state = "failed: " + why
        self.log.emit(now, ERROR, "service", "%s failed and was stopped (%s)" % (name, why))
        self._report_failed()

    def _report_failed(self):
        names = sorted(self.failed)
        self.modes.report(SERVICE_FAILED, bool(names), self.now,
                          "; ".join(["%s: %s" % (n, self.failed[n]) for n in names]))


class SlicedService:
    """Long work as generators, run a slice at a time within each turn's budget.

    A job is an iterator whose every next() does one bounded slice of the
    work (hash 64 KiB, write one chunk, ...). poll() starts another slice
    only while twice the slowest recent slice still fits into what is left
    of the budget (SLICE_FILL of it), so a turn overruns only when a slice
    is much slower than the recent ones. "Recent": the estimate decays by SLICE_DECAY each poll, so one
    slice stretched by preemption holds the work back for a few turns, not
    for good. A finished job's return value goes to its `done` callback.

        def upload(path):
            with open(path, "rb") as f:
                while True:
                    chunk = f.read(4096)
                    if not chunk:
                        return "sent"
                    send(chunk)
                    yield
        svc = SlicedService("uploader", timer, budget_s=0.005)
        app.services.add(svc)
        svc.submit(upload("/data/log"), done=print)
    """

    def __init__(self, name, timer, budget_s=DEFAULT_BUDGET_S):
        self.name = name
        self.timer = timer
        self.budget_s = budget_s
        self.jobs = []              # [iterator, done callback or None]
        self.slice_s = 0.0          # the slowest recent slice (decaying)
        self.slices = 0

    def submit(self, job, done=None):
        self.jobs.append([job, done])

    def busy(self):
        return bool(self.jobs)

    def poll(self, now, budget):
        jobs = self.jobs
        timer = self.timer
        self.slice_s *= SLICE_DECAY
        fill = budget * SLICE_FILL
        t0 = timer()
        t = t0
        while jobs and t - t0 + 2.0 * self.slice_s <= fill:
            job = jobs[0]
            try:
                next(job[0])
            except StopIteration as stop:
                jobs.pop(0)
                if job[1] is not None:
                    job[1](stop.value if hasattr(stop, "value") else None)
            t1 = timer()
            if t1 - t > self.slice_s:
                self.slice_s = t1 - t
            self.slices += 1
            t = t1
