//! The counter's API: events are idempotent, bad input changes nothing, finished counts and
//! signed cases take no events, observers count independently, and the comparison flags
//! disagreement beyond the 95% limits.

use marrow_domain::case::CaseStatus;
use marrow_domain::role::Role;
use marrow_testkit::synthetic::{Staff, case_at};
use reqwest::Method;
use serde_json::json;

use crate::sqlite_app;

fn events(ids_and_codes: &[(&str, &str)]) -> serde_json::Value {
    json!({"events": ids_and_codes.iter().map(|(id, e)| json!({"id": id, "event": e})).collect::<Vec<_>>()})
}

#[tokio::test]
async fn an_event_sent_twice_counts_once_and_undo_takes_back_the_last_cell() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let tech = app.api_as(Role::Technologist).await;
    let start = tech.post(&format!("/api/v1/cases/{case}/counts"), &json!({"target": 200})).await;
    assert_eq!(start.status, 201, "{:?}", start.json);
    let count = start.json["count_id"].as_i64().unwrap();
    assert_eq!(start.json["target"], 200);
    let path = format!("/api/v1/counts/{count}/events");
    let batch = events(&[
        ("a1", "tally:blasts"),
        ("a2", "tally:lymphocytes"),
        ("a3", "tally:blasts:abnormal"),
    ]);
    assert_eq!(tech.post(&path, &batch).await.status, 200);
    assert_eq!(tech.post(&path, &batch).await.status, 200, "a resend is acknowledged");
    assert_eq!(tech.post(&path, &events(&[("a4", "undo")])).await.status, 200);
    let stats = tech.get(&format!("/api/v1/counts/{count}")).await;
    assert_eq!(stats.json["events_stored"], 4, "the resend stored nothing new");
    assert_eq!(stats.json["total"], 2);
    let blasts = stats.json["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "blasts")
        .unwrap()
        .clone();
    assert_eq!(blasts["count"], 1);
    assert_eq!(blasts["abnormal"], 0, "the undo took back the abnormal blast");
    // Starting again resumes the same count.
    let again = tech.post(&format!("/api/v1/cases/{case}/counts"), &json!({})).await;
    assert_eq!(again.json["count_id"], count);
}

#[tokio::test]
async fn bad_events_are_refused_naming_the_field_and_store_nothing() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let tech = app.api_as(Role::Technologist).await;
    let count =
        tech.post(&format!("/api/v1/cases/{case}/counts"), &json!({})).await.json["count_id"]
            .as_i64()
            .unwrap();
    let path = format!("/api/v1/counts/{count}/events");
    let cases = [
        (
            events(&[("b1", "tally:blasts"), ("b2", "tally:megakaryocytes")]).to_string(),
            "events[1].event",
        ),
        (events(&[("b1", "tally:blasts"), ("b1", "tally:blasts")]).to_string(), "events[1].id"),
        (events(&[("bad id!", "tally:blasts")]).to_string(), "events[0].id"),
        (json!({"events": []}).to_string(), "events"),
        (
            json!({"events": [{"id": "x", "event": "undo", "pressed_at": "soon"}]}).to_string(),
            "events[0].pressed_at",
        ),
        ("{\"events\": [".to_owned(), "body"),
        (json!({"cells": []}).to_string(), "cells"),
    ];
    for (body, field) in cases {
        let r = tech.send_raw(Method::POST, &path, &body).await;
        assert_eq!(r.status, 422, "{body}: {:?}", r.json);
        assert_eq!(r.json["field"], field, "{body}: {:?}", r.json);
    }
    assert_eq!(tech.get(&format!("/api/v1/counts/{count}")).await.json["events_stored"], 0);
    let r = tech.post(&format!("/api/v1/cases/{case}/counts"), &json!({"target": 250})).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["field"], "target");
}

#[tokio::test]
async fn finished_counts_signed_cases_and_other_observers_take_no_events() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let tech = app.api_as(Role::Technologist).await;
    let path_tech = app.api_as_named(Role::Pathologist, "second").await;
    let count =
        tech.post(&format!("/api/v1/cases/{case}/counts"), &json!({})).await.json["count_id"]
            .as_i64()
            .unwrap();
    let path = format!("/api/v1/counts/{count}/events");
    let r = path_tech.post(&path, &events(&[("c1", "tally:blasts")])).await;
    assert_eq!(r.status, 403, "another observer's count: {:?}", r.json);
    let clinician = app.api_as(Role::Clinician).await;
    assert_eq!(clinician.post(&path, &events(&[("c1", "tally:blasts")])).await.status, 403);

    assert_eq!(
        tech.post(
            &path,
            &events(&[("c1", "tally:lymphocytes"), ("c2", "tally:polychromatic-erythroblasts")])
        )
        .await
        .status,
        200
    );
    let finished = tech.post(&format!("/api/v1/counts/{count}/finish"), &json!({})).await;
    assert_eq!(finished.status, 200, "{:?}", finished.json);
    assert_eq!(
        finished.json["differential"]["total"], 2,
        "the count became the case's differential"
    );
    let r = tech.post(&path, &events(&[("c3", "tally:blasts")])).await;
    assert_eq!(r.status, 409);
    assert!(r.json["error"].as_str().unwrap().contains("finished"));

    // A second observer's count on a case that then gets signed: refused.
    let second =
        path_tech.post(&format!("/api/v1/cases/{case}/counts"), &json!({})).await.json["count_id"]
            .as_i64()
            .unwrap();
    let pathologist = app.api_as(Role::Pathologist).await;
    assert_eq!(
        pathologist.post(&format!("/api/v1/cases/{case}/report/sign"), &json!({})).await.status,
        200
    );
    let r = path_tech
        .post(&format!("/api/v1/counts/{second}/events"), &events(&[("d1", "tally:blasts")]))
        .await;
    assert_eq!(r.status, 409);
    assert!(r.json["error"].as_str().unwrap().contains("reported"), "{:?}", r.json);
    assert_eq!(path_tech.get(&format!("/api/v1/counts/{second}")).await.json["events_stored"], 0);
}

#[tokio::test]
async fn two_observers_are_compared_side_by_side_with_disagreement_flagged() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    for (sent, (role, blasts)) in
        [(Role::Technologist, 25), (Role::Pathologist, 60)].into_iter().enumerate()
    {
        let api = app.api_as_named(role, "observer").await;
        let count =
            api.post(&format!("/api/v1/cases/{case}/counts"), &json!({})).await.json["count_id"]
                .as_i64()
                .unwrap();
        let mut list = Vec::new();
        for i in 0..500 {
            let event = if i < blasts { "tally:blasts" } else { "tally:lymphocytes" };
            list.push(json!({"id": format!("o{sent}-{i}"), "event": event}));
        }
        assert_eq!(
            api.post(&format!("/api/v1/counts/{count}/events"), &json!({"events": list}))
                .await
                .status,
            200
        );
    }
    let mut browser = app.browser_as(Role::Pathologist).await;
    let case_page = browser.get(&format!("/cases/{case}")).await;
    assert!(case_page.html.contains("Compare the observers side by side"));
    let page = browser.get(&format!("/cases/{case}/counts/compare")).await;
    assert_eq!(page.status, 200);
    // 25/500 = 5.0 % (3.3–7.3) against 60/500 = 12.0 % (9.3–15.2): outside each other's limits.
    assert!(
        page.html.contains("5.0 (3.3–7.3)") && page.html.contains("12.0 (9.3–15.2)"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("2 class(es) differ beyond the 95% limits"),
        "blasts and lymphocytes: {}",
        page.html
    );
}

#[tokio::test]
async fn a_user_saves_a_named_key_map_and_a_reserved_key_is_refused() {
    let app = sqlite_app().await;
    let mut browser = app.browser_as(Role::Technologist).await;
    let page = browser.get("/keymaps").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("value=\"Numeric keypad\""), "starts from the default map");
    let r = browser
        .post(
            "/keymaps",
            &[("name", "Left hand"), ("bindings.blasts", "q"), ("bindings.lymphocytes", "w")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let page = browser.get("/keymaps").await;
    assert!(page.html.contains("value=\"Left hand\"") && page.html.contains("value=\"q\""));
    let r = browser.post("/keymaps", &[("name", "Broken"), ("bindings.blasts", "Backspace")]).await;
    assert_eq!(r.status, 422);
    assert!(r.html.contains("href=\"#f-bindings.blasts\""), "{}", r.html);
    let r = browser
        .post(
            "/keymaps",
            &[("name", "Twice"), ("bindings.blasts", "q"), ("bindings.lymphocytes", "q")],
        )
        .await;
    assert_eq!(r.status, 422);
    let clinician = &mut app.browser_as(Role::Clinician).await;
    assert_eq!(clinician.get("/keymaps").await.status, 403);

    // The counter uses any saved map on request (by default the latest saved).
    let r = browser.post("/keymaps", &[("name", "Right hand"), ("bindings.blasts", "p")]).await;
    assert_eq!(r.status, 303);
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let started = browser.post(&format!("/cases/{case}/counts"), &[("target", "300")]).await;
    let counter = started.location.unwrap();
    let page = browser.get(&format!("{counter}?keymap=Right%20hand")).await;
    assert!(page.html.contains("<strong>Right hand</strong>"), "{}", page.html);
    assert!(page.html.contains(r#"{"key":"p","class":"blasts"}"#));
    assert!(page.html.contains("target 300"));
    let page = browser.get(&format!("{counter}?keymap=Left%20hand")).await;
    assert!(
        page.html.contains("<strong>Left hand</strong>")
            && page.html.contains(r#"{"key":"q","class":"blasts"}"#)
    );
}

#[tokio::test]
async fn aspirate_quality_fields_are_recorded_beside_the_count_and_prefill_the_first_draft() {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::Performed).await;
    app.store
        .receive_specimens(case, marrow_testkit::synthetic::stamp(staff.technologist))
        .await
        .unwrap();
    let mut tech = app.browser_as(Role::Technologist).await;
    let before = marrow_testkit::app::snapshot(&app.store).await;
    let bad = tech
        .post(
            &format!("/cases/{case}/aspirate"),
            &[("particles", "plenty"), ("trail_cellularity", "normocellular")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("href=\"#f-particles\""), "{}", bad.html);
    assert_eq!(before, marrow_testkit::app::snapshot(&app.store).await);
    let r = tech
        .post(
            &format!("/cases/{case}/aspirate"),
            &[
                ("particles", "adequate"),
                ("trail_cellularity", "normocellular"),
                ("particle_cellularity", "hypercellular"),
                ("haemodilution", "none"),
                ("megakaryocytes", "increased"),
                ("iron_stain", "0"),
                ("particles_examined_for_iron", "4"),
                ("ring_sideroblasts", ""),
                ("comment", "Occasional dysplastic megakaryocytes."),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let page = tech.get(&format!("/cases/{case}")).await;
    assert!(
        page.html.contains("Increased") && page.html.contains("Grade 0, 4 particles examined"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains("Caution"),
        "iron called absent from fewer than 7 particles is flagged"
    );
    let draft = tech.get(&format!("/cases/{case}/report")).await;
    assert!(draft.html.contains("<option value=\"adequate\" selected>"), "{}", draft.html);
    assert!(draft.html.contains("<option value=\"hypercellular\" selected>"));
    assert!(draft.html.contains("Increased in number."), "{}", draft.html);
    assert!(
        draft.html.contains("iron absent is unreliable from 4 particles"),
        "the iron-stain caveat reaches the pathologist's first draft"
    );
    assert!(draft.html.contains("Occasional dysplastic megakaryocytes."));
}

#[tokio::test]
async fn a_class_the_site_excludes_is_counted_apart_and_a_signed_report_keeps_the_rule_it_was_signed_under()
 {
    let app = sqlite_app().await;
    let staff = Staff::insert(&app.store, "!").await;
    let (_, case) = case_at(&app.store, &staff, 1, CaseStatus::InLab).await;
    let mut admin = app.browser_as(Role::Admin).await;
    assert_eq!(admin.post("/admin/settings", &[("excluded", "other")]).await.status, 303);
    let mut clinician = app.browser_as(Role::Clinician).await;
    assert_eq!(clinician.post("/admin/settings", &[("excluded", "blasts")]).await.status, 403);
    assert_eq!(admin.post("/admin/settings", &[("excluded", "smudge-ish")]).await.status, 422);

    let tech = app.api_as(Role::Technologist).await;
    let count =
        tech.post(&format!("/api/v1/cases/{case}/counts"), &json!({})).await.json["count_id"]
            .as_i64()
            .unwrap();
    let list: Vec<_> = (0..100)
        .map(|i| json!({"id": format!("s{i}"), "event": if i < 10 { "tally:other" } else { "tally:lymphocytes" }}))
        .collect();
    assert_eq!(
        tech.post(&format!("/api/v1/counts/{count}/events"), &json!({"events": list})).await.status,
        200
    );
    let stats = tech.get(&format!("/api/v1/counts/{count}")).await;
    assert_eq!(stats.json["total"], 90);
    assert_eq!(stats.json["excluded"], 10);
    let other = stats.json["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "other")
        .unwrap()
        .clone();
    assert!(other["percent"].is_null() && !other["counted"].as_bool().unwrap());

    assert_eq!(tech.post(&format!("/api/v1/counts/{count}/finish"), &json!({})).await.status, 200);
    let pathologist = app.api_as(Role::Pathologist).await;
    let signed = pathologist.post(&format!("/api/v1/cases/{case}/report/sign"), &json!({})).await;
    assert_eq!(signed.status, 200, "{:?}", signed.json);
    assert_eq!(signed.json["report"]["versions"][0]["differential"]["total"], 90);

    // The site changes its rule later: the signed version does not change; the case's current
    // differential follows the new rule.
    assert_eq!(admin.post("/admin/settings", &[]).await.status, 303);
    let now = pathologist.get(&format!("/api/v1/cases/{case}")).await;
    assert_eq!(now.json["report"]["versions"][0]["differential"]["total"], 90);
    assert_eq!(now.json["differential"]["total"], 100);
}
