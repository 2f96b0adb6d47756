"""The OTA client's records on the device storage, under ota/:

    config.json    device id, ring, repository URL (written by init)
    state.json     the last check and the last outcomes, for telemetry
    metadata/      TUF metadata ngclient trusts (root_history/, root.json ...)
    download/      the target being downloaded or waiting to be installed
                   (fetcher.ResumableDownload: progress.json + segments)

An outcome is one small JSON object: event (installed, refused, failed,
nothing), reason, target, kind, version, check_bytes
(metadata on the wire), bytes (target on the wire), resumes; the newest HISTORY are kept.
"""
import json
import time

CONFIG = "ota/config.json"
STATE = "ota/state.json"
METADATA = "ota/metadata"
DOWNLOAD = "ota/download"
HISTORY = 20


def _load(st, name):
    if not st.exists(name):
        return None
    try:
        obj = json.loads(st.read(name).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):    # RecursionError: nested too deeply
        return None
    return obj if isinstance(obj, dict) else None


def load_config(st):
    return _load(st, CONFIG)


def save_config(st, cfg):
    st.write_atomic(CONFIG, (json.dumps(cfg, sort_keys=True) + "\n").encode())


def load_state(st):
    s = _load(st, STATE) or {}
    if not isinstance(s.get("history"), list):
        s["history"] = []
    return s


def save_state(st, s):
    st.write_atomic(STATE, (json.dumps(s, sort_keys=True) + "\n").encode())


def record(st, event, reason=None, **fields):
    """Append an outcome and return it. A record that cannot be written must
    not turn a refused update into a crash: the caller logs the outcome too."""
    s = load_state(st)
    out = dict(fields, event=event, reason=reason, time=int(time.time()))
    s["last"] = out
    if event != "nothing":
        s["last_outcome"] = out
    s["history"] = (s["history"] + [out])[-HISTORY:]
    save_state(st, s)
    return out
