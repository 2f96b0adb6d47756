"""Which target this device takes from a verified targets metadata.

Pure functions over plain dicts, so the decision is easy to test and the
same on every device: only releases for this board and arch, newer than the
running image, not below the security counter, needing no newer launcher,
offered to this device's ring and bucket and not halted. Of the newest such
release: the delta whose base is the running image, else the compressed full
image, else the full image.
"""
import hashlib

from ..image.manifest import parse_version

EVERYONE = "all"


def bucket(device_id, release):
    """0..99, fixed per (device, release): a ring that grows from 10 % to 50 %
    keeps its first 10 % and adds devices, and the next release draws anew."""
    h = hashlib.sha256(("%s\n%s" % (device_id, release)).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") % 100


def offered(rollout, ring, device_bucket):
    """Is a release with this rollout record offered to a device in `ring`?"""
    if not isinstance(rollout, dict) or rollout.get("halted") is not False:
        return False                        # halted, or no record we understand: not offered
    rings = rollout.get("rings") if isinstance(rollout.get("rings"), dict) else {}
    pct = max(_pct(rings.get(ring)), _pct(rings.get(EVERYONE)))
    return device_bucket < pct


def _pct(v):
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100 else 0


def _version(v):
    try:
        return parse_version(v)
    except Exception:           # a malformed version is simply not a candidate
        return None


def candidates(targets, device):
    """[(path, hearth-meta, rollout)] for this board and arch with a sane version.
    targets: {path: custom dict}."""
    out = []
    for path, custom in targets.items():
        if not isinstance(custom, dict) or not isinstance(custom.get("hearth"), dict):
            continue
        h = custom["hearth"]
        if h.get("board") != device["board"] or h.get("arch") != device["arch"]:
            continue
        if _version(h.get("version")) is None:
            continue
        out.append((path, h, custom.get("rollout")))
    return out


def choose(targets, device):
    """(path, meta, why) of the target to take, or (None, None, why).

    device: board, arch, device_id, ring, version (running, or None),
    digest (running image's MCUboot digest hex, or None), security_counter,
    launcher_version, kinds (what this client can install: {"full", "xz", "delta"}).
    """
    cands = candidates(targets, device)
    if not cands:
        return None, None, "no release for %s/%s" % (device["board"], device["arch"])
    running = _version(device.get("version")) if device.get("version") else None
    launcher = _version(device["launcher_version"])
    releases = {}
    for path, h, rollout in cands:
        releases.setdefault(h["version"], []).append((path, h, rollout))
    why = "up to date (running %s)" % device.get("version")
    for version in sorted(releases, key=_version, reverse=True):
        v = _version(version)
        if running is not None and v <= running:
            break
        rel = "%s/%s" % (device["board"], version)
        # each target of the release on its own: the one picked by kind must
        # itself be allowed, not just the first one listed
        refusals = [_refusal(h, rollout, device, launcher, rel) for _path, h, rollout in releases[version]]
        items = [item for item, no in zip(releases[version], refusals) if no is None]
        if not items:
            why = refusals[0]
            continue
        pick = _best(items, device)
        if pick is not None:
            return pick[0], pick[1], "%s: %s" % (rel, _kind(pick[1]))
        why = "%s has no target this client can install" % rel
    return None, None, why


def _refusal(h, rollout, device, launcher, rel):
    """Why this device may not take target `h` of release `rel`, or None."""
    if not isinstance(h.get("security_counter"), int) or h["security_counter"] < device["security_counter"]:
        return "%s is below the security counter %d" % (rel, device["security_counter"])
    need = _version(h.get("min_launcher_version"))
    if need is None or need > launcher:
        return "%s needs launcher %s" % (rel, h.get("min_launcher_version"))
    if isinstance(rollout, dict) and rollout.get("halted") is True:
        return "%s is halted" % rel
    if not offered(rollout, device["ring"], bucket(device["device_id"], rel)):
        return "%s is not offered to this device yet (ring %s)" % (rel, device["ring"])
    return None


def _kind(h):
    return "delta from %s" % h.get("base_version", h.get("base_digest", "?")[:16]) if h["kind"] == "delta" \
        else "full image" + (" (%s)" % h["compression"] if h.get("compression") else "")


def _best(items, device):
    kinds = device["kinds"]
    by_rank = []
    for path, h, _rollout in items:
        if h.get("kind") == "delta" and "delta" in kinds and device.get("digest") \
                and h.get("base_digest") == device["digest"]:
            by_rank.append((0, path, h))
        elif h.get("kind") == "full" and h.get("compression") == "xz" and "xz" in kinds:
            by_rank.append((1, path, h))
        elif h.get("kind") == "full" and h.get("compression") is None and "full" in kinds:
            by_rank.append((2, path, h))
    if not by_rank:
        return None
    _rank, path, h = min(by_rank)
    return path, h
