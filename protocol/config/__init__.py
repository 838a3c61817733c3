"""The config kit shared by postermd and posterm-host: TOML read once, converted by msgspec
into typed frozen Structs (`Section`), every refusal naming the file and the dotted key.

    class PaymentSection(Section):
        url: str
        timeout_s: Annotated[float, seconds(5, 600)] = 180.0

    data = read_toml(path, MyConfigError)
    config = convert(data, MyConfig, MyConfigError, file=path)

`rules.py` declares the constraints (ranges, patterns, choices) and says them in words
for the error messages and the generated configuration reference (tools/docs_config.py);
`kit.py` converts and turns msgspec's errors into `FILE: KEY: why`.
"""

from posterm.protocol.config.kit import (
    CheckedText,
    ConfigError,
    Refused,
    Section,
    convert,
    read_toml,
    require_file,
)
from posterm.protocol.config.rules import (
    Checked,
    between,
    keys,
    lines,
    one_of,
    rule,
    seconds,
    text,
)

__all__ = [
    "Checked",
    "CheckedText",
    "ConfigError",
    "Refused",
    "Section",
    "between",
    "convert",
    "keys",
    "lines",
    "one_of",
    "read_toml",
    "require_file",
    "rule",
    "seconds",
    "text",
]
