"""The ``deconz`` radio: a ConBee through zigpy-deconz.

* :mod:`.frames`: the deCONZ serial frame layouts (no zigpy-deconz);
* :mod:`.api`: zigpy-deconz's ``Deconz`` with Inter-PAN and beacons added;
* :mod:`.radio`: :class:`DeconzRadio`, the :class:`~webapp.zigbee.drivers.frames_base.
  FrameRadio` on a ConBee.

The radio's names are loaded on first use, so importing :mod:`.frames` (as the ConBee
emulator does) never loads zigpy-deconz.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp.zigbee.drivers.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .api import DeconzApi
    from .radio import NO_INTERPAN, DeconzRadio, DeconzTimeouts

#: Exported names and the submodule that defines each; loaded on first use.
_LAZY = {
    "DeconzApi": ".api",
    "DeconzRadio": ".radio",
    "DeconzTimeouts": ".radio",
    "NO_INTERPAN": ".radio",
}

__all__ = ["NO_INTERPAN", "DeconzApi", "DeconzRadio", "DeconzTimeouts"]


__getattr__ = lazy_exports(__name__, globals(), _LAZY)
