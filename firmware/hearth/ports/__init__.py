"""Platform ports: the few adapters that differ between boards.

Interfaces (duck-typed, so the portable core never imports these). A call
that raises is a port fault, not the end of the loop: hearth.app turns the
heater off, goes SAFE ("port failed") and carries on (PORT_FAULT_CLEAR_S).
  audio     read(n) -> numpy int16 array of n samples, or None at the end; the
            array may be a capture buffer the next read refills (copy to keep)
  inputs    poll(now) -> (presses: list of button names, door_open, cavity_c),
            every block (the inputs the safety governor acts on at once);
            food(now) -> food_c, on control turns (None = unreadable: a
            sensor fault)
  outputs   write(outputs: dict, ring: str, now) -> when to write again even
            if nothing changes (a blinking light ring), or None; the loop
            writes after every decision and at that time, not every block
  soc       read() -> SoC temperature in C, or None when unreadable
  clock     now() -> seconds; wait_until(t) (real boards sleep, the sim does not)
  wall      now() -> seconds since the epoch: dates only (expiry, timestamps);
            it may jump, the loop never times anything with it
  storage   root directory; atomic writes (hearth.boot.storage.DirStorage, the launcher's)
  watchdog  ready(), kick(now), status(text); .due: when the next kick is needed
  detector  feed(block, t0) -> [(name, t, p)], pause(); optional quality()
            -> (peaks, feature_mean) since the last call (hearth.ports.detector)
  assistant listen(now) -> [(action, value)]: optional cloud assistant, off by
            default (App(assistant=None)); asked only inside the attention
            window after a wake word and only in FULL mode; its requests reach
            the governor as source "ai"
"""
