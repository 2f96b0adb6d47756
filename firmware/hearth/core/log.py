"""Leveled log with per-module levels, a bounded ring of recent records and sinks."""

DEBUG, INFO, WARN, ERROR = 10, 20, 30, 40
LEVELS = {"debug": DEBUG, "info": INFO, "warn": WARN, "warning": WARN, "error": ERROR}
NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARN: "WARN", ERROR: "ERROR"}


class Log:
    def __init__(self, level=INFO, keep=200):
        self.level = level
        self.modules = {}        # module -> level overriding the default
        self.records = []        # (t, level, module, msg), the last `keep`
        self.keep = keep
        self.sinks = []          # fn(t, level, module, msg)

    def set_level(self, name, module=None):
        lvl = LEVELS.get(name.lower())
        if lvl is None:
            raise ValueError("level must be one of debug, info, warn, error")
        if module:
            self.modules[module] = lvl
        else:
            self.level = lvl
            self.modules = {}
        return lvl

    def enabled(self, level, module):
        return level >= self.modules.get(module, self.level)

    def emit(self, t, level, module, msg):
        if level < self.modules.get(module, self.level):
            return
        rec = (t, level, module, msg)
        self.records.append(rec)
        if len(self.records) > self.keep:
            del self.records[0]
        for s in self.sinks:
            s(t, level, module, msg)


def format_record(rec):
    t, level, module, msg = rec
    return "[%9.2f] %-5s %-8s %s" % (t, NAMES.get(level, str(level)), module, msg)
