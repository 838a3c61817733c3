"""A USB printer is opened as python-escpos's `Usb.open` opened it (the kernel's usblp
driver detached, the configuration set, endpoints 0x82 in / 0x01 out), now without
python-escpos: pyusb's `find` answered by a recording fake device."""

from __future__ import annotations

from typing import Any

import pytest
import usb.core

from posterm.drivers.printer import Printer, PrinterGone
from posterm.drivers.printer.link import UsbLink, open_link
from posterm.drivers.printer.url import parse_url
from posterm.protocol.escpos import status as st


class Libusb1Backend:
    __module__ = "usb.backend.libusb1"


class FakeDevice:
    def __init__(self, *, driver_active: bool = True, config_fails: bool = False) -> None:
        self.backend = Libusb1Backend()
        self.calls: list[Any] = []
        self.driver_active = driver_active
        self.config_fails = config_fails
        self.answers: list[bytes] = []

    def is_kernel_driver_active(self, interface: int) -> bool:
        self.calls.append(("active?", interface))
        return self.driver_active

    def detach_kernel_driver(self, interface: int) -> None:
        self.calls.append(("detach", interface))

    def set_configuration(self) -> None:
        if self.config_fails:
            raise usb.core.USBError("busy")
        self.calls.append("set_configuration")

    def reset(self) -> None:
        self.calls.append("reset")

    def write(self, ep: int, data: bytes, ms: int) -> int:
        self.calls.append(("write", ep, bytes(data)))
        self.answers.append(bytes([st.BASE, st.BASE, st.BASE]))  # ready, to DLE EOT 1, 2, 4
        return len(data)

    def read(self, ep: int, size: int, ms: int) -> bytes:
        self.calls.append(("read", ep))
        if not self.answers:
            raise usb.core.USBTimeoutError("timeout")
        return self.answers.pop(0)


def fake_find(monkeypatch: pytest.MonkeyPatch, device: FakeDevice | None) -> list[Any]:
    asked: list[Any] = []

    def find(**kwargs: Any) -> FakeDevice | None:
        asked.append(kwargs)
        return device

    monkeypatch.setattr(usb.core, "find", find)
    monkeypatch.setattr("usb.util.dispose_resources", lambda dev: dev.calls.append("dispose"))
    return asked


def test_open_detaches_the_kernel_driver_and_configures(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a USB printer the kernel's usblp holds WHEN the driver asks its status and
    closes THEN it found VID:PID, detached usblp, set the configuration, spoke on
    endpoints 0x01/0x82 and released the device."""
    device = FakeDevice()
    asked = fake_find(monkeypatch, device)
    printer = Printer("usb://04b8:0e15", timeout=0.5)
    assert printer.status().ready
    printer.close()
    assert asked == [{"idVendor": 0x04B8, "idProduct": 0x0E15}]
    assert device.calls[:4] == [("active?", 0), ("detach", 0), "set_configuration", "reset"]
    assert ("write", 0x01, bytes.fromhex("100401100402100404")) in device.calls
    assert ("read", 0x82) in device.calls
    assert device.calls[-1] == "dispose"


def test_a_driver_not_active_stays_and_a_failed_configuration_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    device = FakeDevice(driver_active=False, config_fails=True)
    fake_find(monkeypatch, device)
    link = open_link(parse_url("usb://1:2"), 0.5)
    assert isinstance(link, UsbLink)
    assert ("detach", 0) not in device.calls
    assert "cannot set the USB configuration" in caplog.text
    link.close()


def test_a_usb_printer_not_plugged_in_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_find(monkeypatch, None)
    with pytest.raises(PrinterGone, match="cannot open usb 0001:0002: not found"):
        open_link(parse_url("usb://1:2"), 0.5)
