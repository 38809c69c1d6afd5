"""Validates Marrow's FHIR R4 output: one Bundle, or NDJSON with one Bundle per line, on stdin.

Each Bundle is parsed with fhir.resources (the 6.4.x line is FHIR R4 4.0.1, on pydantic 1),
which checks element names, cardinality, types and primitive formats. fhir.resources does not
check everything R4 requires, so this script also checks, itself:

- every entry has an absolute, unique fullUrl that agrees with the resource's type and id;
- ids are at most 64 characters of [A-Za-z0-9-.];
- every `reference` resolves to an entry of the same Bundle (absolute, or relative to the
  referring entry's RESTful fullUrl, as R4 Bundle resolution says);
- the codes with required bindings that Marrow writes are in their R4 value sets;
- LOINC codes pass the LOINC mod-10 check digit and are in the confirmed list of clinical
  reference section 7.1, except on a blood count Observation (one that is not a result of the
  marrow report and names no marrow specimen), whose code must be one of the blood count codes
  Marrow's domain maps (marrow_domain::blood_count::Analyte::loinc);
- no empty strings, arrays or objects; dates are dates; base64 decodes; the narrative is XHTML;
- every Observation of the Bundle is a result of the DiagnosticReport, or a blood count the
  ServiceRequest lists as supportingInfo (never both).

Prints a summary on stdout; exits non-zero with the problems on stderr.
"""

import base64
import binascii
import json
import re
import sys
import xml.etree.ElementTree as ET

from fhir.resources.bundle import Bundle

ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
RESTFUL = re.compile(r"^(.*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")
DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")

# R4 required bindings for the elements Marrow writes.
REQUIRED = {
    ("Bundle", "type"): {"document", "message", "transaction", "transaction-response",
                         "batch", "batch-response", "history", "searchset", "collection"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
    ("ServiceRequest", "status"): {"draft", "active", "on-hold", "revoked", "completed",
                                   "entered-in-error", "unknown"},
    ("ServiceRequest", "intent"): {"proposal", "plan", "directive", "order", "original-order",
                                   "reflex-order", "filler-order", "instance-order", "option"},
    ("ServiceRequest", "priority"): {"routine", "urgent", "asap", "stat"},
    ("Procedure", "status"): {"preparation", "in-progress", "not-done", "on-hold", "stopped",
                              "completed", "entered-in-error", "unknown"},
    ("Observation", "status"): {"registered", "preliminary", "final", "amended", "corrected",
                                "cancelled", "entered-in-error", "unknown"},
    ("DiagnosticReport", "status"): {"registered", "partial", "preliminary", "final",
                                     "amended", "corrected", "appended", "cancelled",
                                     "entered-in-error", "unknown"},
}

# Clinical reference section 7.1, confirmed codes (the deprecated and the blood-only ones left out).
CONFIRMED_LOINC = {
    "48807-2", "11138-5", "38257-2", "11105-4", "11108-8", "11109-6", "40689-2", "50373-0",
    "51629-4", "74233-8", "74228-8", "44723-5", "13513-7", "93021-4", "53610-2",
}


# The blood count codes Marrow writes (marrow_domain::blood_count::Analyte::loinc): haemoglobin,
# white cells, neutrophils, lymphocytes, monocytes, eosinophils, basophils, platelets, film
# blasts. Blood, not marrow: allowed on blood count Observations only (26446-5 on a marrow
# result is the known-wrong mapping clinical reference section 7.1 warns about).
BLOOD_COUNT_LOINC = {
    "718-7", "6690-2", "751-8", "731-0", "742-7", "711-2", "704-7", "777-3", "26446-5",
}


def loinc_check_digit(stem):
    """Clinical reference section 7.4: the LOINC mod-10 check digit."""
    digits = stem[::-1]
    odd = "".join(digits[i] for i in range(0, len(digits), 2))[::-1]
    even = "".join(digits[i] for i in range(1, len(digits), 2))[::-1]
    doubled = str(int(odd) * 2)
    total = sum(int(d) for d in even + doubled)
    return (10 - total % 10) % 10


def walk(node, path=""):
    """Yields (path, key, value) for every member of every object."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def check_bundle(raw, problems, label):
    try:
        Bundle.parse_obj(raw)
    except Exception as e:  # pydantic's ValidationError, or anything it raises on bad input
        problems.append(f"{label}: fhir.resources refused it:\n{e}")
        return None

    if raw.get("type") not in REQUIRED[("Bundle", "type")]:
        problems.append(f"{label}: Bundle.type {raw.get('type')!r}")
    entries = raw.get("entry", [])
    full_urls = {}
    for i, entry in enumerate(entries):
        where = f"{label} entry[{i}]"
        url = entry.get("fullUrl", "")
        resource = entry.get("resource", {})
        rtype, rid = resource.get("resourceType"), resource.get("id", "")
        if not ABSOLUTE.match(url):
            problems.append(f"{where}: fullUrl {url!r} is not absolute")
        if url in full_urls:
            problems.append(f"{where}: fullUrl {url!r} repeats entry[{full_urls[url]}]")
        full_urls[url] = i
        restful = RESTFUL.match(url)
        if restful and (restful.group(2), restful.group(3)) != (rtype, rid):
            problems.append(f"{where}: fullUrl {url!r} disagrees with {rtype}/{rid}")
        if not ID.match(rid):
            problems.append(f"{where}: id {rid!r}")
        for (t, element), allowed in REQUIRED.items():
            if t == rtype and element in resource and resource[element] not in allowed:
                problems.append(f"{where}: {rtype}.{element} {resource[element]!r}")

    resources = [e.get("resource", {}) for e in entries]
    report_results = {r.get("reference") for res in resources
                      if res.get("resourceType") == "DiagnosticReport"
                      for r in res.get("result", [])}
    supporting = {r.get("reference") for res in resources
                  if res.get("resourceType") == "ServiceRequest"
                  for r in res.get("supportingInfo", [])}

    def is_blood_count(resource):
        return (resource.get("resourceType") == "Observation"
                and f"Observation/{resource.get('id')}" not in report_results
                and "specimen" not in resource)

    references = 0
    for i, entry in enumerate(entries):
        where = f"{label} entry[{i}]"
        restful = RESTFUL.match(entry.get("fullUrl", ""))
        base = (restful.group(1) or "") if restful else None
        blood = is_blood_count(entry.get("resource", {}))
        for path, key, value in walk(entry.get("resource", {})):
            if value in ("", [], {}):
                problems.append(f"{where}{path}.{key}: empty")
            if key == "reference":
                references += 1
                if ABSOLUTE.match(value):
                    target = value
                elif base is not None:
                    target = base + value
                else:
                    target = None
                if target not in full_urls:
                    problems.append(f"{where}{path}: reference {value!r} is not in the Bundle")
            elif key == "birthDate" and not DATE.match(value):
                problems.append(f"{where}{path}: birthDate {value!r}")
            elif key == "data" and isinstance(value, str):
                try:
                    base64.b64decode(value, validate=True)
                except binascii.Error:
                    problems.append(f"{where}{path}: data is not base64")
            elif key == "div":
                try:
                    root = ET.fromstring(value)
                    if root.tag != "{http://www.w3.org/1999/xhtml}div":
                        problems.append(f"{where}{path}: narrative root is {root.tag}")
                except ET.ParseError as e:
                    problems.append(f"{where}{path}: narrative is not XHTML: {e}")
            elif key == "coding":
                for coding in value:
                    if coding.get("system") == "http://loinc.org":
                        code = coding.get("code", "")
                        stem, _, check = code.partition("-")
                        if not (stem.isdigit() and check.isdigit()
                                and loinc_check_digit(stem) == int(check)):
                            problems.append(f"{where}{path}: LOINC {code!r} fails its check digit")
                        if blood and code not in BLOOD_COUNT_LOINC:
                            problems.append(
                                f"{where}{path}: LOINC {code!r} is not a blood count code")
                        elif not blood and code not in CONFIRMED_LOINC:
                            problems.append(f"{where}{path}: LOINC {code!r} is not confirmed")
            elif key in ("valueQuantity", "low", "high", "quantity") and isinstance(value, dict):
                if value.get("system") == "http://unitsofmeasure.org" and not value.get("code"):
                    problems.append(f"{where}{path}.{key}: UCUM quantity without a code")

    observations = {f"Observation/{e['resource']['id']}" for e in entries
                    if e.get("resource", {}).get("resourceType") == "Observation"}
    reports = [e["resource"] for e in entries
               if e.get("resource", {}).get("resourceType") == "DiagnosticReport"]
    if len(reports) != 1:
        problems.append(f"{label}: {len(reports)} DiagnosticReports")
    missing = observations - report_results - supporting
    if missing:
        problems.append(f"{label}: neither results of the report nor supporting information "
                        f"of the order: {sorted(missing)}")
    both = report_results & supporting
    if both:
        problems.append(f"{label}: both results of the report and supporting information: "
                        f"{sorted(both)}")

    counts = {}
    for entry in entries:
        rtype = entry.get("resource", {}).get("resourceType")
        counts[rtype] = counts.get(rtype, 0) + 1
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"{label}: {len(entries)} resources ({kinds}); {references} references resolved"


def main():
    text = sys.stdin.read()
    try:
        bundles, mode = [json.loads(text)], "json"
    except json.JSONDecodeError:
        bundles, mode = [], "ndjson"
        for n, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    bundles.append(json.loads(line))
                except json.JSONDecodeError as e:
                    print(f"line {n}: not JSON: {e}", file=sys.stderr)
                    return 1
    if not bundles:
        print("no input", file=sys.stderr)
        return 1
    problems, summary = [], []
    for i, raw in enumerate(bundles, start=1):
        line = check_bundle(raw, problems, f"bundle {i}")
        if line:
            summary.append(line)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"{mode}: {len(bundles)} valid FHIR R4 Bundle(s)")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
