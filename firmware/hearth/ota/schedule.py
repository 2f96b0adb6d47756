"""When to check next: a fixed interval with jitter, so a fleet that booted
together (a power cut on a street) does not hit the server in step."""
import random


def next_check_delay(interval_s, jitter=0.25, rng=None):
    """Seconds until the next check: interval_s * (1 ± jitter), uniformly.
    A failed check uses the same rule: ngclient's metadata is small and the
    next attempt repeats only what did not arrive."""
    if interval_s <= 0 or not 0 <= jitter < 1:
        raise ValueError("interval must be > 0 and jitter in [0, 1)")
    r = (rng or random).random()
    return interval_s * (1.0 - jitter + 2.0 * jitter * r)
