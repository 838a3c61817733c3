"""APDUs from shared/docs/zvt.md, the spec's examples and layouts, and card complete's
precisions and support mails (their sources: tests/zvt/spec_common.py)."""

from tests.zvt.spec_common import (
    ECRTERM,
    EVEREST,
    MEMOS,
    PORTALUM,
    SMART,
    SPEC,
    SPEC_LAYOUT,
    ZVT_MD,
    ApduVector,
    ascii_hex,
)

APDUS_DOCUMENTED: list[ApduVector] = [
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
        "04 0F 1E 27 6C 29 28 00 48 69 3C F0 F1 F9" + ascii_hex("Abbruch durch Kunde"),
        {0x27: 0x6C, 0x29: "28004869", 0x3C: "Abbruch durch Kunde"},
    ),
    ApduVector(
        "status information: system error",
        f"{PORTALUM}/StatusInformationParserTest.cs Parse_SystemError",
        "04 0F 18 27 FF 29 28 00 48 69 3C F0 F1 F3" + ascii_hex("Betrag falsch"),
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
        "04 FF 1E 0A 01 06 1A 24 18 07 16" + ascii_hex("Bitte Karte einstecken"),
        {},
    ),
    ApduVector(
        "print line",
        f"{ECRTERM}/test_parsing.py PACKET_LIST[0]",
        "06 D1 17 00 20 20 20 20 20 20 20 20 20" + ascii_hex("Kassenschnitt"),
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
]
