"""rclone.conf read in-process, exactly as rclone reads it, so a copy need not start rclone
twice (`config dump`, ~70 ms each) before the one run that moves the bytes.

rclone 1.75 reads its file with github.com/unknwon/goconfig; the rules below are that
library's, checked against the real binary (tests/integration/test_conf_read.py compares
this reader with `rclone config dump` and `listremotes --json` for many files):

* lines are trimmed of white space (Go's set); `#` and `;` start a comment line; there are no
  comments after a value;
* `[name]` starts a section (the name trimmed); a section given twice is one section, its
  keys merged, the later value winning (rcwiz.rclone.config_edit.duplicated warns of it);
  keys before any section belong to the section DEFAULT;
* `key = value` or `key: value`, split at the first `=` or `:`; a value in backticks or in
  triple double quotes loses them (single double quotes stay); `-` as a key counts up
  (`#1`, `#2`, ...);
* `%(name)s` in a value is replaced by DEFAULT's `name`, else the section's own;
* `RCLONE_CONFIG_<SECTION>_<KEY>` in the environment overrides a key the file has
  (upper-cased; `-` in the key becomes `_`); `RCLONE_CONFIG_<NAME>_TYPE` defines a remote
  of its own (listed by `listremotes`, absent from `config dump`).

Whatever this reader does not follow to the letter is Unreadable, and rclone reads the file
instead (as before): an encrypted file (RCLONE_ENCRYPT_V0, unlocked by RCLONE_CONFIG_PASS),
a file rclone would refuse (a line it cannot parse), bytes that are not UTF-8, a file that
cannot be opened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT = "DEFAULT"
KEEPER = " "  # goconfig's placeholder key that makes an empty section exist
# Go's strings.TrimSpace: unicode.IsSpace (Python's str.strip() also trims \x1c-\x1f).
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
_VARIABLE = re.compile(r"%\(([^)]+)\)s")
_ENV_REMOTE = re.compile(r"^RCLONE_CONFIG_(.+?)_TYPE$", re.DOTALL)
_EXPANSIONS = 200  # goconfig's _DEPTH_VALUES
_LONGEST = 1 << 20  # a value expanded past this: let rclone (and its memory) deal with it


class Unreadable(Exception):
    """This rclone.conf is for rclone itself to read (the reason is the message)."""


def _trim(text: str) -> str:
    return text.strip(_GO_SPACE)


@dataclass
class ConfFile:
    """rclone.conf's sections in file order, each with its keys in order (raw values)."""

    sections: dict[str, dict[str, str]] = field(default_factory=dict)

    def set(self, section: str, key: str, value: str) -> None:
        """goconfig's SetValue: a blank section is DEFAULT, a blank key is dropped."""
        if not key:
            return
        self.sections.setdefault(section or DEFAULT, {})[key] = value

    def keys(self, section: str) -> list[str]:
        return [k for k in self.sections.get(section, {}) if k != KEEPER]

    def has(self, section: str, key: str) -> bool:
        return key in self.sections.get(section, {})

    def value(self, section: str, key: str) -> str:
        """goconfig's GetValue of a key the section has: `%(name)s` expanded."""
        value = self.sections[section][key]
        for _ in range(_EXPANSIONS):
            match = _VARIABLE.search(value)
            if match is None:
                break
            found = match.group(0)
            name = found.lstrip("%(").rstrip(")s")  # Go's TrimLeft/TrimRight: sets of characters
            if self.has(DEFAULT, name):
                new = self.value(DEFAULT, name)
            elif section != DEFAULT:
                new = self.sections[section].get(name, "")
            else:
                new = ""
            value = value.replace(found, new)
            if len(value) > _LONGEST:
                raise Unreadable(f"the value of {key} in [{section}] expands without end")
        return value


def _quoted_key(line: str) -> tuple[str, int]:
    """A key in quotes: (the key, the index of its `=` or `:`)."""
    quote = '"""' if line.startswith('"""') and len(line) >= 6 else line[0]
    close = line.find(quote, len(quote))
    if close == -1:
        raise Unreadable(f"could not parse line: {line}")
    at = _first_separator(line, close)
    if at <= close:
        raise Unreadable(f"could not parse line: {line}")
    return line[len(quote) : close], at


def _first_separator(line: str, start: int = 0) -> int:
    """The index of the first `=` or `:` at or after START, or -1."""
    found = [i for i in (line.find("=", start), line.find(":", start)) if i != -1]
    return min(found) if found else -1


def _value(right: str) -> str:
    """What goconfig keeps of the text after the separator (backticks and triple quotes
    dropped, up to the last closing one)."""
    right = _trim(right)
    quote = ""
    if len(right) >= 2 and right[0] == "`":
        quote = "`"
    elif len(right) >= 6 and right.startswith('"""'):
        quote = '"""'
    if not quote:
        return right
    close = right.rfind(quote, len(quote))
    if close == -1:
        raise Unreadable(f"could not parse value: {right}")
    return right[len(quote) : close]


def parse(data: bytes) -> ConfFile:
    """rclone.conf's bytes as goconfig reads them; Unreadable where rclone must."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable("the file is not UTF-8") from exc
    conf = ConfFile()
    section, count = DEFAULT, 1
    for raw in text.split("\n"):
        line = _trim(raw)
        if not line or line[0] in "#;":
            continue
        if line.startswith("RCLONE_ENCRYPT_"):
            raise Unreadable("the file is encrypted")
        if line[0] == "[" and line[-1] == "]" and len(line) >= 2:
            section, count = _trim(line[1:-1]), 1
            conf.set(section, KEEPER, KEEPER)
            continue
        if not section:
            raise Unreadable("empty section name not allowed")
        if line[0] in '"`':
            key, at = _quoted_key(line)
        else:
            at = _first_separator(line)
            if at <= 0:
                raise Unreadable(f"could not parse line: {line}")
            key = _trim(line[:at])
        if key == "-":
            key, count = f"#{count}", count + 1
        conf.set(section, key, _value(line[at + 1 :]))
    return conf


def load(path: Path) -> ConfFile:
    """The file at PATH (none there: no remotes, as rclone says); Unreadable if it cannot be
    opened (rclone then says why)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ConfFile()
    except OSError as exc:  # a folder, no permission, ...: rclone's message is the one to show
        raise Unreadable(str(exc)) from exc
    return parse(data)


def _upper(text: str) -> str:
    """Go's strings.ToUpper, rune by rune (Python's upper() turns one letter into two, 'ß')."""
    return "".join(c if len(c.upper()) != 1 else c.upper() for c in text)


def env_key(section: str, key: str) -> str:
    """The environment variable that overrides KEY of SECTION (rclone's ConfigToEnv)."""
    return "RCLONE_CONFIG_" + _upper(f"{section}_{key.replace('-', '_')}")


def get(conf: ConfFile, environ: Mapping[str, str], section: str, key: str) -> str:
    """KEY of SECTION as rclone uses it: the environment's override, else the file's."""
    override = environ.get(env_key(section, key))
    return override if override is not None else conf.value(section, key)


def dump(conf: ConfFile, environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """What `rclone config dump` prints: every section with every key it has in the file."""
    return {
        section: {key: get(conf, environ, section, key) for key in conf.keys(section)}
        for section in conf.sections
    }


def env_remotes(environ: Mapping[str, str]) -> dict[str, str]:
    """Remotes defined in the environment (RCLONE_CONFIG_NAME_TYPE=type): name -> type, in
    the environment's order, names lower-cased (as rclone lists them)."""
    found: dict[str, str] = {}
    for name, value in environ.items():
        match = _ENV_REMOTE.match(name)
        if match is not None and value:
            found.setdefault(match.group(1).lower(), value)
    return found


def listed(conf: ConfFile, environ: Mapping[str, str]) -> list[dict[str, str]]:
    """What `rclone listremotes --json` prints: the environment's remotes first, then the
    file's sections that have a type key, even an empty one (a remote of the same name in
    the environment wins)."""
    from_env = env_remotes(environ)
    out = [
        {"name": name, "type": kind, "source": "environment", "description": ""}
        for name, kind in from_env.items()
    ]
    for section in conf.sections:
        if section in from_env or not conf.has(section, "type"):
            continue
        kind = conf.value(section, "type")
        description = conf.value(section, "description") if conf.has(section, "description") else ""
        out.append({"name": section, "type": kind, "source": "file", "description": description})
    return out
