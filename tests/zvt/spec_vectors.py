"""Byte sequences from the ZVT spec and public captures, and their meaning (codec test vectors)."""

# Every vector names its source; the bytes are facts quoted from there and were checked with an
# independent scratch decoder: APDU lengths add up, every BMP and TLV parses to its end, every
# frame's CRC (CRC-16/KERMIT over APDU + ETX, low byte first) matches. `bmps` may be partial.
# Value forms are the brief's; BMP 2A is compared without its trailing space padding.
# Some captured APDUs exercise what a strict codec may reject (BMP 87 = FF FF, a status enquiry
# completion without software version, 8-bit text in ISO 8859-1): that is on purpose.

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApduVector:
    name: str
    source: str
    apdu: str
    bmps: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FrameVector:
    name: str
    source: str
    frame: str
    apdu: str


@dataclass(frozen=True)
class TlvVector:
    name: str
    source: str
    data: str
    tags: list


PORTALUM = "Portalum.Zvt src/Portalum.Zvt.UnitTest"
ECRTERM = "wirelane/ecrterm ecrterm/tests"
ZVT_MD = "shared/docs/zvt.md (verified frames, PA00P015/PA00P016)"
SPEC = "PA00P015 13.08 (bezahl-online/zvt doc/ECR-Interface_ZVT-Protocol.pdf)"
SPEC_LAYOUT = SPEC + ", layout only: bytes assembled from the field definitions (no capture found)"
SMART = "card complete SMART-ZVT-Praezisierungen v22 (bezahl-online/zvt doc/), Anhang B"
EVEREST = "EVerest/zvt zvt/data (Feig cVEND, TCP capture)"
MEMOS = "card complete support mails in bezahl-online/zvt doc/memos"
BEZAHL = "bezahl-online/zvt command/testdata (capture from a terminal in Austria)"
KERMIT = "CRC-16/KERMIT computed by a scratch script (independent of posterm)"


def _ascii(text: str) -> str:
    return text.encode("cp437").hex()


APDU_VECTORS: list[ApduVector] = [
    ApduVector(
        "authorization 1.90",
        ZVT_MD,
        "06 01 07 04 00 00 00 00 01 90",
        {0x04: 190},
    ),
    ApduVector(
        "status enquiry command with password",
        ZVT_MD,
        "05 01 03 12 34 56",
        {0x3D: "123456"},
    ),
    ApduVector("positive ack", ZVT_MD, "80 00 00", {}),
    ApduVector(
        "status information: abort by key, additional text",
        f"{PORTALUM}/StatusInformationParserTest.cs Parse_AbortByKey",
        "04 0F 1E 27 6C 29 28 00 48 69 3C F0 F1 F9" + _ascii("Abbruch durch Kunde"),
        {0x27: 0x6C, 0x29: "28004869", 0x3C: "Abbruch durch Kunde"},
    ),
    ApduVector(
        "status information: system error",
        f"{PORTALUM}/StatusInformationParserTest.cs Parse_SystemError",
        "04 0F 18 27 FF 29 28 00 48 69 3C F0 F1 F3" + _ascii("Betrag falsch"),
        {0x27: 0xFF, 0x29: "28004869", 0x3C: "Betrag falsch"},
    ),
    ApduVector(
        "status information: Debit Mastercard payment 20.40",
        f"{PORTALUM}/StatusInformationParserTest.cs Parse_PaymentGood1",
        "04 0F 77 27 00 04 00 00 00 00 20 40 0B 00 04 70 0C 22 39 53 0D 10 06 0E 25 12 17 00 01"
        " 19 70 22 F0 F8 EE EE EE EE EE EE 47 71 29 28 00 48 69 2A 31 30 30 34 36 31 37 36 33 20"
        " 20 20 20 20 20 3B 36 31 31 38 30 34 00 00 3C F0 F1 F4 47 45 4E 2E 4E 52 2E 3A 36 31 31"
        " 38 30 34 49 09 78 87 04 70 88 00 04 70 8A 2E 8B F1 F7 44 65 62 69 74 20 4D 61 73 74 65"
        " 72 63 61 72 64 00",
        {
            0x27: 0,
            0x04: 2040,
            0x0B: 470,
            0x0C: "223953",
            0x0D: "1006",
            0x0E: "2512",
            0x17: 1,
            0x19: 0x70,
            0x22: "************4771",
            0x29: "28004869",
            0x2A: "100461763",
            0x3B: "3631313830340000",
            0x3C: "GEN.NR.:611804",
            0x49: 978,
            0x87: 470,
            0x88: 470,
            0x8A: 0x2E,
            0x8B: "Debit Mastercard",
        },
    ),
    ApduVector(
        "status information with TLV (card technology NFC)",
        f"{PORTALUM}/StatusInformationParserTest.cs Parse_TlvInfos1",
        "04 0F 65 27 00 0C 23 13 55 0D 10 29 0E 99 99 22 F0 F8 EE EE EE EE EE EE 47 71 A0 01 29"
        " 00 00 00 06 87 00 08 0B 00 00 00 8A 06 8B F1 F1 4D 41 53 54 45 52 43 41 52 44 00 06 2E"
        " 2F 08 1F 12 01 02 1F 10 01 00 60 1B 43 07 A0 00 00 00 04 10 10 44 10 44 65 62 69 74 20"
        " 4D 61 73 74 65 72 63 61 72 64 1F 2B 04 10 01 50 08",
        {
            0x27: 0,
            0x0C: "231355",
            0x0D: "1029",
            0x0E: "9999",
            0x22: "************4771",
            0xA0: 1,
            0x29: "00000006",
            0x87: 8,
            0x0B: 0,
            0x8A: 6,
            0x8B: "MASTERCARD",
            0x06: "2F 08 1F 12 01 02 1F 10 01 00 60 1B 43 07 A0 00 00 00 04 10 10 44 10 44 65 62"
            " 69 74 20 4D 61 73 74 65 72 63 61 72 64 1F 2B 04 10 01 50 08",
        },
    ),
    ApduVector(
        "status information, PAN with a D separator (track-style data after it)",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[1]",
        "04 0F 37 27 00 04 00 00 00 00 40 00 49 09 78 0C 09 38 48 0D 04 25 22 F1 F1 59 66 66 66"
        " 66 D2 00 21 22 01 00 17 00 01 87 01 75 0B 61 39 95 19 40 29 60 09 99 14 0E 05 12 8A 02",
        {
            0x27: 0,
            0x04: 4000,
            0x49: 978,
            0x0C: "093848",
            0x0D: "0425",
            0x22: "5966666666",
            0x17: 1,
            0x87: 175,
            0x0B: 613995,
            0x19: 0x40,
            0x29: "60099914",
            0x0E: "0512",
            0x8A: 2,
        },
    ),
    ApduVector(
        "status information VISA with TLV 06 (tag 49 inside, constructed 60 and 2F)",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[7]",
        "040FCE2700040000000010004909780C1230050D062922F0F8474843EEEEEE77438700023B3838393135"
        "3000000B000733196029420030360E18018A0A8C038BF0F556495341002A34353536303030303035393920"
        "20203CF0F7F341532D544944203D2031334630303031330D41532D50726F632D436F6465203D2032302039"
        "3033203030 0D436170742E2D5265662E3D20303030300D41494435393A20383039323538062B4102000A"
        "4902000315024445600F4204564953414307A00000000310102F0C1F1001001F1101011F120102",
        {
            0x27: 0,
            0x04: 1000,
            0x49: 978,
            0x0C: "123005",
            0x0D: "0629",
            0x22: "474843******7743",
            0x87: 2,
            0x3B: "3838393135300000",
            0x0B: 733,
            0x19: 0x60,
            0x29: "42003036",
            0x0E: "1801",
            0x8A: 0x0A,
            0x8C: 3,
            0x8B: "VISA",
            0x2A: "455600000599",
        },
    ),
    ApduVector(
        "registration: password, config FE, currency EUR, service byte, TLV 06",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[2]",
        "06 00 63 00 00 00 FE 09 78 03 00 06 59 10 02 16 02 12 01 40 1A 02 10 00 26 28 0A 02 04"
        " 0F 0A 02 06 0F 0A 02 06 1E 0A 02 04 FF 0A 02 06 D8 0A 02 06 DB 0A 02 06 D9 0A 02 06 DA"
        " 0A 02 06 DD 0A 02 06 D3 27 03 14 01 FF 28 10 15 02 44 45 15 02 45 4E 15 02 46 52 15 02"
        " 49 54 40 02 C0 00 1F 04 02 F1 00 1F 05 01 00",
        {0x3D: "000000", 0x03: 0},
    ),
    ApduVector(
        "completion after registration: status byte, TID, currency, TLV",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[3]",
        "06 0F 11 19 00 29 52 00 12 33 49 09 78 06 05 27 03 14 01 FF",
        {0x19: 0, 0x29: "52001233", 0x49: 978, 0x06: "27 03 14 01 FF"},
    ),
    ApduVector(
        "authorization 10.00 with max status infos and payment type first",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[4]",
        "06 01 0E 02 01 04 00 00 00 00 10 00 19 44 49 09 78",
        {0x02: 1, 0x04: 1000, 0x19: 0x44, 0x49: 978},
    ),
    ApduVector(
        "intermediate status 0A (insert card) with timeout and display text TLV",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[5]",
        "04 FF 1E 0A 01 06 1A 24 18 07 16" + _ascii("Bitte Karte einstecken"),
        {},
    ),
    ApduVector(
        "print line",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[0]",
        "06 D1 17 00 20 20 20 20 20 20 20 20 20" + _ascii("Kassenschnitt"),
        {},
    ),
    ApduVector(
        "abort from the PT: 6C with extended error TLV 1F16/1F17",
        f"{ECRTERM}/test_parsing_abort.py",
        "061e2e6c062b1f1605ff000014411f1720416262727563682064757263682065787465726e6573204b6f"
        "6d6d616e646f21",
        {
            0x06: "1f1605ff000014411f1720416262727563682064757263682065787465726e6573204b6f6d6d"
            "616e646f21"
        },
    ),
    ApduVector(
        "status enquiry completion: sw version, status 00, TLV with E4 device info",
        f"{ECRTERM}/test_parsing_completion.py",
        "060f89f0f4f04745522d4150502d76322e302e393b635230322e30312e30312d30302e30392d322d323b"
        "4343323600065b1f440452500245e4431f400a6356454e4420626f782b1f41284745522d4150502d7632"
        "2e302e393b635230322e30312e30312d30302e30392d322d323b434332361f420411e930ec1f43010034"
        "0d1f0e04202306221f0f03085556",
        {},
    ),
    ApduVector(
        "print text block: cardholder receipt, extended APDU length (FF lo hi), TLV 82 hi lo",
        f"{PORTALUM}/PrintTextBlockTest.cs Parse_CardholderReceipt",
        "06d3ff8e020682028a1f07010225820282071820204c6569687374656c6c756e6720766f6e20686f6265"
        "780716202020202066817220504f5254414c554d20476d62480712202020202020202048657272205465"
        "737431071520202020205a5654205443502f49502c2044484350071b2d2d2d2d2d2d2d2d2d2d2d2d2d2d"
        "2d2d2d2d2d2d2d2d2d2d2d2d2d071b31392e31302e3230323120202020202020202031333a33303a3034"
        "071b303030303031332020202030303034202020202020303030303031071320202020202020204b554e"
        "44454e42454c4547071b2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d0712546572"
        "6d696e616c3a204148303030303036071142656c65672320203a204830303430303107124c3a2a2a2a2a"
        "2a2a2a2a2a2a2a2a3030303007134149443a20413030303030303030343130313007114b617274653a20"
        "4d41535445524341524407184170702e20203a204465626974204d617374657263617264071320202020"
        "20202020436f6e746163746c65737307044b415546070120070553554d4d450712202020202020202020"
        "4555523a20312c3030070120071b5472616365233a202020202020202020202020313030303430303107"
        "012007095265666572656e7a3a070120071a204175746f726973696572756e6773636f64653a33363736"
        "35350711202020202020202020285243203030312907142020202047656e65686d696774203336373635"
        "3507102020202020202030303130303430303107012007192041563a202b30342e303720284a756e2031"
        "31203230323129071b54493a20452044543a20302f302f204f463a20302f302f2043473a070f20202020"
        "20202020202020312f302f070120070120070120070120070120090181",
        {},
    ),
    ApduVector(
        "print text block: administration receipt, TLV 81 length",
        f"{PORTALUM}/PrintTextBlockTest.cs Parse_AdministrationReceipt",
        "06 D3 AC 06 81 A9 1F 07 01 03 25 81 A2 07 1B 30 32 2E 31 31 2E 32 30 32 31 20 20 20 20"
        " 20 20 20 20 20 31 37 3A 30 35 3A 30 32 07 0C 54 49 44 3A 41 48 30 30 30 30 30 36 07 14"
        " 41 62 73 63 68 6C 75 73 73 20 2D 20 6B 65 69 6E 65 20 54 58 07 19 20 41 56 3A 20 2B 30"
        " 34 2E 30 37 20 28 4A 75 6E 20 31 31 20 32 30 32 31 29 07 1B 54 49 3A 20 45 20 44 54 3A"
        " 20 30 2F 30 2F 20 4F 46 3A 20 30 2F 30 2F 20 43 47 3A 07 0F 20 20 20 20 20 20 20 20 20"
        " 20 20 31 2F 30 2F 07 01 20 07 01 20 07 01 20 07 01 20 07 01 20 07 01 20 07 01 20 09 01"
        " 81",
        {},
    ),
    # --- the spec: examples and, where marked, layouts ---
    ApduVector(
        "registration asking for message sequence ids (TLV 26 and 1F73), config 9E",
        SPEC + " §5.1 example",
        "06 00 14 00 00 00 9E 09 78 06 0C 26 04 0A 02 06 D3 1F 73 03 00 00 00",
        {
            0x3D: "000000",
            0x06: "26 04 0A 02 06 D3 1F 73 03 00 00 00",
        },
    ),
    ApduVector(
        "completion after registration: status byte, TID, currency, permitted commands",
        SPEC + " §5.1 example (PT without MsgSeqId)",
        "06 0F 12 19 00 29 65 00 00 28 49 09 78 06 06 26 04 0A 02 06 D3",
        {
            0x19: 0,
            0x29: "65000028",
            0x49: 978,
            0x06: "26 04 0A 02 06 D3",
        },
    ),
    ApduVector(
        "completion after registration echoing the MsgSeqId tag 1F73",
        SPEC + " §5.1 example (PT with MsgSeqId)",
        "06 0F 18 19 00 29 65 00 00 28 49 09 78 06 0C 26 04 0A 02 06 D3 1F 73 03 00 00 00",
        {
            0x19: 0,
            0x29: "65000028",
            0x49: 978,
            0x06: "26 04 0A 02 06 D3 1F 73 03 00 00 00",
        },
    ),
    ApduVector(
        "04 FF status 17 (please wait), timeout 3 min, display text '00 Approved' and 1F73",
        SPEC + " §5.1 example",
        "04 FF 19 17 03 06 15 24 0D 07 0B 30 30 20 41 70 70 72 6F 76 65 64 1F 73 03 00 00 08",
        {},
    ),
    ApduVector(
        "completion carrying only a TLV container (MsgSeqId 000011)",
        SPEC + " §5.1 example",
        "06 0F 08 06 06 1F 73 03 00 00 11",
        {
            0x06: "1F 73 03 00 00 11",
        },
    ),
    ApduVector(
        "status information 6C: goods not issued after max status infos, PT reversed",
        SPEC + " §2.2.6 notes (04-0F-02-27-6C)",
        "04 0F 02 27 6C",
        {
            0x27: 0x6C,
        },
    ),
    ApduVector(
        "negative ack 83: command not supported",
        SPEC + " §2.66",
        "84 83 00",
        {},
    ),
    ApduVector(
        "negative ack 9C: repeat the status information after 2 s",
        SPEC + " §2.2.6 b)",
        "84 9C 00",
        {},
    ),
    ApduVector(
        "negative ack CC: ECR printer not ready",
        SPEC + " §3.5",
        "84 CC 00",
        {},
    ),
    ApduVector(
        "84 00 00: the alternative positive answer to a status information",
        SPEC + " §2.2.6 a), §3.1.1",
        "84 00 00",
        {},
    ),
    ApduVector(
        "log-off",
        SPEC + " §2.24",
        "06 02 00",
        {},
    ),
    ApduVector(
        "completion without data",
        SPEC + " §2.2.9",
        "06 0F 00",
        {},
    ),
    ApduVector(
        "abort command from the ECR without card-output parameters",
        SPEC + " §2.23",
        "06 B0 00",
        {},
    ),
    ApduVector(
        "reversal of receipt 0470",
        SPEC_LAYOUT + " §2.9",
        "06 30 06 00 00 00 87 04 70",
        {
            0x3D: "000000",
            0x87: 470,
        },
    ),
    ApduVector(
        "reversal of receipt 0470 with amount 20.40",
        SPEC_LAYOUT + " §2.9",
        "06 30 0D 00 00 00 87 04 70 04 00 00 00 00 20 40",
        {
            0x3D: "000000",
            0x87: 470,
            0x04: 2040,
        },
    ),
    ApduVector(
        "refund 5.00 EUR",
        SPEC_LAYOUT + " §2.15",
        "06 31 0D 00 00 00 04 00 00 00 00 05 00 49 09 78",
        {
            0x3D: "000000",
            0x04: 500,
            0x49: 978,
        },
    ),
    ApduVector(
        "repeat receipt, password only",
        SPEC_LAYOUT + " §2.20.1 (06 20 03 <password>)",
        "06 20 03 00 00 00",
        {
            0x3D: "000000",
        },
    ),
    ApduVector(
        "repeat receipt asking for the status information, no print (service byte 03)",
        SPEC_LAYOUT + " §2.20.1 Table 5",
        "06 20 05 00 00 00 03 03",
        {
            0x3D: "000000",
            0x03: 3,
        },
    ),
    ApduVector(
        "diagnosis with TLV 1B = 02 (extended diagnosis)",
        SPEC_LAYOUT + " §2.17.1, §9.4.2 tag 1B",
        "06 70 05 06 03 1B 01 02",
        {
            0x06: "1B 01 02",
        },
    ),
    # --- card complete (Austria): precisions and support mails ---
    ApduVector(
        "end of day, password 000000",
        SMART + " (Kassenabschluss 06 50 03 00 00 00)",
        "06 50 03 00 00 00",
        {
            0x3D: "000000",
        },
    ),
    ApduVector(
        "status enquiry, password 000000",
        SMART + " (Status-Abfrage 05 01 03 00 00 00)",
        "05 01 03 00 00 00",
        {
            0x3D: "000000",
        },
    ),
    ApduVector(
        "status enquiry completion without software version: terminal status 00",
        SMART + " (Statusinformation 060F 01 00)",
        "06 0F 01 00",
        {},
    ),
    ApduVector(
        "status enquiry completion without software version: terminal status E0",
        SMART + " (Statusinformation 060F 01 E0: remote maintenance)",
        "06 0F 01 E0",
        {},
    ),
    ApduVector(
        "completion with result code E0 after end of day (software update follows)",
        SMART + "; also " + PORTALUM + "/PrintLineTest.cs ProcessData_LineReceived1",
        "06 0F 02 27 E0",
        {
            0x27: 0xE0,
        },
    ),
    ApduVector(
        "PT abort B8 with BMP 87 = FF FF (no receipt number)",
        EVEREST + "/partial_reversal.blob; " + SMART + "; " + ECRTERM,
        "06 1E 04 B8 87 FF FF",
        {},
    ),
    ApduVector(
        "registration 123456, config 8E, EUR, permitted commands {06 D3} (block print on the ECR)",
        MEMOS + "/memo21021901.txt",
        "06 00 0E 12 34 56 8E 09 78 06 06 26 04 0A 02 06 D3",
        {
            0x3D: "123456",
            0x06: "26 04 0A 02 06 D3",
        },
    ),
    ApduVector(
        "registration 123456, config BE (vending machine), EUR, permitted commands {06 D3}",
        MEMOS + "/memo21021902.txt",
        "06 00 0E 12 34 56 BE 09 78 06 06 26 04 0A 02 06 D3",
        {
            0x3D: "123456",
            0x06: "26 04 0A 02 06 D3",
        },
    ),
    ApduVector(
        "registration 123456, config 08 (PT prints everything), EUR",
        MEMOS + "/memo21020401.txt",
        "06 00 06 12 34 56 08 09 78",
        {
            0x3D: "123456",
        },
    ),
    # --- Portalum.Zvt unit tests (real frames) ---
    ApduVector(
        "authorization 10.00",
        PORTALUM + "/ZvtClientTest.cs PaymentAsync_SuccessfulPayment",
        "06 01 07 04 00 00 00 00 10 00",
        {
            0x04: 1000,
        },
    ),
    ApduVector(
        "authorization 33.00 with max status infos 10",
        PORTALUM + "/ZvtClientTest.cs PaymentAsync_IssueOfGoods_DelayedSuccess",
        "06 01 09 04 00 00 00 00 33 00 02 0A",
        {
            0x04: 3300,
            0x02: 10,
        },
    ),
    ApduVector(
        "status information: result 00 only",
        PORTALUM + "/ZvtClientTest.cs PaymentAsync_SuccessfulPayment",
        "04 0F 02 27 00",
        {
            0x27: 0,
        },
    ),
    ApduVector(
        "PT abort 64: card not readable",
        PORTALUM + "/ZvtClientTest.cs EndOfDayAsync_CommandCompletionReceivedWithAbortReceived2",
        "06 1E 01 64",
        {},
    ),
    ApduVector(
        "PT abort 05: host declined",
        PORTALUM + "/ZvtClientTest.cs PaymentAsync_CardRejected",
        "06 1E 01 05",
        {},
    ),
    ApduVector(
        "negative ack 66: goods not issued, the PT reverses",
        PORTALUM + "/ZvtClientTest.cs PaymentAsync_IssueOfGoods_DelayedFailure",
        "84 66 00",
        {},
    ),
    ApduVector(
        "status information: declined 05, Mastercard, display text TLV",
        PORTALUM + "/ZvtClientTest.cs PaymentAsync_CardRejected",
        "040F25270529290002743CF0F0F9416267656C65686E748A06060D240B0709416267656C65686E74",
        {
            0x27: 5,
            0x29: "29000274",
            0x3C: "Abgelehnt",
            0x8A: 6,
            0x06: "24 0B 07 09 41 62 67 65 6C 65 68 6E 74",
        },
    ),
    ApduVector(
        "status information after reversal: original trace 37, EMV print data TLV",
        PORTALUM + "/StatusInformationParserTest.cs Parse_ReversalGood1",
        "040FE22700040000000001000B0006070C1548580D02010E2512170001197022F0F8EEEEEEEEEEEE477129"
        "280048692A313030343631373633202020202020370006063B37313536393100003CF0F1F447454E2E4E52"
        "2E3A373135363931490978870607880006078A2E8BF1F74465626974204D61737465726361726400066524"
        "10070E47454E2E4E522E3A3731353639314307A0000000041010461F413030303030303030343130313020"
        "42314437333435433146324433353542471F41303030303030303034313031302042314437333435433146"
        "3244333535421F1001FF1F120102",
        {
            0x27: 0,
            0x04: 100,
            0x0B: 607,
            0x0C: "154858",
            0x0D: "0201",
            0x0E: "2512",
            0x17: 1,
            0x19: 0x70,
            0x22: "************4771",
            0x29: "28004869",
            0x2A: "100461763",
            0x37: 606,
            0x3B: "3731353639310000",
            0x3C: "GEN.NR.:715691",
            0x49: 978,
            0x87: 607,
            0x88: 607,
            0x8A: 0x2E,
            0x8B: "Debit Mastercard",
            0x06: "2410070E47454E2E4E522E3A3731353639314307A0000000041010461F413030303030303030"
                  "34313031302042314437333435433146324433353542471F4130303030303030303431303130"
                  "20423144373334354331463244333535421F1001FF1F120102",
        },
    ),
    ApduVector(
        "04 FF status FF (see TLV), timeout 10 min, two display lines",
        PORTALUM
        + "/IntermediateStatusInformationParserTest.cs GetMessage_TlvData"
        + " (its data; header 04 FF 1E added)",
        "04FF1EFF10061A2418070845555220312E3233070C42697474652077617274656E",
        {},
    ),
    ApduVector(
        "print line centred (attribute 40)",
        PORTALUM + "/PrintLineTest.cs ProcessData_LineReceived1",
        "06 D1 14 40 2A 2A 20 4B 41 53 53 45 4E 53 43 48 4E 49 54 54 20 2A 2A",
        {},
    ),
    ApduVector(
        "print line: empty last line (attribute 81)",
        PORTALUM + "/PrintLineTest.cs ProcessData_LineReceived1",
        "06 D1 01 81",
        {},
    ),
    ApduVector(
        "print line: last line 81 followed by TLV 06 04 1F 07 01 01 (card complete)",
        PORTALUM + "/PrintLineTest.cs ProcessData_LineReceivedCardCompleteWithTlv",
        "06 D1 07 81 06 04 1F 07 01 01",
        {},
    ),
    ApduVector(
        "print text block of 1213 bytes: 1F07, 1F37 receipt information, 14 character set 02",
        PORTALUM + "/ReceiveHandlerTest.cs ProcessData_FullDataPacket",
        "06D3FFBD04068204B91F0701011F370101140102258204AA0901000721202020205453532054656C636F20"
        "53616C657320536572766963657320476D624807192020202020202020202020204F626163686761737365"
        "203136071720202020202020202020202020205769656E203132323007262D2D2D2D2D2D2D2D2D2D2D2D2D"
        "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D072630343220202020202032382E30322E32"
        "3032322031323A32343A35392020202020203032313907192020202020202020202020202048C44E444C45"
        "5242454C454707262D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D"
        "2D2D2D0716202020202020202020202020202020436C6F737572650700072648C44E444C45522D49443A20"
        "202020202020202020202020202020203733313030303030303807265445524D494E414C3A202020202020"
        "2020202020202020202020202020203130303030303538071142617463682D4E756D6D65726E3A20343207"
        "18566F6E3A2032312E30322E323032322030383A33393A303307184269733A2032382E30322E3230323220"
        "31323A32343A3539070007262D2D2D2D2D2D2D2D2D2D2D2D2D2D484F535453554D4D454E2D2D2D2D2D2D2D"
        "2D2D2D2D2D2D2D07000717202020202020202020202020202053756D6D656E204F4B07255465726D696E61"
        "6C73756D6D656E2073696E6420676C6569636820486F737473756D6D656E070007262D2D2D2D2D2D2D2D2D"
        "2D2D2D2D474553414D5453554D4D454E2D2D2D2D2D2D2D2D2D2D2D2D2D07082020414E5A41484C070D4245"
        "5452414757C44852554E4707262D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D"
        "2D2D2D2D2D2D2D2D0726202020202020203420202020202020202020202020202020202020202020342E31"
        "3220455552070007262D2D2D2D2D2D2D2D2D2D2D2D2D2D53686F7274204C6973742D2D2D2D2D2D2D2D2D2D"
        "2D2D2D2D0700070007262D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D564953412D2D2D2D2D2D2D2D2D2D2D2D"
        "2D2D2D2D2D072645555220202020202020202020414E5A41484C2020202020202020202020202042455452"
        "4147072644656269742020202020202020202020203320202020202020202020202020202020382E323407"
        "264B726564697420202020202020202020203120202020202020202020202020202020342E313207262D2D"
        "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D0726476573616D"
        "743A202020202020202020203420202020202020202020202020202020342E313207000726524320202020"
        "20202020202020202020202020202020202020202020202020202020203030370700071920202020202020"
        "20202020205052494A4154452041444D494E07262D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D"
        "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D0718202020202020202020202020205669656C656E2044616E6B0724"
        "20426577616872656E205369652064656E2042656C6567207A7572207370E4746572656E071A2020202020"
        "202020202020DC6265727072FC66756E6720617566071F2020202020202056657273696F6E3A204B532041"
        "30322E303720283034392909018F",
        {},
    ),
    # --- EVerest/zvt captures (Feig cVEND) ---
    ApduVector(
        "status information 00 with card TLV: 4C UID, 1F45 ATS, 1F4C/1F4D/1F4F/1F50, 60 {43}",
        EVEREST + "/1680728161.963129000_pt_ecr.blob",
        "040F35270006314C0A000000000000081CA72F1F450505788070021F4C01011F4D02FE041F4F0204001F50"
        "012060094307A0000000041010",
        {
            0x27: 0,
            0x06: "4C0A000000000000081CA72F1F450505788070021F4C01011F4D02FE041F4F0204001F500120"
                  "60094307A0000000041010",
        },
    ),
    ApduVector(
        "04 FF status 17 without timeout",
        EVEREST + "/1680728162.647465000_pt_ecr.blob",
        "04 FF 01 17",
        {},
    ),
    ApduVector(
        "status information: MasterCard 25.00, masked PAN, VU number, 8C",
        EVEREST + "/1680728165.675509000_pt_ecr.blob",
        "040F5A2700040000000025004909780C2255580D040522F0F8559883EEEEEE80748702313B373530303731"
        "00000B000975196029525235350E24058A068C018BF1F14D617374657243617264002A3830343031313932"
        "36202020202020",
        {
            0x27: 0,
            0x04: 2500,
            0x49: 978,
            0x0C: "225558",
            0x0D: "0405",
            0x22: "559883******8074",
            0x87: 231,
            0x3B: "3735303037310000",
            0x0B: 975,
            0x19: 0x60,
            0x29: "52523535",
            0x0E: "2405",
            0x8A: 6,
            0x8C: 1,
            0x8B: "MasterCard",
            0x2A: "804011926",
        },
    ),
    ApduVector(
        "print text block: customer receipt of 1121 bytes ending with attribute FF",
        EVEREST + "/1680728215.585561000_pt_ecr.blob",
        "06D3FF61040682045D1F07010225820455070007282020202020202020202A2A20437573746F6D65722052"
        "656365697074202A2A20202020202020202007000728202020202020202020205075726368617365204D41"
        "535445524341524420202020202020202020200700072830352E30342E3230323320202020202020202020"
        "20202020202020202020202032323A35353A353807285465726D696E616C2D49643A202020202020202020"
        "20202020202020202020203532353233353335072854412D4E6F2E3A202020202020202020202020202020"
        "202020202020202020202020303030393737072854412D4E6F2E286F6C64293A2020202020202020202020"
        "2020202020202020202020303030393735072852656365697074204E6F3A20202020202020202020202020"
        "2020202020202020202020203032333207285472782E2D4E6F2E3A20202020202020202020202020202020"
        "202020202020202020202030333331072856552E4E6F2E3A20202020202020202020202020202020202020"
        "202020202038303430313139323607284170702D49443A2020202020202020202020202020202020202041"
        "30303030303030303431303130072843617264204E6F2E3A20202020202020202020202020202078787878"
        "7878787878787878383037340728436172645365712E204E6F2E3A20202020202020202020202020202020"
        "2020202020202020203030072843617074757265206B696E643A2020202020202020202020202020202043"
        "6F6E746163746C6573730728417574682E2D4E6F2E3A202020202020202020202020202020202020202020"
        "2020203735303037310728454D562D444154413A2020202020202020202020202020202020202020202020"
        "20202020202020200728303030303030383030312F2F3346303030322F2F2F303020202020202020202020"
        "20202020202020070007284D6178696D756D20616D6F756E743A2020202020202020202020202020202045"
        "55522032352C303007284465637265656420616D6F756E743A202020202020202020202020202020202045"
        "555220302C30300700072820202020202020202043616E63656C6C6174696F6E20617070726F7665642020"
        "2020202020202020070007282020202020202D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D"
        "2D2D202020202020200728496E666F3A202020202020202020202020202020202020202020202020202020"
        "2020202020202020072841532D50726F632D436F64653D2030302030373620303620202020202020202020"
        "202020202020200728436170742E2D5265662E3D2030303939202020202020202020202020202020202020"
        "202020202020072841494435393D2030383135323020202020202020202020202020202020202020202020"
        "20202020200728444155455220372054414745202020202020202020202020202020202020202020202020"
        "2020202007282020202020202D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D20202020"
        "20202007000901FF",
        {},
    ),
    ApduVector(
        "status information with a 70-byte additional text 3C (F0 F7 F0, CR separated)",
        EVEREST + "/1680728215.659492000_pt_ecr.blob",
        "040FA42700040000000000004909780C2255580D040522F0F8559883EEEEEE80748702323B373530303731"
        "00000B000977196029525235350E24058A068C018BF1F14D617374657243617264002A3830343031313932"
        "362020202020203CF0F7F041532D50726F632D436F64653D203030203037362030360D436170742E2D5265"
        "662E3D20303039390D41494435393D203038313532300D204441554552202020372054414745",
        {
            0x27: 0,
            0x04: 0,
            0x87: 232,
            0x0B: 977,
            0x22: "559883******8074",
            0x3C: "AS-Proc-Code= 00 076 06\rCapt.-Ref.= 0099\rAID59= 081520\r DAUER   7 TAGE",
        },
    ),
    ApduVector(
        "status enquiry completion (Feig): software version, terminal status 00, 1F44, E4, 34",
        EVEREST + "/1680728219.054216000_pt_ecr.blob",
        "060F89F0F4F04745522D4150502D76322E302E393B635330322E30312E30312D31302E31302D322D323B43"
        "43323600065B1F440452523535E4431F400A6356454E4420706C75671F41284745522D4150502D76322E30"
        "2E393B635330322E30312E30312D31302E31302D322D323B434332361F420417FD1E3C1F430100340D1F0E"
        "04202304051F0F03225655",
        {
            0x06: "1F440452523535E4431F400A6356454E4420706C75671F41284745522D4150502D76322E302E"
                  "393B635330322E30312E30312D31302E31302D322D323B434332361F420417FD1E3C1F430100"
                  "340D1F0E04202304051F0F03225655",
        },
    ),
    ApduVector(
        "completion after registration: status byte 10 (vending machine mode)",
        EVEREST + "/1680761818.641601000_pt_ecr.blob",
        "06 0F 0A 19 10 29 52 52 35 35 49 09 78",
        {
            0x19: 0x10,
            0x29: "52523535",
            0x49: 978,
        },
    ),
    ApduVector(
        "end-of-day status information: total 9.58, totals BMP 60 (2 Eurocard)",
        EVEREST + "/1680761828.489701000_pt_ecr.blob",
        "040F4D2700040000000009580B0009820D04060C08170660F0F5F302330234000000000000000000000000"
        "00000200000000095800000000000000000000000000000000000000000000000000000000",
        {
            0x27: 0,
            0x04: 958,
            0x0B: 982,
            0x0D: "0406",
            0x0C: "081706",
            0x60: "0233023400000000000000000000000000000200000000095800000000000000000000000000"
                  "000000000000000000000000000000",
        },
    ),
    ApduVector(
        "registration: password 123456, config DE, EUR",
        EVEREST + "/1681273860.511128000_ecr_pt.blob",
        "06 00 06 12 34 56 DE 09 78",
        {
            0x3D: "123456",
        },
    ),
    ApduVector(
        "end of day, password 123456",
        EVEREST + "/1681282621.302434000_ecr_pt.blob",
        "06 50 03 12 34 56",
        {
            0x3D: "123456",
        },
    ),
    ApduVector(
        "status information after card read: four 60 application containers",
        "EVerest/zvt zvt/src/packets.rs test_status_information (inline capture)",
        "040F64270006604C0A00000000000008FF69141F450C0C788074038031C073D631C01F4C01011F4D02FE04"
        "1F4F0204001F500120600B4309A00000005945430100600C430AA0000003591010028001600B4309D27600"
        "00254741010060094307A0000000041010",
        {
            0x27: 0,
            0x06: "4C0A00000000000008FF69141F450C0C788074038031C073D631C01F4C01011F4D02FE041F4F"
                  "0204001F500120600B4309A00000005945430100600C430AA0000003591010028001600B4309"
                  "D2760000254741010060094307A0000000041010",
        },
    ),
    # --- bezahl-online/zvt captures (a terminal in Austria, going by its receipts) ---
    ApduVector(
        "end-of-day status information: total 26.00, totals BMP 60 (4 girocard)",
        BEZAHL
        + "/1617181236803PT.hex; its length byte 49 restored: the dump dropped it,"
        + " the data is 73 bytes as the repository test expects",
        "040F492700040000000026000C1059370D033160F0F5F30068007104000000002600000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000",
        {
            0x27: 0,
            0x04: 2600,
            0x0C: "105937",
            0x0D: "0331",
            0x60: "0068007104000000002600000000000000000000000000000000000000000000000000000000"
                  "000000000000000000000000000000",
        },
    ),
    ApduVector(
        "status information: declined 05, card type 0D, display text TLV",
        BEZAHL + "/1618046758827PT.hex",
        "040F31270529290010063CF0F1F54B6172746520616267656C65686E748A0D06132411070F4B6172746520"
        "616267656C65686E74",
        {
            0x27: 5,
            0x29: "29001006",
            0x3C: "Karte abgelehnt",
            0x8A: 0x0D,
            0x06: "2411070F4B6172746520616267656C65686E74",
        },
    ),
    ApduVector(
        "status information: MAESTRO 18.80, 19-digit masked PAN padded with F, EMV TLV",
        BEZAHL + "/1618593839564PT.hex",
        "040FD42700040000000018800B0001530C1923360D0416170001197022F1F0EEEEEEEEEEEEEEE4281F2929"
        "0010062A3130303736343939322020202020203B39353835323000003CF0F1F447454E2E4E522E3A393538"
        "353230490978870153880001538A2E8BF0F84D41455354524F0006652410070E47454E2E4E522E3A393538"
        "3532304307A0000000043060461F4130303030303030303433303630204336313432333943393042453341"
        "3534471F413030303030303030343330363020433631343233394339304245334135341F1001001F120102",
        {
            0x27: 0,
            0x04: 1880,
            0x0B: 153,
            0x0C: "192336",
            0x0D: "0416",
            0x17: 1,
            0x19: 0x70,
            0x22: "***************4281",
            0x29: "29001006",
            0x2A: "100764992",
            0x3B: "3935383532300000",
            0x3C: "GEN.NR.:958520",
            0x49: 978,
            0x87: 153,
            0x88: 153,
            0x8A: 0x2E,
            0x8B: "MAESTRO",
        },
    ),
    ApduVector(
        "status enquiry completion without software version: DC card inserted",
        BEZAHL + "/1619070661833PT.hex",
        "06 0F 01 DC",
        {},
    ),
    ApduVector(
        "status information 6C (timeout or abort key) with terminal id",
        BEZAHL + "/1620217578711PT.hex",
        "04 0F 07 27 6C 29 29 00 10 06",
        {
            0x27: 0x6C,
            0x29: "29001006",
        },
    ),
    ApduVector(
        "PT abort 6C: timeout or abort key",
        BEZAHL + "/1620217579741PT.hex",
        "06 1E 01 6C",
        {},
    ),
    ApduVector(
        "completion after registration: status byte 00, TID 29001006, EUR",
        BEZAHL + "/1620218414428PT.hex",
        "06 0F 0A 19 00 29 29 00 10 06 49 09 78",
        {
            0x19: 0,
            0x29: "29001006",
            0x49: 978,
        },
    ),
    ApduVector(
        "04 FF insert card (0A), timeout 1, display text with a line feed inside",
        BEZAHL + "/data050730027.hex",
        "04FF2E0A01062A242807264B6172746520766F7268616C74656E0A65696E737465636B656E2F6475726368"
        "7A696568656E",
        {},
    ),
    ApduVector(
        "print text block: merchant receipt, ISO 8859-1 text (C4), attributes 40/00 inside",
        BEZAHL + "/data051327012.hex",
        "06D3FF0E020682020A1F0701012582020209014007122A2A2048C44E444C455242454C4547202A2A071754"
        "4553542042455A41484C2E4F4E4C494E4520452E552E07064E522031323207133636343520564F52444552"
        "484F524E424143480700070009010007012009014007075645524B415546090100071830352E30332E3230"
        "323120202020202031333A32363A353207185465726D696E616C2D49443A20202020323930303130303607"
        "1856552D4E723A202020202020202020313030373634393932071842656C65672D4E723A20202020202020"
        "2030302F30303139071854726163652D4E723A202020202020202020303030323635090140070A4B4F4E54"
        "414B544C4F53070E4D61657374726F2F444D432041540901000714202020204465626974204D6173746572"
        "6361726407134149443A204130303030303030303431303130071843727970746F3A204343304344374342"
        "443945303241324107184E723A20202A2A2A2A202A2A2A2A202A2A2A2A203537323607185345513A202020"
        "2020202020202020202020202020303031070C452E4D6F6465284729202020090140070742455A41484C54"
        "090100070E47454E2E4E522E3A37393034393807184245545241473A20204555522020202020202020302C"
        "303107182020202020202020203D3D3D3D3D3D3D3D3D3D3D3D3D3D3D070120090140070007000700090100"
        "070120070120070120070120090181",
        {},
    ),
    ApduVector(
        "04 FF status 0E (please wait) without timeout",
        BEZAHL + "/data081621025.hex",
        "04 FF 01 0E",
        {},
    ),
    ApduVector(
        "status information: Debit Mastercard 0.01, masked PAN, EMV TLV",
        BEZAHL + "/data081649050.hex",
        "040FDB2700040000000000010B0000220C1649230D0308170001197022F0F8EEEEEEEEEEEE572629290010"
        "062A3130303736343939322020202020203B32393136373500003CF0F1F447454E2E4E522E3A3239313637"
        "35490978870022880000228A2E8BF1F74465626974204D6173746572636172640006652410070E47454E2E"
        "4E522E3A3239313637354307A0000000041010461F41303030303030303034313031302035463236304546"
        "433544323845343531471F413030303030303030343130313020354632363045464335443238453435311F"
        "1001001F120102",
        {
            0x27: 0,
            0x04: 1,
            0x0B: 22,
            0x0C: "164923",
            0x0D: "0308",
            0x17: 1,
            0x19: 0x70,
            0x22: "************5726",
            0x29: "29001006",
            0x2A: "100764992",
            0x3C: "GEN.NR.:291675",
            0x49: 978,
            0x87: 22,
            0x88: 22,
            0x8A: 0x2E,
            0x8B: "Debit Mastercard",
        },
    ),
    # --- wirelane/ecrterm tests ---
    ApduVector(
        "registration without currency: password 987654, config 41",
        ECRTERM + "/test_apdu.py test_parse_fixed_no_optional",
        "06 00 04 98 76 54 41",
        {
            0x3D: "987654",
        },
    ),
    ApduVector(
        "registration with currency and service byte 0A",
        ECRTERM + "/test_apdu.py test_simple_create_serialize",
        "06 00 08 77 77 77 A0 09 78 03 0A",
        {
            0x3D: "777777",
            0x03: 0x0A,
        },
    ),
    ApduVector(
        "registration: password 123456, config BA, EUR",
        ECRTERM + "/test_data_encoding.py test_Anmeldung",
        "06 00 06 12 34 56 BA 09 78",
        {
            0x3D: "123456",
        },
    ),
    ApduVector(
        "authorization 110.00 EUR (a 10 byte in the amount)",
        ECRTERM + "/test_data_encoding.py test_Zahlung_eccash",
        "06 01 0A 04 00 00 00 01 10 00 49 09 78",
        {
            0x04: 11000,
            0x49: 978,
        },
    ),
    ApduVector(
        "authorization with only a TLV container F2 {C1}",
        ECRTERM + "/test_apdu.py test_create_tlv",
        "06 01 08 06 06 F2 04 C1 02 12 23",
        {
            0x06: "F2 04 C1 02 12 23",
        },
    ),
    ApduVector(
        "diagnosis without data",
        ECRTERM + "/test_data_encoding.py test_packet_diagnosis",
        "06 70 00",
        {},
    ),
    ApduVector(
        "status enquiry with service byte 04 (send TLV in the completion)",
        ECRTERM + "/test_data_encoding.py test_packet_statusenquiry_with_service_byte",
        "05 01 05 12 34 56 03 04",
        {
            0x3D: "123456",
            0x03: 4,
        },
    ),
    ApduVector(
        "end of day with TLV: constructed 3F21 holding constructed 60",
        ECRTERM + "/test_apdu.py test_parse_with_tlv",
        "06 50 17 12 34 56 06 12 3F 21 0C 60 06 55 01 AA 05 01 BB 10 02 AB BA 11 01 77",
        {
            0x3D: "123456",
            0x06: "3F 21 0C 60 06 55 01 AA 05 01 BB 10 02 AB BA 11 01 77",
        },
    ),
    ApduVector(
        "04 FF insert card (0A), timeout 1, display text in CP437 (84 94 81 E1)",
        ECRTERM + "/test_parsing.py test_text_encoding_tlv",
        "04 FF 14 0A 01 06 10 24 0E 07 0C 54 65 73 74 20 84 20 94 20 81 20 E1",
        {},
    ),
    ApduVector(
        "print line in CP437: 'Test ä ö ü ß'",
        ECRTERM + "/test_parsing.py test_text_encoding_default",
        "06 D1 0D 00 54 65 73 74 20 84 20 94 20 81 20 E1",
        {},
    ),
    ApduVector(
        "print line 'Gesamt      0       0,00'",
        ECRTERM + "/test_data_encoding.py test_packet_printline",
        "06 D1 19 00 47 65 73 61 6D 74 20 20 20 20 20 20 30 20 20 20 20 20 20 20 30 2C 30 30",
        {},
    ),
]

FRAME_VECTORS: list[FrameVector] = [
    FrameVector(
        "authorization 1.90",
        ZVT_MD,
        "10 02 06 01 07 04 00 00 00 00 01 90 10 03 76 57",
        "06 01 07 04 00 00 00 00 01 90",
    ),
    FrameVector("ack APDU", ZVT_MD, "10 02 80 00 00 10 03 F5 1F", "80 00 00"),
    FrameVector(
        "status enquiry, password 123456",
        ZVT_MD,
        "10 02 05 01 03 12 34 56 10 03 E0 43",
        "05 01 03 12 34 56",
    ),
    FrameVector(
        "status enquiry completion with software version 2.14.15 (captured)",
        f"{ECRTERM}/test_parsing.py test_version_completion",
        "10 02 06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 10 03 B1 11",
        "06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00",
    ),
    FrameVector(
        "registration 123456, config BA, EUR",
        ECRTERM + "/test_data_encoding.py test_Anmeldung",
        "10 02 06 00 06 12 34 56 BA 09 78 10 03 24 C3",
        "06 00 06 12 34 56 BA 09 78",
    ),
    FrameVector(
        "initialisation 06 93, password 123456",
        ECRTERM + "/test_data_encoding.py test_Initialisierung",
        "10 02 06 93 03 12 34 56 10 03 CA A4",
        "06 93 03 12 34 56",
    ),
    FrameVector(
        "authorization 110.00 EUR: the 10 in the amount is doubled",
        ECRTERM + "/test_data_encoding.py test_Zahlung_eccash",
        "10 02 06 01 0A 04 00 00 00 01 10 10 00 49 09 78 10 03 F2 FF",
        "06 01 0A 04 00 00 00 01 10 00 49 09 78",
    ),
    FrameVector(
        "diagnosis",
        ECRTERM + "/test_data_encoding.py test_packet_diagnosis",
        "10 02 06 70 00 10 03 D9 F9",
        "06 70 00",
    ),
    FrameVector(
        "print line 'Gesamt      0       0,00'",
        ECRTERM + "/test_data_encoding.py test_packet_printline",
        "100206D11900476573616D742020202020203020202020202020302C30301003B5AB",
        "06 D1 19 00 47 65 73 61 6D 74 20 20 20 20 20 20 30 20 20 20 20 20 20 20 30 2C 30 30",
    ),
    FrameVector(
        "negative ack 9C",
        ECRTERM + "/test_data_encoding.py test_packet_received_error",
        "10 02 84 9C 00 10 03 C3 41",
        "84 9C 00",
    ),
    FrameVector(
        "reset terminal 06 18",
        ECRTERM + "/test_data_encoding.py test_packet_resetterminal",
        "10 02 06 18 00 10 03 56 3A",
        "06 18 00",
    ),
    FrameVector(
        "display text 06 E0 with two LLVAR lines",
        ECRTERM + "/test_data_encoding.py test_packet_showtext",
        "100206E025F1F1F64641485245524E554D4D455220202020F2F1F545494E474542454E20554E44204F4B10"
        "03DECD",
        "06E025F1F1F64641485245524E554D4D455220202020F2F1F545494E474542454E20554E44204F4B",
    ),
    FrameVector(
        "status enquiry with service byte 04",
        ECRTERM + "/test_data_encoding.py test_packet_statusenquiry_with_service_byte",
        "10 02 05 01 05 12 34 56 03 04 10 03 30 94",
        "05 01 05 12 34 56 03 04",
    ),
    FrameVector(
        "completion after registration: the status byte 10 is doubled",
        EVEREST + "/1680761818.641601000_pt_ecr.blob; frame: " + KERMIT,
        "10 02 06 0F 0A 19 10 10 29 52 52 35 35 49 09 78 10 03 26 92",
        "06 0F 0A 19 10 29 52 52 35 35 49 09 78",
    ),
    FrameVector(
        "status information 6C: the 10 in the terminal id is doubled",
        BEZAHL + "/1620217578711PT.hex; frame: " + KERMIT,
        "10 02 04 0F 07 27 6C 29 29 00 10 10 06 10 03 B2 57",
        "04 0F 07 27 6C 29 29 00 10 06",
    ),
    FrameVector(
        "status enquiry completion whose CRC high byte is 10 (CRC bytes are never doubled)",
        ECRTERM + "/test_parsing_completion.py; frame: " + KERMIT,
        "1002060F89F0F4F04745522D4150502D76322E302E393B635230322E30312E30312D30302E30392D322D32"
        "3B4343323600065B1F440452500245E4431F400A6356454E4420626F782B1F41284745522D4150502D7632"
        "2E302E393B635230322E30312E30312D30302E30392D322D323B434332361F420411E930EC1F430100340D"
        "1F0E04202306221F0F030855561003ED10",
        "060F89F0F4F04745522D4150502D76322E302E393B635230322E30312E30312D30302E30392D322D323B43"
        "43323600065B1F440452500245E4431F400A6356454E4420626F782B1F41284745522D4150502D76322E30"
        "2E393B635230322E30312E30312D30302E30392D322D323B434332361F420411E930EC1F430100340D1F0E"
        "04202306221F0F03085556",
    ),
]

TLV_VECTORS: list[TlvVector] = [
    TlvVector(
        "registration TLV: constructed 26 (permitted commands), 27, 28; two-byte tags",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[2]",
        "10 02 16 02 12 01 40 1A 02 10 00 26 28 0A 02 04 0F 0A 02 06 0F 0A 02 06 1E 0A 02 04 FF"
        " 0A 02 06 D8 0A 02 06 DB 0A 02 06 D9 0A 02 06 DA 0A 02 06 DD 0A 02 06 D3 27 03 14 01 FF"
        " 28 10 15 02 44 45 15 02 45 4E 15 02 46 52 15 02 49 54 40 02 C0 00 1F 04 02 F1 00 1F 05"
        " 01 00",
        [
            ("10", "1602"),
            ("12", "40"),
            ("1A", "1000"),
            (
                "26",
                [
                    ("0A", x)
                    for x in (
                        "040F",
                        "060F",
                        "061E",
                        "04FF",
                        "06D8",
                        "06DB",
                        "06D9",
                        "06DA",
                        "06DD",
                        "06D3",
                    )
                ],
            ),
            ("27", [("14", "FF")]),
            ("28", [("15", "4445"), ("15", "454E"), ("15", "4652"), ("15", "4954")]),
            ("40", "C000"),
            ("1F04", "F100"),
            ("1F05", "00"),
        ],
    ),
    TlvVector(
        "extended error code and text (1F16, 1F17)",
        f"{ECRTERM}/test_parsing_abort.py",
        "1f1605ff000014411f1720416262727563682064757263682065787465726e6573204b6f6d6d616e646f21",
        [("1F16", "ff00001441"), ("1F17", _ascii("Abbruch durch externes Kommando!"))],
    ),
    TlvVector(
        "card data TLV: constructed 2F and 60, tag 1F2B",
        f"{PORTALUM}/StatusInformationParserTest.cs Parse_TlvInfos1",
        "2F 08 1F 12 01 02 1F 10 01 00 60 1B 43 07 A0 00 00 00 04 10 10 44 10 44 65 62 69 74 20"
        " 4D 61 73 74 65 72 63 61 72 64 1F 2B 04 10 01 50 08",
        [
            ("2F", [("1F12", "02"), ("1F10", "00")]),
            ("60", [("43", "A0000000041010"), ("44", _ascii("Debit Mastercard"))]),
            ("1F2B", "10015008"),
        ],
    ),
    TlvVector(
        "display texts: constructed 24 with a text line 07",
        f"{PORTALUM}/IntermediateStatusInformationParserTest.cs GetMessage_TlvData",
        "24 18 07 08 45 55 52 20 31 2E 32 33 07 0C 42 69 74 74 65 20 77 61 72 74 65 6E",
        [("24", [("07", _ascii("EUR 1.23")), ("07", _ascii("Bitte warten"))])],
    ),
    TlvVector(
        "permitted commands 26 {0A 06 D3} and MsgSeqId 1F73",
        SPEC + " §5.1 example",
        "26 04 0A 02 06 D3 1F 73 03 00 00 00",
        [
            ("26", [
                ("0A", "06 D3"),
            ]),
            ("1F73", "00 00 00"),
        ],
    ),
    TlvVector(
        "status enquiry TLV: 1F44, constructed E4 {1F40..1F43}, constructed 34 {1F0E, 1F0F}",
        EVEREST + "/1680728219.054216000_pt_ecr.blob",
        "1F440452523535E4431F400A6356454E4420706C75671F41284745522D4150502D76322E302E393B635330"
        "322E30312E30312D31302E31302D322D323B434332361F420417FD1E3C1F430100340D1F0E04202304051F"
        "0F03225655",
        [
            ("1F44", "52 52 35 35"),
            ("E4", [
                ("1F40", _ascii("cVEND plug")),
                ("1F41", _ascii("GER-APP-v2.0.9;cS02.01.01-10.10-2-2;CC26")),
                ("1F42", "17 FD 1E 3C"),
                ("1F43", "00"),
            ]),
            ("34", [
                ("1F0E", "20 23 04 05"),
                ("1F0F", "22 56 55"),
            ]),
        ],
    ),
    TlvVector(
        "card read TLV: 4C UID, 1F45 ATS, 1F4C, 1F4D, 1F4F, 1F50, constructed 60 {43 AID}",
        EVEREST + "/1680728161.963129000_pt_ecr.blob",
        "4C0A000000000000081CA72F1F450505788070021F4C01011F4D02FE041F4F0204001F50012060094307A0"
        "000000041010",
        [
            ("4C", "00 00 00 00 00 00 08 1C A7 2F"),
            ("1F45", "05 78 80 70 02"),
            ("1F4C", "01"),
            ("1F4D", "FE 04"),
            ("1F4F", "04 00"),
            ("1F50", "20"),
            ("60", [
                ("43", "A0 00 00 00 04 10 10"),
            ]),
        ],
    ),
    TlvVector(
        "four constructed 60 application containers with 43 AIDs of 7, 9 and 10 bytes",
        "EVerest/zvt zvt/src/packets.rs test_status_information (inline capture)",
        "4C0A00000000000008FF69141F450C0C788074038031C073D631C01F4C01011F4D02FE041F4F0204001F50"
        "0120600B4309A00000005945430100600C430AA0000003591010028001600B4309D2760000254741010060"
        "094307A0000000041010",
        [
            ("4C", "00 00 00 00 00 00 08 FF 69 14"),
            ("1F45", "0C 78 80 74 03 80 31 C0 73 D6 31 C0"),
            ("1F4C", "01"),
            ("1F4D", "FE 04"),
            ("1F4F", "04 00"),
            ("1F50", "20"),
            ("60", [
                ("43", "A0 00 00 00 59 45 43 01 00"),
            ]),
            ("60", [
                ("43", "A0 00 00 03 59 10 10 02 80 01"),
            ]),
            ("60", [
                ("43", "D2 76 00 00 25 47 41 01 00"),
            ]),
            ("60", [
                ("43", "A0 00 00 00 04 10 10"),
            ]),
        ],
    ),
    TlvVector(
        "EMV TLV after reversal: 24 {07}, 43, 46, 47, 1F10 = FF, 1F12 = 02",
        PORTALUM + "/StatusInformationParserTest.cs Parse_ReversalGood1",
        "2410070E47454E2E4E522E3A3731353639314307A0000000041010461F4130303030303030303431303130"
        "2042314437333435433146324433353542471F413030303030303030343130313020423144373334354331"
        "463244333535421F1001FF1F120102",
        [
            ("24", [
                ("07", _ascii("GEN.NR.:715691")),
            ]),
            ("43", "A0 00 00 00 04 10 10"),
            ("46", _ascii("A0000000041010 B1D7345C1F2D355B")),
            ("47", _ascii("A0000000041010 B1D7345C1F2D355B")),
            ("1F10", "FF"),
            ("1F12", "02"),
        ],
    ),
    TlvVector(
        "nested constructed 3F21 {60 {55, 05}, 10} then 11",
        ECRTERM + "/test_apdu.py test_parse_with_tlv",
        "3F 21 0C 60 06 55 01 AA 05 01 BB 10 02 AB BA 11 01 77",
        [
            ("3F21", [
                ("60", [
                    ("55", "AA"),
                    ("05", "BB"),
                ]),
                ("10", "AB BA"),
            ]),
            ("11", "77"),
        ],
    ),
    TlvVector(
        "administration receipt: 1F07 = 03, 25 with long-form length 81 A2, ends 09 = 81",
        PORTALUM + "/PrintTextBlockTest.cs Parse_AdministrationReceipt",
        "1F0701032581A2071B30322E31312E3230323120202020202020202031373A30353A3032070C5449443A41"
        "48303030303036071441627363686C757373202D206B65696E6520545807192041563A202B30342E303720"
        "284A756E203131203230323129071B54493A20452044543A20302F302F204F463A20302F302F2043473A07"
        "0F2020202020202020202020312F302F070120070120070120070120070120070120070120090181",
        [
            ("1F07", "03"),
            ("25", [
                ("07", _ascii("02.11.2021         17:05:02")),
                ("07", _ascii("TID:AH000006")),
                ("07", _ascii("Abschluss - keine TX")),
                ("07", _ascii(" AV: +04.07 (Jun 11 2021)")),
                ("07", _ascii("TI: E DT: 0/0/ OF: 0/0/ CG:")),
                ("07", _ascii("           1/0/")),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("09", "81"),
            ]),
        ],
    ),
    TlvVector(
        "merchant receipt with attributes 09 between the lines, 25 with length 82 02 02",
        BEZAHL + "/data051327012.hex",
        "1F0701012582020209014007122A2A2048C44E444C455242454C4547202A2A0717544553542042455A4148"
        "4C2E4F4E4C494E4520452E552E07064E522031323207133636343520564F52444552484F524E4241434807"
        "00070009010007012009014007075645524B415546090100071830352E30332E3230323120202020202031"
        "333A32363A353207185465726D696E616C2D49443A202020203239303031303036071856552D4E723A2020"
        "20202020202020313030373634393932071842656C65672D4E723A202020202020202030302F3030313907"
        "1854726163652D4E723A202020202020202020303030323635090140070A4B4F4E54414B544C4F53070E4D"
        "61657374726F2F444D432041540901000714202020204465626974204D6173746572636172640713414944"
        "3A204130303030303030303431303130071843727970746F3A204343304344374342443945303241324107"
        "184E723A20202A2A2A2A202A2A2A2A202A2A2A2A203537323607185345513A202020202020202020202020"
        "2020202020303031070C452E4D6F6465284729202020090140070742455A41484C54090100070E47454E2E"
        "4E522E3A37393034393807184245545241473A20204555522020202020202020302C303107182020202020"
        "202020203D3D3D3D3D3D3D3D3D3D3D3D3D3D3D070120090140070007000700090100070120070120070120"
        "070120090181",
        [
            ("1F07", "01"),
            ("25", [
                ("09", "40"),
                ("07", "2A 2A 20 48 C4 4E 44 4C 45 52 42 45 4C 45 47 20 2A 2A"),
                ("07", _ascii("TEST BEZAHL.ONLINE E.U.")),
                ("07", _ascii("NR 122")),
                ("07", _ascii("6645 VORDERHORNBACH")),
                ("07", ""),
                ("07", ""),
                ("09", "00"),
                ("07", _ascii(" ")),
                ("09", "40"),
                ("07", _ascii("VERKAUF")),
                ("09", "00"),
                ("07", _ascii("05.03.2021      13:26:52")),
                ("07", _ascii("Terminal-ID:    29001006")),
                ("07", _ascii("VU-Nr:         100764992")),
                ("07", _ascii("Beleg-Nr:        00/0019")),
                ("07", _ascii("Trace-Nr:         000265")),
                ("09", "40"),
                ("07", _ascii("KONTAKTLOS")),
                ("07", _ascii("Maestro/DMC AT")),
                ("09", "00"),
                ("07", _ascii("    Debit Mastercard")),
                ("07", _ascii("AID: A0000000041010")),
                ("07", _ascii("Crypto: CC0CD7CBD9E02A2A")),
                ("07", _ascii("Nr:  **** **** **** 5726")),
                ("07", _ascii("SEQ:                 001")),
                ("07", _ascii("E.Mode(G)   ")),
                ("09", "40"),
                ("07", _ascii("BEZAHLT")),
                ("09", "00"),
                ("07", _ascii("GEN.NR.:790498")),
                ("07", _ascii("BETRAG:  EUR        0,01")),
                ("07", _ascii("         ===============")),
                ("07", _ascii(" ")),
                ("09", "40"),
                ("07", ""),
                ("07", ""),
                ("07", ""),
                ("09", "00"),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("07", _ascii(" ")),
                ("09", "81"),
            ]),
        ],
    ),
    TlvVector(
        "receipt block with 1F37, 14 and 25 of length 82 04 AA",
        PORTALUM + "/ReceiveHandlerTest.cs ProcessData_FullDataPacket",
        "1F0701011F370101140102258204AA0901000721202020205453532054656C636F2053616C657320536572"
        "766963657320476D624807192020202020202020202020204F626163686761737365203136071720202020"
        "202020202020202020205769656E203132323007262D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D"
        "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D072630343220202020202032382E30322E323032322031323A3234"
        "3A35392020202020203032313907192020202020202020202020202048C44E444C455242454C454707262D"
        "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D071620202020"
        "2020202020202020202020436C6F737572650700072648C44E444C45522D49443A20202020202020202020"
        "202020202020203733313030303030303807265445524D494E414C3A202020202020202020202020202020"
        "2020202020203130303030303538071142617463682D4E756D6D65726E3A2034320718566F6E3A2032312E"
        "30322E323032322030383A33393A303307184269733A2032382E30322E323032322031323A32343A353907"
        "0007262D2D2D2D2D2D2D2D2D2D2D2D2D2D484F535453554D4D454E2D2D2D2D2D2D2D2D2D2D2D2D2D2D0700"
        "0717202020202020202020202020202053756D6D656E204F4B07255465726D696E616C73756D6D656E2073"
        "696E6420676C6569636820486F737473756D6D656E070007262D2D2D2D2D2D2D2D2D2D2D2D2D474553414D"
        "5453554D4D454E2D2D2D2D2D2D2D2D2D2D2D2D2D07082020414E5A41484C070D42455452414757C4485255"
        "4E4707262D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D07"
        "26202020202020203420202020202020202020202020202020202020202020342E31322045555207000726"
        "2D2D2D2D2D2D2D2D2D2D2D2D2D2D53686F7274204C6973742D2D2D2D2D2D2D2D2D2D2D2D2D2D0700070007"
        "262D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D564953412D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D07264555"
        "5220202020202020202020414E5A41484C2020202020202020202020202042455452414707264465626974"
        "2020202020202020202020203320202020202020202020202020202020382E323407264B72656469742020"
        "2020202020202020203120202020202020202020202020202020342E313207262D2D2D2D2D2D2D2D2D2D2D"
        "2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D0726476573616D743A20202020202020"
        "2020203420202020202020202020202020202020342E313207000726524320202020202020202020202020"
        "2020202020202020202020202020202020202020303037070007192020202020202020202020205052494A"
        "4154452041444D494E07262D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D2D"
        "2D2D2D2D2D2D0718202020202020202020202020205669656C656E2044616E6B072420426577616872656E"
        "205369652064656E2042656C6567207A7572207370E4746572656E071A2020202020202020202020DC6265"
        "727072FC66756E6720617566071F2020202020202056657273696F6E3A204B53204130322E303720283034"
        "392909018F",
        [
            ("1F07", "01"),
            ("1F37", "01"),
            ("14", "02"),
            ("25", [
                ("09", "00"),
                ("07", _ascii("    TSS Telco Sales Services GmbH")),
                ("07", _ascii("            Obachgasse 16")),
                ("07", _ascii("              Wien 1220")),
                ("07", _ascii("--------------------------------------")),
                ("07", _ascii("042      28.02.2022 12:24:59      0219")),
                ("07", (
                    "2020202020202020202020202048C44E444C455242454C4547"
                )),
                ("07", _ascii("--------------------------------------")),
                ("07", _ascii("               Closure")),
                ("07", ""),
                ("07", (
                    "48C44E444C45522D49443A2020202020202020202020202020202020373331303030303030"
                    "38"
                )),
                ("07", _ascii("TERMINAL:                     10000058")),
                ("07", _ascii("Batch-Nummern: 42")),
                ("07", _ascii("Von: 21.02.2022 08:39:03")),
                ("07", _ascii("Bis: 28.02.2022 12:24:59")),
                ("07", ""),
                ("07", _ascii("--------------HOSTSUMMEN--------------")),
                ("07", ""),
                ("07", _ascii("              Summen OK")),
                ("07", _ascii("Terminalsummen sind gleich Hostsummen")),
                ("07", ""),
                ("07", _ascii("-------------GESAMTSUMMEN-------------")),
                ("07", _ascii("  ANZAHL")),
                ("07", "42 45 54 52 41 47 57 C4 48 52 55 4E 47"),
                ("07", _ascii("--------------------------------------")),
                ("07", _ascii("       4                      4.12 EUR")),
                ("07", ""),
                ("07", _ascii("--------------Short List--------------")),
                ("07", ""),
                ("07", ""),
                ("07", _ascii("-----------------VISA-----------------")),
                ("07", _ascii("EUR          ANZAHL             BETRAG")),
                ("07", _ascii("Debit            3                8.24")),
                ("07", _ascii("Kredit           1                4.12")),
                ("07", _ascii("--------------------------------------")),
                ("07", _ascii("Gesamt:          4                4.12")),
                ("07", ""),
                ("07", _ascii("RC                                 007")),
                ("07", ""),
                ("07", _ascii("            PRIJATE ADMIN")),
                ("07", _ascii("--------------------------------------")),
                ("07", _ascii("             Vielen Dank")),
                ("07", (
                    "20426577616872656E205369652064656E2042656C6567207A7572207370E4746572656E"
                )),
                ("07", (
                    "2020202020202020202020DC6265727072FC66756E6720617566"
                )),
                ("07", _ascii("       Version: KS A02.07 (049)")),
                ("09", "8F"),
            ]),
        ],
    ),
]

CRC_VECTORS: list[tuple[str, str, int]] = [
    (
        "CRC-16/KERMIT check value (catalogue of CRC algorithms)",
        "31 32 33 34 35 36 37 38 39",
        0x2189,
    ),
    (ZVT_MD + ": authorization 1.90 + ETX", "06 01 07 04 00 00 00 00 01 90 03", 0x5776),
    (ZVT_MD + ": ack APDU + ETX", "80 00 00 03", 0x1FF5),
    (
        f"{ECRTERM}/test_parsing.py: captured completion + ETX",
        "06 0F 0B F0 F0 F7 32 2E 31 34 2E 31 35 00 03",
        0x11B1,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_Anmeldung",
        "06 00 06 12 34 56 BA 09 78 03",
        0xC324,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_Initialisierung",
        "06 93 03 12 34 56 03",
        0xA4CA,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_Zahlung_eccash",
        "06 01 0A 04 00 00 00 01 10 00 49 09 78 03",
        0xFFF2,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_packet_diagnosis",
        "06 70 00 03",
        0xF9D9,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_packet_printline",
        "06 D1 19 00 47 65 73 61 6D 74 20 20 20 20 20 20 30 20 20 20 20 20 20 20 30 2C 30 30 03",
        0xABB5,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_packet_received_error",
        "84 9C 00 03",
        0x41C3,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_packet_resetterminal",
        "06 18 00 03",
        0x3A56,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_packet_showtext",
        "06E025F1F1F64641485245524E554D4D455220202020F2F1F545494E474542454E20554E44204F4B03",
        0xCDDE,
    ),
    (
        ECRTERM + "/test_data_encoding.py test_packet_statusenquiry_with_service_byte",
        "05 01 05 12 34 56 03 04 03",
        0x9430,
    ),
    (
        EVEREST + "/1680761818.641601000_pt_ecr.blob; frame: " + KERMIT,
        "06 0F 0A 19 10 29 52 52 35 35 49 09 78 03",
        0x9226,
    ),
    (
        BEZAHL + "/1620217578711PT.hex; frame: " + KERMIT,
        "04 0F 07 27 6C 29 29 00 10 06 03",
        0x57B2,
    ),
    (
        ECRTERM + "/test_parsing_completion.py; frame: " + KERMIT,
        "060F89F0F4F04745522D4150502D76322E302E393B635230322E30312E30312D30302E30392D322D323B43"
        "43323600065B1F440452500245E4431F400A6356454E4420626F782B1F41284745522D4150502D76322E30"
        "2E393B635230322E30312E30312D30302E30392D322D323B434332361F420411E930EC1F430100340D1F0E"
        "04202306221F0F0308555603",
        0x10ED,
    ),
]
