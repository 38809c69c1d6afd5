//! A signed report is never changed in place: every route that could touch it refuses, and an
//! amendment adds a version while the signed one stays as it was.

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::app::snapshot;
use marrow_testkit::synthetic::{self, Staff, case_at};
use serde_json::json;

use crate::sqlite_app;

#[tokio::test]
async fn a_signed_report_cannot_be_changed_in_place() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Reported).await;
    let path = format!("/api/v1/cases/{case}");
    let pathologist = app.api_as(Role::Pathologist).await;
    let signed = pathologist.get(&path).await.json["report"]["versions"][0].clone();
    let before = snapshot(&app.store).await;

    let r = pathologist
        .put(
            &format!("{path}/report/draft"),
            &json!({"expected_revision": 1, "interpretation": "Rewritten after signing."}),
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.json);
    assert!(r.json["error"].as_str().unwrap().contains("signed"), "{:?}", r.json);
    let r = pathologist
        .put(
            &format!("{path}/differential"),
            &json!({"counts": {"blasts": 400, "lymphocytes": 100}}),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = pathologist.post(&format!("{path}/report/sign"), &json!({})).await;
    assert_eq!(r.status, 409, "signing twice is refused");

    let mut browser = app.browser_as(Role::Pathologist).await;
    let page = browser
        .post(
            &format!("/cases/{case}/report"),
            &[("revision", "1"), ("interpretation", "Rewritten.")],
        )
        .await;
    assert_eq!(page.status, 409);
    let page =
        browser.post(&format!("/cases/{case}/differential"), &[("count.blasts", "500")]).await;
    assert_eq!(page.status, 409);
    assert_eq!(before, snapshot(&app.store).await, "nothing changed");

    let r = pathologist
        .post(
            &format!("{path}/report/amendments"),
            &synthetic::report_json(
                json!({"reason": "Clarified", "interpretation": "Clarified wording."}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["report"]["versions"][0], signed, "version 1 is exactly as signed");
    assert_eq!(r.json["report"]["versions"][1]["content"]["interpretation"], "Clarified wording.");
}

#[tokio::test]
async fn two_people_saving_one_draft_the_second_is_told_it_changed() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let path = format!("/api/v1/cases/{case}/report/draft");
    let tech = app.api_as(Role::Technologist).await;
    let first =
        tech.put(&path, &json!({"expected_revision": 1, "interpretation": "First edit."})).await;
    assert_eq!(first.status, 200);
    let second =
        tech.put(&path, &json!({"expected_revision": 1, "interpretation": "Second edit."})).await;
    assert_eq!(second.status, 409);
    assert!(second.json["error"].as_str().unwrap().contains("changed by someone else"));
    let now = tech.get(&format!("/api/v1/cases/{case}")).await;
    assert_eq!(now.json["report"]["draft"]["content"]["interpretation"], "First edit.");

    // The page keeps the second person's text and says why it was not saved.
    let mut browser = app.browser_as(Role::Pathologist).await;
    let page = browser
        .post(
            &format!("/cases/{case}/report"),
            &[("revision", "1"), ("interpretation", "Third edit.")],
        )
        .await;
    assert_eq!(page.status, 409);
    assert!(page.html.contains("changed by someone else") && page.html.contains("Third edit."));
}

#[tokio::test]
async fn an_incomplete_draft_cannot_be_signed() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let tech = app.api_as(Role::Technologist).await;
    let r = tech
        .put(
            &format!("/api/v1/cases/{case}/report/draft"),
            &json!({"expected_revision": 1, "adequacy": "adequate"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let pathologist = app.api_as(Role::Pathologist).await;
    let r = pathologist.post(&format!("/api/v1/cases/{case}/report/sign"), &json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json["error"], "cannot sign: the cellularity is blank");
    assert_eq!(pathologist.get(&format!("/api/v1/cases/{case}")).await.json["status"], "in_lab");
}
