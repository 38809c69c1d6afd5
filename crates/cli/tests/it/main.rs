//! The `marrow` binary as an operator meets it: the real executable, run in a fresh working
//! directory with no `MARROW_*` settings in the environment, so its defaults are what is tested.
//! One test binary.

mod kill;
mod support;
mod two_nodes;

use support::{Server, assert_one_error_line, demo_users, listed_user, login_csrf, run, workdir};

const PASSWORD: &str = "correct horse battery";

// ---- help ---------------------------------------------------------------------------------

#[test]
fn help_lists_serve_migrate_user_and_token() {
    let dir = workdir();
    let outcome = run(dir.path(), &["--help"], None);
    outcome.assert_success();
    for command in ["serve", "migrate", "user", "token"] {
        assert!(
            outcome.stdout.lines().any(|line| line.trim_start().starts_with(command)),
            "--help lists {command}:\n{}",
            outcome.stdout
        );
    }
}

#[test]
fn serve_help_names_its_options_and_their_environment_variables() {
    let dir = workdir();
    let outcome = run(dir.path(), &["serve", "--help"], None);
    outcome.assert_success();
    for word in ["--database", "--listen", "--demo", "MARROW_DATABASE_URL", "MARROW_LISTEN"] {
        assert!(outcome.stdout.contains(word), "serve --help mentions {word}:\n{}", outcome.stdout);
    }
}

// ---- database errors: one line, no panic ----------------------------------------------------

#[test]
fn an_unknown_database_scheme_is_one_error_line_naming_the_scheme() {
    let dir = workdir();
    let outcome = run(dir.path(), &["--database", "mysql://x/y", "migrate"], None);
    assert_one_error_line(&outcome, &["scheme", "mysql", "sqlite://", "postgres://"]);
}

#[test]
fn a_missing_folder_is_one_error_line_naming_the_folder() {
    let dir = workdir();
    let outcome =
        run(dir.path(), &["--database", "sqlite:///no/such/folder/m.db", "migrate"], None);
    assert_one_error_line(&outcome, &["/no/such/folder", "does not exist"]);
    assert!(!std::path::Path::new("/no/such/folder").exists(), "no folder was created");
}

#[test]
fn an_unwritable_location_is_one_error_line_naming_the_file() {
    // Tests may run as root, whom permissions do not stop; a path under a plain file cannot be
    // created by anyone.
    let dir = workdir();
    std::fs::write(dir.path().join("f"), "not a folder").unwrap();
    let outcome = run(dir.path(), &["--database", "sqlite://f/m.db", "migrate"], None);
    assert_one_error_line(&outcome, &["cannot open SQLite file", "f/m.db"]);
    assert_eq!(std::fs::read_to_string(dir.path().join("f")).unwrap(), "not a folder");
}

#[test]
fn an_unreachable_postgres_is_one_error_line_naming_the_server() {
    let dir = workdir();
    let outcome =
        run(dir.path(), &["--database", "postgres://marrow@127.0.0.1:1/x", "migrate"], None);
    assert_one_error_line(&outcome, &["cannot connect", "PostgreSQL", "127.0.0.1:1"]);
}

#[test]
fn an_unreachable_postgres_error_does_not_show_the_password() {
    let dir = workdir();
    let url = "postgres://marrow:s3cret-pw@127.0.0.1:1/x";
    let outcome = run(dir.path(), &["--database", url, "migrate"], None);
    let line = assert_one_error_line(&outcome, &["cannot connect", "127.0.0.1:1"]);
    assert!(!line.contains("s3cret-pw"), "the password leaked: {line}");
}

// ---- migrate --------------------------------------------------------------------------------

#[test]
fn migrate_with_the_default_url_creates_marrow_db_and_succeeds_twice() {
    let dir = workdir();
    let first = run(dir.path(), &["migrate"], None);
    first.assert_success();
    assert!(dir.path().join("marrow.db").is_file(), "./marrow.db was created: {first:#?}");
    assert!(first.stdout.contains("up to date"), "{first:#?}");
    assert!(first.stderr.contains("created a new database"), "{first:#?}");

    let second = run(dir.path(), &["migrate"], None);
    second.assert_success();
    assert!(second.stdout.contains("up to date"), "{second:#?}");
    assert!(!second.stderr.contains("created a new database"), "{second:#?}");
}

// ---- users ----------------------------------------------------------------------------------

fn add_pathologist(dir: &std::path::Path, password: &str) -> support::Outcome {
    // Only `serve` and `migrate` create a database; every other command needs one.
    run(dir, &["migrate"], None).assert_success();
    run(
        dir,
        &["user", "add", "--role", "pathologist", "--display-name", "Dr Synthetic", "syn.path"],
        Some(&format!("{password}\n")),
    )
}

#[test]
fn user_add_with_a_piped_password_creates_the_user() {
    let dir = workdir();
    let outcome = add_pathologist(dir.path(), PASSWORD);
    outcome.assert_success();
    assert!(outcome.stdout.contains("syn.path"), "{outcome:#?}");
    let line = listed_user(dir.path(), "syn.path").expect("user list shows syn.path");
    assert!(line.contains("pathologist"), "{line}");
    assert!(line.contains("Dr Synthetic"), "{line}");
}

#[test]
fn user_add_refuses_a_short_password_naming_the_password() {
    let dir = workdir();
    let outcome = add_pathologist(dir.path(), "short-pw");
    assert_one_error_line(&outcome, &["password", "12"]);
    assert_eq!(listed_user(dir.path(), "syn.path"), None);
}

#[test]
fn user_add_refuses_an_unknown_role_naming_the_role() {
    let dir = workdir();
    let outcome = run(dir.path(), &["user", "add", "--role", "wizard", "syn.wiz"], Some(PASSWORD));
    assert_one_error_line(&outcome, &["role", "wizard"]);
}

#[test]
fn user_add_refuses_a_duplicate_username() {
    let dir = workdir();
    add_pathologist(dir.path(), PASSWORD).assert_success();
    let again = add_pathologist(dir.path(), "another long password");
    assert_one_error_line(&again, &["syn.path", "taken"]);
    let users = run(dir.path(), &["user", "list"], None);
    assert_eq!(users.assert_success().stdout.lines().count(), 1, "{users:#?}");
}

// ---- tokens and the served API --------------------------------------------------------------

#[test]
fn token_create_for_an_unknown_user_is_refused() {
    let dir = workdir();
    run(dir.path(), &["migrate"], None).assert_success();
    let outcome = run(dir.path(), &["token", "create", "nobody"], None);
    assert_one_error_line(&outcome, &["nobody"]);
}

#[test]
fn a_created_token_is_accepted_by_the_served_api_and_a_wrong_one_is_not() {
    let dir = workdir();
    add_pathologist(dir.path(), PASSWORD).assert_success();
    let created = run(dir.path(), &["token", "create", "syn.path"], None);
    created.assert_success();
    let token = created.stdout.trim();
    assert_eq!(created.stdout.lines().count(), 1, "stdout is only the token: {created:#?}");
    assert_eq!(token.len(), 64, "{token:?}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token:?}");

    let server = Server::start(dir.path(), &[]);
    let bearer = format!("Bearer {token}");
    let me = server.http("GET", "/api/v1/me", &[("Authorization", &bearer)], None);
    assert_eq!(me.status, 200, "{me:#?}");
    assert!(me.body.contains("syn.path"), "{me:#?}");
    assert!(me.body.contains("pathologist"), "{me:#?}");

    let wrong = format!("Bearer {}", "0".repeat(64));
    let refused = server.http("GET", "/api/v1/me", &[("Authorization", &wrong)], None);
    assert_eq!(refused.status, 401, "{refused:#?}");
    let missing = server.http("GET", "/api/v1/me", &[], None);
    assert_eq!(missing.status, 401, "{missing:#?}");

    let stopped = server.stop();
    assert!(stopped.status.success(), "SIGTERM stops the server cleanly: {stopped:#?}");
    assert!(stopped.stderr.contains("stopped"), "{stopped:#?}");
    assert!(!stopped.stderr.contains(token), "the token is never logged: {stopped:#?}");
}

// ---- demo -----------------------------------------------------------------------------------

const ROLES: [&str; 6] =
    ["clinician", "proceduralist", "nurse", "technologist", "pathologist", "admin"];

/// Runs `serve --demo` on the empty database in `dir` until it answers; returns the server and
/// the printed (username, password) pairs, one per role.
fn demo_server(dir: &std::path::Path) -> (Server, Vec<(String, String)>) {
    let server = Server::start(dir, &["--demo"]);
    let stdout = server.stdout();
    let users = demo_users(&stdout);
    let names: Vec<&str> = users.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(names, ROLES, "one demo user per role:\n{stdout}");
    for (user, password) in &users {
        assert!(password.len() >= 12, "{user}'s printed password is a usable one: {password:?}");
    }
    (server, users)
}

#[test]
fn serve_demo_fills_an_empty_database_and_its_clinician_can_log_in() {
    let dir = workdir();
    let (server, users) = demo_server(dir.path());
    let log = server.stderr();
    assert!(log.contains("created a new database"), "{log}");

    let (_, password) = users.iter().find(|(u, _)| u == "clinician").unwrap();
    let form = server.http("GET", "/login", &[], None);
    assert_eq!(form.status, 200, "{form:#?}");
    let login_cookie = form.set_cookie("marrow_login").expect("GET /login sets marrow_login");
    let csrf = login_csrf(&form.body);
    let cookie = format!("marrow_login={login_cookie}");
    let fields = [("login_csrf", csrf.as_str()), ("username", "clinician"), ("password", password)];
    let login = server.http("POST", "/login", &[("Cookie", &cookie)], Some(&fields));
    assert_eq!(login.status, 303, "{login:#?}");
    let session = login.set_cookie("marrow_session").expect("a login sets marrow_session");
    assert!(!session.is_empty());

    let cookie = format!("marrow_session={session}");
    let cases = server.http("GET", "/cases", &[("Cookie", &cookie)], None);
    assert_eq!(cases.status, 200, "{cases:#?}");
    assert!(cases.body.contains("DEMO-0001"), "{}", cases.body);

    let stranger = server.http("GET", "/cases", &[], None);
    assert_ne!(stranger.status, 200, "without a session /cases is not shown: {stranger:#?}");
}

#[test]
fn serve_demo_on_a_filled_database_adds_nothing_and_prints_no_password() {
    let dir = workdir();
    let (first, users) = demo_server(dir.path());
    first.stop();

    let second = Server::start(dir.path(), &["--demo"]);
    let stopped = second.stop();
    assert!(stopped.status.success(), "{stopped:#?}");
    assert!(stopped.stderr.contains("demo data was not added"), "{stopped:#?}");
    assert!(!stopped.stderr.contains("created a new database"), "{stopped:#?}");
    assert!(!stopped.stdout.contains("Demo data added"), "{stopped:#?}");
    for (user, password) in &users {
        for stream in [&stopped.stdout, &stopped.stderr] {
            assert!(!stream.contains(password.as_str()), "{user}'s password shown again");
        }
    }
    let listed = run(dir.path(), &["user", "list"], None);
    assert_eq!(listed.assert_success().stdout.lines().count(), ROLES.len(), "{listed:#?}");
}

#[test]
fn audit_verify_reports_an_intact_chain_on_the_demo_database() {
    let dir = workdir();
    let (server, _) = demo_server(dir.path());
    server.stop();
    let outcome = run(dir.path(), &["audit", "verify"], None);
    outcome.assert_success();
    assert!(outcome.stdout.contains("audit chain intact"), "{outcome:#?}");
}

#[tokio::test]
async fn audit_verify_fails_naming_the_record_after_the_database_is_edited_behind_its_back() {
    use sqlx::{Connection, Executor};
    let dir = workdir();
    let (server, _) = demo_server(dir.path());
    server.stop();
    let url = format!("sqlite://{}", dir.path().join("marrow.db").display());
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    raw.execute("UPDATE audit_log SET actor_id = NULL WHERE id = 12").await.unwrap();
    raw.close().await.unwrap();
    let outcome = run(dir.path(), &["audit", "verify"], None);
    assert_eq!(outcome.status.code(), Some(1), "{outcome:#?}");
    assert!(outcome.stderr.contains("audit chain broken at record 12"), "{outcome:#?}");
    assert_eq!(outcome.stderr.lines().count(), 1, "one error line: {outcome:#?}");
}

#[test]
fn commands_other_than_serve_and_migrate_refuse_a_missing_database() {
    let dir = workdir();
    for args in [&["user", "list"][..], &["token", "create", "someone"], &["audit", "verify"]] {
        let outcome = run(dir.path(), args, None);
        assert_eq!(outcome.status.code(), Some(1), "{args:?}: {outcome:#?}");
        assert!(
            outcome.stderr.contains("there is no SQLite database at marrow.db"),
            "{args:?}: {outcome:#?}"
        );
    }
    assert!(!dir.path().join("marrow.db").exists(), "nothing was created");
}

#[test]
fn serve_demo_adds_nothing_to_a_database_that_already_has_users() {
    let dir = workdir();
    add_pathologist(dir.path(), PASSWORD).assert_success();
    let server = Server::start(dir.path(), &["--demo"]);
    drop(server);
    let users = run(dir.path(), &["user", "list"], None);
    users.assert_success();
    assert_eq!(users.stdout.lines().count(), 1, "only the real user: {users:#?}");
}

#[test]
fn export_prints_each_signed_version_and_refuses_a_case_without_one() {
    let dir = workdir();
    run(dir.path(), &["migrate"], None).assert_success();
    // Six synthetic cases, one per stage: case 1 is only ordered, case 6 is amended.
    run(dir.path(), &["seed-synthetic", "--cases", "6"], None).assert_success();

    let hl7 = run(dir.path(), &["export", "hl7", "--case", "6"], None);
    hl7.assert_success();
    let messages: Vec<&str> = hl7.stdout.split("\r\n").filter(|m| !m.is_empty()).collect();
    assert_eq!(messages.len(), 2, "version 1 and its amendment: {hl7:#?}");
    let status = |m: &str| {
        let parsed = marrow_interop::hl7::parse(m).expect("a valid HL7 message");
        parsed.segment("OBR").expect("an OBR").field(25).to_owned()
    };
    assert_eq!((status(messages[0]).as_str(), status(messages[1]).as_str()), ("F", "C"));
    let only = run(dir.path(), &["export", "hl7", "--case", "6", "--version", "2"], None);
    let only: Vec<&str> =
        only.assert_success().stdout.split("\r\n").filter(|m| !m.is_empty()).collect();
    assert_eq!(only.len(), 1);
    assert_eq!(status(only[0]), "C");

    let fhir = run(dir.path(), &["export", "fhir", "--case", "5"], None);
    let bundle: serde_json::Value =
        serde_json::from_str(&fhir.assert_success().stdout).expect("the bundle is JSON");
    assert_eq!(bundle["resourceType"], "Bundle");
    let mrn_system_of = |bundle: &serde_json::Value| {
        let entries = bundle["entry"].as_array().expect("entries");
        let patient = entries
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == "Patient")
            .expect("a Patient");
        patient["identifier"][0]["system"].as_str().expect("a system").to_owned()
    };
    assert_eq!(mrn_system_of(&bundle), marrow_interop::fhir::MRN_SYSTEM, "the placeholder");
    let oid = "urn:oid:2.16.840.1.113883.19.5";
    let site = run(dir.path(), &["export", "fhir", "--case", "5", "--mrn-system", oid], None);
    let site: serde_json::Value =
        serde_json::from_str(&site.assert_success().stdout).expect("the bundle is JSON");
    assert_eq!(mrn_system_of(&site), oid, "the site's MRN system");
    let bad = run(dir.path(), &["export", "fhir", "--case", "5", "--mrn-system", "our mrns"], None);
    assert!(!bad.status.success());
    assert!(bad.stderr.contains("--mrn-system"), "the option is named: {bad:#?}");
    assert!(bad.stderr.contains("not a URI"), "{bad:#?}");

    let draft = run(dir.path(), &["export", "hl7", "--case", "1"], None);
    assert!(!draft.status.success());
    assert_eq!(draft.stderr.lines().count(), 1, "{draft:#?}");
    assert!(draft.stderr.contains("case 1 has no signed report"), "{draft:#?}");
}

#[test]
fn analyze_prints_one_json_line_per_cell_and_names_a_file_it_cannot_read() {
    let dir = workdir();
    let vision = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vision/tests/data");
    let cell = vision.join("marrow-cells/EOS").read_dir().unwrap().next().unwrap().unwrap().path();
    let field =
        vision.join("blood-fields/images").read_dir().unwrap().next().unwrap().unwrap().path();
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"not an image").unwrap();

    let one = run(dir.path(), &["analyze", "--cells", cell.to_str().unwrap()], None);
    let lines: Vec<serde_json::Value> = one
        .assert_success()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{one:#?}");
    let probabilities = lines[0]["probabilities"].as_object().unwrap();
    assert_eq!(probabilities.len(), 7);
    let sum: f64 = probabilities.values().map(|p| p.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-2, "{sum}");
    assert!(lines[0]["model_class"].is_string() && lines[0]["box"]["width"].is_u64());

    let both =
        run(dir.path(), &["analyze", field.to_str().unwrap(), broken.to_str().unwrap()], None);
    assert!(!both.status.success(), "a file that cannot be read fails the run");
    assert!(both.stderr.contains("broken.jpg"), "{both:#?}");
    let found: Vec<serde_json::Value> =
        both.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!found.is_empty(), "the readable field still gives its cells: {both:#?}");
    assert!(found.iter().all(|c| c["file"].as_str().unwrap().ends_with(".jpg")));
}

/// The cells technologists confirmed become a labelled folder `marrow train` reads: one folder
/// per model class, "Other" as "not identifiable", and nothing for classes the model does not
/// know or for "not a cell".
#[test]
fn export_cells_writes_a_labelled_folder_that_train_can_read() {
    use marrow_domain::case::CaseStatus;
    use marrow_domain::counter::ImageDecision;
    use marrow_domain::morphology::CellClass;
    use marrow_store::{NewImage, NewImageCell, Stamp};
    use marrow_testkit::synthetic::{Staff, case_at, now};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(marrow_testkit::TestDb::sqlite());
    let url = db.url();
    runtime.block_on(async {
        let store = db.store();
        let staff = Staff::insert(&store, "!").await;
        let (_, case) = case_at(&store, &staff, 1, CaseStatus::InLab).await;
        let stamp = Stamp { by: staff.technologist, at: now() };
        let count = store.start_count(case, 200, stamp).await.unwrap();
        let mut png = Vec::new();
        image::RgbImage::from_pixel(128, 128, image::Rgb([200, 100, 150]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let cell = |x| NewImageCell {
            bbox: [x, 0, 10, 10],
            crop_png: png.clone(),
            proposed_top: "BLA".into(),
            proposal: serde_json::json!({"class": "blasts", "top": "BLA", "confidence": 0.9, "probabilities": {}}),
        };
        let image = NewImage {
            file_name: "field.jpg".into(),
            kind: "field".into(),
            width: 640,
            height: 480,
            model: "test".into(),
            cells: (0..5).map(cell).collect(),
        };
        let (_, ids) = store.add_count_image(count.id, &image, stamp).await.unwrap();
        let decisions = [
            ImageDecision::Class(CellClass::Blast),
            ImageDecision::Class(CellClass::Blast),
            ImageDecision::Class(CellClass::Other),
            ImageDecision::Class(CellClass::PlasmaCell),
            ImageDecision::NotACell,
        ];
        for (id, decision) in ids.iter().zip(decisions) {
            store.decide_image_cell(count.id, *id, decision, stamp).await.unwrap();
        }
        store.close().await;
    });

    let dir = workdir();
    let out = dir.path().join("confirmed");
    let export = run(
        dir.path(),
        &["--database", &url, "export", "cells", "--out", out.to_str().unwrap()],
        None,
    );
    export.assert_success();
    assert!(export.stdout.contains("exported 3 cell(s)"), "{export:#?}");
    assert!(export.stdout.contains("BLA 2, NIF 1"), "{export:#?}");
    assert!(export.stdout.contains("1 of classes the model does not know, 1 marked not a cell"));
    let listed = marrow_vision::train::list_folder(&out).expect("train reads the folder");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|l| l.path.starts_with("BLA/")).count(), 2);
    assert!(listed.iter().all(|l| l.path.contains("marrow-cell-")), "named by cell id only");

    let again = run(
        dir.path(),
        &["--database", &url, "export", "cells", "--out", out.to_str().unwrap()],
        None,
    );
    assert!(!again.status.success());
    assert!(again.stderr.contains("is not empty"), "{again:#?}");
}

/// The committed sample of labelled cells `marrow train` reads in these tests.
fn sample_cells() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vision/tests/data/marrow-cells")
}

/// `marrow train --epochs 1 OPTION VALUE` fails naming the option and `words` for each case,
/// and writes no model.
fn assert_train_refuses(dir: &std::path::Path, option: &str, cases: &[(&str, &str)]) {
    let data = sample_cells();
    for (value, words) in cases {
        let outcome = run(
            dir,
            &[
                "train",
                "--data",
                data.to_str().expect("a UTF-8 path"),
                "--epochs",
                "1",
                option,
                value,
            ],
            None,
        );
        assert!(!outcome.status.success(), "{option} {value}");
        assert!(
            outcome.stderr.contains(option) && outcome.stderr.contains(words),
            "{option} {value}: {outcome:#?}"
        );
        assert!(!dir.join("marrow-cells.model").exists(), "nothing was written");
    }
}

#[test]
fn train_refuses_a_class_weight_it_cannot_use_naming_the_option() {
    let dir = workdir();
    assert_train_refuses(
        dir.path(),
        "--class-weight",
        &[
            ("EOS", "is not CODE=WEIGHT"),
            ("XYZ=2", "\"XYZ\" is not one of BLA, EOS"),
            ("EOS=0", "from 0.1 to 10"),
            ("EOS=nan", "from 0.1 to 10"),
        ],
    );
}

#[test]
fn train_takes_the_network_widths_and_refuses_widths_it_cannot_use_naming_the_option() {
    let dir = workdir();
    assert_train_refuses(
        dir.path(),
        "--widths",
        &[
            ("16,32,64", "needs four channel counts"),
            ("16,32,64,100", "layer 4 has 100 channels"),
            ("16,x,64,96", "\"x\" is not a whole number"),
        ],
    );
    let data = sample_cells();
    let out = dir.path().join("wide.model");
    let outcome = run(
        dir.path(),
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--widths",
            "32,32,48,64",
            "--class-weight",
            "PMO=1.5",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(outcome.status.success(), "{outcome:#?}");
    let classifier = marrow_vision::classify::Classifier::load(&out).expect("the model loads");
    assert_eq!(classifier.record.widths.get(), [32, 32, 48, 64]);
    let schedule = &classifier.record.schedule;
    assert!(schedule.contains("PMO 1.5") && schedule.contains("EOS 1,"), "{schedule}");

    // Without options, the shipped model's recipe: its widths and class weights.
    let out = dir.path().join("default.model");
    let outcome = run(
        dir.path(),
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(outcome.status.success(), "{outcome:#?}");
    let record = marrow_vision::classify::Classifier::load(&out).expect("loads").record;
    let shipped = marrow_vision::classify::Classifier::shipped().expect("the shipped model").record;
    assert_eq!(record.widths, shipped.widths, "the shipped widths by default");
    let weights =
        |schedule: &str| schedule.split("class weights in the loss").nth(1).map(str::to_owned);
    assert_eq!(weights(&record.schedule), weights(&shipped.schedule), "and its class weights");
    assert!(weights(&record.schedule).is_some_and(|w| w.contains("EOS 2")), "{}", record.schedule);
}

#[test]
fn import_stores_hl7_and_csv_blood_counts_and_holds_or_names_what_it_cannot() {
    let dir = workdir();
    let (server, _) = demo_server(dir.path());
    server.stop();
    let oru = |control: &str, unit: &str| {
        [
            format!("MSH|^~\\&|ANALYSER|LAB|MARROW|HOSPITAL|20261120083000||ORU^R01^ORU_R01|{control}|P|2.5.1"),
            "PID|1||DEMO-0001^^^HOSP^MR".to_owned(),
            "OBR|1||CBC9|58410-2^CBC^LN|||20261120081500".to_owned(),
            "OBX|1|NM|718-7^Hemoglobin^LN||10.4|g/dL|||||F".to_owned(),
            format!("OBX|2|NM|777-3^Platelets^LN||95|{unit}|||||F"),
        ]
        .join("\r")
    };
    // Two messages in one file, newline-separated as files usually are: one good, one with a
    // unit Marrow does not know.
    let file = dir.path().join("results.hl7");
    std::fs::write(
        &file,
        format!("{}\n{}\n", oru("F1", "10*3/uL"), oru("F2", "mmol/L")).replace('\r', "\n"),
    )
    .unwrap();
    let first = run(dir.path(), &["import", "hl7", "results.hl7"], None);
    first.assert_success();
    assert!(first.stdout.contains("message 1: stored as blood count"), "{first:#?}");
    assert!(first.stdout.contains("message 2: held for review"), "{first:#?}");
    assert!(first.stdout.contains("OBX 2 (OBX-6)"), "the reason names the place: {first:#?}");
    assert!(first.stdout.contains("1 stored, 1 held for review"), "{first:#?}");
    // Again: the good message is recognised, not stored twice.
    let again = run(dir.path(), &["import", "hl7", "results.hl7"], None);
    assert!(again.assert_success().stdout.contains("message 1: already stored"), "{again:#?}");

    std::fs::write(
        dir.path().join("counts.csv"),
        "mrn,taken_at,analyte,value,unit\nDEMO-0002,2026-11-01T08:00,platelets,140000,/uL\n",
    )
    .unwrap();
    let csv = run(dir.path(), &["import", "counts", "counts.csv", "--as", "nurse"], None);
    assert!(csv.assert_success().stdout.contains("imported 1 blood count"), "{csv:#?}");
    std::fs::write(
        dir.path().join("bad.csv"),
        "mrn,taken_at,analyte,value,unit\nDEMO-0002,2026-11-01T08:00,platelets,140000,/uL\nDEMO-0002,2026-11-01T08:00,ferritin,1,g/L\n",
    )
    .unwrap();
    let bad = run(dir.path(), &["import", "counts", "bad.csv", "--as", "nurse"], None);
    assert_eq!(bad.status.code(), Some(1), "{bad:#?}");
    assert!(bad.stderr.contains("row 3, column analyte"), "{bad:#?}");
    assert_eq!(bad.stderr.lines().count(), 1, "one error line: {bad:#?}");
    let nobody = run(dir.path(), &["import", "counts", "counts.csv", "--as", "nobody"], None);
    assert!(nobody.stderr.contains("--as: there is no user"), "{nobody:#?}");
}

/// Every case (with its signed report versions) and the audit chain of `a` and `b` are equal.
async fn assert_same_records(a: &marrow_store::Store, b: &marrow_store::Store) {
    let cases = a.cases(None, 10_000, 0).await.expect("read the database");
    assert!(!cases.is_empty(), "there is something to compare");
    assert_eq!(b.case_count().await.expect("read the database"), cases.len() as i64);
    let mut versions = 0;
    for summary in &cases {
        let (left, right) = (
            a.case(summary.id).await.expect("read the database"),
            b.case(summary.id).await.expect("read the database"),
        );
        versions += left.versions.len();
        assert_eq!(left, right, "case {} is restored exactly", summary.id);
    }
    assert!(versions > 0, "signed report versions were compared");
    let (chain_a, chain_b) = (
        a.verify_audit_chain().await.expect("read the database"),
        b.verify_audit_chain().await.expect("read the database"),
    );
    assert_eq!(chain_b.first_broken, None, "the restored audit chain is intact");
    assert_eq!(chain_a, chain_b);
    assert_eq!(
        a.users().await.expect("read the database"),
        b.users().await.expect("read the database")
    );
}

#[tokio::test]
async fn a_sqlite_backup_taken_while_serving_restores_every_case_version_and_the_audit_chain() {
    let dir = workdir();
    let (server, _) = demo_server(dir.path());
    // Online: the server is running (and holds the database open) while the copy is taken.
    let backup = run(dir.path(), &["backup", "--out", "copy.db"], None);
    assert!(backup.assert_success().stdout.contains("audit chain intact"), "{backup:#?}");
    let again = run(dir.path(), &["backup", "--out", "copy.db"], None);
    assert!(again.stderr.contains("exists already"), "never overwritten: {again:#?}");
    server.stop();

    let restore = run(
        dir.path(),
        &["--database", "sqlite://restored.db", "restore", "--from", "copy.db"],
        None,
    );
    assert!(restore.assert_success().stdout.contains("restored into"), "{restore:#?}");
    let into_existing = run(
        dir.path(),
        &["--database", "sqlite://marrow.db", "restore", "--from", "copy.db"],
        None,
    );
    assert_eq!(into_existing.status.code(), Some(1), "{into_existing:#?}");
    assert!(into_existing.stderr.contains("exists already"), "{into_existing:#?}");

    let open = |name: &str| {
        let url = marrow_store::DatabaseUrl::Sqlite(dir.path().join(name));
        async move {
            marrow_store::Store::open_with(&url, marrow_store::OpenMode::MustExist).await.unwrap().0
        }
    };
    assert_same_records(&open("marrow.db").await, &open("restored.db").await).await;

    // A file that is not a Marrow backup is refused and leaves nothing behind.
    std::fs::write(dir.path().join("junk.db"), b"not a database").unwrap();
    let junk = run(
        dir.path(),
        &["--database", "sqlite://from-junk.db", "restore", "--from", "junk.db"],
        None,
    );
    assert_eq!(junk.status.code(), Some(1), "{junk:#?}");
    assert!(!dir.path().join("from-junk.db").exists());
}

#[cfg(feature = "postgres-tests")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_restores_into_an_empty_database_with_every_case_and_the_audit_chain() {
    let dir = workdir();
    let source = marrow_testkit::TestDb::postgres_from_env().await;
    let target = marrow_testkit::TestDb::postgres_from_env().await;
    let seeded =
        run(dir.path(), &["--database", &source.url(), "seed-synthetic", "--cases", "12"], None);
    seeded.assert_success();
    let dump =
        run(dir.path(), &["--database", &source.url(), "backup", "--out", "marrow.dump"], None);
    assert!(dump.assert_success().stdout.contains("pg_dump"), "{dump:#?}");
    assert!(!dump.stderr.contains("marrow:marrow@"), "no password in the output: {dump:#?}");
    let restore =
        run(dir.path(), &["--database", &target.url(), "restore", "--from", "marrow.dump"], None);
    assert!(restore.assert_success().stdout.contains("audit chain intact"), "{restore:#?}");
    assert_same_records(&source.store(), &target.store()).await;
    // The target now holds data: a second restore into it is refused.
    let twice =
        run(dir.path(), &["--database", &target.url(), "restore", "--from", "marrow.dump"], None);
    assert_eq!(twice.status.code(), Some(1), "{twice:#?}");
    assert!(twice.stderr.contains("holds data already"), "{twice:#?}");
}
