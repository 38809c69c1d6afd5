"""Validates one HL7 v2.5.1 message (ER7, UTF-8) read from stdin with hl7apy at STRICT level.

Prints the group/segment tree hl7apy built; exits non-zero with the reason when hl7apy
refuses the message (a segment outside the message structure, a missing required field, a
malformed value) or when its validator reports a warning (an over-long value, a code outside
its HL7 table), apart from the few table warnings listed in ALLOWED_TABLE_VALUES, each with its
reason. OBX-5 is checked against the type OBX-2 names (see type_obx_5_by_obx_2).

Usage: python hl7_validate.py < message.hl7
"""

import os
import re
import sys
import tempfile

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Group, Message, Segment
from hl7apy.factories import datatype_factory
from hl7apy.parser import parse_message
from hl7apy.v2_5_1 import fields, groups, is_base_datatype, segments

# Coding-system names (HL7 table 0396) that hl7apy 1.3.5's 2.5.1 table does not list literally.
ALLOWED_TABLE_VALUES = {
    # Table 0396 reserves "99zzz" for local coding systems; hl7apy lists the pattern itself.
    ("HL70396", re.compile(r"99[A-Z0-9]{1,3}")),
    # "HL7nnnn" names an HL7 table (HL70487, HL70488); hl7apy lists the pattern itself.
    ("HL70396", re.compile(r"HL7\d{4}")),
    # UCUM is the unit system the HL7 2.5.1 lab-results guides use in OBX-6; hl7apy's tables
    # list it from v2.7 on only.
    ("HL70396", re.compile(r"UCUM")),
}

WARNING = re.compile(r"^Warning: Value (?P<value>.*) not in table (?P<table>\w+) in element ")


def type_obx_5_by_obx_2():
    """hl7apy 1.3.5 reads OBX-5 (type "varies") as ST, at most 199 characters, whatever OBX-2
    says; HL7 v2.5.1 Ch. 7 (OBX-5) gives it the type OBX-2 names, FT allowing 65536. So read
    OBX-5 as FT, the widest text type, to check the structure, and check each value against
    OBX-2's type afterwards (check_obx_values)."""
    as_ft = ("leaf", None, "FT", "OBSERVATION_VALUE", None, -1)
    fields.FIELDS["OBX_5"] = as_ft
    original = segments.SEGMENTS["OBX"]
    kind, children = original
    patched = (
        kind,
        tuple((n, as_ft if n == "OBX_5" else ref, card, t) for n, ref, card, t in children),
    )
    segments.SEGMENTS["OBX"] = patched
    # Groups hold the segment's structure itself, not its name: point them at the new one.
    replaced = 0
    for _, members in groups.GROUPS.values():
        for member in members:
            if member[1] is original:
                member[1] = patched
                replaced += 1
    if not replaced:
        sys.exit("hl7apy's 2.5.1 structures changed: OBX-5 could not be typed; update this script")


def check_obx_values(message):
    """Each OBX-5 value parsed as the hl7apy base type OBX-2 names (NM must be a number)."""
    problems = []
    for obx in find_all(message, "OBX"):
        value_type = obx.obx_2.to_er7()
        for value in obx.children.get("OBX_5"):
            text = value.to_er7()
            if not is_base_datatype(value_type):
                problems.append(f"OBX-5 of type {value_type!r} is not checked by this validator")
                continue
            try:
                datatype_factory(value_type, text, "2.5.1", VALIDATION_LEVEL.STRICT)
            except Exception as error:
                problems.append(f"OBX {obx.obx_1.to_er7()}: OBX-5 is not a valid {value_type}: {error}")
    return problems


def find_all(element, name):
    """Every segment called name, at any depth."""
    found = []
    for child in element.children:
        if isinstance(child, Segment):
            if child.name == name:
                found.append(child)
        elif isinstance(child, Group):
            found.extend(find_all(child, name))
    return found


def tree(element, depth=0):
    """One line per group and segment, indented by depth."""
    lines = []
    for child in element.children:
        if isinstance(child, Group):
            lines.append("  " * depth + child.name)
            lines.extend(tree(child, depth + 1))
        elif isinstance(child, Segment):
            lines.append("  " * depth + child.name)
    return lines


def allowed(line):
    match = WARNING.match(line)
    if not match:
        return False
    return any(
        table == match["table"] and pattern.fullmatch(match["value"])
        for table, pattern in ALLOWED_TABLE_VALUES
    )


def main():
    type_obx_5_by_obx_2()
    text = sys.stdin.buffer.read().decode("utf-8")
    if "\n" in text:
        sys.exit("segments must end with CR only; the message holds a line feed")
    try:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    except Exception as error:  # hl7apy raises many types; all are a refusal here
        sys.exit(f"hl7apy could not parse the message: {type(error).__name__}: {error}")
    if not isinstance(message, Message):
        sys.exit("hl7apy did not return a message")
    with tempfile.TemporaryDirectory() as directory:
        report = os.path.join(directory, "report.txt")
        try:
            message.validate(report_file=report)
        except Exception as error:
            sys.exit(f"hl7apy STRICT validation failed: {type(error).__name__}: {error}")
        with open(report, encoding="utf-8") as handle:
            findings = [line.rstrip("\n") for line in handle if line.strip()]
    refused = [line for line in findings if not allowed(line)] + check_obx_values(message)
    if refused:
        sys.exit("hl7apy STRICT validation reported:\n" + "\n".join(refused))
    print(message.name)
    print("\n".join(tree(message, 1)))


if __name__ == "__main__":
    main()
