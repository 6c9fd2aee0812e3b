"""The ``ezsp`` radio: a Silicon Labs stick with EmberZNet NCP firmware, through bellows.

* :mod:`.radio`: :class:`EzspRadio`, the :class:`~webapp.zigbee.drivers.frames_base.
  FrameRadio` on the stick;
* :mod:`.key_establishment`: :class:`NcpCbkeParty`, key establishment run by the stick's
  CBKE library;
* :mod:`.status`: reading EZSP status values.

The radio's names are loaded on first use, so importing this package never loads bellows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp.zigbee.drivers.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .key_establishment import NcpCbkeParty
    from .radio import EzspRadio

#: Exported names and the submodule that defines each; loaded on first use.
_LAZY = {
    "EzspRadio": ".radio",
    "NcpCbkeParty": ".key_establishment",
}

__all__ = ["EzspRadio", "NcpCbkeParty"]


__getattr__ = lazy_exports(__name__, globals(), _LAZY)
