"""APDUs captured by public projects: bezahl-online/zvt (a terminal in Austria) and
wirelane/ecrterm's tests."""

from tests.zvt.spec_common import (
    BEZAHL,
    ECRTERM,
    ApduVector,
)

APDUS_CAPTURED_MORE: list[ApduVector] = [
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
