"""The Debian packages (`make deb`: posterm, the terminal, and posterm-host, the back
office), built once per test run and inspected with dpkg-deb and lintian; the arm64 pair
built on a PC. Installing them: test_deb_install.py."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.packaging.debs import CONFFILES, PACKAGES, PULLED_IN, UNIT, build
from tests.packaging.support import (
    ROOT,
    SYSTEMD,
    exec_start,
    need,
    run,
    unit,
)

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def _listing(deb: Path) -> dict[str, str]:
    """`dpkg-deb --contents`: every path (without the leading '.') and its mode."""
    listing = {}
    for line in run("dpkg-deb", "--contents", deb).stdout.splitlines():
        mode, *_, path = line.split(None, 5)
        listing[path.split(" -> ")[0].removeprefix(".")] = mode
    return listing


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_says_what_it_is_and_keeps_its_configs(
    debs: dict[str, Path], name: str
) -> None:
    """GIVEN a built package WHEN dpkg-deb describes it THEN it is that package for this
    machine's architecture, with a Debian revision, on Debian's python3.X and the glibc its
    wheels need, and its own configs (only those) are its conffiles."""
    deb = debs[name]
    info = run("dpkg-deb", "--info", deb).stdout
    arch = run("dpkg", "--print-architecture").stdout.strip()
    assert f" Package: {name}\n" in info and f" Architecture: {arch}\n" in info
    assert re.search(r" Version: \d+\.\d+\.\d+-\d+\n", info), info
    depends = run("dpkg-deb", "--field", deb, "Depends").stdout.strip().split(", ")
    assert f"python{sys.version_info[0]}.{sys.version_info[1]}" in depends
    assert any(d.startswith("libc6 (>= 2.") for d in depends)  # the wheels' manylinux floor
    conffiles = run("dpkg-deb", "--info", deb, "conffiles").stdout.split()
    assert set(conffiles) == CONFFILES[name]
    for script in ("postinst", "prerm", "postrm"):
        assert run("dpkg-deb", "--info", deb, script).stdout.startswith("#!/bin/sh\n")


def test_the_terminal_package_holds_no_back_office(debs: dict[str, Path]) -> None:
    """GIVEN both packages WHEN their contents are listed THEN posterm (on every Pi) has the
    daemon and no host code, no simulator and none of the back office's libraries, and
    posterm-host has the host and no terminal code; neither ships a file the other does."""
    terminal, host = _listing(debs["posterm"]), _listing(debs["posterm-host"])
    site = "/opt/posterm/venv/lib/python3.11/site-packages/"
    assert f"{site}posterm/daemon/main.py" in terminal
    assert "/opt/posterm/venv/bin/postermd" in terminal
    back_office = re.compile(
        r"/site-packages/(posterm/(host|hwsim)/|(psycopg|starlette|uvicorn|jinja2|argon2)\b)"
        r"|/bin/posterm-(host|sim)$"
    )
    assert [p for p in terminal if back_office.search(p)] == []
    host_site = "/opt/posterm-host/venv/lib/python3.11/site-packages/"
    assert f"{host_site}posterm/host/cli.py" in host and f"{host_site}psycopg/__init__.py" in host
    terminal_code = re.compile(r"/site-packages/posterm/(daemon|drivers|hwsim)/|/bin/posterm(d)?$")
    assert [p for p in host if terminal_code.search(p)] == []
    files = {p for p, mode in terminal.items() if not mode.startswith("d")}
    assert files & {p for p, mode in host.items() if not mode.startswith("d")} == set()


def test_the_back_office_package_ships_the_broker_and_monitoring_examples(
    debs: dict[str, Path],
) -> None:
    """GIVEN posterm-host WHEN its contents are listed THEN the Mosquitto config and the
    tools writing its certificates and access rules, the Prometheus rules and the Grafana
    board are its examples, byte for byte the tree's."""
    examples = "/usr/share/doc/posterm-host/examples"
    shipped = {
        "mosquitto/posterm.conf": "deploy/mosquitto/posterm.conf",
        "mosquitto/make-certs.py": "deploy/mosquitto/make-certs.py",
        "mosquitto/make-dynsec.py": "deploy/mosquitto/make-dynsec.py",
        "prometheus/posterm-alerts.yml": "deploy/prometheus/posterm-alerts.yml",
        "grafana/posterm-fleet.json": "deploy/grafana/posterm-fleet.json",
        "posterm-host.toml.example": "deploy/posterm-host.toml.example",
    }
    found = _files(debs["posterm-host"], {f".{examples}/{name}" for name in shipped})
    for name, source in shipped.items():
        assert found[f".{examples}/{name}"] == (ROOT / source).read_bytes(), name
    assert not [p for p in _listing(debs["posterm"]) if "/examples/mosquitto" in p]


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_ships_its_unit_binaries_and_system_files(
    debs: dict[str, Path], name: str
) -> None:
    """GIVEN a package's listing WHEN its unit's ExecStart is looked up THEN it is an
    executable file in the package and its --config a conffile, next to the unit, its
    sysusers.d and tmpfiles.d entries and the CLI on PATH (State/Runtime/Configuration-
    Directory= are made by systemd, the state directories also by tmpfiles.d: test_units.py)."""
    deb = debs[name]
    listing = _listing(deb)
    conffiles = run("dpkg-deb", "--info", deb, "conffiles").stdout.split()
    service = UNIT[name]
    assert listing[f"/lib/systemd/system/{service}"] == "-rw-r--r--"
    assert listing[str(exec_start(SYSTEMD / service))] == "-rwxr-xr-x"
    config = unit(SYSTEMD / service)["Service"]["ExecStart"].split("--config ")[1].split()[0]
    assert config in conffiles, f"{service}: --config {config} is not a conffile"
    for path in (
        f"/usr/lib/sysusers.d/{name}.conf",
        f"/usr/lib/tmpfiles.d/{name}.conf",
        *CONFFILES[name],
        f"/opt/{name}/venv/pyvenv.cfg",
        f"/opt/{name}/README.md",
        f"/usr/bin/{name}",
    ):
        assert path in listing, path
    assert sorted(u for u in listing if u.startswith("/lib/systemd/system/")) == sorted(
        [
            "/lib/systemd/system/",
            f"/lib/systemd/system/{service}",
            *(f"/lib/systemd/system/{u}" for u in PULLED_IN[name]),
        ]
    )


def _files(deb: Path, names: set[str]) -> dict[str, bytes]:
    """The contents of the package's files of those names (./usr/...)."""
    found: dict[str, bytes] = {}
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as p:
        assert p.stdout is not None
        with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
            for member in tar:
                data = tar.extractfile(member) if member.name in names else None
                if data is not None:
                    found[member.name] = data.read()
    return found


def _dep5(text: str) -> list[dict[str, str]]:
    """The paragraphs of a DEP-5 file, each field's value with its continuation lines."""
    paragraphs = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith(" "):
                fields[key] += "\n" + line
            else:
                key, _, value = line.partition(":")
                assert key not in fields, f"{key} twice in {block}"
                fields[key] = value.strip()
        paragraphs.append(fields)
    return paragraphs


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_has_a_dep5_copyright_and_debian_changelogs(
    debs: dict[str, Path], name: str, tmp_path: Path
) -> None:
    """GIVEN a package WHEN its /usr/share/doc/<package> is read THEN copyright is DEP-5
    (the format's header, then Files paragraphs with Copyright and License) naming every
    Python distribution of its venv, changelog.Debian.gz is an entry of its version that
    dpkg-parsechangelog reads, and changelog.gz is the tree's CHANGELOG.md."""
    need("dpkg-parsechangelog")  # dpkg-dev, which lintian brings
    deb = debs[name]
    version = run("dpkg-deb", "--field", deb, "Version").stdout.strip()
    doc = f"./usr/share/doc/{name}/"
    wanted = {"copyright", "changelog.Debian.gz", "changelog.gz"}
    files: dict[str, bytes] = {}
    dists: set[str] = set()
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as p:
        assert p.stdout is not None
        with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
            for member in tar:
                dist = re.search(r"/site-packages/([^/]+)-[^-/]+\.dist-info/METADATA$", member.name)
                if dist:
                    dists.add(dist[1].lower().replace("_", "-"))
                if member.name.removeprefix(doc) in wanted and member.name.startswith(doc):
                    data = tar.extractfile(member)
                    assert data is not None
                    files[member.name.removeprefix(doc)] = data.read()
    assert set(files) == wanted

    header, *paragraphs = _dep5(files["copyright"].decode())
    assert header["Format"] == "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    assert paragraphs[0]["Files"] == "*"
    for paragraph in paragraphs:
        assert paragraph["Files"] and paragraph["Copyright"] and paragraph["License"], paragraph
    named = {
        m[1].lower().replace("_", "-")
        for para in paragraphs[1:]
        if (m := re.match(r"\s*(\S+) \S+: the licence text", para["License"].split("\n", 1)[1]))
    }
    assert named == dists - {"posterm"}
    assert len(dists) > 10

    changelog = gzip.decompress(files["changelog.Debian.gz"]).decode()
    assert changelog.startswith(f"{name} ({version}) unstable; urgency=medium\n")
    (tmp_path / "changelog").write_text(changelog)
    parsed = run("dpkg-parsechangelog", "-l", tmp_path / "changelog", "-SVersion")
    assert (parsed.returncode, parsed.stdout.strip()) == (0, version), parsed.stderr
    assert gzip.decompress(files["changelog.gz"]) == (ROOT / "CHANGELOG.md").read_bytes()


@pytest.mark.parametrize("name", PACKAGES)
def test_lintian_finds_no_error_in_either_package(debs: dict[str, Path], name: str) -> None:
    """GIVEN a built package WHEN Debian's lintian checks it THEN it reports no error, and
    every override the package carries (packaging/debian/<package>.lintian-overrides, each
    with its reason) is still used: none hides a tag that no longer occurs."""
    need("lintian")
    proc = run(
        "lintian",
        "--no-cfg",
        "--display-level",
        ">=info",
        "--show-overrides",
        debs[name],
        timeout=600,
    )
    lines = proc.stdout.splitlines()
    errors = [line for line in lines if line.startswith("E:")]
    assert errors == [], "\n".join(errors[:20])
    stale = [line for line in lines if "unused-override" in line or "mismatched-override" in line]
    assert stale == []
    assert any(line.startswith("O:") for line in lines)  # the overrides were read


ELF_MACHINE = {62: "x86_64", 183: "aarch64"}


def test_the_pi_packages_are_built_on_a_pc(tmp_path_factory: pytest.TempPathFactory) -> None:
    """GIVEN DEB_ARCH=arm64 on this machine WHEN the packages are built THEN both are for
    arm64, every compiled module in them is aarch64 code, and their scripts run their
    venv's Python."""
    for name, arm in build(tmp_path_factory, "arm64").items():
        assert run("dpkg-deb", "--field", arm, "Architecture").stdout.strip() == "arm64"
        machines: dict[str, set[str]] = {}
        script = f"./opt/{name}/venv/bin/{'postermd' if name == 'posterm' else name}"
        shebang = b""
        with subprocess.Popen(
            ["dpkg-deb", "--fsys-tarfile", str(arm)], stdout=subprocess.PIPE
        ) as p:
            assert p.stdout is not None
            with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
                for member in tar:
                    data = tar.extractfile(member) if member.isfile() else None
                    if data is None:
                        continue
                    if member.name.endswith(".so") or ".so." in member.name:
                        elf = data.read(20)
                        machine = ELF_MACHINE.get(int.from_bytes(elf[18:20], "little"), "?")
                        machines.setdefault(machine, set()).add(member.name)
                    elif member.name == script:
                        shebang = data.readline()
        assert set(machines) == {"aarch64"}, {k: sorted(v)[:3] for k, v in machines.items()}
        assert shebang == f"#!/opt/{name}/venv/bin/python\n".encode()
