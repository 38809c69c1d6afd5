//! Shared helpers: snapshots and the external validators.

use std::path::PathBuf;
use std::process::Command;

/// Compares `actual` with `tests/snapshots/<name>`. With `MARROW_UPDATE_SNAPSHOTS=1` the file
/// is written instead, so a deliberate change is one command and a reviewed diff.
pub fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var("MARROW_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("snapshot {} missing ({e}); run with MARROW_UPDATE_SNAPSHOTS=1", path.display())
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {name} differs from line {}:\n expected: {:?}\n   actual: {:?}\n\
             (MARROW_UPDATE_SNAPSHOTS=1 rewrites it after review)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// The Python that has the validators (`fhir.resources`, `hl7apy`): `MARROW_PYTHON`, else
/// `python3`. Returns `None` when `module` cannot be imported; with
/// `MARROW_REQUIRE_VALIDATORS=1` (set by `.ci/run`) that is a failure instead.
pub fn python_with(module: &str) -> Option<String> {
    let python = std::env::var("MARROW_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var("MARROW_REQUIRE_VALIDATORS").is_ok_and(|v| v == "1");
    if !ok {
        assert!(
            !required,
            "{python} cannot import {module}; install ci/python-requirements.txt into it"
        );
        eprintln!("skipping the {module} validation: {python} cannot import it");
        return None;
    }
    Some(python)
}

/// Runs `script` (a file under `tests/validators/`) with `python`, passing `input` on stdin;
/// returns stdout, panicking with stderr when the validator refuses the input.
pub fn validate(python: &str, script: &str, input: &[u8]) -> String {
    use std::io::Write as _;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/validators").join(script);
    let mut child = Command::new(python)
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the validator");
    child.stdin.take().expect("stdin").write_all(input).expect("write to the validator");
    let out = child.wait_with_output().expect("validator output");
    assert!(
        out.status.success(),
        "{script} refused the input:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
