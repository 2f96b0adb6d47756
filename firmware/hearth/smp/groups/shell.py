"""Group 9, shell exec: `argv` runs as one console command line (the same
shell the console serves, hearth.console.commands); `o` is its output,
`ret` 0 on success and 1 on an error reply."""
from .. import errors as E
from ..header import OP_WRITE
from ..server import SmpError

GROUP = 9
EXEC = 0
MAX_ARGS = 32
MAX_LINE = 512          # what the console takes in one line


def _quoted(arg):
    if arg and not any(c in arg for c in " \t'\""):
        return arg
    if '"' not in arg:
        return '"%s"' % arg
    if "'" not in arg:
        return "'%s'" % arg
    raise SmpError(E.EINVAL, "an argument holding both quote characters cannot be passed to the shell")


def register(server, shell):
    def execute(req):
        argv = req.get("argv", list, required=True)
        if not argv or len(argv) > MAX_ARGS or not all(isinstance(a, str) for a in argv):
            raise SmpError(E.EINVAL, "argv must be 1 to %d strings" % MAX_ARGS)
        line = " ".join(_quoted(a) for a in argv)
        if len(line) > MAX_LINE:
            raise SmpError(E.EMSGSIZE, "command line longer than %d" % MAX_LINE)
        ok, out = shell.execute(line)
        return {"o": out, "ret": 0 if ok else 1}

    server.add(GROUP, EXEC, execute, (OP_WRITE,))
