"""The receipt model, its JSON form, the layouts and the renderer (no device): what each
layout says, that every line fits the paper, and that bad receipts are refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from posterm.drivers.printer import PrinterConfigError, Receipt, ReceiptError
from posterm.drivers.printer import Renderer as _Renderer
from posterm.drivers.printer import receipt as layouts
from posterm.hwsim.printer.page import Line, Page
from posterm.hwsim.printer.parser import EscPosParser

HEADER = ("Café Beispiel", "Hauptstraße 1", "10115 Berlin")
PT = ("VISA", "PAN 476173******0119", "APPROVED")
WIDTH_DOTS = {32: 384, 42: 512, 48: 576}
# a printer profile for each paper width: python-escpos's database, posterm's additions
PROFILES = {32: "posterm-58mm", 42: "default", 48: "TM-T20II"}
CHINESE = "posterm-gb18030-80mm"


def Renderer(columns: int = 42, encoding: str = "cp858") -> _Renderer:
    """The renderer for a printer of that width (a Chinese-mode profile for GB18030)."""
    profile = CHINESE if encoding == "gb18030" else PROFILES.get(columns, "default")
    return _Renderer(columns, encoding, profile)


def printed(data: bytes, columns: int = 42) -> Page:
    """What the simulator's parser makes of the bytes (in-process, no server)."""
    page = Page()
    cuts: list[Page] = []

    def on_line(line: Line) -> None:
        page.lines.append(line)

    def on_cut() -> None:
        cuts.append(Page(list(page.lines)))
        page.lines.clear()

    EscPosParser(on_line, on_cut, lambda n: None, WIDTH_DOTS[columns]).feed(data)
    assert len(cuts) == 1 and not page.lines, "one receipt, one cut, nothing after it"
    return cuts[0]


def sale() -> Receipt:
    items = (("Kaffee", "2.50 €"), ("Kuchen", "10.00 €"))
    return layouts.sale(
        header=HEADER,
        amount="12.50",
        currency="€",
        pt_lines=PT,
        txn_id="T1",
        footer=("Danke!",),
        items=items,
    )


@pytest.mark.parametrize("columns", [32, 42, 48])
def test_sale_layout_prints_every_part(columns: int) -> None:
    page = printed(Renderer(columns, "cp858").render(sale()), columns)
    text = page.text()
    for expected in (*HEADER, *PT, "SALE", "Danke!", "CUSTOMER COPY", "[QR: T1]", "12.50 €"):
        assert expected in text
    kaffee = next(line.text for line in page.lines if line.text.startswith("Kaffee"))
    assert len(kaffee) == columns and kaffee.endswith("2.50 €")  # amount flush right
    assert page.overflow == 0
    bold = [line.text for line in page.lines if line.spans and line.spans[0].bold]
    assert "Café Beispiel" in bold and any(t.startswith("TOTAL") for t in bold)
    title = next(line for line in page.lines if line.text == "SALE")
    assert (title.spans[0].width, title.spans[0].height, title.align) == (2, 2, "center")


def test_refund_voucher_has_reason_signature_and_original_sale() -> None:
    voucher = layouts.refund_voucher(
        header=HEADER,
        amount="5.00",
        currency="EUR",
        pt_lines=PT,
        txn_id="R1",
        sale_id="T1",
        reason="goods returned",
        copy="merchant",
    )
    text = printed(Renderer(32, "cp437").render(voucher), 32).text()
    assert "REFUND" in text and "Reason: goods returned" in text and "MERCHANT COPY" in text
    assert "Customer signature" in text and "X" + "_" * 31 in text
    assert "Original sale" in text and "REFUNDED" in text and "5.00 EUR" in text


LINK = "https://refunds.shop.test/r/" + "A" * 100 + "." + "B" * 22


def _voucher(copy: str, link: str | None, width: int = 42) -> Receipt:
    return layouts.refund_voucher(
        header=HEADER,
        amount="5.00",
        currency="EUR",
        pt_lines=PT,
        txn_id="R1",
        sale_id="T1",
        reason="goods returned",
        copy=copy,
        status_link=link,
        link_width=width,
    )


def test_the_customers_refund_voucher_carries_the_status_link_as_its_qr_code() -> None:
    """GIVEN a refund's status link WHEN the customer's and the merchant's vouchers are
    rendered (32 columns) THEN the customer's QR code holds the link, under the line
    "Follow your refund: scan the code" (wrapped at 32; the link too long for a line of
    text); the
    merchant's keeps the transaction id's QR code and says nothing of a link."""
    customer = printed(Renderer(32, "cp437").render(_voucher("customer", LINK, 32)), 32)
    qrs = [line.content for line in customer.lines if line.kind == "qr"]
    assert qrs == [LINK] and layouts.FOLLOW_LINE in " ".join(customer.text().split())
    assert "refunds.shop.test" not in customer.text().replace(f"[QR: {LINK}]", "")
    merchant = printed(Renderer(32, "cp437").render(_voucher("merchant", LINK, 32)), 32)
    assert [line.content for line in merchant.lines if line.kind == "qr"] == ["R1"]
    assert layouts.FOLLOW_LINE not in merchant.text()


def test_a_status_link_that_fits_a_line_is_printed_as_text_too() -> None:
    """GIVEN a link of 40 characters WHEN the customer's voucher is laid out for 42 and
    for 32 columns THEN the link is a line of its notes at 42, not at 32; without a link
    the voucher is as before (the transaction id's QR code, no line about a link)."""
    short = "https://r.shop.test/r/" + "x" * 18
    assert short in _voucher("customer", short, 42).notes
    assert short not in _voucher("customer", short, 32).notes
    plain = _voucher("customer", None)
    assert plain.qr == "R1" and plain.notes == ("Reason: goods returned",)


def test_the_longest_status_link_fits_a_qr_code() -> None:
    """GIVEN a link of the longest base URL postermd accepts (200) and the longest token
    (refundlink.MAX_TOKEN) WHEN laid out as a voucher and printed on 58 mm paper (32
    columns, 384 dots) THEN it is accepted (MAX_QR) and its QR code fits the paper."""
    from posterm.hwsim.printer.paper import _qr_image  # noqa: PLC0415
    from posterm.protocol import refundlink  # noqa: PLC0415

    longest = "https://" + "r" * 192 + "/r/" + "t" * refundlink.MAX_TOKEN
    page = printed(Renderer(32, "cp437").render(_voucher("customer", longest, 32)), 32)
    (qr,) = [line for line in page.lines if line.kind == "qr"]
    assert qr.content == longest and _qr_image(qr.content, qr.module).width <= WIDTH_DOTS[32]


def test_reversal_recovered_duplicate_and_end_of_day() -> None:
    void = layouts.reversal(
        header=HEADER, amount="12.50", currency="EUR", pt_lines=PT, txn_id="V1", sale_id="T1"
    )
    text = printed(Renderer().render(layouts.recovered(void))).text()
    assert text.startswith("** RECOVERED **") and "VOID" in text and "Voided sale" in text
    assert text.count("** RECOVERED **") == 2  # at the top and under the copy line
    again = printed(Renderer().render(layouts.duplicate(sale()))).text()
    assert again.startswith("** DUPLICATE **") and "RECOVERED" not in again
    eod = layouts.end_of_day(
        header=HEADER,
        batch_no=7,
        currency="EUR",
        pt_lines=("TOTAL 3",),
        txn_id="E1",
        totals={
            "sales": "30.00",
            "sales_count": "3",
            "refunds": "5.00",
            "refunds_count": "1",
            "net": "25.00",
        },
    )
    text = printed(Renderer().render(eod)).text()
    assert "END OF DAY" in text and "Batch 7 closed" in text and "MERCHANT COPY" in text
    assert "30.00 EUR (3)" in text and "5.00 EUR (1)" in text and "25.00 EUR" in text


def test_chinese_receipt_uses_chinese_mode_and_two_columns_per_character() -> None:
    receipt = Receipt(
        title="销售",
        header=("上海小吃店",),
        items=(("小笼包" * 8, "12.00 元"),),
        total=("合计", "12.00 元"),
        qr="TCN1",
    )
    data = Renderer(32, "gb18030").render(receipt)
    assert b"\x1c&" in data and "上海小吃店".encode("gb18030") in data
    page = printed(data, 32)
    assert "上海小吃店" in page.text() and "12.00 元" in page.text() and page.overflow == 0
    renderer = Renderer(32, "gb18030")
    for line in page.lines:
        assert renderer.width(line.text) <= 32
    total = next(line.text for line in page.lines if line.text.startswith("合计"))
    assert renderer.width(total) == 32  # 合计 is 4 columns wide, the amount flush right


def test_control_characters_in_text_cannot_become_commands() -> None:
    receipt = Receipt(title="X", body=("evil\x1dV\x00cut", "tab\there"))
    data = Renderer().render(receipt)
    assert data.count(b"\x1dV") == 1  # only the real cut
    assert "evil V cut" in printed(data).text()


def test_euro_needs_cp858_and_becomes_a_question_mark_in_cp437() -> None:
    assert "12.50 €" in printed(Renderer(42, "cp858").render(sale())).text()
    text = printed(Renderer(42, "cp437").render(sale())).text()
    assert "12.50 ?" in text and "Café Beispiel" in text


lines = hs.text(hs.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120)


@settings(max_examples=60, deadline=None)
@given(
    hs.sampled_from([32, 42, 48]),
    hs.sampled_from(["cp437", "cp858", "gb18030"]),
    hs.lists(lines, max_size=5),
    hs.lists(hs.tuples(lines, lines), max_size=4),
)
def test_any_receipt_fits_the_paper(
    columns: int, encoding: str, body: list[str], items: list[tuple[str, str]]
) -> None:
    """GIVEN any text THEN no printed line is wider than the paper and the cut comes last."""
    receipt = Receipt(title="T", body=tuple(body), items=tuple(items), footer=tuple(body))
    page = printed(Renderer(columns, encoding).render(receipt), columns)
    assert page.overflow == 0


def test_json_form_round_trips() -> None:
    original = layouts.recovered(
        layouts.refund_voucher(
            header=HEADER,
            amount="5.00",
            currency="EUR",
            pt_lines=PT,
            txn_id="R1",
            sale_id="T1",
            reason="other",
        )
    )
    assert Receipt.from_dict(original.to_dict()) == original


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({}, "title is required"),
        ({"title": "X", "colour": "red"}, "unknown key"),
        ({"title": ""}, "title must not be empty"),
        ({"title": 5}, "title is text"),
        ({"title": "X", "header": "Shop"}, "header is a list"),
        ({"title": "X", "body": ["ok", 3]}, "body is text"),
        ({"title": "X", "items": [["only a label"]]}, "pair"),
        ({"title": "X", "total": ["TOTAL", 12.5]}, "total is text"),
        ({"title": "X", "copy": "shop"}, "copy is one of"),
        ({"title": "X", "banner": "COPY"}, "banner is one of"),
        ({"title": "X", "signature": "yes"}, "signature"),
        ({"title": "X", "qr": ""}, f"qr is 1..{layouts.MAX_QR}"),
        ({"title": "X", "qr": "x" * (layouts.MAX_QR + 1)}, f"qr is 1..{layouts.MAX_QR}"),
        ({"title": "X", "body": ["x"] * 501}, "more than 500"),
        ({"title": "x" * 1001}, "longer than 1000"),
    ],
)
def test_bad_receipts_are_refused_with_the_reason(data: Any, message: str) -> None:
    with pytest.raises(ReceiptError, match=message):
        Receipt.from_dict(data)


@pytest.mark.parametrize(("columns", "encoding"), [(43, "cp858"), (42, "utf-8"), (0, "cp437")])
def test_bad_width_or_encoding_is_refused(columns: int, encoding: str) -> None:
    with pytest.raises(PrinterConfigError):
        _Renderer(columns, encoding)
