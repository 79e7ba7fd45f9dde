"""alliance: therapist effects on the working alliance.

Layers, bottom to top (a lower layer never imports a higher one): ``io``; ``instruments``,
``scales``, ``mixed``; ``simulate``; ``power``, ``study``; ``report``; ``cli``. The rules and
the data flow are in docs/architecture.md.
"""

__version__ = "0.1.0"
