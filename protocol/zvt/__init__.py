"""The ZVT codec (ECR <-> payment terminal): pure, no I/O.

`apdu` (framing of a message), `bmp`/`bmpset` (tagged fields), `tlv`, `framing`
(serial DLE/STX + CRC-16/KERMIT), `commands` and `pt_messages` (typed messages),
`messages.decode` (the entry point for untrusted bytes), `codes` (result texts).
"""
