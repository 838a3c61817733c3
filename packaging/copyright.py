"""Write a package's /usr/share/doc/<package>/copyright in Debian's machine-readable format
(DEP-5): posterm's own files, then one paragraph per Python distribution in its venv, with
the licence and authors its metadata declares and where its licence text is installed.

    python packaging/copyright.py PACKAGE VENV_IN_STAGE FINAL_VENV > copyright
"""

from __future__ import annotations

import email.parser
import sys
from pathlib import Path

FORMAT = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
# trove classifiers -> SPDX short names (what DEP-5 names licences by)
CLASSIFIERS = {
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD-3-clause",
    "MIT License": "Expat",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0+",
    "GNU Library or Lesser General Public License (LGPL)": "LGPL",
    "GNU General Public License v3 (GPLv3)": "GPL-3",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
}
# names Debian ships the text of in /usr/share/common-licenses
COMMON = {"Apache-2.0", "GPL-3", "LGPL-3.0+", "MPL-2.0"}


def _licence(meta: email.message.Message) -> str:
    """The licence's short name: License-Expression, a one-line License, or classifiers."""
    expression = meta.get("License-Expression")
    if expression:
        return str(expression).strip()
    names = [
        CLASSIFIERS.get(c.rsplit(" :: ", 1)[-1], c.rsplit(" :: ", 1)[-1])
        for c in meta.get_all("Classifier", [])
        if c.startswith("License ::") and c.count("::") >= 2
    ]
    if names:
        return " or ".join(dict.fromkeys(names))
    text = str(meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 60:
        return text
    return "unknown"


def _holders(meta: email.message.Message, name: str) -> str:
    for field in ("Author", "Author-email", "Maintainer", "Maintainer-email"):
        value = str(meta.get(field) or "").strip()
        if value and value.upper() != "UNKNOWN":
            return " ".join(value.split())
    return f"the {name} authors"


def _folded(text: str) -> str:
    """A DEP-5 continuation: every line indented, empty lines as ' .'."""
    return "\n".join(f" {line}" if line.strip() else " ." for line in text.splitlines())


def paragraphs(package: str, venv: Path, final: Path) -> list[str]:
    own = (
        f"Format: {FORMAT}\n"
        f"Upstream-Name: posterm\n"
        f"Comment: The {package} package: posterm's Python application and the Python\n"
        f" distributions it runs on, installed in {final} from the package's hash-pinned\n"
        f" lock. Each distribution's licence is the one its metadata declares; its full\n"
        f" text is installed in the distribution's .dist-info directory named below."
    )
    result = [
        own,
        "Files: *\nCopyright: the posterm maintainers\nLicense: posterm\n"
        " posterm has no licence grant yet: all rights reserved by its maintainers.",
    ]
    for dist_info in sorted(venv.glob("lib/python3*/site-packages/*.dist-info")):
        meta = email.parser.Parser().parsestr((dist_info / "METADATA").read_text())
        name = str(meta["Name"])
        if name == "posterm":
            continue  # the Files: * paragraph
        site = dist_info.parent
        tops = sorted(
            {
                line.split(",", 1)[0].split("/", 1)[0]
                for line in (dist_info / "RECORD").read_text().splitlines()
                if line and not line.startswith(("../", dist_info.name))
            }
        )
        files = [
            f"{(final / site.relative_to(venv) / top).relative_to('/')}"
            + ("/*" if (site / top).is_dir() else "")
            for top in tops
        ]
        licence = _licence(meta)
        texts = sorted(
            str(final / p.relative_to(venv))
            for p in dist_info.rglob("*")
            if p.is_file() and p.name.upper().startswith(("LICEN", "COPYING", "NOTICE"))
        )
        where = (
            f"/usr/share/common-licenses/{licence}"
            if licence in COMMON
            else ", ".join(texts) or "its project's home page"
        )
        result.append(
            f"Files: {_folded(chr(10).join(files)).lstrip()}\n"
            f"Copyright: {_holders(meta, name)}\n"
            f"License: {licence}\n"
            + _folded(f"{name} {meta['Version']}: the licence text is in {where}.")
        )
    return result


def main(argv: list[str]) -> None:
    if len(argv) != 4:
        sys.exit("usage: copyright.py PACKAGE VENV_IN_STAGE FINAL_VENV")
    sys.stdout.write("\n\n".join(paragraphs(argv[1], Path(argv[2]), Path(argv[3]))) + "\n")


if __name__ == "__main__":
    main(sys.argv)
