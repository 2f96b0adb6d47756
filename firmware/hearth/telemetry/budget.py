"""The daily byte budget: what telemetry may send per (UTC) day, summaries first.

Heartbeats are the summaries, events the detail. An event batch is let
through only while what is left of the day still holds every heartbeat due
before midnight (at the size of the last one); a heartbeat only while it
fits the day at all. What does not fit is counted per kind (the next
heartbeat reports the counters) and never spooled. The charge is the
payload plus the MQTT overhead of its PUBLISH and PUBACK.
"""
DAY_S = 86400
# PUBLISH fixed header (<= 5) + topic length (2) + packet id (2) + properties
# length (1); PUBACK (4)
MQTT_OVERHEAD = 14
# what a heartbeat is taken to cost before the first one is made (a sim
# heartbeat with four models is about 450 bytes on the wire)
HEARTBEAT_ESTIMATE = 512


def wire_bytes(topic, payload_len):
    return payload_len + len(topic) + MQTT_OVERHEAD


class DailyBudget:
    def __init__(self, state, limit=65536, heartbeat_s=3600.0):
        self.state = state              # a State; budget use rides with it
        self.limit = int(limit)
        self.heartbeat_s = float(heartbeat_s)
        self.hb_size = HEARTBEAT_ESTIMATE   # the last heartbeat's charge

    def _day(self, wall):
        d = int(wall // DAY_S)
        b = self.state.data.setdefault("budget", {"day": d, "used": 0})
        if b.get("day") != d:
            b["day"] = d
            b["used"] = 0
        return b

    def used(self, wall):
        return self._day(wall)["used"]

    def reserve(self, wall):
        """Bytes kept for the heartbeats still due today."""
        left_s = DAY_S - (wall % DAY_S)
        due = int(-(-left_s // self.heartbeat_s))       # ceil: one due at the start of every interval left
        return due * self.hb_size

    def admit(self, kind, nbytes, wall):
        """Charge and return True, or count the drop and return False."""
        b = self._day(wall)
        room = self.limit - b["used"]
        if kind == "hb":
            self.hb_size = nbytes
            ok = nbytes <= room
        else:
            ok = nbytes <= room - self.reserve(wall)
        if ok:
            b["used"] += nbytes
            return True
        d = self.state.data.setdefault("dropped", {})
        why = "budget_" + kind
        d[why] = d.get(why, 0) + 1
        return False
