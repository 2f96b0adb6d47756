"""Group 2, statistics: the loop's metrics (hearth.core.metrics) as SMP stat
groups of unsigned counters. Latencies are whole microseconds."""
from .. import errors as E
from ..header import OP_READ
from ..server import group_error

GROUP = 2
GET, LIST = 0, 1
NAMES = ("loop", "latency", "detections", "services", "counters", "smp")


def _u(v):
    return max(0, int(v))


def groups(app, server):
    """{stat group name: fn() -> {field: uint}}."""
    m = app.metrics

    def loop():
        if m.sync is not None:
            m.sync()
        d = {"blocks": _u(m.blocks)}
        for k in sorted(m.overruns):
            d["overrun_" + k] = _u(m.overruns[k])
        for k in sorted(app.modes.counts):
            d["mode_" + k] = _u(app.modes.counts[k])
        return d

    def latency():
        if m.sync is not None:
            m.sync()
        d = {}
        for s in m.STAGES:
            h = m.latency[s]
            d[s + "_n"] = _u(h.n)
            d[s + "_mean_us"] = _u(h.mean())
            d[s + "_max_us"] = _u(h.max)
        return d

    def services():
        d = {}
        for name in sorted(m.services):
            st = m.services[name]
            d[name + "_polls"] = _u(st.latency.n)
            d[name + "_overruns"] = _u(st.overruns)
            d[name + "_max_us"] = _u(st.latency.max)
        return d

    return {"loop": loop, "latency": latency, "detections": lambda: dict((k, _u(v)) for k, v in m.detections.items()),
            "services": services, "counters": lambda: dict((k, _u(v)) for k, v in m.counters.items()),
            "smp": lambda: dict((k, _u(v)) for k, v in server.stats.items())}


def register(server, app):
    table = groups(app, server)

    def get(req):
        name = req.get("name", str, required=True)
        fn = table.get(name)
        if fn is None:
            raise group_error(E.STAT_INVALID_GROUP, "no stat group %r (statistics list names them)" % name[:32],
                              E.ENOENT)
        return {"name": name, "fields": fn()}

    def names(req):
        return {"stat_list": list(NAMES)}

    server.add(GROUP, GET, get, (OP_READ,))
    server.add(GROUP, LIST, names, (OP_READ,))
