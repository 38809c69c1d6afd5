#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into seeds/TARGET/ (committed; rerun after changing a
form or body). Each seed is a valid input, so the fuzzer starts from what real clients send and
mutates its way into the domain's rules. The server's and interop's tests check that every seed
is still accepted. Synthetic data only. The JPEG and TIFF image seeds need Pillow (PyPI); without
it only the PNG seeds are written."""
import io, json, os, struct, zlib
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))

def write(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# --- API JSON bodies: first byte is the selector of marrow_server::fuzz::api_body -------------
procedure = {"operator": "Dr Synthetic", "performed_at": "2026-11-24T08:30:00Z",
             "site": "posterior-iliac-crest", "side": "right", "position": "lateral",
             "local_anaesthetic": "Lidocaine 1% 10 mL", "sedation": "none",
             "specimens": [{"tube": "smears", "destination": "morphology", "volume_ml": 0.3},
                           {"tube": "edta", "destination": "flow-cytometry"}],
             "time_out_done": True, "needle": "Jamshidi 11G", "passes": 2,
             "haemostasis": "Pressure 5 min"}
report = {"adequacy": "adequate", "cellularity": "normocellular",
          "erythropoiesis": "Normoblastic.", "granulopoiesis": "Full maturation.",
          "megakaryopoiesis": "Normal.", "lymphoid": "Not increased.",
          "morphology": "No infiltrate.", "granulomas": "not-seen", "organisms": "not-seen",
          "haemophagocytosis": "not-seen", "interpretation": "Normal marrow.",
          "comment": "Synthetic."}
api = [
    {"mrn": "SYN-1", "family_name": "Testpatient", "given_name": "Alex",
     "date_of_birth": "1970-05-01", "sex": "female", "language": "es"},
    {"patient_id": 1, "indication": "abnormal-blood-counts", "lineages": ["platelets-low"],
     "sampling": "aspirate-trephine", "urgency": "urgent", "clinical_details": "Synthetic."},
    {"medications": [{"name": "Aspirin", "class": "antiplatelet", "dose": "75 mg",
                      "last_dose_at": "2026-11-22T08:00:00Z"}],
     "allergies": ["Latex"], "platelets": 88, "inr": 1.1,
     "bloods_taken_at": "2026-11-24T07:00:00Z", "sedation_planned": True,
     "escort_arranged": True, "immunocompromised": True},
    procedure,
    {"counts": {"blasts": 10, "segmented-neutrophils": 150, "monocytes": 60,
                "polychromatic-erythroblasts": 90, "lymphocytes": 190, "smudge": 7}},
    {"particles": "adequate", "trail_cellularity": "normocellular",
     "particle_cellularity": "normocellular", "haemodilution": "none",
     "megakaryocytes": "normal", "iron_stain": "2", "ring_sideroblasts": "0",
     "particles_examined_for_iron": 9, "comment": "Synthetic."},
    dict(report, expected_revision=0),
    dict(report, reason="Corrected the interpretation.", flags_shown=["blasts-increased"]),
    {"flags_shown": []},
    {"target": 500},
    {"events": [{"id": "e-1", "event": "tally:blasts", "pressed_at": "2026-11-24T09:00:00Z"},
                {"id": "e-2", "event": "tally:lymphocytes:abnormal"}, {"id": "e-3", "event": "undo"}]},
    {"decision": "blasts"},
    {"taken_at": "2026-11-23T08:30:00Z",
     "values": [{"analyte": "haemoglobin", "value": 9.8, "unit": "g/dL"},
                {"analyte": "777-3", "value": 64, "unit": "10*3/uL"},
                {"analyte": "neutrophils", "value": 800, "unit": "/uL"}]},
    {"on": "2026-10-01", "kind": "treatment-start", "description": "Induction (synthetic)"},
]
for i, body in enumerate(api):
    write("api_json", f"{i:02}", bytes([i]) + json.dumps(body).encode())

# --- Page forms: first byte is the selector of marrow_server::fuzz::form_body ----------------
forms = [
    [("mrn", "SYN-1"), ("family_name", "Testpatient"), ("given_name", "Alex"),
     ("date_of_birth", "1970-05-01"), ("sex", "female"), ("language", "en")],
    [("indication", "abnormal-blood-counts"), ("lineages", "platelets-low"),
     ("lineages", "neutrophils-low"), ("sampling", "aspirate"), ("urgency", "routine"),
     ("clinical_details", "Synthetic.")],
    [("med_name", "Apixaban"), ("med_class", "doac"), ("med_dose", "5 mg"),
     ("med_last_dose", "2026-11-22T08:00"), ("allergies", "Latex\nPenicillin"),
     ("platelets", "210"), ("inr", "1.0"), ("bloods_taken_at", "2026-11-24T07:30"),
     ("creatinine_clearance", "60"), ("sedation_planned", "on"), ("escort_arranged", "on"),
     ("override.drug-hold-incomplete", "Discussed with haematology (synthetic).")],
    [("operator", "Dr Synthetic"), ("performed_at", "2026-11-24T08:45"),
     ("site", "posterior-iliac-crest"), ("side", "left"), ("position", "prone"),
     ("local_anaesthetic", "Lidocaine 1% 8 mL"), ("sedation", "none"), ("time_out", "on"),
     ("specimen_tube", "smears"), ("specimen_destination", "morphology"),
     ("specimen_volume", "0.3"), ("specimen_tube", "sodium-heparin"),
     ("specimen_destination", "cytogenetics"), ("specimen_volume", ""), ("passes", "1"),
     ("complications", "")],
    [("count.blasts", "35"), ("count.promyelocytes", "15"), ("count.segmented-neutrophils", "150"),
     ("count.lymphocytes", "100"), ("count.polychromatic-erythroblasts", "200"), ("count.smudge", "3")],
    [("particles", "adequate"), ("trail_cellularity", "hypercellular"),
     ("particle_cellularity", "hypercellular"), ("haemodilution", "mild"),
     ("megakaryocytes", "increased"), ("iron_stain", "not-performed")],
    [(k, v) for k, v in report.items()] + [("revision", "0")],
    [("reason", "Corrected the interpretation.")] + [(k, v) for k, v in report.items()],
    [("taken_at", "2026-11-23T08:30"), ("haemoglobin", "98"), ("haemoglobin_unit", "g/L"),
     ("platelets", "64"), ("platelets_unit", "10*9/L"), ("white-cells", "2.1"),
     ("white-cells_unit", "10*9/L")],
    [("on", "2026-10-01"), ("kind", "transplant"), ("description", "")],
    [("username", "synthetic.tech"), ("display_name", "Synthetic Technologist"),
     ("role", "technologist"), ("password", "a long synthetic passphrase 42")],
    [("platelets_min", "50"), ("inr_max", "1.5"), ("bloods_max_age_hours", "72"),
     ("drug_policy", "sir-2019-high-risk")],
    [("excluded", "smudge"), ("excluded", "other")],
    [("target", "300")],
    [("name", "Synthetic map"), ("bindings.blasts", "b"), ("bindings.lymphocytes", "l")],
    [("specimen", "S000012")],
    [("temperature", "37.2"), ("bleeding", "none"), ("pain", "mild"), ("notes", "Sore (synthetic).")],
]
for i, pairs in enumerate(forms):
    write("form", f"{i:02}", bytes([i]) + urlencode(pairs + [("csrf", "token")]).encode())

# --- HL7 and CSV ----------------------------------------------------------------------------
cbc = "\r".join([
    "MSH|^~\\&|LIMS|SYNTH-LAB|MARROW|SYNTHETIC-HOSPITAL|20261123091502+0000||ORU^R01^ORU_R01|LAB-1|P|2.5.1",
    "PID|1||syn-1^^^SYNTHETIC-HOSPITAL^MR||Sample^Robin||19580615|F",
    "OBR|1|ORD-1|ACC-1|58410-2^CBC panel^LN|||202611230830+0000",
    "OBX|1|NM|718-7^Hemoglobin^LN||9.8|g/dL^^UCUM|12.0-15.0|L|||F",
    "OBX|2|NM|6690-2^Leukocytes^LN||2.1|10*3/uL^^UCUM|||||F",
    "OBX|3|NM|751-8^Neutrophils^LN||800|/uL^^UCUM|||||F",
    "OBX|4|NM|777-3^Platelets^LN||64|10*3/uL^^UCUM|||||F",
    "OBX|5|NM|26446-5^Blasts^LN||2|%^^UCUM|||||F",
]) + "\r"
# First byte: even reads a batch file; odd reads MLLP frames split after (byte >> 1) bytes.
write("hl7", "00", b"\x00" + cbc.encode())
write("hl7", "01", b"\x21" + b"\x0b" + cbc.encode() + b"\x1c\r")
write("hl7", "02", b"\x00" + ("FHS|^~\\&\rBHS|^~\\&\r" + cbc + cbc.replace("LAB-1", "LAB-2") + "BTS|2\rFTS|1\r").encode())
write("csv", "00", b"mrn,taken_at,analyte,value,unit\nSYN-1,2026-11-23T08:30Z,haemoglobin,9.8,g/dL\n"
      b"SYN-1,2026-11-23T08:30Z,777-3,64,10*3/uL\nSYN-2,2026-11-22T08:00Z,blasts,3,%\n")
write("csv", "01", b"\xef\xbb\xbfMRN,Taken_At,Analyte,Value,Unit\r\n\"SYN-1\",2026-11-23T08:30,platelets,\"150\",x10^9/L\r\n")

# --- Images: first byte picks kind (bit 0) and scale (see marrow_vision::fuzz::upload) --------
def png(w, h, pixel):
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(w)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
def stain(x, y):
    # A pale background with one purple "nucleus" in the middle.
    d = (x - 24) ** 2 + (y - 24) ** 2
    return (90, 40, 140) if d < 60 else (235, 215, 225)
write("image", "00", bytes([1]) + png(48, 48, stain))             # a single cell
write("image", "01", bytes([0]) + png(48, 48, stain))             # a field at 0.1 µm/px
try:
    from PIL import Image
    im = Image.frombytes("RGB", (48, 48), b"".join(bytes(stain(x, y)) for y in range(48) for x in range(48)))
    for name, fmt in (("02", "JPEG"), ("03", "TIFF")):
        b = io.BytesIO(); im.save(b, fmt); write("image", name, bytes([20]) + b.getvalue())
except ImportError:
    pass
