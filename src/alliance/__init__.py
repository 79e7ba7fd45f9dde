"""alliance: therapist effects on the working alliance.

Layers, top to bottom (a lower layer never imports a higher one): ``io``, ``instruments``,
``scales``, ``mixed``, ``simulate``, ``study``, ``power``, ``report``, ``cli``.
"""

__version__ = "0.1.0"
