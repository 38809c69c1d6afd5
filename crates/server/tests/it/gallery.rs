//! Image-assisted counting over HTTP: images uploaded to a count become cells with the model's
//! proposal; each decision is a counter event of the same differential, marked with its cell;
//! Backspace takes one back; bad uploads are refused naming the field and store nothing; and
//! the agreement page and the case's image-confirmed cells show what was decided.

use std::path::PathBuf;

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::synthetic::{Staff, case_at};
use marrow_testkit::{Api, TestApp};
use serde_json::json;

use crate::sqlite_app;

fn vision_data(path: &str) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vision/tests/data");
    std::fs::read(root.join(path)).expect("a committed sample image")
}

/// A technologist's open count of a case in the lab.
async fn open_count(app: &TestApp) -> (Api, i64, i64) {
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let tech = app.api_as(Role::Technologist).await;
    let start = tech.post(&format!("/api/v1/cases/{case}/counts"), &json!({"target": 200})).await;
    assert_eq!(start.status, 201, "{:?}", start.json);
    (tech, case.0, start.json["count_id"].as_i64().unwrap())
}

async fn upload(api: &Api, count: i64, query: &str, bytes: Vec<u8>) -> marrow_testkit::app::Reply {
    api.post_bytes(&format!("/api/v1/counts/{count}/images?{query}"), "image/jpeg", bytes).await
}

async fn cells(api: &Api, count: i64) -> Vec<serde_json::Value> {
    let reply = api.get(&format!("/api/v1/counts/{count}/cells")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    reply.json.as_array().unwrap().clone()
}

async fn decide(api: &Api, count: i64, cell: i64, decision: &str) -> marrow_testkit::app::Reply {
    api.post(
        &format!("/api/v1/counts/{count}/cells/{cell}/decision"),
        &json!({"decision": decision}),
    )
    .await
}

async fn stats(api: &Api, count: i64) -> serde_json::Value {
    api.get(&format!("/api/v1/counts/{count}")).await.json
}

fn class_count(stats: &serde_json::Value, class: &str) -> i64 {
    stats["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == class)
        .map_or(0, |c| c["count"].as_i64().unwrap())
}

#[tokio::test]
async fn uploaded_cells_are_proposed_and_each_decision_counts_in_the_same_differential() {
    gallery_story(sqlite_app().await).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn the_gallery_works_the_same_on_postgres() {
    gallery_story(crate::postgres_app().await).await;
}

async fn gallery_story(app: TestApp) {
    let (tech, case, count) = open_count(&app).await;

    // A blood field: the detector finds its white cell(s).
    let field = upload(
        &tech,
        count,
        "kind=field&name=field-1.jpg",
        vision_data("blood-fields/images/BloodImage_00008.jpg"),
    )
    .await;
    assert_eq!(field.status, 201, "{:?}", field.json);
    assert_eq!(field.json["kind"], "field");
    assert_eq!(
        (field.json["width"].as_u64(), field.json["height"].as_u64()),
        (Some(640), Some(480))
    );
    let in_field = field.json["cells"].as_u64().unwrap();
    assert!(in_field >= 1, "the field's white cell is found");
    // Two single cells.
    // The first blast and the first eosinophil of the committed sample.
    for (i, path) in
        ["marrow-cells/BLA/BLA_00042.jpg", "marrow-cells/EOS/EOS_00059.jpg"].iter().enumerate()
    {
        let one =
            upload(&tech, count, &format!("kind=cell&name=cell-{i}.jpg"), vision_data(path)).await;
        assert_eq!(one.status, 201, "{:?}", one.json);
        assert_eq!(one.json["cells"], 1);
    }

    let listed = cells(&tech, count).await;
    assert_eq!(listed.len() as u64, in_field + 2);
    for cell in &listed {
        let sum: f64 =
            cell["probabilities"].as_object().unwrap().values().map(|p| p.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 0.01, "probabilities sum to one: {cell}");
        assert_eq!(cell["decided"], false);
        assert_eq!(cell["counted"], false);
        let top = cell["model_class"].as_str().unwrap();
        let confidence = cell["confidence"].as_f64().unwrap();
        assert!((cell["probabilities"][top].as_f64().unwrap() - confidence).abs() < 1e-3);
        // Below the threshold, or "not identifiable", a cell has no proposal.
        assert_eq!(cell["proposed"].is_null(), confidence < 0.5 || top == "NIF", "{cell}");
    }
    let file_names: Vec<&str> = listed.iter().map(|c| c["file"].as_str().unwrap()).collect();
    assert!(file_names.contains(&"cell-0.jpg") && file_names.contains(&"field-1.jpg"));
    // The crop is kept: a 128-pixel PNG.
    let first = listed[0]["id"].as_i64().unwrap();
    let (crop_case, png) = app.store.image_cell_crop(first).await.unwrap();
    assert_eq!(crop_case.0, case);
    let crop = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
    assert_eq!((crop.width(), crop.height()), (128, 128));

    // Accepting a cell as blasts counts one blast, as an event marked with its cell.
    let a = listed[listed.len() - 2]["id"].as_i64().unwrap();
    let b = listed[listed.len() - 1]["id"].as_i64().unwrap();
    let accepted = decide(&tech, count, a, "blasts").await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.json);
    assert_eq!(
        (accepted.json["counted"].as_bool(), accepted.json["decided"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(accepted.json["decision"], "blasts");
    assert!(accepted.json["decided_by"].as_str().is_some_and(|by| by.contains("technologist")));
    let s = stats(&tech, count).await;
    assert_eq!((s["total"].as_i64(), class_count(&s, "blasts")), (Some(1), 1));
    let events = tech.get(&format!("/api/v1/counts/{count}/events")).await.json;
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0]["event"].as_str(), events[0]["image_cell_id"].as_i64()),
        (Some("tally:blasts"), Some(a))
    );
    // The keyboard counter's events join the same differential.
    let keys = tech
        .post(
            &format!("/api/v1/counts/{count}/events"),
            &json!({"events": [{"id": "k1", "event": "tally:lymphocytes"}]}),
        )
        .await;
    assert_eq!(keys.status, 200);
    assert_eq!(stats(&tech, count).await["total"], 2);

    // A counted cell cannot be decided again until it is taken back.
    let again = decide(&tech, count, a, "monocytes").await;
    assert_eq!(again.status, 409, "{:?}", again.json);
    assert_eq!(again.json["field"], "decision");
    // Two undos take back the lymphocyte and then the image cell, which is open for review again.
    let undo = tech
        .post(
            &format!("/api/v1/counts/{count}/events"),
            &json!({"events": [{"id": "u1", "event": "undo"}, {"id": "u2", "event": "undo"}]}),
        )
        .await;
    assert_eq!(undo.status, 200);
    let after_undo = cells(&tech, count).await;
    let cell_a = after_undo.iter().find(|c| c["id"] == a).unwrap();
    assert_eq!(
        (cell_a["counted"].as_bool(), cell_a["decided"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(stats(&tech, count).await["total"], 0);
    // Relabelled and accepted again; the other cell is not a cell at all.
    assert_eq!(decide(&tech, count, a, "monocytes").await.status, 200);
    let not_a_cell = decide(&tech, count, b, "not-a-cell").await;
    assert_eq!(not_a_cell.status, 200);
    assert_eq!(
        (not_a_cell.json["counted"].as_bool(), not_a_cell.json["decided"].as_bool()),
        (Some(false), Some(true))
    );
    let s = stats(&tech, count).await;
    assert_eq!(
        (s["total"].as_i64(), class_count(&s, "monocytes"), class_count(&s, "blasts")),
        (Some(1), 1, 0)
    );

    // The case shows its image-confirmed cell with its crop; the lab's agreement table counts
    // both decisions that stand.
    let mut browser = app.browser_as(Role::Pathologist).await;
    let page = browser.get(&format!("/cases/{case}/image-cells")).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("1 cell(s) of this case"), "{}", page.html);
    assert!(page.html.contains(&format!("/image-cells/{a}/crop.png")));
    assert!(!page.html.contains(&format!("/image-cells/{b}/crop.png")), "not a cell is not shown");
    assert_eq!(browser.get(&format!("/image-cells/{a}/crop.png")).await.status, 200);
    let agreement = browser.get("/lab/agreement").await;
    assert_eq!(agreement.status, 200);
    assert!(agreement.html.contains("2 decided cell(s)"), "{}", agreement.html);
    let proposed_a = cell_a["proposed"].as_str();
    // "Not a cell" is never a proposal, so only the monocyte can agree.
    let agreed = usize::from(proposed_a == Some("monocytes"));
    assert!(
        agreement.html.contains(&format!("{agreed} decided as proposed")),
        "{}",
        agreement.html
    );
    assert!(
        agreement.html.contains("Not a cell")
            && agreement.html.contains("Monocytes and promonocytes")
    );
}

#[tokio::test]
async fn bad_uploads_are_refused_naming_the_field_and_store_nothing() {
    let app = sqlite_app().await;
    let (tech, _, count) = open_count(&app).await;
    let cell = vision_data("marrow-cells/BLA/BLA_00042.jpg");
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("name=a.jpg", cell.clone(), "kind", "field or one cell"),
        ("kind=slide", cell.clone(), "kind", "is not \"field\" or \"cell\""),
        ("kind=cell", Vec::new(), "image", "no image"),
        ("kind=cell", b"not an image at all".to_vec(), "image", "cannot read the image"),
        ("kind=cell", bomb(), "image", "pixels"),
        ("kind=field&um_per_px=5", cell.clone(), "um_per_px", "not a microscope scale"),
        ("kind=field", blank_field(), "image", "no nucleated cells"),
        ("kind=cell&colour=red", cell.clone(), "colour", "unknown field"),
        ("kind=cell&um_per_px=wide", cell.clone(), "um_per_px", "invalid float"),
    ];
    for (query, body, field, words) in cases {
        let reply = upload(&tech, count, query, body).await;
        assert_eq!(reply.status, 422, "{query}: {:?}", reply.json);
        assert_eq!(reply.json["field"], field, "{query}: {:?}", reply.json);
        assert!(reply.json["error"].as_str().unwrap().contains(words), "{query}: {:?}", reply.json);
    }
    assert!(cells(&tech, count).await.is_empty(), "nothing was stored");
    let bad = decide(&tech, count, 1, "megakaryocytes").await;
    assert_eq!(bad.status, 422, "{:?}", bad.json);
    assert_eq!(bad.json["field"], "decision");
    assert_eq!(decide(&tech, count, 999, "blasts").await.status, 404);
}

/// A PNG header that declares 100,000 × 100,000 pixels: refused before any pixel is decoded.
fn bomb() -> Vec<u8> {
    let mut png = Vec::new();
    image::RgbImage::new(8, 8)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // IHDR's width and height are the 4-byte big-endian fields at 16 and 20; fix its CRC too.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn blank_field() -> Vec<u8> {
    let mut png = Vec::new();
    image::RgbImage::from_pixel(320, 240, image::Rgb([235, 225, 230]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

#[tokio::test]
async fn only_the_observer_decides_and_a_finished_count_takes_no_images() {
    let app = sqlite_app().await;
    let (tech, _, count) = open_count(&app).await;
    let image = vision_data("marrow-cells/BLA/BLA_00042.jpg");
    assert_eq!(upload(&tech, count, "kind=cell", image.clone()).await.status, 201);
    let id = cells(&tech, count).await[0]["id"].as_i64().unwrap();

    let other = app.api_as_named(Role::Technologist, "2").await;
    assert_eq!(upload(&other, count, "kind=cell", image.clone()).await.status, 403);
    assert_eq!(decide(&other, count, id, "blasts").await.status, 403);
    let pathologist = app.api_as(Role::Pathologist).await;
    assert_eq!(cells(&pathologist, count).await.len(), 1, "a pathologist may look");
    assert_eq!(decide(&pathologist, count, id, "blasts").await.status, 403);
    let clinician = app.api_as(Role::Clinician).await;
    assert_eq!(upload(&clinician, count, "kind=cell", image.clone()).await.status, 403);

    assert_eq!(decide(&tech, count, id, "blasts").await.status, 200);
    let finish = tech.post(&format!("/api/v1/counts/{count}/finish"), &json!({})).await;
    assert_eq!(finish.status, 200, "{:?}", finish.json);
    let late = upload(&tech, count, "kind=cell", image).await;
    assert_eq!(late.status, 409, "{:?}", late.json);
    assert!(late.json["error"].as_str().unwrap().contains("finished"));
}
