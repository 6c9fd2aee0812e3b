"""GBCS block transfer (GBT): a message too long for one transfer, sent as numbered blocks.

Each block is the message's routing header in the General-Ciphering form, then a DLMS
general-block-transfer APDU carrying one slice of the message::

    DD                          General-Ciphering tag
    09 <CRA> <counter 8>        transaction-id: CRA flag and originator counter
    08 <originator EUI-64>      originator-system-title
    08 <recipient EUI-64>       recipient-system-title
    00                          date-time: absent
    02 <message code 2>         other-information: the message code alone
    00                          key-info: absent
    <len>                       ciphered-content length (BER)  } from the MAC header of
    <security control 1>        security control byte          } the message carried
    <invocation counter 4>      invocation counter             }
    E0                          general-block-transfer tag
    <block control>             bit 7 last block, bit 6 streaming, bits 5..0 window
    <block number 2>            1, 2, 3 ... (big-endian)
    <block number ack 2>        0
    <len> <block data>          BER length, then a slice of the message (never empty)

The routing fields are those of the carried message's grouping header; the ciphered-content
length, security control and invocation counter are copied from its MAC header (``DD 00``
form), so every block of one message repeats the same routing header.  A message without a
MAC header (``DF ...``) has none to copy: its blocks say the whole message's length, security
control 0x00 (no protection) and invocation counter 0 (this project's choice, kept in
:func:`routing_header_for`).  The block data of blocks 1..n, in order, is the whole message.
Streaming and window are 0 and block-number-ack is 0 on the blocks built here (the tunnel
carries them one after another without acknowledgements); parsing accepts any values, and a
date-time (``0C`` + 12 octets) as Wireshark does, but every block of a message must repeat
block 1's routing header and that header must be the carried message's own.  Blocks are as
long as the transport allows (:func:`split_gbt`'s ``max_block_length``), the last shorter.

Checked with Wireshark 4.0's GBCS dissector (``packet-gbcs.c``: routing header, GBT header,
reassembly keyed on the originator and counter): blocks built here carried in ZCL Tunneling
TransferData commands decode without malformed packets or expert errors and reassemble to
the message, with the message code, CRA flag, counter, originator and recipient that
:func:`webapp.gbcs.message.parse_message` reads (see tests/zigbee/test_tunnel_gbt_wireshark.py).
An empty block would not do: Wireshark takes a block without data for an acknowledgement.
Wireshark shows but does not check the ciphered-content length, security control and
invocation counter, so their values above rest on GBCS as read for this project (copy them
from the whole message's MAC header), not on that check.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import GbcsError
from .header import (
    GENERAL_SIGNING_TAG,
    OTHER_INFO_CODE_ONLY,
    SYSTEM_TITLE_LENGTH,
    TRANSACTION_ID_LENGTH,
    Cra,
    GroupingHeader,
    read_grouping_header_body,
)
from .reader import Reader, encode_ber_length
from .records import record

GENERAL_CIPHERING_TAG = 0xDD
GBT_TAG = 0xE0
LAST_BLOCK = 0x80
STREAMING = 0x40
WINDOW_MASK = 0x3F
DATE_TIME_ABSENT = 0x00
DATE_TIME_LENGTH = 12
KEY_INFO_ABSENT = 0x00
MESSAGE_CODE_LENGTH = 2
SECURITY_CONTROL_LENGTH = 1
INVOCATION_COUNTER_LENGTH = 4
BLOCK_NUMBER_LENGTH = 2
FIRST_BLOCK_NUMBER = 1
MAX_BLOCK_NUMBER = 0xFFFF
#: A ``DF`` message has no MAC header: its routing header says "no protection" and counter 0.
UNPROTECTED_SECURITY_CONTROL = 0x00
UNPROTECTED_INVOCATION_COUNTER = 0
#: The empty fields of a message's MAC header, between ``DD`` and the ciphered-content length.
EMPTY_MAC_HEADER_FIELDS = (
    "empty transaction id",
    "empty originator system title",
    "empty recipient system title",
    "empty date-time",
    "empty other-information",
    "absent key-info",
)
#: GBCS sends a message over 1,500 octets in blocks; by default no block is longer.
MAX_BLOCK_LENGTH = 1500
#: Octets of the GBT APDU before its block data's length: tag, control, number, ack.
GBT_HEADER_LENGTH = 1 + 1 + BLOCK_NUMBER_LENGTH + BLOCK_NUMBER_LENGTH
MAX_BER_LENGTH_OCTETS = 5


@record
class RoutingHeader:
    """The fields a GBT block repeats from the message it carries."""

    cra: Cra
    counter: int
    originator: bytes
    recipient: bytes
    message_code: int
    ciphered_length: int
    security_control: int
    invocation_counter: int
    date_time_raw: bytes | None = None

    @property
    def transaction_id(self) -> bytes:
        return bytes([self.cra]) + self.counter.to_bytes(8, "big")


#: Routing fields a block must share with the message it carries, with their names.
_CARRIED_FIELDS = (
    ("cra", "CRA flag"),
    ("counter", "originator counter"),
    ("originator", "originator system title"),
    ("recipient", "recipient system title"),
    ("message_code", "message code"),
    ("ciphered_length", "ciphered-content length"),
    ("security_control", "security control byte"),
    ("invocation_counter", "invocation counter"),
)
#: Routing fields every block of one message shares.
_SHARED_FIELDS = (*_CARRIED_FIELDS, ("date_time_raw", "date-time"))


@record
class GbtBlock:
    """One parsed block. ``offset`` is where it starts in the input, ``data_offset`` where its
    block data starts."""

    routing: RoutingHeader
    last: bool
    streaming: bool
    window: int
    number: int
    ack: int
    data: bytes
    offset: int = 0
    data_offset: int = 0


def is_gbt(data: bytes) -> bool:
    """True for a GBT block: ``DD`` followed by a transaction id (a whole message has ``00``)."""
    return len(data) >= 2 and data[0] == GENERAL_CIPHERING_TAG and data[1] != 0x00


# Building -------------------------------------------------------------------------------


def routing_header_for(message: bytes) -> RoutingHeader:
    """The routing header of ``message``'s blocks, read from its MAC and grouping headers.

    ``message`` must be whole: a ``DD 00`` message's ciphered content must end it."""
    message = bytes(message)
    reader = Reader(message)
    first = reader.peek("a GBCS message (0xDD or 0xDF)")
    if first == GENERAL_CIPHERING_TAG:
        return _routing_from_mac_header(reader)
    if first == GENERAL_SIGNING_TAG:
        reader.expect(GENERAL_SIGNING_TAG, "General-Signing tag")
        header = read_grouping_header_body(reader)
        return _routing(
            header, len(message), UNPROTECTED_SECURITY_CONTROL, UNPROTECTED_INVOCATION_COUNTER
        )
    raise reader.fail("0xDD (General-Ciphering) or 0xDF (General-Signing)", f"0x{first:02X}")


def _routing_from_mac_header(reader: Reader) -> RoutingHeader:
    reader.expect(GENERAL_CIPHERING_TAG, "General-Ciphering tag")
    for what in EMPTY_MAC_HEADER_FIELDS:
        reader.expect(0x00, what)
    length_offset = reader.pos
    length = reader.ber_length("ciphered content")
    if reader.remaining != length:
        raise reader.fail(
            f"ciphered content of {length} octets to the end of the message",
            f"{reader.remaining} octet(s)",
            offset=length_offset,
        )
    security_control = reader.u8("security control")
    invocation_counter = reader.uint(INVOCATION_COUNTER_LENGTH, "invocation counter")
    reader.expect(GENERAL_SIGNING_TAG, "General-Signing tag")
    header = read_grouping_header_body(reader)
    return _routing(header, length, security_control, invocation_counter)


def _routing(
    header: GroupingHeader, ciphered_length: int, security_control: int, invocation_counter: int
) -> RoutingHeader:
    return RoutingHeader(
        cra=header.cra,
        counter=header.counter,
        originator=header.originator,
        recipient=header.recipient,
        message_code=header.message_code,
        ciphered_length=ciphered_length,
        security_control=security_control,
        invocation_counter=invocation_counter,
    )


def encode_routing_header(routing: RoutingHeader) -> bytes:
    """The routing header from ``DD`` to the invocation counter."""
    date_time = b"\x00"
    if routing.date_time_raw is not None:
        date_time = bytes([DATE_TIME_LENGTH]) + routing.date_time_raw
    return (
        bytes([GENERAL_CIPHERING_TAG, TRANSACTION_ID_LENGTH])
        + routing.transaction_id
        + bytes([SYSTEM_TITLE_LENGTH])
        + routing.originator
        + bytes([SYSTEM_TITLE_LENGTH])
        + routing.recipient
        + date_time
        + bytes([OTHER_INFO_CODE_ONLY])
        + routing.message_code.to_bytes(MESSAGE_CODE_LENGTH, "big")
        + bytes([KEY_INFO_ABSENT])
        + encode_ber_length(routing.ciphered_length)
        + bytes([routing.security_control])
        + routing.invocation_counter.to_bytes(INVOCATION_COUNTER_LENGTH, "big")
    )


def _encode_block(routing_bytes: bytes, number: int, last: bool, data: bytes) -> bytes:
    control = LAST_BLOCK if last else 0
    return (
        routing_bytes
        + bytes([GBT_TAG, control])
        + number.to_bytes(BLOCK_NUMBER_LENGTH, "big")
        + (0).to_bytes(BLOCK_NUMBER_LENGTH, "big")
        + encode_ber_length(len(data))
        + data
    )


def max_block_data(routing: RoutingHeader, max_block_length: int) -> int:
    """The most block data one block of ``max_block_length`` octets can carry."""
    fixed = len(encode_routing_header(routing)) + GBT_HEADER_LENGTH
    best = 0
    for length_octets in range(1, MAX_BER_LENGTH_OCTETS + 1):
        size = max_block_length - fixed - length_octets
        if size > 0 and len(encode_ber_length(size)) <= length_octets:
            best = max(best, size)
    if best <= 0:
        raise ValueError(f"a GBT block of {max_block_length} octets has no room for data")
    return best


def split_gbt(message: bytes, max_block_length: int = MAX_BLOCK_LENGTH) -> list[bytes]:
    """Cut ``message`` into GBT blocks of at most ``max_block_length`` octets each.

    Raises :class:`GbcsError` when ``message`` does not start with whole MAC and grouping
    headers, ValueError when the blocks cannot be that short or would be too many."""
    message = bytes(message)
    routing = routing_header_for(message)
    size = max_block_data(routing, max_block_length)
    chunks = [message[i : i + size] for i in range(0, len(message), size)]
    if len(chunks) > MAX_BLOCK_NUMBER:
        raise ValueError(f"{len(message)} octets need {len(chunks)} GBT blocks; at most 65535")
    routing_bytes = encode_routing_header(routing)
    count = len(chunks)
    return [
        _encode_block(routing_bytes, number, number == count, chunk)
        for number, chunk in enumerate(chunks, start=FIRST_BLOCK_NUMBER)
    ]


# Parsing --------------------------------------------------------------------------------


def read_routing_header(reader: Reader) -> RoutingHeader:
    """Read a routing header from its ``DD`` tag to the invocation counter, checking each
    field as Wireshark's GBCS dissector reads it."""
    reader.expect(GENERAL_CIPHERING_TAG, "GBT routing header tag")
    reader.expect(TRANSACTION_ID_LENGTH, "transaction id length")
    cra_offset = reader.pos
    cra = reader.u8("CRA flag")
    if cra not in tuple(Cra):
        raise reader.fail("CRA flag 1, 2 or 3", f"0x{cra:02X}", offset=cra_offset)
    counter = reader.uint(8, "originator counter")
    reader.expect(SYSTEM_TITLE_LENGTH, "originator system title length")
    originator = reader.take(SYSTEM_TITLE_LENGTH, "originator system title")
    reader.expect(SYSTEM_TITLE_LENGTH, "recipient system title length")
    recipient = reader.take(SYSTEM_TITLE_LENGTH, "recipient system title")
    date_time_raw = _read_date_time(reader)
    reader.expect(OTHER_INFO_CODE_ONLY, "other-information length (the message code alone)")
    message_code = reader.uint(MESSAGE_CODE_LENGTH, "message code")
    reader.expect(KEY_INFO_ABSENT, "absent key-info")
    ciphered_length = reader.ber_length("ciphered content")
    security_control = reader.u8("security control")
    invocation_counter = reader.uint(INVOCATION_COUNTER_LENGTH, "invocation counter")
    return RoutingHeader(
        cra=Cra(cra),
        counter=counter,
        originator=originator,
        recipient=recipient,
        message_code=message_code,
        ciphered_length=ciphered_length,
        security_control=security_control,
        invocation_counter=invocation_counter,
        date_time_raw=date_time_raw,
    )


def _read_date_time(reader: Reader) -> bytes | None:
    start = reader.pos
    length = reader.u8("date-time length")
    if length == DATE_TIME_ABSENT:
        return None
    if length != DATE_TIME_LENGTH:
        raise reader.fail("date-time length 0x00 or 0x0C", f"0x{length:02X}", offset=start)
    return reader.take(DATE_TIME_LENGTH, "date-time")


def parse_gbt_block(data: bytes, offset: int = 0) -> tuple[GbtBlock, int]:
    """The block at ``offset`` and the offset after it."""
    reader = Reader(data, offset)
    routing = read_routing_header(reader)
    reader.expect(GBT_TAG, "general-block-transfer tag")
    control = reader.u8("block control")
    number_offset = reader.pos
    number = reader.uint(BLOCK_NUMBER_LENGTH, "block number")
    if number < FIRST_BLOCK_NUMBER:
        raise reader.fail("a block number from 1", str(number), offset=number_offset)
    ack = reader.uint(BLOCK_NUMBER_LENGTH, "block number ack")
    length = reader.ber_length("block data")
    data_offset = reader.pos
    block_data = reader.take(length, "block data")
    block = GbtBlock(
        routing=routing,
        last=bool(control & LAST_BLOCK),
        streaming=bool(control & STREAMING),
        window=control & WINDOW_MASK,
        number=number,
        ack=ack,
        data=block_data,
        offset=offset,
        data_offset=data_offset,
    )
    return block, reader.pos


def parse_gbt_blocks(data: bytes) -> list[GbtBlock]:
    """Every block in a back-to-back stream of GBT blocks."""
    blocks: list[GbtBlock] = []
    offset = 0
    while offset < len(data):
        block, offset = parse_gbt_block(data, offset)
        blocks.append(block)
    return blocks


def reassemble_gbt(data: bytes) -> bytes:
    """The message carried by a complete stream of GBT blocks (see :func:`reassemble_blocks`)."""
    return reassemble_blocks(parse_gbt_blocks(bytes(data)))


def reassemble_blocks(blocks: Sequence[GbtBlock]) -> bytes:
    """Join the block data of ``blocks``, the whole of one message's blocks in order.

    Checks that the blocks are numbered 1..n, only the last has the last-block flag, none is
    empty, all repeat one routing header, and that header is the carried message's own."""
    if not blocks:
        raise GbcsError(0, "at least one GBT block")
    first = blocks[0]
    for index, block in enumerate(blocks, start=FIRST_BLOCK_NUMBER):
        check_next_block(first, block, index)
        _check_last_flag(block, index, len(blocks))
    message = b"".join(block.data for block in blocks)
    _check_carried(first, message)
    return message


def check_next_block(first: GbtBlock, block: GbtBlock, number: int) -> None:
    """Check that ``block`` can be block ``number`` of the message ``first`` starts."""
    if block.number != number:
        raise GbcsError(block.offset, f"GBT block number {number}", str(block.number))
    if not block.data:
        raise GbcsError(block.data_offset, f"block data in GBT block {number}", "none")
    for name, label in _SHARED_FIELDS:
        expected, found = getattr(first.routing, name), getattr(block.routing, name)
        if expected != found:
            raise GbcsError(
                block.offset,
                f"the {label} of GBT block 1 ({_show(expected)}) in GBT block {number}",
                _show(found),
            )


def _check_last_flag(block: GbtBlock, index: int, count: int) -> None:
    if block.last != (index == count):
        expected = "the last-block flag" if index == count else "no last-block flag"
        raise GbcsError(block.offset, f"{expected} on GBT block {index} of {count}")


def _check_carried(first: GbtBlock, message: bytes) -> None:
    """The routing header must be the one the reassembled message itself gives."""
    try:
        carried = routing_header_for(message)
    except GbcsError as exc:
        raise GbcsError(
            exc.offset, f"a whole message in the GBT blocks: {exc.expected}", exc.found
        ) from exc
    for name, label in _CARRIED_FIELDS:
        expected, found = getattr(carried, name), getattr(first.routing, name)
        if expected != found:
            raise GbcsError(
                first.offset,
                f"the {label} of the message carried ({_show(expected)}) in its GBT routing header",
                _show(found),
            )


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, Cra):
        return f"{int(value)} ({value.name.lower()})"
    if value is None:
        return "absent"
    return str(value)
