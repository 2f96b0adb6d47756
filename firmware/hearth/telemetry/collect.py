"""What a heartbeat and an event say, read from the running App.

A heartbeat covers one interval (Memfault's model): time per mode,
transitions by cause, detections and confidence per model, latency per
stage, overruns are what happened since the previous heartbeat; uptime,
the drop counters and the OTA outcome are as of now. Histograms are bucket
counts only, on the fixed edges of hearth.core.metrics (docs/TELEMETRY.md
lists them), never samples.

Events: a mode change (from the mode manager's transition log), an alarm
heard (the detection counters of the alarm models), an OTA result (a new
outcome in ota/state.json), a fault (an ERROR record in the device log).
"""
from ..core.appliance import ALARM_EVENTS
from ..core.log import ERROR
from ..ota import record as ota_record

MAX_EVENT_TEXT = 200


def _counts(h):
    return list(h.counts)


def _minus(a, b):
    return [x - y for x, y in zip(a, b)] if b is not None else list(a)


def _ota_summary(o):
    if not isinstance(o, dict):
        return None
    return dict((k, o.get(k)) for k in ("event", "reason", "version", "target", "time") if o.get(k) is not None)


class Collector:
    def __init__(self, app, version=None, reboot=None):
        self.app = app
        self.version = version
        self.reboot = reboot
        self.events = []                    # pending, oldest first
        self.lost_events = 0                # more than a batch holds between flushes
        self.max_events = 64
        self._t = None                      # loop time of the last poll
        self._mode_s = {}
        self._seen_transitions = app.modes.total
        self._alarms = self._alarm_counts()
        self._ota_last = _ota_summary(self._ota_state().get("last_outcome"))
        self._base = None
        self._soc_max = None
        self._hb_start = 0.0
        self.mark(0.0)
        app.log.sinks.append(self._log_sink)

    # -- every poll ---------------------------------------------------------
    def poll(self, now, wall):
        app = self.app
        if self._t is not None and now > self._t:
            m = app.modes.mode
            self._mode_s[m] = self._mode_s.get(m, 0.0) + (now - self._t)
        self._t = now
        soc = app.appliance.sensors.get("soc_c")
        if soc is not None and (self._soc_max is None or soc > self._soc_max):
            self._soc_max = soc
        modes = app.modes
        if modes.total != self._seen_transitions:
            new = min(modes.total - self._seen_transitions, len(modes.transitions))
            self._seen_transitions = modes.total
            for e in modes.transitions[len(modes.transitions) - new:]:
                self.event(wall, "mode", frm=e["from"], to=e["to"], cause=e["cause"])
        if app.metrics.detections:
            for name, n in self._alarm_counts().items():
                if n > self._alarms.get(name, 0):
                    self.event(wall, "alarm", name=name, n=n - self._alarms.get(name, 0))
                    self._alarms[name] = n

    def poll_ota(self, wall):
        """Slow: reads ota/state.json (the service calls it once a minute)."""
        last = _ota_summary(self._ota_state().get("last_outcome"))
        if last and last != self._ota_last:
            self._ota_last = last
            self.event(wall, "ota", **last)

    def event(self, wall, kind, **fields):
        if len(self.events) >= self.max_events:
            self.lost_events += 1
            return
        fields["k"] = kind
        fields["t"] = round(wall, 3)
        self.events.append(fields)

    def take_events(self):
        ev, self.events = self.events, []
        lost, self.lost_events = self.lost_events, 0
        return ev, lost

    def _log_sink(self, t, level, module, msg):
        if level >= ERROR and module != "telemetry":
            self.event(self.app.wall.now(), "fault", module=str(module)[:32], msg=str(msg)[:MAX_EVENT_TEXT])

    def _alarm_counts(self):
        d = self.app.metrics.detections
        return dict((n, d.get(n, 0)) for n in ALARM_EVENTS)

    def _ota_state(self):
        try:
            return ota_record.load_state(self.app.storage)
        except Exception:               # no ota/ yet, or a storage error: no outcome to report
            return {}

    # -- one heartbeat ---------------------------------------------------------
    def _snapshot(self):
        m = self.app.metrics
        if m.sync is not None:
            m.sync()
        per_model = getattr(m, "confidence_per_model", {})
        return {
            "tr": dict(self.app.modes.counts),
            "det": dict(m.detections),
            "conf": dict((k, _counts(h)) for k, h in per_model.items()),
            "lat": dict((s, _counts(m.latency[s])) for s in m.STAGES),
            "ovr": dict(m.overruns),
            "svc_ovr": dict((k, v.overruns) for k, v in m.services.items()),
        }

    def mark(self, now):
        self._base = self._snapshot()
        self._mode_s = {}
        self._soc_max = None
        self._hb_start = now

    def heartbeat(self, now, extra):
        """The heartbeat body for the interval since the last one; starts the next."""
        cur = self._snapshot()
        base = self._base
        body = {
            "up": round(now, 1),
            "iv": round(now - self._hb_start, 1),
            "mode": self.app.modes.mode,
            "mode_s": dict((k, round(v, 1)) for k, v in self._mode_s.items()),
            "tr": dict((k, v - base["tr"].get(k, 0)) for k, v in cur["tr"].items() if v - base["tr"].get(k, 0)),
            "det": dict((k, v - base["det"].get(k, 0)) for k, v in cur["det"].items() if v - base["det"].get(k, 0)),
            "conf": dict((k, _minus(v, base["conf"].get(k))) for k, v in cur["conf"].items()
                         if v != base["conf"].get(k)),
            "lat": dict((k, _minus(v, base["lat"].get(k))) for k, v in cur["lat"].items()),
            "ovr": dict((k, v - base["ovr"].get(k, 0)) for k, v in cur["ovr"].items() if v - base["ovr"].get(k, 0)),
            "svc_ovr": dict((k, v - base["svc_ovr"].get(k, 0)) for k, v in cur["svc_ovr"].items()
                            if v - base["svc_ovr"].get(k, 0)),
            "soc_max": self._soc_max,
            "mem": _rss(),
            "ver": self.version,
            "ota": self._ota_last,
            "reboot": self.reboot,
        }
        body.update(extra)
        self._base = cur
        self._mode_s = {}
        self._soc_max = None
        self._hb_start = now
        return body


def _rss():
    from ..app import _rss_bytes
    return _rss_bytes()
