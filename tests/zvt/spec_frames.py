"""Whole frames (DLE STX ... DLE ETX CRC) and CRC-16/KERMIT check values."""

from tests.zvt.spec_common import (
    BEZAHL,
    ECRTERM,
    EVEREST,
    KERMIT,
    ZVT_MD,
    FrameVector,
)

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
