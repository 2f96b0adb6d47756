"""Services of the CPython application (hearth.core.services runs them).

ConsoleService puts a console (hearth.console) on the loop as a service:
it is polled after actuate, timed against its budget like any other.
"""
import inspect

CONSOLE_BUDGET_S = 0.005


def _takes_now_and_budget(poll):
    """poll(now, budget) (the layered console) or poll() (a plain one)?"""
    try:
        inspect.signature(poll).bind(0.0, 0.0)
    except TypeError:
        return False
    except ValueError:              # no signature to read (a builtin): call it as before
        return False
    return True


class ConsoleService:
    name = "console"

    def __init__(self, console, budget_s=CONSOLE_BUDGET_S):
        self.console = console
        self.budget_s = budget_s
        self._poll = console.poll
        self._with_args = _takes_now_and_budget(self._poll)

    def poll(self, now, budget):
        if self._with_args:
            self._poll(now, budget)
        else:
            self._poll()
