"""`hearth repo init|add|publish|rotate`: the TUF update repository (a static directory)."""
from ..errors import HearthError, UsageError

NAME = "repo"
HELP = "make and sign an update repository (TUF metadata and images for any static web server)"

ROLES = ("root", "targets", "snapshot", "timestamp")


def _role_ints(items, what):
    """["root=2", "targets=1"] -> {"root": 2, "targets": 1}."""
    out = {}
    for item in items or ():
        role, sep, value = item.partition("=")
        if not sep or role not in ROLES or not value.isdigit():
            raise UsageError("--%s %s: give ROLE=N with ROLE one of %s" % (what, item, ", ".join(ROLES)))
        out[role] = int(value)
    return out


def add_arguments(parser):
    sub = parser.add_subparsers(dest="repo_cmd", metavar="ACTION")
    p = sub.add_parser("init", help="new repository: a key per role, root v1, an empty release set",
                       description="Create DIR with ED25519 keys for root, targets, snapshot and timestamp "
                                   "(one file each, in DIR/keys: keep them offline), signed root v1 and an "
                                   "empty published release set. Serve DIR/public.")
    p.add_argument("dir")
    p.add_argument("--threshold", action="append", metavar="ROLE=N",
                   help="signatures a role needs (repeatable; default 1 each)")
    p.add_argument("--keys", action="append", metavar="ROLE=N",
                   help="keys a role has (repeatable; default: its threshold)")
    p.add_argument("--expiry", action="append", metavar="ROLE=DAYS",
                   help="days a role's metadata stays valid (repeatable; default root=365 targets=90 "
                        "snapshot=7 timestamp=1)")
    p = sub.add_parser("add", help="stage a release: the image, its xz copy and deltas from older images")
    p.add_argument("dir")
    p.add_argument("image")
    p.add_argument("--delta-from", action="append", default=[], metavar="OLD.img",
                   help="also a delta from this older image (repeatable)")
    p = sub.add_parser("publish", help="sign what is staged, a new snapshot and a new timestamp")
    p.add_argument("dir")
    p = sub.add_parser("rotate", help="replace a role's keys (new root), re-sign and publish")
    p.add_argument("dir")
    p.add_argument("role", choices=ROLES)
    p = sub.add_parser("status", help="versions of the published metadata and the releases")
    p.add_argument("dir")


def run(args, out):
    from .. import repo
    cmd = getattr(args, "repo_cmd", None)
    if cmd is None:
        raise UsageError("name an action: hearth repo {init|add|publish|rotate|status}")
    try:
        if cmd == "init":
            r = repo.init(args.dir, thresholds=_role_ints(args.threshold, "threshold"),
                          key_counts=_role_ints(args.keys, "keys"), expiry_days=_role_ints(args.expiry, "expiry"))
            text = ("initialized %s: keys in %s/keys (keep offline), serve %s/public; provision devices with %s"
                    % (args.dir, args.dir, args.dir, r["root_file"]))
        elif cmd == "add":
            r = repo.add(args.dir, args.image, args.delta_from)
            text = "\n".join("staged %s (%s%s, %d bytes)" % (a["path"], a["kind"],
                                                           ", " + a["compression"] if a["compression"] else "",
                                                           a["length"]) for a in r["added"])
            text += "\nrun `hearth repo publish %s` to publish, `hearth rollout set` to offer it" % args.dir
        elif cmd == "publish":
            r = repo.publish(args.dir)
            text = _versions(r)
        elif cmd == "rotate":
            r = repo.rotate(args.dir, args.role)
            text = "rotated %s keys; %s" % (args.role, _versions(r))
        else:
            r = repo.load(args.dir).summary()
            text = _versions(r) + "\nreleases: %s" % (", ".join(r["releases"]) or "none")
    except repo.RepoError as e:
        raise (UsageError if e.usage else HearthError)(str(e)) from None
    except OSError as e:            # a directory that cannot be made or written: the user's to fix
        raise HearthError("%s: %s: check the path and its permissions" % (e.filename or args.dir,
                                                                         e.strerror or e)) from None
    out.data(r, text)


def _versions(r):
    return ("published: root v%d, targets v%d, snapshot v%d, timestamp v%d (expires %s)%s"
            % (r["root"], r["targets"], r["snapshot"], r["timestamp"], r["timestamp_expires"],
               "; staged changes not yet published" if r["staged"] else ""))
