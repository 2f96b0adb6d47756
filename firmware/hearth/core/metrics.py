"""Counters and fixed-bucket histograms: bounded memory, no allocation per sample."""
try:
    from bisect import bisect_left      # CPython: the bucket search in C
except ImportError:                     # MicroPython has no bisect
    bisect_left = None

# Latency buckets in microseconds (upper edges; the last bucket is open).
LATENCY_US = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
CONFIDENCE = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


class Histogram:
    def __init__(self, edges):
        self.edges = edges
        self.counts = [0] * (len(edges) + 1)
        self.n = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, v):
        # the bucket is the first edge >= v
        if bisect_left is not None:
            lo = bisect_left(self.edges, v)
        else:
            lo = 0
            hi = len(self.edges)
            e = self.edges
            while lo < hi:
                mid = (lo + hi) >> 1
                if v <= e[mid]:
                    hi = mid
                else:
                    lo = mid + 1
        self.counts[lo] += 1
        self.n += 1
        self.total += v
        if v > self.max:
            self.max = v

    def mean(self):
        return self.total / self.n if self.n else 0.0

    def quantile(self, q):
        """Upper edge of the bucket holding quantile q (None for the open bucket)."""
        if not self.n:
            return 0
        want = q * self.n
        acc = 0
        for i in range(len(self.counts)):
            acc += self.counts[i]
            if acc >= want:
                return self.edges[i] if i < len(self.edges) else None
        return None

    def to_dict(self):
        buckets = []
        for i in range(len(self.counts)):
            le = self.edges[i] if i < len(self.edges) else "inf"
            buckets.append([le, self.counts[i]])
        return {"n": self.n, "mean": self.mean(), "max": self.max, "buckets": buckets}

    def line(self, unit=""):
        if not self.n:
            return "n=0"
        p50 = self.quantile(0.5)
        p99 = self.quantile(0.99)
        return "n=%d mean=%.1f%s p50<=%s p99<=%s max=%.1f%s" % (
            self.n, self.mean(), unit, _edge(p50), _edge(p99), self.max, unit)


def _edge(v):
    return "inf" if v is None else str(v)


class ServiceStats:
    """One service's polls: latency (us), overruns (a poll over its budget), state."""

    def __init__(self):
        self.latency = Histogram(LATENCY_US)
        self.overruns = 0
        self.state = "running"

    def record(self, seconds, budget_s):
        self.latency.add(seconds * 1e6)
        if seconds > budget_s:
            self.overruns += 1

    def to_dict(self):
        return {"latency_us": self.latency.to_dict(), "overruns": self.overruns, "state": self.state}


class Metrics:
    """Everything the console `metrics` command shows."""

    STAGES = ("capture", "detect", "alarm", "decide", "actuate")

    def __init__(self):
        self.latency = {}
        for s in self.STAGES:
            self.latency[s] = Histogram(LATENCY_US)
        self.overruns = {}
        for s in self.STAGES:
            self.overruns[s] = 0
        self.overruns["block"] = 0
        self.detections = {}
        self.confidence = Histogram(CONFIDENCE)
        self.confidence_per_model = {}   # model -> Histogram (telemetry sends them per model)
        self.counters = {}
        self.blocks = 0
        self.services = {}       # name -> ServiceStats (hearth.core.services)
        self.sync = None         # fn() that brings pending samples in (the loop batches them)

    def count(self, name, n=1):
        self.counters[name] = self.counters.get(name, 0) + n

    def service(self, name):
        """The stats of service `name` (kept across a restart of the service)."""
        st = self.services.get(name)
        if st is None:
            st = self.services[name] = ServiceStats()
        st.state = "running"
        return st

    def detection(self, model, p):
        self.detections[model] = self.detections.get(model, 0) + 1
        self.confidence.add(p)
        h = self.confidence_per_model.get(model)
        if h is None:
            h = self.confidence_per_model[model] = Histogram(CONFIDENCE)
        h.add(p)

    def to_dict(self, modes=None):
        if self.sync is not None:
            self.sync()
        d = {
            "blocks": self.blocks,
            "latency_us": {},
            "overruns": dict(self.overruns),
            "detections": dict(self.detections),
            "confidence": self.confidence.to_dict(),
            "counters": dict(self.counters),
            "services": {},
        }
        for name in self.services:
            d["services"][name] = self.services[name].to_dict()
        for s in self.STAGES:
            d["latency_us"][s] = self.latency[s].to_dict()
        if modes is not None:
            d["transitions"] = dict(modes.counts)
        return d

    def text(self, modes=None):
        if self.sync is not None:
            self.sync()
        lines = ["blocks: %d" % self.blocks, "latency (us) per stage:"]
        for s in self.STAGES:
            lines.append("  %-8s %s" % (s, self.latency[s].line()))
        lines.append("overruns: " + " ".join(["%s=%d" % (k, self.overruns[k]) for k in sorted(self.overruns)]))
        for name in sorted(self.services):
            st = self.services[name]
            lines.append("service %s: %s overruns=%d (%s)" % (name, st.latency.line("us"), st.overruns, st.state))
        if self.detections:
            lines.append("detections: " + " ".join(
                ["%s=%d" % (k, self.detections[k]) for k in sorted(self.detections)]))
        else:
            lines.append("detections: none")
        lines.append("confidence: " + self.confidence.line())
        if modes is not None:
            if modes.counts:
                lines.append("mode transitions: " + ", ".join(
                    ["%s=%d" % (k, modes.counts[k]) for k in sorted(modes.counts)]))
            else:
                lines.append("mode transitions: none")
        if self.counters:
            lines.append("counters: " + " ".join(
                ["%s=%d" % (k, self.counters[k]) for k in sorted(self.counters)]))
        return "\n".join(lines)
